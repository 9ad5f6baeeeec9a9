// Scalar reference dequantization of one matrix row, for every stored format.
#include <cmath>
#include <cstring>

#include "core/status.h"
#include "core/weights.h"
#include "quant/gguf_quants.h"
#include "quant/mlx_formats.h"

namespace ember {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kDense: return "dense";
    case WeightFormat::kMlxAffine: return "affine";
    case WeightFormat::kMlxFp4: return "mxfp4";
    case WeightFormat::kMlxFp8: return "mxfp8";
    case WeightFormat::kNvFp4: return "nvfp4";
    case WeightFormat::kGguf: return "gguf";
  }
  return "?";
}

size_t Matrix::stored_row_bytes() const {
  size_t n = row_bytes;
  if (scales) n += size_t(groups_per_row()) * dtype_size(scale_dtype);
  if (biases) n += size_t(groups_per_row()) * dtype_size(scale_dtype);
  return n;
}

void dequantize_row(const Matrix& m, int64_t r, float* out) {
  EMBER_CHECK(r >= 0 && r < m.rows);
  const uint8_t* row = m.data + size_t(r) * m.row_bytes;
  switch (m.format) {
    case WeightFormat::kDense:
      for (int64_t c = 0; c < m.cols; ++c) out[c] = load_as_f32(m.dtype, row, size_t(c));
      return;
    case WeightFormat::kMlxAffine:
    case WeightFormat::kMlxFp4:
    case WeightFormat::kMlxFp8:
    case WeightFormat::kNvFp4:
      mlx_dequantize_row(m, r, out);
      return;
    case WeightFormat::kGguf:
      gguf::dequantize(m.gguf_type, row, out, m.cols);  // kUnsupported for types without one
      return;
  }
  fail(ErrorCode::kUnsupported, m.name, ": no reference dequantization for format ", weight_format_name(m.format));
}

}  // namespace ember
