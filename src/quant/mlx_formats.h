// MLX quantization formats (affine 2-8 bit, mxfp4, mxfp8, nvfp4): bit extraction,
// reference dequantization and a reference affine quantizer (for tests and tools).
#pragma once

#include <cstdint>
#include <vector>

#include "core/weights.h"

namespace ember {

// Code of element k of a row packed LSB-first with `bits` bits per element.
inline uint32_t mlx_extract_code(const uint8_t* row, int64_t k, int bits) {
  uint64_t bit = uint64_t(k) * uint64_t(bits);
  uint64_t byte = bit >> 3;
  unsigned shift = unsigned(bit & 7);
  // Up to 8 bits spanning at most two bytes.
  uint32_t v = row[byte];
  if (shift + unsigned(bits) > 8) v |= uint32_t(row[byte + 1]) << 8;
  return (v >> shift) & ((1u << bits) - 1u);
}

// Dequantizes row r of an MLX-format matrix (affine, mxfp4, mxfp8, nvfp4) to f32.
void mlx_dequantize_row(const Matrix& m, int64_t r, float* out);

// Affine-quantizes a row-major f32 matrix [rows, cols] the way mlx.core.quantize does
// (per-group min/max, scale nudged so 0 is exact). Outputs packed codes (rows * cols*bits/8
// bytes) and f32 scales/biases [rows, cols/group]. For test checkpoints and tools.
struct AffineQuantized {
  std::vector<uint8_t> packed;
  std::vector<float> scales, biases;
};
AffineQuantized mlx_affine_quantize(const float* w, int64_t rows, int64_t cols, int bits, int group_size);

}  // namespace ember
