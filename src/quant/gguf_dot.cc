// Dot products on GGUF blocks: the f32 reference, activation quantization, the scalar
// integer kernels and dispatch to the AVX2 kernels (gguf_dot_avx2.cc).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/status.h"
#include "quant/gguf_dot_internal.h"
#include "quant/gguf_quants.h"

namespace ember::gguf {

float gguf_dot_row(const Matrix& m, int64_t row, const float* x) {
  EMBER_CHECK(row >= 0 && row < m.rows);
  const uint8_t* p = m.data + size_t(row) * m.row_bytes;
  if (m.format == WeightFormat::kDense) {
    float s = 0;
    for (int64_t c = 0; c < m.cols; ++c) s += load_as_f32(m.dtype, p, size_t(c)) * x[c];
    return s;
  }
  EMBER_CHECK(m.format == WeightFormat::kGguf);
  GgmlTypeInfo ti = ggml_type_info(m.gguf_type);
  if (!can_dequantize(m.gguf_type) || ti.block_size > kQK_K)
    fail(ErrorCode::kUnsupported, m.name, ": no dot product for GGUF ", ggml_type_name(m.gguf_type));
  float buf[kQK_K];  // one dequantized block
  float sum = 0;
  for (int64_t b = 0; b < m.cols / ti.block_size; ++b) {
    dequantize(m.gguf_type, p + b * ti.type_size, buf, ti.block_size);
    const float* xb = x + b * ti.block_size;
    float s = 0;
    for (int i = 0; i < ti.block_size; ++i) s += buf[i] * xb[i];
    sum += s;
  }
  return sum;
}

bool has_q8_dot(int type) {
  switch (type) {
    case kQ4_0:
    case kQ4_1:
    case kQ5_0:
    case kQ5_1:
    case kQ8_0:
    case kQ2_K:
    case kQ3_K:
    case kQ4_K:
    case kQ5_K:
    case kQ6_K:
      return true;
    default:
      return false;
  }
}

namespace {

// Quantizes n floats to int8 with d = max|x| / 127 (0 for an all-zero block); returns d.
float quantize_i8(const float* x, int n, int8_t* q) {
  float amax = 0;
  for (int i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  float d = amax / 127.0f;
  float id = d > 0 ? 1.0f / d : 0.0f;
  for (int i = 0; i < n; ++i) {
    long v = std::lround(x[i] * id);
    q[i] = int8_t(std::clamp(v, -127L, 127L));
  }
  return d;
}

}  // namespace

void quantize_activation(int weight_type, const float* x, int64_t n, QuantizedActivation& out) {
  if (!has_q8_dot(weight_type))
    fail(ErrorCode::kUnsupported, "no integer dot product for GGUF ", ggml_type_name(weight_type));
  GgmlTypeInfo ti = ggml_type_info(weight_type);
  if (n % ti.block_size != 0)
    fail(ErrorCode::kInvalidArgument, "activation length ", n, " is not a multiple of the ", ti.name,
         " block size ", ti.block_size);
  out.weight_type = weight_type;
  out.n = n;
  out.q32.clear();
  out.q256.clear();
  if (ti.block_size == kQK) {
    out.q32.resize(size_t(n / kQK));
    for (size_t b = 0; b < out.q32.size(); ++b) {
      BlockQ8x32& blk = out.q32[b];
      blk.d = quantize_i8(x + b * kQK, kQK, blk.qs);
      int s = 0;
      for (int8_t v : blk.qs) s += v;
      blk.sum = blk.d * float(s);
    }
  } else {
    out.q256.resize(size_t(n / kQK_K));
    for (size_t b = 0; b < out.q256.size(); ++b) {
      BlockQ8x256& blk = out.q256[b];
      blk.d = quantize_i8(x + b * kQK_K, kQK_K, blk.qs);
      for (int g = 0; g < 16; ++g) {
        int s = 0;
        for (int l = 0; l < 16; ++l) s += blk.qs[16 * g + l];
        blk.bsums[g] = int16_t(s);
      }
    }
  }
}

namespace {

float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

int dot_i8(const int8_t* a, const int8_t* b, int n) {
  int s = 0;
  for (int i = 0; i < n; ++i) s += int(a[i]) * int(b[i]);
  return s;
}

// 32-element formats: weights decoded to ints q[32] (offset already applied for Q4_0,
// Q5_0, Q8_0; unsigned for Q4_1, Q5_1, whose min m is added via the activation sum).
float dot_q32_scalar(int type, const uint8_t* row, const BlockQ8x32* xq, int64_t nb) {
  GgmlTypeInfo ti = ggml_type_info(type);
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * ti.type_size;
    int8_t q[32];
    float d = half(w), m = 0;
    switch (type) {
      case kQ8_0:
        std::memcpy(q, w + 2, 32);
        break;
      case kQ4_0:
      case kQ4_1: {
        const uint8_t* qs = w + (type == kQ4_0 ? 2 : 4);
        int off = type == kQ4_0 ? 8 : 0;
        for (int j = 0; j < 16; ++j) {
          q[j] = int8_t((qs[j] & 0xF) - off);
          q[j + 16] = int8_t((qs[j] >> 4) - off);
        }
        if (type == kQ4_1) m = half(w + 2);
        break;
      }
      default: {  // Q5_0, Q5_1
        bool q50 = type == kQ5_0;
        uint32_t qh;
        std::memcpy(&qh, w + (q50 ? 2 : 4), 4);
        const uint8_t* qs = w + (q50 ? 6 : 8);
        int off = q50 ? 16 : 0;
        for (int j = 0; j < 16; ++j) {
          q[j] = int8_t(((qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - off);
          q[j + 16] = int8_t(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - off);
        }
        if (!q50) m = half(w + 2);
        break;
      }
    }
    sum += d * xq[b].d * float(dot_i8(q, xq[b].qs, 32)) + m * xq[b].sum;
  }
  return sum;
}

// k-quants: decode one super-block to ints q[256] and per-group integer scales (and mins);
// result = xd * (d * sum_g scale_g * <q, x>_g - dmin * sum_g min_g * xsum_g).
float dot_k_scalar(int type, const uint8_t* row, const BlockQ8x256* xq, int64_t nb) {
  GgmlTypeInfo ti = ggml_type_info(type);
  float sum = 0;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* w = row + b * ti.type_size;
    const BlockQ8x256& x = xq[b];
    KBlockInts k;
    decode_k_block(type, w, k);
    int64_t isum = 0, msum = 0;
    int gs = 256 / k.groups;  // 16 or 32 elements per group
    for (int g = 0; g < k.groups; ++g) {
      isum += int64_t(k.scale[g]) * dot_i8(k.q + g * gs, x.qs + g * gs, gs);
      int xs = 0;
      for (int h = g * gs / 16; h < (g + 1) * gs / 16; ++h) xs += x.bsums[h];
      msum += int64_t(k.min[g]) * xs;
    }
    sum += x.d * (k.d * float(isum) - k.dmin * float(msum));
  }
  return sum;
}

}  // namespace

void decode_k_block(int type, const uint8_t* w, KBlockInts& k) {
  k.dmin = 0;
  for (int& m : k.min) m = 0;
  switch (type) {
    case kQ2_K: {
      k.groups = 16;
      k.d = half(w + 80);
      k.dmin = half(w + 82);
      for (int g = 0; g < 16; ++g) {
        k.scale[g] = w[g] & 0xF;
        k.min[g] = w[g] >> 4;
      }
      for (int i = 0; i < 256; ++i)
        k.q[i] = int8_t((w[16 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3);
      return;
    }
    case kQ3_K: {
      k.groups = 16;
      k.d = half(w + 108);
      for (int g = 0; g < 16; ++g) {
        int lo = (w[96 + g % 8] >> (4 * (g / 8))) & 0xF;
        int hi = (w[104 + g % 4] >> (2 * (g / 4))) & 3;
        k.scale[g] = (lo | (hi << 4)) - 32;
      }
      for (int i = 0; i < 256; ++i) {
        int lo = (w[32 + 32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
        int hi = (w[i % 32] >> (i / 32)) & 1;
        k.q[i] = int8_t(lo - (hi ? 0 : 4));
      }
      return;
    }
    case kQ4_K:
    case kQ5_K: {
      bool q5 = type == kQ5_K;
      k.groups = 8;
      k.d = half(w);
      k.dmin = half(w + 2);
      for (int g = 0; g < 8; ++g) k_scale_min(w + 4, g, &k.scale[g], &k.min[g]);
      const uint8_t* qs = w + (q5 ? 48 : 16);
      for (int i = 0; i < 256; ++i) {
        int j = i / 32, l = i % 32;
        int q = (qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF;
        if (q5) q |= ((w[16 + l] >> j) & 1) << 4;
        k.q[i] = int8_t(q);
      }
      return;
    }
    case kQ6_K: {
      k.groups = 16;
      k.d = half(w + 208);
      for (int g = 0; g < 16; ++g) k.scale[g] = int8_t(w[192 + g]);
      for (int i = 0; i < 256; ++i) {
        int c = i / 128, kk = (i % 128) / 32, l = i % 32;
        int lo = (w[64 * c + 32 * (kk % 2) + l] >> (4 * (kk / 2))) & 0xF;
        int hi = (w[128 + 32 * c + l] >> (2 * kk)) & 3;
        k.q[i] = int8_t((lo | (hi << 4)) - 32);
      }
      return;
    }
    default:
      EMBER_CHECK(false);
  }
}

bool cpu_has_avx2() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool ok =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  return ok;
#else
  return false;
#endif
}

float dot_q8(const uint8_t* row, const QuantizedActivation& xq, DotImpl impl) {
  int type = xq.weight_type;
  if (impl == DotImpl::kAuto) impl = cpu_has_avx2() ? DotImpl::kAvx2 : DotImpl::kScalar;
  if (impl == DotImpl::kAvx2) {
    if (!cpu_has_avx2()) fail(ErrorCode::kUnsupported, "AVX2 kernel requested on a CPU without AVX2/FMA");
    float r;
    if (dot_q8_avx2(type, row, xq, &r)) return r;
  }
  if (!xq.q32.empty()) return dot_q32_scalar(type, row, xq.q32.data(), int64_t(xq.q32.size()));
  return dot_k_scalar(type, row, xq.q256.data(), int64_t(xq.q256.size()));
}

void gguf_matvec_rows(const Matrix& m, const QuantizedActivation& xq, int64_t r0, int64_t r1, float* y,
                      DotImpl impl) {
  EMBER_CHECK(m.format == WeightFormat::kGguf && m.gguf_type == xq.weight_type && xq.n == m.cols);
  EMBER_CHECK(0 <= r0 && r0 <= r1 && r1 <= m.rows);
  for (int64_t r = r0; r < r1; ++r) y[r - r0] = dot_q8(m.data + size_t(r) * m.row_bytes, xq, impl);
}

void gguf_matmul_rows(const Matrix& m, const QuantizedActivation* xq, int64_t T, int64_t r0, int64_t r1, float* y,
                      int64_t ldy, DotImpl impl) {
  EMBER_CHECK(m.format == WeightFormat::kGguf && 0 <= r0 && r0 <= r1 && r1 <= m.rows);
  for (int64_t t = 0; t < T; ++t) EMBER_CHECK(xq[t].weight_type == m.gguf_type && xq[t].n == m.cols);
  if (impl == DotImpl::kAuto) impl = cpu_has_avx2() ? DotImpl::kAvx2 : DotImpl::kScalar;
  // ~16 KiB of rows: they stay in L1 while the tokens stream past.
  const int64_t tile = std::max<int64_t>(1, int64_t(16384 / std::max<size_t>(m.row_bytes, 1)));
  float out[4];
  for (int64_t rt = r0; rt < r1; rt += tile) {
    const int64_t re = std::min(r1, rt + tile);
    for (int64_t t = 0; t < T; t += 4) {
      const int nt = int(std::min<int64_t>(4, T - t));
      for (int64_t r = rt; r < re; ++r) {
        const uint8_t* row = m.data + size_t(r) * m.row_bytes;
        if (impl == DotImpl::kAvx2 && dot_q8_avx2_multi(m.gguf_type, row, xq + t, nt, out)) {
          for (int j = 0; j < nt; ++j) y[(t + j) * ldy + r] = out[j];
        } else {
          for (int j = 0; j < nt; ++j) y[(t + j) * ldy + r] = dot_q8(row, xq[t + j], impl);
        }
      }
    }
  }
}

void gguf_matvec(const Matrix& m, const float* x, float* y, DotImpl impl) {
  if (m.format == WeightFormat::kGguf && has_q8_dot(m.gguf_type)) {
    QuantizedActivation xq;
    quantize_activation(m.gguf_type, x, m.cols, xq);
    gguf_matvec_rows(m, xq, 0, m.rows, y, impl);
    return;
  }
  for (int64_t r = 0; r < m.rows; ++r) y[r] = gguf_dot_row(m, r, x);
}

}  // namespace ember::gguf
