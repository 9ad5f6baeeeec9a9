// Norm, position and elementwise kernels of the CUDA backend. Numerics follow ops/ops.h in
// f32 (precise tanhf/expf/sincosf, not the fast intrinsics: RoPE angles reach 1e5 radians).
#include <algorithm>

#include "backend/cuda/cuda_common.cuh"

namespace ember::cuda {

namespace {

unsigned grid_for(int64_t n, int threads = 256) {
  return unsigned(std::max<int64_t>(1, std::min<int64_t>((n + threads - 1) / threads, 132 * 16)));
}

__device__ __forceinline__ float sumsq4(const float4& v) { return v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w; }
__device__ __forceinline__ float4 norm4(const float4& v, float inv, const float4* w, int i) {
  if (!w) return make_float4(v.x * inv, v.y * inv, v.z * inv, v.w * inv);
  const float4 g = w[i];
  return make_float4(v.x * inv * g.x, v.y * inv * g.y, v.z * inv * g.z, v.w * inv * g.w);
}

// Rows of up to 32·V float4 (dim <= 1024): a warp per row; every load of a row is issued
// before the first use and the row stays in registers for the scaling pass.
template <int V>
__global__ void __launch_bounds__(128) rmsnorm_warp4(const float4* x, const float4* w, int64_t n_rows, int n4,
                                                     float eps, float4* out) {
  const int64_t row = int64_t(blockIdx.x) * 4 + (threadIdx.x >> 5);
  if (row >= n_rows) return;
  const int lane = threadIdx.x & 31;
  const float4* xr = x + row * n4;
  float4 v[V];
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int i = lane + 32 * k;
    v[k] = i < n4 ? xr[i] : make_float4(0.f, 0.f, 0.f, 0.f);
  }
#pragma unroll
  for (int k = 0; k < V; ++k) ss += sumsq4(v[k]);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  const float inv = 1.0f / sqrtf(ss / float(4 * n4) + eps);
  float4* o = out + row * n4;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int i = lane + 32 * k;
    if (i < n4) o[i] = norm4(v[k], inv, w, i);
  }
}

// Rows of up to 256·V float4: a block of 256 per row, the row held in registers.
template <int V>
__global__ void __launch_bounds__(256) rmsnorm_block4(const float4* x, const float4* w, int n4, float eps,
                                                      float4* out) {
  const float4* xr = x + int64_t(blockIdx.x) * n4;
  float4 v[V];
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int i = threadIdx.x + 256 * k;
    v[k] = i < n4 ? xr[i] : make_float4(0.f, 0.f, 0.f, 0.f);
  }
#pragma unroll
  for (int k = 0; k < V; ++k) ss += sumsq4(v[k]);
  __shared__ float part[8];
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
  __syncthreads();
  float tot = 0.0f;
#pragma unroll
  for (int k = 0; k < 8; ++k) tot += part[k];
  const float inv = 1.0f / sqrtf(tot / float(4 * n4) + eps);
  float4* o = out + int64_t(blockIdx.x) * n4;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const int i = threadIdx.x + 256 * k;
    if (i < n4) o[i] = norm4(v[k], inv, w, i);
  }
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

// Block per token: cos/sin of each pair's angle once into shared memory, then threads over
// (head, pair).
__global__ void rope_kernel(float* x, int n_heads, int head_dim, Positions pos, const float* inv_freq) {
  extern __shared__ float cs_sn[];  // [2, half]
  const int half = head_dim / 2;
  const int64_t t = blockIdx.x;
  const float p = float(pos[t]);
  for (int j = threadIdx.x; j < half; j += blockDim.x) sincosf(p * inv_freq[j], &cs_sn[half + j], &cs_sn[j]);
  __syncthreads();  // (f32 product, as the reference)
  float* xt = x + t * int64_t(n_heads) * head_dim;
  for (int i = threadIdx.x; i < n_heads * half; i += blockDim.x) {
    const int h = i / half, j = i - h * half;
    const float cs = cs_sn[j], sn = cs_sn[half + j];
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

namespace {
bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <int V>
void launch_warp4(const float* x, const float* w, int64_t n_rows, int n4, float eps, float* out, cudaStream_t s) {
  rmsnorm_warp4<V><<<unsigned((n_rows + 3) / 4), 128, 0, s>>>(reinterpret_cast<const float4*>(x),
                                                             reinterpret_cast<const float4*>(w), n_rows, n4, eps,
                                                             reinterpret_cast<float4*>(out));
}
template <int V>
void launch_block4(const float* x, const float* w, int64_t n_rows, int n4, float eps, float* out, cudaStream_t s) {
  rmsnorm_block4<V><<<unsigned(n_rows), 256, 0, s>>>(reinterpret_cast<const float4*>(x),
                                                    reinterpret_cast<const float4*>(w), n4, eps,
                                                    reinterpret_cast<float4*>(out));
}
}  // namespace

void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out, cudaStream_t s) {
  const bool vec = dim % 4 == 0 && aligned16(x) && aligned16(out) && (!w || aligned16(w)) && n_rows < (int64_t(1) << 30);
  const int64_t n4 = dim / 4;
  if (vec && n4 <= 32 * 8) {
    if (n4 <= 32) launch_warp4<1>(x, w, n_rows, int(n4), eps, out, s);
    else if (n4 <= 64) launch_warp4<2>(x, w, n_rows, int(n4), eps, out, s);
    else if (n4 <= 128) launch_warp4<4>(x, w, n_rows, int(n4), eps, out, s);
    else launch_warp4<8>(x, w, n_rows, int(n4), eps, out, s);
    EMBER_CUDA_LAUNCHED();
    return;
  }
  if (vec && n4 <= 256 * 8 && n_rows <= 0x7fffffff) {
    if (n4 <= 256) launch_block4<1>(x, w, n_rows, int(n4), eps, out, s);
    else if (n4 <= 512) launch_block4<2>(x, w, n_rows, int(n4), eps, out, s);
    else if (n4 <= 1024) launch_block4<4>(x, w, n_rows, int(n4), eps, out, s);
    else launch_block4<8>(x, w, n_rows, int(n4), eps, out, s);
    EMBER_CUDA_LAUNCHED();
    return;
  }
  for (int64_t r0 = 0; r0 < n_rows; r0 += 65535 * 16) {  // generic: any dim or alignment
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
  rope_kernel<<<unsigned(T), threads, size_t(head_dim) * sizeof(float), s>>>(x, n_heads, head_dim, positions, inv_freq);
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
