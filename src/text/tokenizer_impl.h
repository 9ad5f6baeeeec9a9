// Internal state of ember::Tokenizer, shared by the loaders (tokenizer_json.cc, tokenizer.cc).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "text/added_vocab.h"
#include "text/bpe.h"
#include "text/pipeline.h"
#include "text/tokenizer.h"

namespace ember {

struct Tokenizer::Impl {
  std::string source;
  std::unique_ptr<text::BpeModel> model;
  std::vector<std::pair<int32_t, int32_t>> merges;  // by rank (kept for to_vocab_data)
  std::vector<text::AddedToken> added_tokens;       // consumed by finalize()
  text::AddedVocab added;
  std::vector<text::NormalizerStep> normalizer;
  std::vector<text::PreTokenizerStep> pre_tokenizer;
  std::vector<text::DecoderStep> decoder;
  bool has_decoder = false;
  int32_t bos = -1, eos = -1, pad = -1, unk = -1;
  bool add_bos = false;

  // Builds the added-token matcher and validates the decoder; call once all fields are set.
  void finalize();
  // Fills bos/eos/pad/unk that are still -1 from well-known piece names.
  void guess_special_ids();
};

namespace text {
// Parses tokenizer.json into impl (model, added tokens, stages, post-processor BOS).
void parse_tokenizer_json(std::string_view json, const std::string& source, Tokenizer::Impl& impl);
}  // namespace text

}  // namespace ember
