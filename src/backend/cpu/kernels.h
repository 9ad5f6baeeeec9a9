// Per-ISA kernel tables of the CPU backend. Each kernel is single-threaded and works on a
// range of output rows (or tasks); CpuBackend splits the range over the ThreadPool.
// kernels_avx2.cc and kernels_avx512.cc instantiate the same source (kernels_simd.inc) for
// 8- and 16-lane vectors; the scalar level has no table (the backend uses ops/reference).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/cpu/isa.h"
#include "core/weights.h"

namespace ember::cpu {

// Activations prepared once per matmul call for an MLX affine 4/8-bit matrix, shared by all
// row ranges: `x` in the kernel's lane order (4-bit: each chunk of 2·lanes elements stored as
// [even elements, odd elements], matching how nibbles unpack) and per-group sums Σx for the
// bias term of  Σ_k (s·q_k + b)·x_k = s·Σ q_k·x_k + b·Σ x_k.
struct AffineActs {
  int64_t T = 0, cols = 0, groups = 0;
  float* xp = nullptr;         // f32 [T, cols], permuted as above (points into `x`)
  float* gsump = nullptr;      // f32 [T, groups] (points into `gsum`)
  std::vector<float> x, gsum;  // storage, sized by the backend (kernel TUs touch raw pointers only)
};

struct KernelTable {
  int lanes = 0;
  // y[t, r] for r in [r0, r1): dense F32 / BF16 / F16 rows, x f32 [T, cols] (any alignment).
  void (*matmul_dense)(const Matrix& W, const float* x, int64_t T, float* y, int64_t r0, int64_t r1);
  // Prepares tokens [t0, t1) of the activations for matmul_affine (W: kMlxAffine, bits 4 or
  // 8); `out` is already sized for all T tokens (the backend splits tokens over threads).
  void (*affine_prepare)(const Matrix& W, const float* x, int64_t t0, int64_t t1, AffineActs* out);
  void (*matmul_affine)(const Matrix& W, const AffineActs& a, float* y, int64_t r0, int64_t r1);
  // y[t, r] = dot(row_r, x_t) with row_r already in f32 (generic dequantize-row fallback).
  void (*matmul_f32_row)(const float* row, int64_t cols, const float* x, int64_t T, float* y,
                         int64_t y_stride);
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);  // y += a·x
  void (*rmsnorm)(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out);
  void (*gelu_tanh_mul)(const float* gate, const float* up, int64_t n, float* out);
  // exp in place over n floats (softmax helper); accurate to a few ulp.
  void (*exp_inplace)(float* x, int64_t n);
  // Attention blocks for the `group` query heads sharing one KV head (q: [group, hd];
  // K/V rows at K + idx[i]·kv_stride):
  //   attn_scores: scores[h·n + i] = scale · q_h · K[idx[i]]
  //   attn_pv:     out[h, :] += Σ_i p[h·n + i] · V[idx[i], :]     (out: [group, hd])
  void (*attn_scores)(const float* q, int group, int64_t hd, const float* K, int64_t kv_stride,
                      const int64_t* idx, int64_t n, float scale, float* scores);
  void (*attn_pv)(const float* p, int group, int64_t n, const float* V, int64_t kv_stride, const int64_t* idx,
                  int64_t hd, float* out);
  // x = cap·tanh(x/cap) in place (absolute error ≲ 2e-7·cap).
  void (*softcap)(float* x, int64_t n, float cap);
};

// Activations quantized to int8 per weight group for the integer-dot-product kernels
// ("fast" matmul mode): x ≈ d·q with d = max|x|/127 per (token, group), q in [-127, 127]
// (round to nearest); gsum holds the exact f32 Σx of each group for the bias term. For 4-bit
// weights every 64-element chunk is stored as [32 even elements, 32 odd elements] (how the
// nibbles of 32 packed bytes unpack); 8-bit weights keep the natural order.
struct Int8Acts {
  int64_t T = 0, cols = 0, groups = 0;
  const int8_t* qp = nullptr;    // int8 [T, cols] (permuted as above)
  const float* dp = nullptr;     // f32 [T, groups]
  const float* gsump = nullptr;  // f32 [T, groups]
  std::vector<int8_t> q;
  std::vector<float> d, gsum;
};
// Sizes `out` for T tokens of W's shape; then quantize_acts_int8 fills tokens [t0, t1) of
// x [T, W.cols] (ranges may run on different threads). Generic C++, int8_acts.cc.
void size_acts_int8(const Matrix& W, int64_t T, Int8Acts* out);
void quantize_acts_int8(const Matrix& W, const float* x, int64_t t0, int64_t t1, Int8Acts* out);
// y[t, r] for r in [r0, r1): MLX affine 4/8-bit, group size a multiple of 64, int8 activations:
//   Σ_g [ s_g·d_g·Σ_k q_k·xq_k  +  b_g·Σ_k x_k ]   with integer Σ q·xq (AVX-512 VNNI vpdpbusd).
using MatmulInt8Fn = void (*)(const Matrix& W, const Int8Acts& a, float* y, int64_t r0, int64_t r1);
MatmulInt8Fn matmul_int8_avx512vnni();
MatmulInt8Fn matmul_int8_avx2();  // 4-bit only
// The int8 kernel for W at ISA level `isa` on this CPU, or nullptr (then kFast computes exactly).
MatmulInt8Fn select_int8_kernel(const Matrix& W, Isa isa);
// True if the int8 kernel handles W (affine 4/8 bit, group size a multiple of 64, ≤ 512 groups).
bool int8_fast_path(const Matrix& W);

// y[t, r] for r in [r0, r1): dense BF16 weights × activations already rounded to bf16
// (x: bf16 [T, W.cols]), f32 accumulation (AVX-512 BF16 vdpbf16ps). MatmulMode::kFast only.
using MatmulBf16Fn = void (*)(const Matrix& W, const uint16_t* x, int64_t T, float* y, int64_t r0,
                              int64_t r1);
MatmulBf16Fn matmul_bf16_avx512bf16();

// nullptr for Isa::kScalar.
const KernelTable* kernel_table(Isa isa);
const KernelTable* kernels_avx2();
const KernelTable* kernels_avx512();

// True if matmul_affine handles this matrix (affine 4 or 8 bit, group size a multiple of 32).
bool affine_fast_path(const Matrix& W);

}  // namespace ember::cpu
