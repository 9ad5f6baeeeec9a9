// Scalar reference dequantization of the GGUF block formats, written from the block
// definitions (ggml-common.h). Each block function writes block_size floats.
//
// Bit-exactness with the gguf Python package: every product below is a separate f32
// operation in the package's order; contraction into FMA is disabled so no compiler fuses
// `scale * q - min`.
#include <cstring>

#include "core/dtype.h"
#include "core/status.h"
#include "quant/gguf_dot_internal.h"
#include "quant/gguf_quants.h"

#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

namespace ember::gguf {

namespace {

float half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// block_q4_0 { f16 d; u8 qs[16]; }: element j (< 16) is the low nibble of qs[j], element
// j + 16 the high nibble; value d * (q - 8).
void block_q4_0(const uint8_t* b, float* y) {
  float d = half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * float(int(qs[j] & 0xF) - 8);
    y[j + 16] = d * float(int(qs[j] >> 4) - 8);
  }
}

// block_q4_1 { f16 d; f16 m; u8 qs[16]; }: value d * q + m.
void block_q4_1(const uint8_t* b, float* y) {
  float d = half(b), m = half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    float p0 = d * float(qs[j] & 0xF), p1 = d * float(qs[j] >> 4);
    y[j] = p0 + m;
    y[j + 16] = p1 + m;
  }
}

// Fifth bits of the Q5 formats: bit j of the little-endian u32 `qh` belongs to element j.
uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// block_q5_0 { f16 d; u8 qh[4]; u8 qs[16]; }: value d * (q - 16).
void block_q5_0(const uint8_t* b, float* y) {
  float d = half(b);
  uint32_t qh = load_u32(b + 2);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    int q0 = (qs[j] & 0xF) | int(((qh >> j) & 1) << 4);
    int q1 = (qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
    y[j] = d * float(q0 - 16);
    y[j + 16] = d * float(q1 - 16);
  }
}

// block_q5_1 { f16 d; f16 m; u8 qh[4]; u8 qs[16]; }: value d * q + m.
void block_q5_1(const uint8_t* b, float* y) {
  float d = half(b), m = half(b + 2);
  uint32_t qh = load_u32(b + 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    int q0 = (qs[j] & 0xF) | int(((qh >> j) & 1) << 4);
    int q1 = (qs[j] >> 4) | int(((qh >> (j + 16)) & 1) << 4);
    float p0 = d * float(q0), p1 = d * float(q1);
    y[j] = p0 + m;
    y[j + 16] = p1 + m;
  }
}

// block_q8_0 { f16 d; i8 qs[32]; }: value d * q.
void block_q8_0(const uint8_t* b, float* y) {
  float d = half(b);
  for (int j = 0; j < 32; ++j) y[j] = float(int8_t(b[2 + j])) * d;
}

// block_q2_K { u8 scales[16]; u8 qs[64]; f16 d; f16 dmin; }: 16 groups of 16; scales[g]
// low nibble scales, high nibble mins. Element i: half c = i / 128, shift 2 * ((i % 128) / 32),
// byte qs[32 c + i % 32].
void block_q2_k(const uint8_t* b, float* y) {
  const uint8_t* sc = b;
  const uint8_t* qs = b + 16;
  float d = half(b + 80), dmin = half(b + 82);
  for (int i = 0; i < 256; ++i) {
    int g = i / 16;
    float dl = d * float(sc[g] & 0xF), ml = dmin * float(sc[g] >> 4);
    int q = (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    float p = dl * float(q);
    y[i] = p - ml;
  }
}

// The 16 six-bit signed scales of Q3_K: low 4 bits from bytes 0-7 (nibble k / 8 of byte
// k % 8), high 2 bits from bytes 8-11 (bits 2 * (k / 4) of byte 8 + k % 4); minus 32.
void q3_k_scales(const uint8_t* s, int* out) {
  for (int k = 0; k < 16; ++k) {
    int lo = (s[k % 8] >> (4 * (k / 8))) & 0xF;
    int hi = (s[8 + k % 4] >> (2 * (k / 4))) & 3;
    out[k] = (lo | (hi << 4)) - 32;
  }
}

// block_q3_K { u8 hmask[32]; u8 qs[64]; u8 scales[12]; f16 d; }: 2 low bits as in Q2_K,
// high bit (hmask[i % 32] >> (i / 32)) & 1; q = low - (high ? 0 : 4); value d * scale * q.
void block_q3_k(const uint8_t* b, float* y) {
  const uint8_t* hm = b;
  const uint8_t* qs = b + 32;
  int sc[16];
  q3_k_scales(b + 96, sc);
  float d = half(b + 108);
  for (int i = 0; i < 256; ++i) {
    float dl = d * float(sc[i / 16]);
    int lo = (qs[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
    int hi = (hm[i % 32] >> (i / 32)) & 1;
    y[i] = dl * float(lo - (hi ? 0 : 4));
  }
}

}  // namespace

// The 8 six-bit (scale, min) pairs of Q4_K/Q5_K from their 12 packed bytes: groups 0-3
// use the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); groups 4-7 take 4 low bits from
// bytes 8-11 (low nibble scale, high nibble min) and 2 high bits from the top of bytes 0-7.
void k_scale_min(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

namespace {

// block_q4_K { f16 d; f16 dmin; u8 scales[12]; u8 qs[128]; }: 8 groups of 32; group j
// reads nibble j % 2 of qs[32 * (j / 2) + l]; value (d * sc) * q - dmin * m.
void block_q4_k(const uint8_t* b, float* y) {
  float d = half(b), dmin = half(b + 2);
  const uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    k_scale_min(b + 4, j, &sc, &m);
    float dl = d * float(sc), ml = dmin * float(m);
    for (int l = 0; l < 32; ++l) {
      float p = dl * float((qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF);
      y[32 * j + l] = p - ml;
    }
  }
}

// block_q5_K { f16 d; f16 dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]; }: as Q4_K plus a
// fifth bit (qh[l] >> j) & 1.
void block_q5_k(const uint8_t* b, float* y) {
  float d = half(b), dmin = half(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int j = 0; j < 8; ++j) {
    int sc, m;
    k_scale_min(b + 4, j, &sc, &m);
    float dl = d * float(sc), ml = dmin * float(m);
    for (int l = 0; l < 32; ++l) {
      int q = ((qs[32 * (j / 2) + l] >> (4 * (j % 2))) & 0xF) | (((qh[l] >> j) & 1) << 4);
      float p = dl * float(q);
      y[32 * j + l] = p - ml;
    }
  }
}

// block_q6_K { u8 ql[128]; u8 qh[64]; i8 scales[16]; f16 d; }: halves of 128; in half c,
// quarter k (32 elements, l < 32): low 4 bits = nibble k / 2 of ql[64 c + 32 (k % 2) + l],
// high 2 bits = (qh[32 c + l] >> 2k) & 3; value (d * scales[i / 16]) * (q - 32).
void block_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  float d = half(b + 208);
  for (int i = 0; i < 256; ++i) {
    int c = i / 128, k = (i % 128) / 32, l = i % 32;
    int lo = (ql[64 * c + 32 * (k % 2) + l] >> (4 * (k / 2))) & 0xF;
    int hi = (qh[32 * c + l] >> (2 * k)) & 3;
    float dl = d * float(sc[i / 16]);
    y[i] = dl * float((lo | (hi << 4)) - 32);
  }
}

// block_q8_K { f32 d; i8 qs[256]; i16 bsums[16]; }: value d * q (llama.cpp's activation type).
void block_q8_k(const uint8_t* b, float* y) {
  float d;
  std::memcpy(&d, b, 4);
  for (int i = 0; i < 256; ++i) y[i] = d * float(int8_t(b[4 + i]));
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(int type) {
  switch (type) {
    case kQ4_0:
      return block_q4_0;
    case kQ4_1:
      return block_q4_1;
    case kQ5_0:
      return block_q5_0;
    case kQ5_1:
      return block_q5_1;
    case kQ8_0:
      return block_q8_0;
    case kQ2_K:
      return block_q2_k;
    case kQ3_K:
      return block_q3_k;
    case kQ4_K:
      return block_q4_k;
    case kQ5_K:
      return block_q5_k;
    case kQ6_K:
      return block_q6_k;
    case kQ8_K:
      return block_q8_k;
    default:
      return nullptr;
  }
}

}  // namespace

bool can_dequantize(int type) {
  return type == kF32 || type == kF16 || type == kBF16 || block_fn(type) != nullptr;
}

void dequantize(int type, const uint8_t* src, float* out, int64_t n) {
  switch (type) {
    case kF32:
      std::memcpy(out, src, size_t(n) * 4);
      return;
    case kF16:
    case kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        out[i] = type == kF16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    default:
      break;
  }
  BlockFn fn = block_fn(type);
  if (!fn) fail(ErrorCode::kUnsupported, "no dequantization for GGUF ", ggml_type_name(type));
  GgmlTypeInfo ti = ggml_type_info(type);
  EMBER_CHECK(n % ti.block_size == 0);
  for (int64_t b = 0; b < n / ti.block_size; ++b) fn(src + b * ti.type_size, out + b * ti.block_size);
}

}  // namespace ember::gguf
