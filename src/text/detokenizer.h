// Streaming detokenizer: feed generated ids one at a time and print what comes back. Every
// returned chunk is complete UTF-8 (never half a character), byte-fallback tokens are assembled
// into characters, and the concatenation of all chunks (including finish()) equals
// Tokenizer::decode of the same ids — the same decoder chain runs incrementally, so leading
// U+2581/Strip rules at the stream start behave as in a full decode.
//
// A run of byte-fallback tokens is released when the run ends (at the next non-byte token or at
// finish()): HF decodes an invalid run as one U+FFFD per byte, so an early release of its valid
// prefix could contradict the full decode.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "text/pipeline.h"
#include "text/tokenizer.h"

namespace ember {

class Detokenizer {
 public:
  // The tokenizer must outlive the detokenizer.
  explicit Detokenizer(const Tokenizer& tokenizer, bool skip_special = false);

  // Text completed by this id (possibly empty).
  std::string push(int32_t id);
  // Text still held back at the end of the stream.
  std::string finish();
  // Starts a new stream.
  void reset();

 private:
  const Tokenizer* tok_;
  bool skip_special_;
  std::unique_ptr<text::DecodeStream> stream_;
};

}  // namespace ember
