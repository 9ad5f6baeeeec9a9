// libFuzzer target: .npy parsing must accept or reject any bytes with an ember::Error, never crash.
#include <cstddef>
#include <cstdint>

#include "ember/error.hpp"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    ember::NpyArray a = ember::parse_npy(data, size, "<fuzz input>");
    // Whatever parsed must re-encode and parse back to the same array.
    auto bytes = ember::encode_npy(a.dtype, a.bytes.data(), a.shape);
    ember::NpyArray b = ember::parse_npy(bytes.data(), bytes.size(), "<re-encoded>");
    if (b.shape != a.shape || b.bytes != a.bytes || b.dtype != a.dtype) __builtin_trap();
  } catch (const ember::Error&) {
  }
  return 0;
}
