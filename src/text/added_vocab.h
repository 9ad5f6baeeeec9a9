// Added tokens (tokenizer.json "added_tokens"): strings matched in the input before the model
// runs, leftmost-longest like HF's Aho-Corasick split, honouring special / lstrip / rstrip /
// single_word / normalized exactly as HF's AddedVocabulary::find_matches does.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "text/pipeline.h"

namespace ember::text {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
  // What decode / token_to_piece show: HF returns the normalized content for tokens with
  // normalized=true (e.g. "▁ab" for "ab" under a Prepend("▁") normalizer). Set by AddedVocab.
  std::string decoded;
};

// A piece of input: either text to tokenize further (id < 0) or a matched added token.
struct Piece {
  size_t begin;
  size_t end;
  int32_t id;
};

class AddedVocab {
 public:
  AddedVocab() = default;
  // normalizer: used to normalize the content of `normalized` tokens (they match normalized text).
  AddedVocab(std::vector<AddedToken> tokens, const std::vector<NormalizerStep>& normalizer);

  // Splits text by the tokens of one pass: normalized_pass=false matches the raw input against
  // non-normalized tokens; true matches normalized text against normalized tokens. With
  // parse_special=false, special tokens are left as text (HF encode_special_tokens=true).
  void split(std::string_view text, bool normalized_pass, bool parse_special, std::vector<Piece>& out) const;

  const AddedToken* by_id(int32_t id) const;
  int32_t find(std::string_view content) const;  // -1 when not an added token
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool has_normalized() const { return !tries_[1].nodes.empty() && tries_[1].nodes.size() > 1; }

 private:
  struct Trie {
    std::vector<int32_t> nodes;                   // node -> token index (or -1)
    std::unordered_map<uint64_t, int32_t> edges;  // (node << 8 | byte) -> child
    bool first_byte[256] = {};
    void insert(std::string_view key, int32_t token);
    // Longest match starting at text[pos]: token index and length, or -1.
    int32_t longest(std::string_view text, size_t pos, size_t& len) const;
  };
  std::vector<AddedToken> tokens_;
  Trie tries_[2];  // [0] raw input, [1] normalized
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, int32_t> by_content_;
};

}  // namespace ember::text
