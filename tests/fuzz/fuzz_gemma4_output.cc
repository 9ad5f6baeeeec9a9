// libFuzzer target: Gemma 4 output parsing (whole text and streamed in uneven pieces) must
// never crash on any model output.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ember/error.hpp"
#include "text/gemma4_output.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ember::parse_gemma4_output(text);
  ember::Gemma4StreamParser p;
  size_t i = 0, step = 1;
  while (i < text.size()) {
    p.feed(text.substr(i, step));
    i += step;
    step = step % 7 + 1;
  }
  p.finish();
  try {
    ember::parse_gemma4_value(text);
  } catch (const ember::Error&) {
  }
  return 0;
}
