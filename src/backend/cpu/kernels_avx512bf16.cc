// bf16 × bf16 dense matmul with f32 accumulation (AVX-512 BF16: vdpbf16ps multiplies 32
// bf16 pairs into 16 f32 lanes). The weights are used as stored; the activations are rounded
// to bf16 once per call (MatmulMode::kFast only). Compiled with -mavx512bf16; reached only when
// the CPU has it.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/kernels.h"
#include "core/dtype.h"

namespace ember::cpu {

namespace {

#include "backend/cpu/kernels_helpers.inc"

inline __mmask32 tail_mask(int64_t n) { return n >= 32 ? ~__mmask32(0) : __mmask32((1u << n) - 1u); }

// RB rows × TB tokens; x: bf16 [T, cols] (row stride cols).
template <int RB, int TB>
void block(const Matrix& M, const uint16_t* x, float* y, int64_t r, int64_t t0) {
  const int64_t cols = M.cols;
  const uint16_t* rows[RB];
  for (int i = 0; i < RB; ++i)
    rows[i] = reinterpret_cast<const uint16_t*>(M.data + size_t(r + i) * M.row_bytes);
  const uint16_t* xs[TB];
  for (int j = 0; j < TB; ++j) xs[j] = x + (t0 + j) * cols;
  __m512 acc[RB][TB];
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < TB; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    __m512bh w[RB];
    for (int i = 0; i < RB; ++i) w[i] = (__m512bh)_mm512_loadu_si512(rows[i] + c);
    for (int j = 0; j < TB; ++j) {
      const __m512bh xv = (__m512bh)_mm512_loadu_si512(xs[j] + c);
      for (int i = 0; i < RB; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], w[i], xv);
    }
  }
  if (c < cols) {
    const __mmask32 m = tail_mask(cols - c);  // zeros past the end add nothing
    __m512bh w[RB];
    for (int i = 0; i < RB; ++i) w[i] = (__m512bh)_mm512_maskz_loadu_epi16(m, rows[i] + c);
    for (int j = 0; j < TB; ++j) {
      const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, xs[j] + c);
      for (int i = 0; i < RB; ++i) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], w[i], xv);
    }
  }
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < TB; ++j) y[(t0 + j) * M.rows + r + i] = _mm512_reduce_add_ps(acc[i][j]);
}

template <int RB>
void tokens(const Matrix& M, const uint16_t* x, float* y, int64_t r, int64_t t0, int64_t tb) {
  switch (tb) {
    case 1:
      return block<RB, 1>(M, x, y, r, t0);
    case 2:
      return block<RB, 2>(M, x, y, r, t0);
    case 3:
      return block<RB, 3>(M, x, y, r, t0);
    default:
      return block<RB, 4>(M, x, y, r, t0);
  }
}

void k_matmul_bf16(const Matrix& M, const uint16_t* x, int64_t T, float* y, int64_t r0, int64_t r1) {
  if (T == 1) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) block<4, 1>(M, x, y, r, 0);
    for (; r < r1; ++r) block<1, 1>(M, x, y, r, 0);
    return;
  }
  int64_t tile = int64_t((96 * 1024) / (M.row_bytes ? M.row_bytes : 1));
  if (tile < 4) tile = 4;
  for (int64_t rt = r0; rt < r1; rt += tile) {
    const int64_t re = imin(r1, rt + tile);
    for (int64_t t = 0; t < T; t += 4) {
      const int64_t tb = imin(4, T - t);
      int64_t r = rt;
      for (; r + 4 <= re; r += 4) tokens<4>(M, x, y, r, t, tb);
      for (; r < re; ++r) tokens<1>(M, x, y, r, t, tb);
    }
  }
}

}  // namespace

MatmulBf16Fn matmul_bf16_avx512bf16() { return k_matmul_bf16; }

}  // namespace ember::cpu
