// Internal helpers shared by the GGUF dequantization and dot-product files.
#pragma once

#include <cstdint>

#include "quant/gguf_quants.h"

namespace ember::gguf {

// Scale and min (6 bits each) of group j (0-7) of a Q4_K/Q5_K super-block from its 12
// packed scale bytes `s`.
void k_scale_min(const uint8_t* s, int j, int* sc, int* m);

// One k-quant super-block decoded to integers: value_i = d * scale[g] * q[i] - dmin * min[g]
// for i in group g (16 groups of 16 for Q2_K/Q3_K/Q6_K, 8 groups of 32 for Q4_K/Q5_K).
// Offsets (Q3_K's -4, Q6_K's -32) are already in q.
struct KBlockInts {
  float d = 0, dmin = 0;
  int groups = 0;
  int scale[16] = {};
  int min[16] = {};
  int8_t q[256] = {};
};
void decode_k_block(int type, const uint8_t* w, KBlockInts& k);

// AVX2 integer dot of one row with xq; returns false if `type` has no AVX2 kernel.
// Only called when cpu_has_avx2().
bool dot_q8_avx2(int type, const uint8_t* row, const QuantizedActivation& xq, float* out);
// out[j] = row . xq[j] for j < nt (1-4), each weight block unpacked once; bit-identical to
// dot_q8_avx2 per token. Returns false if `type` has no such kernel (Q4_0/Q5_0/Q8_0 do).
bool dot_q8_avx2_multi(int type, const uint8_t* row, const QuantizedActivation* xq, int nt, float* out);

}  // namespace ember::gguf
