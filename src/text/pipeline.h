// The string stages around the BPE model, as declared in tokenizer.json: normalizer,
// pre-tokenizer and decoder. Only the kinds ember implements exist here; the loader rejects
// others with ErrorCode::kUnsupported.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::text {

struct NormalizerStep {
  enum class Kind { kReplace, kPrepend };
  Kind kind;
  std::string pattern;  // kReplace: literal text to replace
  std::string content;  // kReplace: replacement; kPrepend: prefix
};

// Applies the steps in order (a Sequence normalizer is flattened into them).
std::string normalize(const std::vector<NormalizerStep>& steps, std::string_view text);

struct PreTokenizerStep {
  enum class Kind { kSplit };
  enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };
  Kind kind = Kind::kSplit;
  std::string pattern;  // literal (HF SplitPattern::String)
  Behavior behavior = Behavior::kRemoved;
  bool invert = false;
};

// A piece of text by byte range.
struct Span {
  size_t begin;
  size_t end;
};

// Splits text into pre-tokens (byte ranges of text), in order; empty pieces are dropped.
void pre_tokenize(const std::vector<PreTokenizerStep>& steps, std::string_view text, std::vector<Span>& out);

struct DecoderStep {
  enum class Kind { kReplace, kByteFallback, kFuse, kStrip };
  Kind kind;
  std::string pattern;  // kReplace
  std::string content;  // kReplace: replacement; kStrip: the character to strip (one code point)
  size_t start = 0;     // kStrip
  size_t stop = 0;      // kStrip
};

// Incremental decoder: push token pieces one by one; every call appends the text that is now
// final (complete UTF-8: pieces are valid UTF-8 and byte-fallback runs are released whole).
// Pushing all pieces then finish() yields exactly what HF's decoder chain returns.
class DecodeStream {
 public:
  // has_decoder=false reproduces HF without a decoder: pieces joined by " ".
  DecodeStream(const std::vector<DecoderStep>* steps, bool has_decoder);
  void push(std::string_view piece, std::string& out);
  void finish(std::string& out);
  // True while text is held back (an unfinished byte-fallback run or a possible strip/replace).
  bool holding() const;

 private:
  void feed(size_t stage, std::string token, std::string& out);
  void flush_stage(size_t stage, std::string& out);
  void emit_fused(std::string_view text, size_t post, std::string& out);
  void finish_post(size_t post, std::string& out);

  const std::vector<DecoderStep>* steps_;
  bool has_decoder_;
  size_t fuse_at_;              // index of the first Fuse (steps_->size() when none)
  bool first_piece_ = true;     // for the no-decoder " " join
  std::vector<uint8_t> bytes_;  // pending byte-fallback run (only one ByteFallback stage is allowed)
  struct PostState {
    size_t stripped_start = 0;
    bool start_done = false;
    std::string held;  // text held back by this post-Fuse stage
  };
  std::vector<PostState> post_;
};

// Validates a decoder chain for DecodeStream: throws kUnsupported for shapes it cannot stream.
void check_decoder_steps(const std::vector<DecoderStep>& steps, const std::string& where);

}  // namespace ember::text
