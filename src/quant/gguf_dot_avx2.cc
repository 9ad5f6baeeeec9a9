// AVX2 integer dot products of GGUF rows with 8-bit activations. Compiled for the
// AVX2+FMA+F16C target per function and called only after cpu_has_avx2(); the integer sums equal the
// scalar kernels' exactly (gguf_dot.cc), only the f32 combination order differs.
#include <cstring>

#include "core/dtype.h"
#include "quant/gguf_dot_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define EMBER_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace ember::gguf {

namespace {

// fp16 -> f32 in one instruction (F16C; exact, like f16_to_f32).
EMBER_AVX2 inline float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

EMBER_AVX2 inline float hsum_ps(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

EMBER_AVX2 inline int hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

EMBER_AVX2 inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Signed int8 a . b as 8 int32 partial sums. maddubs needs one unsigned operand: |a| and
// b * sign(a). |a| <= 128 and |b| <= 127 (activations are clamped) keep pairs below 2^15.
EMBER_AVX2 inline __m256i dot_s8(__m256i a, __m256i b) {
  __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}
// Unsigned a (< 128) . signed b.
EMBER_AVX2 inline __m256i dot_u8(__m256i a, __m256i b) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), _mm256_set1_epi16(1));
}

// 16 packed bytes -> 32 nibbles: low nibbles (elements 0-15) in the low lane, high nibbles
// (elements 16-31) in the high lane.
EMBER_AVX2 inline __m256i nibbles32(const uint8_t* p) {
  __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(raw), _mm_srli_epi16(raw, 4), 1);
  return _mm256_and_si256(v, _mm256_set1_epi8(0x0F));
}

// The 32 bits of a little-endian u32 as bytes: 0x10 where bit k is set, else 0.
EMBER_AVX2 inline __m256i fifth_bits32(const uint8_t* p) {
  uint32_t qh;
  std::memcpy(&qh, p, 4);
  // Byte k takes qh byte k / 8 (the shuffle works per 128-bit lane; both lanes hold qh).
  const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(int(qh)), pick);
  const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);  // byte k selects bit k % 8
  __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Q4_0 / Q5_0 / Q8_0: sum_b d_w * d_x * <q_w, q_x>.
EMBER_AVX2 float dot_q32_sym(int type, const uint8_t* row, const BlockQ8x32* x, int64_t nb) {
  const size_t bs = type == kQ8_0 ? kBlockQ8_0 : type == kQ4_0 ? kBlockQ4_0 : kBlockQ5_0;
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * bs;
    __m256i q;
    if (type == kQ8_0) {
      q = load32(w + 2);
    } else if (type == kQ4_0) {
      q = _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8));
    } else {
      q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(w + 6), fifth_bits32(w + 2)), _mm256_set1_epi8(16));
    }
    __m256i p = dot_s8(q, load32(x[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w) * x[b].d), _mm256_cvtepi32_ps(p), acc);
  }
  return hsum_ps(acc);
}

// dot_q32_sym of one row with NT activations: each weight block is unpacked once and
// multiplied by NT activation blocks (prefill). Per token the integer sums and the order of
// the f32 FMAs are those of dot_q32_sym, so the results are bit-identical.
template <int NT>
EMBER_AVX2 void dot_q32_sym_multi(int type, const uint8_t* row, const BlockQ8x32* const* x, int64_t nb,
                                  float* out) {
  const size_t bs = type == kQ8_0 ? kBlockQ8_0 : type == kQ4_0 ? kBlockQ4_0 : kBlockQ5_0;
  __m256 acc[NT];
  for (int j = 0; j < NT; ++j) acc[j] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * bs;
    __m256i q;
    if (type == kQ8_0) {
      q = load32(w + 2);
    } else if (type == kQ4_0) {
      q = _mm256_sub_epi8(nibbles32(w + 2), _mm256_set1_epi8(8));
    } else {
      q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(w + 6), fifth_bits32(w + 2)), _mm256_set1_epi8(16));
    }
    const __m256i aq = _mm256_sign_epi8(q, q);  // |q|, the unsigned operand (see dot_s8)
    const float dw = half(w);
    for (int j = 0; j < NT; ++j) {
      __m256i p = _mm256_maddubs_epi16(aq, _mm256_sign_epi8(load32(x[j][b].qs), q));
      p = _mm256_madd_epi16(p, _mm256_set1_epi16(1));
      acc[j] = _mm256_fmadd_ps(_mm256_set1_ps(dw * x[j][b].d), _mm256_cvtepi32_ps(p), acc[j]);
    }
  }
  for (int j = 0; j < NT; ++j) out[j] = hsum_ps(acc[j]);
}

// Q4_1 / Q5_1: sum_b d_w * d_x * <q_w, q_x> + m_w * (d_x * sum q_x).
EMBER_AVX2 float dot_q32_affine(int type, const uint8_t* row, const BlockQ8x32* x, int64_t nb) {
  const size_t bs = type == kQ4_1 ? kBlockQ4_1 : kBlockQ5_1;
  __m256 acc = _mm256_setzero_ps();
  float msum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * bs;
    __m256i q = type == kQ4_1 ? nibbles32(w + 4) : _mm256_or_si256(nibbles32(w + 8), fifth_bits32(w + 4));
    __m256i p = dot_u8(q, load32(x[b].qs));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(w) * x[b].d), _mm256_cvtepi32_ps(p), acc);
    msum += half(w + 2) * x[b].sum;
  }
  return hsum_ps(acc) + msum;
}

// The 8 (scale, min) pairs of a Q4_K/Q5_K block, branch-free and inlinable (same packing
// as k_scale_min in gguf_dequant.cc).
inline void scales_mins_k(const uint8_t* s, int* sc, int* mn) {
  for (int j = 0; j < 4; ++j) {
    sc[j] = s[j] & 63;
    mn[j] = s[j + 4] & 63;
    sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
    mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
  }
}

// Q4_K / Q5_K: per group j of 32, unsigned q (4 or 5 bits) times x, weighted by scale j;
// mins enter through the activation group sums.
EMBER_AVX2 float dot_q45_k(int type, const uint8_t* row, const BlockQ8x256* xq, int64_t nb) {
  const bool q5 = type == kQ5_K;
  const size_t bs = q5 ? kBlockQ5_K : kBlockQ4_K;
  const __m256i m4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * bs;
    const BlockQ8x256& x = xq[b];
    const uint8_t* qs = w + (q5 ? 48 : 16);
    __m256i qh = q5 ? load32(w + 16) : _mm256_setzero_si256();
    int sc[8], mn[8];
    scales_mins_k(w + 4, sc, mn);
    __m256i isum = _mm256_setzero_si256();
    int msum = 0;
    for (int j = 0; j < 8; ++j) msum += mn[j] * (x.bsums[2 * j] + x.bsums[2 * j + 1]);
    for (int c = 0; c < 4; ++c) {
      __m256i raw = load32(qs + 32 * c);
      __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
      if (q5) {  // fifth bit of group j = 2c (lo) and 2c + 1 (hi) is bit j of qh[l]
        __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c)), one);
        __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * c + 1)), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
      }
      __m256i p0 = _mm256_maddubs_epi16(lo, load32(x.qs + 64 * c));
      __m256i p1 = _mm256_maddubs_epi16(hi, load32(x.qs + 64 * c + 32));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p0, _mm256_set1_epi16(int16_t(sc[2 * c]))));
      isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p1, _mm256_set1_epi16(int16_t(sc[2 * c + 1]))));
    }
    sum += x.d * (half(w) * float(hsum_i32(isum)) - half(w + 2) * float(msum));
  }
  return sum;
}

// Q6_K: unsigned 6-bit q (0-63) times x per 16-element group with signed scales; the -32
// offset enters as 32 * sum_g scale_g * xsum_g.
EMBER_AVX2 float dot_q6_k(const uint8_t* row, const BlockQ8x256* xq, int64_t nb) {
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(0x03);
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * kBlockQ6_K;
    const int8_t* sc = reinterpret_cast<const int8_t*>(w + 192);
    const BlockQ8x256& x = xq[b];
    __m256i isum = _mm256_setzero_si256();
    for (int c = 0; c < 2; ++c) {
      __m256i a = load32(w + 64 * c), bb = load32(w + 64 * c + 32), h = load32(w + 128 + 32 * c);
      __m256i q[4];
      q[0] = _mm256_and_si256(a, m4);
      q[1] = _mm256_and_si256(bb, m4);
      q[2] = _mm256_and_si256(_mm256_srli_epi16(a, 4), m4);
      q[3] = _mm256_and_si256(_mm256_srli_epi16(bb, 4), m4);
      for (int k = 0; k < 4; ++k) {
        __m256i hk = _mm256_and_si256(_mm256_srl_epi16(h, _mm_cvtsi32_si128(2 * k)), m2);
        __m256i qk = _mm256_or_si256(q[k], _mm256_slli_epi16(hk, 4));
        __m256i p = _mm256_maddubs_epi16(qk, load32(x.qs + 128 * c + 32 * k));
        int g = 8 * c + 2 * k;  // low lane: group g, high lane: group g + 1
        __m256i s = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(sc[g])),
                                            _mm_set1_epi16(sc[g + 1]), 1);
        isum = _mm256_add_epi32(isum, _mm256_madd_epi16(p, s));
      }
    }
    int off = 0;
    for (int g = 0; g < 16; ++g) off += sc[g] * x.bsums[g];
    sum += x.d * half(w + 208) * float(hsum_i32(isum) - 32 * off);
  }
  return sum;
}

}  // namespace

bool dot_q8_avx2(int type, const uint8_t* row, const QuantizedActivation& xq, float* out) {
  const int64_t n32 = int64_t(xq.q32.size()), n256 = int64_t(xq.q256.size());
  switch (type) {
    case kQ4_0:
    case kQ5_0:
    case kQ8_0:
      *out = dot_q32_sym(type, row, xq.q32.data(), n32);
      return true;
    case kQ4_1:
    case kQ5_1:
      *out = dot_q32_affine(type, row, xq.q32.data(), n32);
      return true;
    case kQ4_K:
    case kQ5_K:
      *out = dot_q45_k(type, row, xq.q256.data(), n256);
      return true;
    case kQ6_K:
      *out = dot_q6_k(row, xq.q256.data(), n256);
      return true;
    default:
      return false;
  }
}

bool dot_q8_avx2_multi(int type, const uint8_t* row, const QuantizedActivation* xq, int nt, float* out) {
  if (type != kQ4_0 && type != kQ5_0 && type != kQ8_0) return false;
  const int64_t nb = int64_t(xq[0].q32.size());
  const BlockQ8x32* x[4];
  for (int j = 0; j < nt; ++j) x[j] = xq[j].q32.data();
  switch (nt) {
    case 1: dot_q32_sym_multi<1>(type, row, x, nb, out); return true;
    case 2: dot_q32_sym_multi<2>(type, row, x, nb, out); return true;
    case 3: dot_q32_sym_multi<3>(type, row, x, nb, out); return true;
    case 4: dot_q32_sym_multi<4>(type, row, x, nb, out); return true;
    default: return false;
  }
}

}  // namespace ember::gguf

#else  // not x86

namespace ember::gguf {
bool dot_q8_avx2(int, const uint8_t*, const QuantizedActivation&, float*) { return false; }
bool dot_q8_avx2_multi(int, const uint8_t*, const QuantizedActivation*, int, float*) { return false; }
}  // namespace ember::gguf

#endif
