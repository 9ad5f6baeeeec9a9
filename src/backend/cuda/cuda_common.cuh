// Internals shared by the CUDA backend's translation units: error checks, the device-side
// weight descriptor, and the kernel launchers (each defined in one kernels_*.cu file).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "core/dtype.h"
#include "ops/ops.h"

namespace ember::cuda {

[[noreturn]] void fail_cuda(cudaError_t e, const char* what, const char* file, int line);
#define EMBER_CUDA_CHECK(x)                                                        \
  do {                                                                             \
    cudaError_t e_ = (x);                                                          \
    if (e_ != cudaSuccess) ::ember::cuda::fail_cuda(e_, #x, __FILE__, __LINE__);   \
  } while (0)
// After every launch: configuration errors surface here, asynchronous faults at the next sync.
#define EMBER_CUDA_LAUNCHED() EMBER_CUDA_CHECK(cudaGetLastError())

// A weight matrix mirrored in device memory. kAffine: MLX affine (bits 2..8) codes packed
// LSB-first, scales/biases [rows, cols/group_size] of scale_dtype. kDense: dtype elements.
// Formats without a device decoder (mxfp4/8, nvfp4, GGUF) are dequantized on the host once
// and mirrored as dense F32.
struct DevMatrix {
  enum Kind : uint8_t { kAffine, kDense } kind = kDense;
  DType dtype = DType::F32;        // dense element type
  DType scale_dtype = DType::BF16; // affine scales/biases type
  int64_t rows = 0, cols = 0;
  int bits = 0, group_size = 0;
  const uint8_t* data = nullptr;   // row r at data + r * row_bytes
  size_t row_bytes = 0;
  const uint8_t* scales = nullptr;
  const uint8_t* biases = nullptr;
};

constexpr int kGemvMaxT = 8;

// Up to kSmallPos positions passed by value in the kernel arguments (decode needs no copy);
// kernels read `ptr` (device array) when it is non-null instead.
constexpr int kSmallPos = 8;
struct Positions {
  const int32_t* ptr = nullptr;
  int32_t v[kSmallPos] = {};
  __host__ __device__ int32_t operator[](int64_t i) const { return ptr ? ptr[i] : v[i]; }
};  // matmuls with T <= this use the GEMV kernels

// y[T, rows] = x[T, cols] · Wᵀ for T <= kGemvMaxT, f32 accumulation, weights as stored.
void gemv(const DevMatrix& W, const float* x, int64_t T, float* y, cudaStream_t s);
void set_gemv_rows_per_warp(int r);  // benchmarks: force 1, 2 or 4 rows per warp (0 = heuristic)
// Rows [r0, r0+n) of W dequantized to f32 (out_bf16 == nullptr) or bf16: [n, cols].
void dequant_rows(const DevMatrix& W, int64_t r0, int64_t n, float* out_f32, __nv_bfloat16* out_bf16,
                  cudaStream_t s);
void f32_to_bf16(const float* x, int64_t n, __nv_bfloat16* out, cudaStream_t s);
// out[t, :] = E[ids[t], :] * scale   (ids: device [T], already validated).
void embedding(const DevMatrix& E, const int32_t* ids, int64_t T, float* out, float scale, cudaStream_t s);

void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out, cudaStream_t s);
// inv_freq: device [head_dim/2].
void rope(float* x, int64_t T, int n_heads, int head_dim, const Positions& positions, const float* inv_freq,
          cudaStream_t s);
void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out, cudaStream_t s);  // up may be null
void softcap(float* x, int64_t n, float cap, cudaStream_t s);
enum class Binary { kAdd, kMul, kAddScaled };
void binary(Binary op, float* y, const float* x, float s_, int64_t n, cudaStream_t s);
void scale(float* y, float s_, int64_t n, cudaStream_t s);

// Split-K attention. k_pos: device. ws: device workspace of attention_ws_floats(shape).
size_t attention_ws_floats(const ref::AttentionShape& sh);
void attention(const ref::AttentionShape& sh, const float* q, const float* K, const float* V, const Positions& q_pos,
               const int32_t* k_pos, float* out, float* ws, cudaStream_t s);

}  // namespace ember::cuda
