#include "quant/mlx_formats.h"

#include <algorithm>
#include <cmath>

#include "core/status.h"

namespace ember {

namespace {
constexpr float kFp4Lut[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                               -0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

float e8m0_to_f32(uint8_t s) { return std::ldexp(1.0f, int(s) - 127); }
}  // namespace

void mlx_dequantize_row(const Matrix& m, int64_t r, float* out) {
  const uint8_t* row = m.data + size_t(r) * m.row_bytes;
  const int64_t gpr = m.groups_per_row();
  const size_t ssz = dtype_size(m.scale_dtype);
  const uint8_t* srow = m.scales + size_t(r) * size_t(gpr) * ssz;
  switch (m.format) {
    case WeightFormat::kMlxAffine: {
      const uint8_t* brow = m.biases + size_t(r) * size_t(gpr) * ssz;
      for (int64_t g = 0; g < gpr; ++g) {
        float s = load_as_f32(m.scale_dtype, srow, size_t(g));
        float b = load_as_f32(m.scale_dtype, brow, size_t(g));
        for (int64_t i = 0; i < m.group_size; ++i) {
          int64_t k = g * m.group_size + i;
          out[k] = s * float(mlx_extract_code(row, k, m.bits)) + b;
        }
      }
      return;
    }
    case WeightFormat::kMlxFp4:
    case WeightFormat::kNvFp4: {
      for (int64_t g = 0; g < gpr; ++g) {
        float s = m.format == WeightFormat::kMlxFp4 ? e8m0_to_f32(srow[g])
                                                     : fp8_e4m3_to_f32(srow[g]) * m.global_scale;
        for (int64_t i = 0; i < m.group_size; ++i) {
          int64_t k = g * m.group_size + i;
          out[k] = kFp4Lut[mlx_extract_code(row, k, 4)] * s;
        }
      }
      return;
    }
    case WeightFormat::kMlxFp8: {
      for (int64_t g = 0; g < gpr; ++g) {
        float s = e8m0_to_f32(srow[g]);
        for (int64_t i = 0; i < m.group_size; ++i) {
          int64_t k = g * m.group_size + i;
          out[k] = fp8_e4m3_to_f32(row[k]) * s;
        }
      }
      return;
    }
    default:
      break;
  }
  fail(ErrorCode::kInternal, "mlx_dequantize_row on non-MLX format");
}

AffineQuantized mlx_affine_quantize(const float* w, int64_t rows, int64_t cols, int bits, int group_size) {
  EMBER_CHECK(cols % group_size == 0 && (cols * bits) % 8 == 0);
  AffineQuantized q;
  const int64_t gpr = cols / group_size;
  const size_t row_bytes = size_t(cols * bits / 8);
  q.packed.assign(size_t(rows) * row_bytes, 0);
  q.scales.resize(size_t(rows * gpr));
  q.biases.resize(size_t(rows * gpr));
  const float n_bins = float((1 << bits) - 1);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* prow = q.packed.data() + size_t(r) * row_bytes;
    for (int64_t g = 0; g < gpr; ++g) {
      const float* x = w + r * cols + g * group_size;
      float wmin = *std::min_element(x, x + group_size);
      float wmax = *std::max_element(x, x + group_size);
      // As mlx: the edge with the larger magnitude maps to q = 0; nudge the scale so that
      // 0.0 is exactly representable.
      bool mask = std::fabs(wmin) > std::fabs(wmax);
      float scale = std::max((wmax - wmin) / n_bins, 1e-7f);
      scale = mask ? scale : -scale;
      float edge = mask ? wmin : wmax;
      float q0 = std::rint(edge / scale);
      float bias = 0.0f;
      if (q0 != 0.0f) {
        scale = edge / q0;
        bias = edge;
      }
      q.scales[size_t(r * gpr + g)] = scale;
      q.biases[size_t(r * gpr + g)] = bias;
      for (int64_t i = 0; i < group_size; ++i) {
        float v = std::rint((x[i] - bias) / scale);
        uint32_t code = uint32_t(std::clamp(v, 0.0f, n_bins));
        uint64_t bit = uint64_t(g * group_size + i) * uint64_t(bits);
        for (int b = 0; b < bits; ++b, ++bit)
          if (code & (1u << b)) prow[bit >> 3] |= uint8_t(1u << (bit & 7));
      }
    }
  }
  return q;
}

}  // namespace ember
