// Fuzzes the tokenizer.json loader, then exercises the loaded tokenizer: input bytes up to the
// first NUL are the JSON, the rest is text to encode (then decode and stream back).
// Any ember::Error is an accepted outcome; crashes, leaks and UB are not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ember/error.hpp"
#include "text/detokenizer.h"
#include "text/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view json = in.substr(0, nul);
  std::string_view text =
      nul == std::string_view::npos ? std::string_view("a b  <x>\n\n") : in.substr(nul + 1);
  try {
    ember::Tokenizer tok = ember::Tokenizer::from_json(json, "fuzz.json");
    for (bool special : {true, false}) {
      std::vector<int32_t> ids = tok.encode(text, special, special);
      std::string whole = tok.decode(ids, !special);
      ember::Detokenizer d(tok, !special);
      std::string streamed;
      for (int32_t id : ids) streamed += d.push(id);
      streamed += d.finish();
      if (streamed != whole) __builtin_trap();  // streaming must equal a full decode
    }
    (void)tok.token_to_piece(static_cast<int32_t>(size));
  } catch (const ember::Error&) {
  }
  return 0;
}
