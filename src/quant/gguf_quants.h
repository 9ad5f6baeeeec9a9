// GGUF block quantization: scalar reference dequantization and dot-product kernels that
// read the blocks in place (a row is never materialized).
//
// Dequantization matches the `gguf` Python package (0.19) bit for bit: each formula is
// evaluated in float32 in the same order (scale = d * sub_scale, then scale * q - min), and
// fp16 -> f32 is exact, so there is no rounding freedom (tests/unit/gguf_quants_test.cc).
//
// Dot products come in two flavours:
//  - gguf_dot_row: x stays f32; each block is dequantized into a stack buffer and dotted
//    in f32. The reference, and the fallback for every type dequantize supports.
//  - gguf_matvec / gguf_dot_row_q8: x is quantized once to 8-bit blocks (Q8 per 32 for the
//    32-element formats, Q8_K per 256 for the k-quants; f32 scales), then each row is an
//    integer dot product per block, as llama.cpp's CPU backend does. Scalar and AVX2 versions
//    (AVX2 picked at run time) compute identical integer sums; only the f32 combination
//    order differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/weights.h"
#include "quant/gguf_types.h"

namespace ember::gguf {

// True if `type` has a reference dequantization here.
bool can_dequantize(int type);
// Dequantizes n elements (a multiple of the block size) of `type` from `src` into out[n].
// Throws kUnsupported for a type without dequantization.
void dequantize(int type, const uint8_t* src, float* out, int64_t n);

// f32 reference dot product of row `row` of a kGguf (or GGUF-derived kDense) matrix with
// x[m.cols]; accumulation in f32.
float gguf_dot_row(const Matrix& m, int64_t row, const float* x);

// --- quantized-activation path -------------------------------------------------------

// 8-bit activation blocks (internal; not a file format).
struct BlockQ8x32 {  // 32 elements: x ~= d * qs
  float d;
  float sum;  // d * sum(qs): carries the min term of Q4_1/Q5_1
  int8_t qs[32];
};
struct BlockQ8x256 {  // 256 elements (Q8_K): x ~= d * qs
  float d;
  int16_t bsums[16];  // sums of qs over each 16-element group (min/offset terms)
  int8_t qs[256];
};

// x quantized for dot products with rows of one weight type.
struct QuantizedActivation {
  int weight_type = -1;
  int64_t n = 0;
  std::vector<BlockQ8x32> q32;    // for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0
  std::vector<BlockQ8x256> q256;  // for Q2_K..Q6_K
};

// True if `type` has an integer (quantized-activation) dot kernel.
bool has_q8_dot(int type);
// Quantizes x[n] for `weight_type` (round to nearest, scale = max|x| / 127).
void quantize_activation(int weight_type, const float* x, int64_t n, QuantizedActivation& out);

enum class DotImpl { kAuto, kScalar, kAvx2 };
bool cpu_has_avx2();  // AVX2 + FMA + F16C
// Integer dot of `row` (n elements of xq.weight_type) with xq. kAvx2 requires cpu_has_avx2().
float dot_q8(const uint8_t* row, const QuantizedActivation& xq, DotImpl impl = DotImpl::kAuto);

// y[r - r0] = row r of m . xq for r in [r0, r1) (xq quantized for m.gguf_type): the unit a
// thread pool splits a matvec into, sharing one activation quantization.
void gguf_matvec_rows(const Matrix& m, const QuantizedActivation& xq, int64_t r0, int64_t r1, float* y,
                      DotImpl impl = DotImpl::kAuto);

// y[t * ldy + r] = row r of m . xq[t] for t < T, r in [r0, r1): prefill. Rows are taken in
// tiles that stay in L1 while every token passes; Q4_0/Q5_0/Q8_0 rows are unpacked once per
// 4 tokens (AVX2). Equal to gguf_matvec_rows per token (bit-identical).
void gguf_matmul_rows(const Matrix& m, const QuantizedActivation* xq, int64_t T, int64_t r0, int64_t r1, float* y,
                      int64_t ldy, DotImpl impl = DotImpl::kAuto);

// y[m.rows] = m * x. Uses the integer path for types that have one (x quantized once),
// else gguf_dot_row; dense matrices are dotted in f32.
void gguf_matvec(const Matrix& m, const float* x, float* y, DotImpl impl = DotImpl::kAuto);

}  // namespace ember::gguf
