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

void quantize_acts_int8(const Matrix& W, const float* x, int64_t t0, int64_t t1, Int8Acts* a) {
  const int64_t cols = W.cols, gs = W.group_size, groups = cols / gs;
  for (int64_t t = t0; t < t1; ++t) {
    const float* xt = x + t * cols;
    int8_t* qt = a->q.data() + t * cols;
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = xt + g * gs;
      float amax = 0.0f, sum = 0.0f;
      for (int64_t k = 0; k < gs; ++k) amax = std::fmax(amax, std::fabs(xg[k])), sum += xg[k];
      const float d = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
      a->d[size_t(t * groups + g)] = d;
      a->gsum[size_t(t * groups + g)] = sum;
      int8_t* qg = qt + g * gs;
      for (int64_t k = 0; k < gs; ++k) {
        // 4-bit: chunk of 64 -> [even, odd] to match the nibble unpacking.
        int64_t dst = k;
        if (W.bits == 4) dst = (k & ~int64_t(63)) + ((k & 1) ? 32 : 0) + ((k & 63) >> 1);
        qg[dst] = int8_t(std::nearbyint(xg[k] * inv));
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
