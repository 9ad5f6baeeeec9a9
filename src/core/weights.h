// How a weight matrix is stored: the contract between the loaders (safetensors/MLX, GGUF)
// and the kernels. A Matrix always points into the mapped checkpoint; nothing is
// dequantized at load. Logical shape is [rows, cols] = [out_features, in_features]
// (an embedding table is [vocab, dim]: rows are tokens).
#pragma once

#include <cstdint>
#include <string>

#include "core/dtype.h"

namespace ember {

enum class WeightFormat : uint8_t {
  kDense,      // `dtype` elements (F32/F16/BF16), row-major [rows, cols]
  kMlxAffine,  // MLX affine: packed LSB-first `bits`-bit codes, per-group scales+biases (`dtype`)
  kMlxFp4,     // MLX mxfp4: E2M1 codes, group 32, uint8 E8M0 scales, no biases
  kMlxFp8,     // MLX mxfp8: E4M3 codes, group 32, uint8 E8M0 scales
  kNvFp4,      // MLX nvfp4: E2M1 codes, group 16, E4M3 scales (+ optional global scale)
  kGguf,       // GGUF block-quantized rows; `gguf_type` is the ggml type id
};

const char* weight_format_name(WeightFormat f);

struct Matrix {
  std::string name;                 // canonical name, e.g. "layers.3.self_attn.q_proj"
  WeightFormat format = WeightFormat::kDense;
  DType dtype = DType::F32;         // dense: element type; MLX affine: scales/biases type
  int64_t rows = 0, cols = 0;       // logical [out, in]
  int bits = 0;                     // quantized formats
  int group_size = 0;               // quantized formats (elements per scale)
  int gguf_type = -1;               // kGguf
  const uint8_t* data = nullptr;    // row r starts at data + r * row_bytes
  size_t row_bytes = 0;             // bytes per stored row of `data`
  const uint8_t* scales = nullptr;  // MLX formats: [rows, cols/group_size] of `scale_dtype`
  const uint8_t* biases = nullptr;  // MLX affine: same shape/type as scales
  DType scale_dtype = DType::BF16;
  float global_scale = 1.0f;        // nvfp4 optional global scale

  bool quantized() const { return format != WeightFormat::kDense; }
  int64_t groups_per_row() const { return group_size ? cols / group_size : 0; }
  // Bytes one row of the matrix occupies in total (codes + scales + biases).
  size_t stored_row_bytes() const;
};

// Scalar reference: dequantizes row `r` of `m` into out[cols] (f32). Used by tests, by
// the embedding gather and as the fallback of every fast kernel.
void dequantize_row(const Matrix& m, int64_t r, float* out);

}  // namespace ember
