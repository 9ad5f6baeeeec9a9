// Fuzzes encode/decode/streaming of the real Gemma tokenizer with arbitrary bytes (invalid UTF-8
// included: it is repaired to U+FFFD). The tokenizer is loaded once from $EMBER_TOKENIZER or,
// when run from the repository root, ../shared/assets/gemma3-tokenizer/tokenizer.json.gz.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "ember/error.hpp"
#include "text/detokenizer.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace {
const ember::Tokenizer& tokenizer() {
  static std::unique_ptr<ember::Tokenizer> tok = [] {
    const char* env = std::getenv("EMBER_TOKENIZER");
    std::string path = env ? env : "../shared/assets/gemma3-tokenizer/tokenizer.json.gz";
    return std::make_unique<ember::Tokenizer>(ember::Tokenizer::from_file(path));
  }();
  return *tok;
}
}  // namespace

// Load the 33 MB tokenizer before fuzzing starts, so its load time (slow under sanitizers on a
// busy machine) is not charged to the first input's -timeout.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)tokenizer();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const ember::Tokenizer& tok = tokenizer();
  std::string text(reinterpret_cast<const char*>(data), size);
  bool special = size > 0 && (data[0] & 1);
  std::vector<int32_t> ids = tok.encode(text, special, special);
  std::string back = tok.decode(ids);
  // Gemma's pipeline is lossless on (repaired) text, except that a literal U+2581 decodes to a
  // space (it is the tokenizer's space symbol) and BOS when added.
  if (!special) {
    std::string want = ember::text::utf8_sanitize(text);
    for (size_t at = want.find("\xE2\x96\x81"); at != std::string::npos; at = want.find("\xE2\x96\x81", at)) {
      want.replace(at, 3, " ");
    }
    if (back != want) __builtin_trap();
  }
  // Decoding arbitrary ids (byte-fallback runs, specials, out of range) and streaming them.
  std::vector<int32_t> raw;
  for (size_t i = 0; i + 3 <= size; i += 3)
    raw.push_back(int32_t(data[i] | data[i + 1] << 8 | (data[i + 2] & 3) << 16));
  std::string whole = tok.decode(raw);
  ember::Detokenizer d(tok);
  std::string streamed;
  for (int32_t id : raw) {
    std::string chunk = d.push(id);
    if (!ember::text::utf8_valid(chunk)) __builtin_trap();
    streamed += chunk;
  }
  streamed += d.finish();
  if (streamed != whole) __builtin_trap();
  return 0;
}
