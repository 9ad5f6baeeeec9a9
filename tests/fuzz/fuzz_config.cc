// libFuzzer target: config.json (+ generation_config.json) parsing must turn any byte string
// into either a config whose derived structure is self-consistent or an ember::Error.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "ember/error.hpp"
#include "models/gemma4_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  // Optional second document after a NUL: a generation_config.json.
  std::string_view gen;
  if (auto nul = text.find('\0'); nul != std::string_view::npos)
    gen = text.substr(nul + 1), text = text.substr(0, nul);
  try {
    ember::Gemma4Config c = ember::parse_gemma4_config(text, "config.json");
    if (int64_t(c.layers.size()) != c.text.num_hidden_layers) std::abort();
    for (size_t i = 0; i < c.layers.size(); ++i) {
      const auto& l = c.layers[i];
      if (l.kv_source < 0 || l.kv_source > int64_t(i) || l.n_kv_heads <= 0 || l.head_dim <= 0) std::abort();
      if (c.layers[size_t(l.kv_source)].type != l.type) std::abort();
    }
    if (!gen.empty()) ember::parse_generation_config(gen, "generation_config.json", &c);
  } catch (const ember::Error&) {
  }
  return 0;
}
