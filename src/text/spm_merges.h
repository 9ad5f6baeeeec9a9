// BPE merges for a SentencePiece BPE vocabulary that stores only piece scores (GGUF
// tokenizer.ggml.model = "llama"), derived the way HF transformers converts such a model to a
// tokenizer.json (generate_merges with vocab scores): every split of a piece into two in-vocab
// pieces is a merge, ranked by the merged piece's score (descending), then by the length of the
// left part and of the right part in code points (descending), then by piece id.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "text/bpe.h"

namespace ember::text {

struct SpmMerge {
  int32_t left, right, result;
};

// map: the vocabulary (pieces by id); rank_score[id]: the score the merge order uses (the
// converter sees SentencePiece's score, i.e. 0 for control and user-defined pieces; GGUF stores
// -1000 there, so the caller passes the effective score). Returns the merges by rank.
// Throws kInvalidCheckpoint on a NaN score.
std::vector<SpmMerge> spm_merges(const BpeModel& map, const std::vector<float>& rank_score);

}  // namespace ember::text
