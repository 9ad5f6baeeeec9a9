// Integer-dot-product matmul for MLX affine 4/8-bit weights with int8 activations (AVX-512
// VNNI: vpdpbusd multiplies unsigned weight codes by signed activations and sums 4 products
// into each int32 lane). Compiled with -mavx512vnni; reached only when the CPU has it.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/kernels.h"
#include "core/dtype.h"

namespace ember::cpu {

namespace {

#include "backend/cpu/kernels_helpers.inc"

// 64 weight codes of a row starting at element c, as unsigned bytes in the activation order
// of Int8Acts (4-bit: [32 low nibbles = even elements | 32 high nibbles = odd elements]).
template <int BITS>
inline __m512i load_codes(const uint8_t* row, int64_t c) {
  if constexpr (BITS == 8) return _mm512_loadu_si512(row + c);
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + c / 2));
  const __m256i m = _mm256_set1_epi8(0x0F);
  const __m256i lo = _mm256_and_si256(b, m), hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), m);
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// Up to 16 scales (masked) starting at group g, as f32.
inline __m512 load_scales16(DType t, const uint8_t* base, int64_t g, __mmask16 m) {
  if (t == DType::F32) return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(base) + g);
  const __m256i h = _mm256_maskz_loadu_epi16(m, base + 2 * g);
  return t == DType::F16 ? _mm512_cvtph_ps(h)
                         : _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

inline float bias_dot(DType t, const uint8_t* b, const float* gsum, int64_t groups) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; g += 16) {  // masked tail: no scalar loop per row
    const __mmask16 m = groups - g >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (groups - g)) - 1u);
    acc = _mm512_fmadd_ps(load_scales16(t, b, g, m), _mm512_maskz_loadu_ps(m, gsum + g), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

// Most groups a row may have for the precomputed combined scales (cols ≤ 32768 at group 64).
constexpr int64_t kMaxGroups = 512;

// RB rows × TB tokens. Per group: int32 accumulators over its 64-element chunks, then one
// convert and one FMA with the combined scale s_row,g · d_token,g. The combined scales are
// computed up front, 16 groups per instruction, so the per-group epilogue is just
// convert + FMA with a broadcast memory operand (with group 64 it runs once per vpdpbusd).
template <int BITS, int RB, int TB>
void int8_block(const Matrix& M, const Int8Acts& a, float* y, int64_t r, int64_t t0) {
  const int64_t cols = M.cols, gs = M.group_size, groups = cols / gs;
  const size_t ssz = M.scale_dtype == DType::F32 ? 4 : 2;
  const uint8_t* codes[RB];
  for (int i = 0; i < RB; ++i) codes[i] = M.data + size_t(r + i) * M.row_bytes;
  const int8_t* xq[TB];
  for (int j = 0; j < TB; ++j) xq[j] = a.qp + (t0 + j) * cols;
  alignas(64) float sd[RB][TB][kMaxGroups];  // s_{r+i,g} · d_{t0+j,g}
  for (int i = 0; i < RB; ++i) {
    const uint8_t* sc = M.scales + size_t(r + i) * size_t(groups) * ssz;
    for (int64_t g = 0; g < groups; g += 16) {
      const __mmask16 m = groups - g >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (groups - g)) - 1u);
      const __m512 s = load_scales16(M.scale_dtype, sc, g, m);
      for (int j = 0; j < TB; ++j)
        _mm512_mask_storeu_ps(&sd[i][j][g], m,
                              _mm512_mul_ps(s, _mm512_maskz_loadu_ps(m, a.dp + (t0 + j) * groups + g)));
    }
  }
  __m512 tot[RB][TB];
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < TB; ++j) tot[i][j] = _mm512_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m512i acc[RB][TB];
    for (int i = 0; i < RB; ++i)
      for (int j = 0; j < TB; ++j) acc[i][j] = _mm512_setzero_si512();
    for (int64_t c = g * gs; c < (g + 1) * gs; c += 64) {
      __m512i w[RB];
      for (int i = 0; i < RB; ++i) w[i] = load_codes<BITS>(codes[i], c);
      for (int j = 0; j < TB; ++j) {
        const __m512i xv = _mm512_loadu_si512(xq[j] + c);
        for (int i = 0; i < RB; ++i) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], w[i], xv);
      }
    }
    for (int i = 0; i < RB; ++i)
      for (int j = 0; j < TB; ++j)
        tot[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[i][j]), _mm512_set1_ps(sd[i][j][g]), tot[i][j]);
  }
  for (int i = 0; i < RB; ++i) {
    const uint8_t* bi = M.biases + size_t(r + i) * size_t(groups) * ssz;
    for (int j = 0; j < TB; ++j)
      y[(t0 + j) * M.rows + r + i] =
          _mm512_reduce_add_ps(tot[i][j]) + bias_dot(M.scale_dtype, bi, a.gsump + (t0 + j) * groups, groups);
  }
}

template <int BITS, int RB>
void int8_tokens(const Matrix& M, const Int8Acts& a, float* y, int64_t r, int64_t t0, int64_t tb) {
  switch (tb) {
    case 1:
      return int8_block<BITS, RB, 1>(M, a, y, r, t0);
    case 2:
      return int8_block<BITS, RB, 2>(M, a, y, r, t0);
    case 3:
      return int8_block<BITS, RB, 3>(M, a, y, r, t0);
    default:
      return int8_block<BITS, RB, 4>(M, a, y, r, t0);
  }
}

template <int BITS>
void int8_range(const Matrix& M, const Int8Acts& a, float* y, int64_t r0, int64_t r1) {
  if (a.T == 1) {
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) int8_block<BITS, 4, 1>(M, a, y, r, 0);
    for (; r < r1; ++r) int8_block<BITS, 1, 1>(M, a, y, r, 0);
    return;
  }
  // Row tiles of ~96 KiB stay in L2 while every 4-token block passes over them.
  int64_t tile = int64_t((96 * 1024) / (M.row_bytes ? M.row_bytes : 1));
  if (tile < 4) tile = 4;
  for (int64_t rt = r0; rt < r1; rt += tile) {
    const int64_t re = imin(r1, rt + tile);
    for (int64_t t = 0; t < a.T; t += 4) {
      const int64_t tb = imin(4, a.T - t);
      int64_t r = rt;
      for (; r + 2 <= re; r += 2) int8_tokens<BITS, 2>(M, a, y, r, t, tb);
      for (; r < re; ++r) int8_tokens<BITS, 1>(M, a, y, r, t, tb);
    }
  }
}

void k_matmul_int8(const Matrix& M, const Int8Acts& a, float* y, int64_t r0, int64_t r1) {
  if (M.bits == 4) return int8_range<4>(M, a, y, r0, r1);
  return int8_range<8>(M, a, y, r0, r1);
}

}  // namespace

MatmulInt8Fn matmul_int8_avx512vnni() { return k_matmul_int8; }

}  // namespace ember::cpu
