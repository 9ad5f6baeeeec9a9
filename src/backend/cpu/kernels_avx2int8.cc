// Integer-dot-product matmul for MLX affine 4-bit weights with int8 activations on AVX2
// (vpmaddubsw: unsigned codes 0..15 × signed activations, pairs summed to int16 — at most
// 2·15·127 = 3810, no saturation — then vpmaddwd to int32). Same activation layout as the
// AVX-512 VNNI kernel (Int8Acts). 8-bit codes would saturate vpmaddubsw, so 8-bit weights stay
// on the f32 path on AVX2. Compiled with -mavx2 -mfma.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/kernels.h"
#include "core/dtype.h"

namespace ember::cpu {

namespace {

#include "backend/cpu/kernels_helpers.inc"

constexpr int64_t kMaxGroups = 512;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float bias_dot(DType t, const uint8_t* b, const float* gsum, int64_t groups) {
  float s = 0.0f;
  for (int64_t g = 0; g < groups; g += 8) {
    if (groups - g < 8) {
      for (; g < groups; ++g) s += load_scale(t, b, g) * gsum[g];
      break;
    }
    __m256 bv;
    if (t == DType::F32) {
      bv = _mm256_loadu_ps(reinterpret_cast<const float*>(b) + g);
    } else {
      const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2 * g));
      bv = t == DType::F16 ? _mm256_cvtph_ps(h)
                           : _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    s += hsum(_mm256_mul_ps(bv, _mm256_loadu_ps(gsum + g)));
  }
  return s;
}

// RB rows × TB tokens; per 64-element chunk: lo/hi nibbles (32 each) × the [even | odd]
// activation halves, int16 pair sums added, widened to int32 by vpmaddwd with ones.
template <int RB, int TB>
void block(const Matrix& M, const Int8Acts& a, float* y, int64_t r, int64_t t0) {
  const int64_t cols = M.cols, gs = M.group_size, groups = cols / gs;
  const size_t ssz = M.scale_dtype == DType::F32 ? 4 : 2;
  const uint8_t* codes[RB];
  for (int i = 0; i < RB; ++i) codes[i] = M.data + size_t(r + i) * M.row_bytes;
  const int8_t* xq[TB];
  for (int j = 0; j < TB; ++j) xq[j] = a.qp + (t0 + j) * cols;
  alignas(32) float sd[RB][TB][kMaxGroups];  // s_{r+i,g} · d_{t0+j,g}
  for (int i = 0; i < RB; ++i) {
    const uint8_t* sc = M.scales + size_t(r + i) * size_t(groups) * ssz;
    for (int64_t g = 0; g < groups; ++g) {
      const float s = load_scale(M.scale_dtype, sc, g);
      for (int j = 0; j < TB; ++j) sd[i][j][g] = s * a.dp[(t0 + j) * groups + g];
    }
  }
  const __m256i mask = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  __m256 tot[RB][TB];
  for (int i = 0; i < RB; ++i)
    for (int j = 0; j < TB; ++j) tot[i][j] = _mm256_setzero_ps();
  for (int64_t g = 0; g < groups; ++g) {
    __m256i acc[RB][TB];
    for (int i = 0; i < RB; ++i)
      for (int j = 0; j < TB; ++j) acc[i][j] = _mm256_setzero_si256();
    for (int64_t c = g * gs; c < (g + 1) * gs; c += 64) {
      __m256i lo[RB], hi[RB];
      for (int i = 0; i < RB; ++i) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes[i] + c / 2));
        lo[i] = _mm256_and_si256(b, mask);
        hi[i] = _mm256_and_si256(_mm256_srli_epi16(b, 4), mask);
      }
      for (int j = 0; j < TB; ++j) {
        const __m256i xe = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[j] + c));
        const __m256i xo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[j] + c + 32));
        for (int i = 0; i < RB; ++i) {
          const __m256i p16 =
              _mm256_add_epi16(_mm256_maddubs_epi16(lo[i], xe), _mm256_maddubs_epi16(hi[i], xo));
          acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(p16, ones));
        }
      }
    }
    for (int i = 0; i < RB; ++i)
      for (int j = 0; j < TB; ++j)
        tot[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(acc[i][j]), _mm256_set1_ps(sd[i][j][g]), tot[i][j]);
  }
  for (int i = 0; i < RB; ++i) {
    const uint8_t* bi = M.biases + size_t(r + i) * size_t(groups) * ssz;
    for (int j = 0; j < TB; ++j)
      y[(t0 + j) * M.rows + r + i] =
          hsum(tot[i][j]) + bias_dot(M.scale_dtype, bi, a.gsump + (t0 + j) * groups, groups);
  }
}

template <int RB>
void tokens(const Matrix& M, const Int8Acts& a, float* y, int64_t r, int64_t t0, int64_t tb) {
  switch (tb) {
    case 1:
      return block<RB, 1>(M, a, y, r, t0);
    case 2:
      return block<RB, 2>(M, a, y, r, t0);
    default:
      return block<RB, 3>(M, a, y, r, t0);
  }
}

void k_matmul_int8(const Matrix& M, const Int8Acts& a, float* y, int64_t r0, int64_t r1) {
  if (a.T == 1) {
    int64_t r = r0;
    for (; r + 2 <= r1; r += 2) block<2, 1>(M, a, y, r, 0);
    for (; r < r1; ++r) block<1, 1>(M, a, y, r, 0);
    return;
  }
  int64_t tile = int64_t((96 * 1024) / (M.row_bytes ? M.row_bytes : 1));
  if (tile < 4) tile = 4;
  for (int64_t rt = r0; rt < r1; rt += tile) {
    const int64_t re = imin(r1, rt + tile);
    for (int64_t t = 0; t < a.T; t += 3) {
      const int64_t tb = imin(3, a.T - t);
      int64_t r = rt;
      for (; r + 2 <= re; r += 2) tokens<2>(M, a, y, r, t, tb);
      for (; r < re; ++r) tokens<1>(M, a, y, r, t, tb);
    }
  }
}

}  // namespace

MatmulInt8Fn matmul_int8_avx2() { return k_matmul_int8; }

}  // namespace ember::cpu
