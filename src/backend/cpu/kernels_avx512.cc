// AVX-512 instantiation of kernels_simd.inc (16 f32 lanes). Compiled with -mavx512f/bw/vl/dq
// (see CMakeLists.txt); only reached when isa.cc detected AVX-512 at runtime.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/kernels.h"
#include "core/dtype.h"

namespace ember::cpu {

namespace {
constexpr int W = 16;
using VF = __m512;

inline VF vzero() { return _mm512_setzero_ps(); }
inline VF vset1(float f) { return _mm512_set1_ps(f); }
inline VF vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, VF v) { _mm512_storeu_ps(p, v); }
inline VF vfma(VF a, VF b, VF c) { return _mm512_fmadd_ps(a, b, c); }
inline VF vadd(VF a, VF b) { return _mm512_add_ps(a, b); }
inline VF vmul(VF a, VF b) { return _mm512_mul_ps(a, b); }
inline VF vdiv(VF a, VF b) { return _mm512_div_ps(a, b); }
inline VF vsub(VF a, VF b) { return _mm512_sub_ps(a, b); }
inline VF vabs(VF a) { return _mm512_andnot_ps(_mm512_set1_ps(-0.0f), a); }
inline VF vcopysign(VF mag, VF sgn) { return _mm512_or_ps(mag, _mm512_and_ps(sgn, _mm512_set1_ps(-0.0f))); }
inline float vreduce(VF v) { return _mm512_reduce_add_ps(v); }
inline VF vload_bf16(const uint16_t* p) {
  __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
}
inline VF vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline VF vload_u8(const uint8_t* p) {
  return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))));
}
// 16 bytes = 32 nibbles -> lo: low nibbles (elements 0,2,..,30), hi: high nibbles (1,3,..,31).
inline void vload_u4(const uint8_t* p, VF& lo, VF& hi) {
  __m512i b = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  lo = _mm512_cvtepi32_ps(_mm512_and_si512(b, _mm512_set1_epi32(0xF)));
  hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(b, 4));
}
// exp via 2^n · p(r), r = x − n·ln2 (Cody-Waite split), degree-6 polynomial (Cephes expf).
inline VF vexp(VF x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  VF n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  VF r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  VF p = _mm512_set1_ps(1.9875691500e-4f);
  p = vfma(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = vfma(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = vfma(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = vfma(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = vfma(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = vfma(p, _mm512_mul_ps(r, r), vadd(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}
}  // namespace

#include "backend/cpu/kernels_simd.inc"

const KernelTable* kernels_avx512() { return &kTable; }

}  // namespace ember::cpu
