// Per-group int8 quantization of activations for the integer matmul kernels (kernels.h).
#include <cmath>

#include "backend/cpu/kernels.h"

namespace ember::cpu {

void size_acts_int8(const Matrix& W, int64_t T, Int8Acts* a) {
  const int64_t cols = W.cols, groups = cols / W.group_size;
  a->T = T, a->cols = cols, a->groups = groups;
  a->q.resize(size_t(T * cols));
  a->d.resize(size_t(T * groups));
  a->gsum.resize(size_t(T * groups));
  a->qp = a->q.data(), a->dp = a->d.data(), a->gsump = a->gsum.data();
}

namespace {

// Round to nearest, ties to even (as std::nearbyint in the default rounding mode) for
// |v| < 2^22: adding and subtracting 1.5·2^23 leaves v's integer part in the mantissa. The
// baseline x86-64 target has no roundps, so std::nearbyint would be a libm call per element.
inline int8_t round_i8(float v) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  const float t = v + kMagic;  // no -ffast-math: both roundings happen in f32
  return int8_t(int32_t(t - kMagic));
}

// max|x| and Σx of one group (Σ in index order: gsum must equal a plain sequential sum).
inline void amax_sum(const float* x, int64_t n, float* amax, float* sum) {
  float m = 0.0f, s = 0.0f;
  for (int64_t k = 0; k < n; ++k) {
    const float a = x[k] < 0.0f ? -x[k] : x[k];
    m = a > m ? a : m;
    s += x[k];
  }
  *amax = m, *sum = s;
}

}  // namespace

void quantize_acts_int8(const Matrix& W, const float* x, int64_t t0, int64_t t1, Int8Acts* a) {
  const int64_t cols = W.cols, gs = W.group_size, groups = cols / gs;
  for (int64_t t = t0; t < t1; ++t) {
    const float* xt = x + t * cols;
    int8_t* qt = a->q.data() + t * cols;
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = xt + g * gs;
      float amax, sum;
      amax_sum(xg, gs, &amax, &sum);
      const float d = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      a->d[size_t(t * groups + g)] = d;
      a->gsum[size_t(t * groups + g)] = sum;
      int8_t* qg = qt + g * gs;
      if (W.bits == 4) {  // each chunk of 64 -> [32 even elements, 32 odd elements]
        for (int64_t c = 0; c < gs; c += 64)
          for (int64_t i = 0; i < 32; ++i) {
            qg[c + i] = round_i8(xg[c + 2 * i] * inv);
            qg[c + 32 + i] = round_i8(xg[c + 2 * i + 1] * inv);
          }
      } else {
        for (int64_t k = 0; k < gs; ++k) qg[k] = round_i8(xg[k] * inv);
      }
    }
  }
}

bool int8_fast_path(const Matrix& W) {
  return affine_fast_path(W) && W.group_size % 64 == 0 && W.cols / W.group_size <= 512;
}

MatmulInt8Fn select_int8_kernel(const Matrix& W, Isa isa) {
  if (!int8_fast_path(W)) return nullptr;
  if (isa == Isa::kAvx512 && cpu_has_avx512_vnni()) return matmul_int8_avx512vnni();
  if (isa >= Isa::kAvx2 && W.bits == 4) return matmul_int8_avx2();
  return nullptr;
}

}  // namespace ember::cpu
