// Scalar reference ops on f32 activations: the test oracle for every fast kernel and the
// fallback of the CPU backend. Straightforward loops with f32 (or f64 where noted)
// accumulation; numerics follow Hugging Face transformers in float32 (gemma4-text.md §4).
//
// Conventions: activations are row-major f32; `T` = tokens in the batch. Shape notes use
// [T, n] for "T rows of n floats". Matrices (weights) are `Matrix` views into the mapped
// checkpoint (core/weights.h) with logical shape [rows, cols] = [out, in]; nothing here
// dequantizes a whole matrix. Unless stated otherwise, outputs must not alias inputs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/weights.h"

namespace ember::ref {

// y[t, r] = sum_c W[r, c] * x[t, c]   (y = x · Wᵀ, a Linear without bias).
//   x: f32 [T, W.cols], y: f32 [T, W.rows]. Every Matrix format with a reference dequant
//   (dense F32/F16/BF16, MLX affine 2-8 bit, mxfp4, mxfp8, nvfp4); dequantizes one row at a
//   time. Accumulates in f64 (this is the oracle).
void matmul(const Matrix& W, const float* x, int64_t T, float* y);
// The same for output rows [r0, r1) only (y keeps its full [T, W.rows] layout): lets the CPU
// backend thread the fallback over row ranges.
void matmul_rows(const Matrix& W, const float* x, int64_t T, float* y, int64_t r0, int64_t r1);

// Embedding gather: out[t, :] = dequant(E[ids[t], :]) * scale.
//   ids: [T] token ids, each must be in [0, E.rows) (else ember::Error kInvalidArgument);
//   out: f32 [T, E.cols]. Row offsets use 64-bit arithmetic (PLE tables hold 2-3 billion
//   elements). Only the rows named by ids are touched.
void embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale);

// RMSNorm (HF Gemma4RMSNorm, no 1+w shift): out = x * rsqrt(mean(x²) + eps) * w.
//   x, out: f32 [n_rows, dim] (may alias: in-place is allowed); w: f32 [dim] or nullptr for
//   the scale-free variant (v_norm). Per-head norms pass n_rows = T * n_heads, dim = head_dim.
void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out);

// RoPE inverse frequencies [head_dim / 2] (gemma4-text.md §4.6).
//   default:      inv_freq[j] = theta^(-2j/head_dim) for all j < head_dim/2.
//   proportional: rope_angles = int(partial_rotary_factor * head_dim / 2) pairs get
//                 theta^(-2j/head_dim) (denominator: the FULL head_dim); the remaining
//                 head_dim/2 - rope_angles entries are 0 (identity rotation).
// Computed in f64 and rounded once to f32.
std::vector<float> rope_inv_freq_default(int head_dim, double theta);
std::vector<float> rope_inv_freq_proportional(int head_dim, double theta, double partial_rotary_factor);

// In-place half-split (NeoX, rotate_half) RoPE: for pair (j, j + hd/2), angle = pos·inv_freq[j]
// (f32 product, as HF), x'[j] = x[j]cos − x[j+hd/2]sin, x'[j+hd/2] = x[j+hd/2]cos + x[j]sin.
//   x: f32 [T, n_heads, head_dim]; positions: [T]; inv_freq: [head_dim / 2].
void rope_apply(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
                const float* inv_freq);

// gelu_pytorch_tanh, in place: x = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).  x: f32 [n].
void gelu_tanh(float* x, int64_t n);
// GeGLU: out[i] = gelu_tanh(gate[i]) * up[i].  gate, up, out: f32 [n]; out may alias gate or up.
void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out);
// Soft-capping, in place: x = cap · tanh(x / cap).  x: f32 [n].
void softcap(float* x, int64_t n, float cap);
// Numerically stable softmax of each row, in place.  x: f32 [n_rows, n].
void softmax(float* x, int64_t n_rows, int64_t n);

// Scaled dot-product attention with causal + optional sliding-window mask and GQA.
//   q:   f32 [T, n_heads, head_dim]        (post-norm, post-RoPE queries)
//   K,V: f32 [S, n_kv_heads, head_dim]     (keys/values of every cache slot)
//   q_pos: [T] absolute query positions; k_pos: [S] absolute key positions, < 0 = empty slot
//   (lets a ring-buffer cache pass its slots in storage order).
//   Key s is visible to query t iff k_pos[s] >= 0, k_pos[s] <= q_pos[t] and, when window > 0,
//   q_pos[t] - k_pos[s] < window (a window of W keys including the query itself).
//   Query head h reads KV head h / (n_heads / n_kv_heads) (n_heads % n_kv_heads == 0).
//   scores = scale · q·k, softmax in f32, out = Σ p·v.  A query with no visible key gets 0.
//   out: f32 [T, n_heads, head_dim].
struct AttentionShape {
  int64_t T = 0, S = 0;
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t window = 0;  // 0 = full causal attention
  float scale = 1.0f;  // Gemma 4: 1.0 (the q/k norms carry the scaling)
};
void attention(const AttentionShape& shape, const float* q, const float* K, const float* V,
               const int32_t* q_pos, const int32_t* k_pos, float* out);

// Visibility rule of attention(), shared by every implementation.
inline bool attention_visible(int32_t q_pos, int32_t k_pos, int64_t window) {
  return k_pos >= 0 && k_pos <= q_pos && (window <= 0 || int64_t(q_pos) - k_pos < window);
}

}  // namespace ember::ref
