// libFuzzer target: the safetensors header parser must reject any byte string with an
// ember::Error (never crash, hang or read out of bounds), and on acceptance every tensor
// must lie inside the buffer.
#include <cstdint>
#include <cstdlib>

#include "ember/error.hpp"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto f = ember::SafetensorsFile::parse(data, size, "fuzz.safetensors");
    for (const auto& t : f->tensors()) {
      if (t.data < data || t.data + t.nbytes > data + size) std::abort();
      volatile uint8_t sink = t.nbytes ? t.data[t.nbytes - 1] : 0;
      (void)sink;
    }
  } catch (const ember::Error&) {
  }
  return 0;
}
