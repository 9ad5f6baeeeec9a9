// AVX2 + FMA + F16C instantiation of kernels_simd.inc (8 f32 lanes). Compiled with
// -mavx2 -mfma -mf16c (see CMakeLists.txt); only reached when isa.cc detected AVX2.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/kernels.h"
#include "core/dtype.h"

namespace ember::cpu {

namespace {
constexpr int W = 8;
using VF = __m256;

inline VF vzero() { return _mm256_setzero_ps(); }
inline VF vset1(float f) { return _mm256_set1_ps(f); }
inline VF vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, VF v) { _mm256_storeu_ps(p, v); }
inline VF vfma(VF a, VF b, VF c) { return _mm256_fmadd_ps(a, b, c); }
inline VF vadd(VF a, VF b) { return _mm256_add_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm256_mul_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm256_div_ps(a, b); }
inline VF vsub(VF a, VF b) { return _mm256_sub_ps(a, b); }
inline VF vabs(VF a) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), a); }
inline VF vcopysign(VF mag, VF sgn) { return _mm256_or_ps(mag, _mm256_and_ps(sgn, _mm256_set1_ps(-0.0f))); }
inline float vreduce(VF v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline VF vload_bf16(const uint16_t* p) {
  __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}
inline VF vload_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline VF vload_u8(const uint8_t* p) {
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
// 8 bytes = 16 nibbles -> lo: elements 0,2,..,14, hi: elements 1,3,..,15.
inline void vload_u4(const uint8_t* p, VF& lo, VF& hi) {
  __m256i b = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  lo = _mm256_cvtepi32_ps(_mm256_and_si256(b, _mm256_set1_epi32(0xF)));
  hi = _mm256_cvtepi32_ps(_mm256_srli_epi32(b, 4));
}
inline VF vexp(VF x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  VF n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  VF r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  VF p = _mm256_set1_ps(1.9875691500e-4f);
  p = vfma(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = vfma(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = vfma(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = vfma(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = vfma(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = vfma(p, _mm256_mul_ps(r, r), vadd(r, _mm256_set1_ps(1.0f)));
  // 2^n by building the exponent field (n in [-126, 127] after the clamp).
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
}  // namespace

#include "backend/cpu/kernels_simd.inc"

const KernelTable* kernels_avx2() { return &kTable; }

}  // namespace ember::cpu
