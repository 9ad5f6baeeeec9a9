// Norm, position and elementwise kernels of the CUDA backend. Numerics follow ops/ops.h in
// f32 (precise tanhf/expf/sincosf, not the fast intrinsics: RoPE angles reach 1e5 radians).
#include <algorithm>

#include "backend/cuda/cuda_common.cuh"

namespace ember::cuda {

namespace {

unsigned grid_for(int64_t n, int threads = 256) {
  return unsigned(std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 132 * 16)));
}

// One block per row: sum of squares by block reduction, then the scaled write.
__global__ void __launch_bounds__(256) rmsnorm_kernel(const float* x, const float* w, int64_t dim, float eps,
                                                      float* out) {
  const float* xr = x + int64_t(blockIdx.x) * dim;
  float* o = out + int64_t(blockIdx.x) * dim;
  float ss = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) ss = fmaf(xr[i], xr[i], ss);
  __shared__ float part[32];
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
  __syncthreads();
  if (threadIdx.x < 32) {
    float v = threadIdx.x < (blockDim.x >> 5) ? part[threadIdx.x] : 0.0f;
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    if (threadIdx.x == 0) part[0] = v;
  }
  __syncthreads();
  const float inv = 1.0f / sqrtf(part[0] / float(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = w ? xr[i] * inv * w[i] : xr[i] * inv;
}

// Block per token; threads over (head, pair).
__global__ void rope_kernel(float* x, int n_heads, int head_dim, Positions pos, const float* inv_freq) {
  const int half = head_dim / 2;
  const int64_t t = blockIdx.x;
  const float p = float(pos[t]);
  float* xt = x + t * int64_t(n_heads) * head_dim;
  for (int i = threadIdx.x; i < n_heads * half; i += blockDim.x) {
    const int h = i / half, j = i - h * half;
    float sn, cs;
    sincosf(p * inv_freq[j], &sn, &cs);  // f32 product, as the reference
    float* v = xt + int64_t(h) * head_dim;
    const float a = v[j], b = v[j + half];
    v[j] = a * cs - b * sn;
    v[j + half] = b * cs + a * sn;
  }
}

__device__ __forceinline__ float gelu_tanh1(float v) {
  const float k = 0.7978845608028654f;
  return 0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v)));
}

__global__ void gelu_mul_kernel(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = up ? gelu_tanh1(gate[i]) * up[i] : gelu_tanh1(gate[i]);
}

__global__ void softcap_kernel(float* x, int64_t n, float cap) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    x[i] = cap * tanhf(x[i] / cap);
}

__global__ void binary_kernel(int op, float* y, const float* x, float s, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (op == int(Binary::kAdd)) y[i] += x[i];
    else if (op == int(Binary::kMul)) y[i] *= x[i];
    else y[i] = (y[i] + x[i]) * s;
  }
}

__global__ void scale_kernel(float* y, float s, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] *= s;
}

}  // namespace

void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out, cudaStream_t s) {
  for (int64_t r0 = 0; r0 < n_rows; r0 += 65535 * 16) {  // grid.x limit is 2^31-1; chunk for safety
    const int64_t n = std::min<int64_t>(n_rows - r0, 65535 * 16);
    const int threads = dim >= 1024 ? 256 : dim >= 256 ? 128 : 64;
    rmsnorm_kernel<<<unsigned(n), threads, 0, s>>>(x + r0 * dim, w, dim, eps, out + r0 * dim);
    EMBER_CUDA_LAUNCHED();
  }
}

void rope(float* x, int64_t T, int n_heads, int head_dim, const Positions& positions, const float* inv_freq,
          cudaStream_t s) {
  if (T <= 0) return;
  const int threads = std::min(256, std::max(32, n_heads * head_dim / 2));
  rope_kernel<<<unsigned(T), threads, 0, s>>>(x, n_heads, head_dim, positions, inv_freq);
  EMBER_CUDA_LAUNCHED();
}

void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out, cudaStream_t s) {
  if (n <= 0) return;
  gelu_mul_kernel<<<grid_for(n), 256, 0, s>>>(gate, up, n, out);
  EMBER_CUDA_LAUNCHED();
}

void softcap(float* x, int64_t n, float cap, cudaStream_t s) {
  if (n <= 0) return;
  softcap_kernel<<<grid_for(n), 256, 0, s>>>(x, n, cap);
  EMBER_CUDA_LAUNCHED();
}

void binary(Binary op, float* y, const float* x, float s_, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  binary_kernel<<<grid_for(n), 256, 0, s>>>(int(op), y, x, s_, n);
  EMBER_CUDA_LAUNCHED();
}

void scale(float* y, float s_, int64_t n, cudaStream_t s) {
  if (n <= 0) return;
  scale_kernel<<<grid_for(n), 256, 0, s>>>(y, s_, n);
  EMBER_CUDA_LAUNCHED();
}

}  // namespace ember::cuda
