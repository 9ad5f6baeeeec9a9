// ember::Tokenizer — text <-> token ids, exactly as HF `tokenizers` does for Gemma's
// tokenizer.json (BPE over UTF-8 characters, byte fallback, added/special tokens matched in the
// text, normalizer / pre-tokenizer / decoder as declared in the file).
//
// Input text that is not valid UTF-8 is first repaired: each maximal ill-formed subsequence
// becomes U+FFFD, which is what Python's bytes.decode("utf-8", "replace") gives HF tokenizers.
// Decoding drops ids that are out of range (as HF does); byte-fallback runs that are not valid
// UTF-8 decode to one U+FFFD per byte (HF's ByteFallback decoder rule).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

namespace text {
struct DecoderStep;
class DecodeStream;
}  // namespace text

// The raw vocabulary as GGUF stores it (tokenizer.ggml.*), for Tokenizer::from_vocab.
struct VocabData {
  std::string model = "gemma4";      // tokenizer.ggml.model: BPE vocabularies with merges
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens, index = id
  std::vector<float> scores;         // tokenizer.ggml.scores (optional, unused by BPE)
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type (llama.cpp enum, below)
  std::vector<std::string> merges;   // tokenizer.ggml.merges: "left right", by rank
  int32_t bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;
  bool add_bos = false;
  enum TokenType : int32_t {
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6
  };
};

class Tokenizer {
 public:
  // Loads tokenizer.json (plain or gzip). A directory means DIR/tokenizer.json; when the
  // directory also has tokenizer_config.json, its bos/eos/pad tokens and add_bos_token are used.
  static Tokenizer from_file(const std::string& path);
  // Parses tokenizer.json content; `source` names it in errors ("file:line:col: ...").
  static Tokenizer from_json(std::string_view json, const std::string& source);
  // Builds a Gemma-style BPE tokenizer (space -> U+2581, byte fallback, Replace/ByteFallback/
  // Fuse decoder) from GGUF vocabulary data. Control and unknown tokens become special added
  // tokens; user-defined and unused tokens become non-special added tokens (as in Gemma's
  // tokenizer.json), so they are matched in the text.
  static Tokenizer from_vocab(const VocabData& data);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // add_bos prepends bos_id() (text that already starts with "<bos>", like a rendered chat
  // template, must not get a second one: reference §6.1).
  // parse_special=false leaves special-token text (e.g. "<bos>") as plain text, like HF's
  // encode_special_tokens=true; non-special added tokens are still matched.
  std::vector<int32_t> encode(std::string_view text, bool add_bos = false, bool parse_special = true) const;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;

  // The stored piece of id ("" when the id has none), e.g. "▁hello", "<0x0A>", "<bos>". As in HF
  // id_to_token, an added token with normalized=true shows its normalized content.
  std::string token_to_piece(int32_t id) const;
  int32_t piece_to_id(std::string_view piece) const;  // -1 when absent
  bool is_special(int32_t id) const;

  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;
  // Whether the tokenizer config asks for a BOS on raw text (tokenizer_config add_bos_token /
  // GGUF add_bos / a TemplateProcessing post-processor that starts with BOS).
  bool add_bos_default() const;
  // Number of ids (model vocabulary plus added tokens beyond it): HF get_vocab_size(True).
  size_t vocab_size() const;
  size_t merge_count() const;

  // The vocabulary in GGUF form (tokens, types, merges), e.g. to write a GGUF.
  VocabData to_vocab_data() const;

  // For the detokenizer: a fresh incremental decoder for this tokenizer's decoder chain.
  std::unique_ptr<text::DecodeStream> make_decode_stream() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember
