// Matrix kernels of the CUDA backend: the decode GEMV (T <= kGemvMaxT) on stored weights, and
// the dequantization used by the cuBLAS GEMM path.
//
// GEMV (fast path): a warp owns R consecutive rows; lane l reads the 16-byte chunks
// l, l+32, ... of each row (one 128-bit non-caching load per row per step, R loads in
// flight) and the matching slice of x (float4 through L1, reused across the R rows). MLX
// affine chunks never straddle a group (group_size is a multiple of the chunk's element
// count), so a chunk contributes scale·Σq·x + bias·Σx with one scale/bias pair. Codes become
// floats through the exponent trick (2^23 | q) - 2^23, which is exact and avoids the slow
// integer-to-float unit. Partial sums are f32 per lane, then a warp shuffle reduction.
#include <algorithm>

#include "backend/cuda/cuda_common.cuh"

namespace ember::cuda {

namespace {

enum Fmt { kQ4, kQ8, kBF16, kF16, kF32 };
template <int F>
__host__ __device__ constexpr int elems_per_chunk() {
  return F == kQ4 ? 32 : F == kQ8 ? 16 : (F == kBF16 || F == kF16) ? 8 : 4;
}

__device__ __forceinline__ uint4 ld_stream(const uint8_t* p) {
  uint4 v;
  asm volatile("ld.global.nc.L1::no_allocate.v4.u32 {%0,%1,%2,%3}, [%4];"
               : "=r"(v.x), "=r"(v.y), "=r"(v.z), "=r"(v.w)
               : "l"(p));
  return v;
}

__device__ __forceinline__ float load_f(const uint8_t* base, int64_t i, DType t) {
  if (t == DType::BF16) return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(base)[i]);
  if (t == DType::F16) return __half2float(reinterpret_cast<const __half*>(base)[i]);
  return reinterpret_cast<const float*>(base)[i];
}

__device__ __forceinline__ float code_to_f(uint32_t q) { return __uint_as_float(0x4B000000u | q) - 8388608.0f; }

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Σ w[e]·x[e] over one 16-byte chunk of format F.
template <int F>
__device__ __forceinline__ float chunk_dot(const uint4& w, const float* xv) {
  const uint32_t ws[4] = {w.x, w.y, w.z, w.w};
  float d = 0.0f;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const uint32_t q = ws[i];
    if constexpr (F == kQ4) {
#pragma unroll
      for (int j = 0; j < 8; ++j) d = fmaf(code_to_f((q >> (4 * j)) & 15u), xv[8 * i + j], d);
    } else if constexpr (F == kQ8) {
#pragma unroll
      for (int j = 0; j < 4; ++j) d = fmaf(code_to_f((q >> (8 * j)) & 255u), xv[4 * i + j], d);
    } else if constexpr (F == kBF16) {
      d = fmaf(__uint_as_float(q << 16), xv[2 * i], d);
      d = fmaf(__uint_as_float(q & 0xffff0000u), xv[2 * i + 1], d);
    } else if constexpr (F == kF16) {
      const float2 f = __half22float2(*reinterpret_cast<const __half2*>(&q));
      d = fmaf(f.x, xv[2 * i], d);
      d = fmaf(f.y, xv[2 * i + 1], d);
    } else {
      d = fmaf(__uint_as_float(q), xv[i], d);
    }
  }
  return d;
}

// Block of 8 warps = (8 / ks) row groups of R rows; the ks warps of a group split the row's
// chunks (split-K, for matrices with few, long rows) and combine through shared memory.
template <int F, int R, int NT>
__global__ void __launch_bounds__(256) gemv_fast(DevMatrix W, const float* __restrict__ x, int T,
                                                 float* __restrict__ y, int ks) {
  constexpr int EPC = elems_per_chunk<F>();
  constexpr bool kAffine = F == kQ4 || F == kQ8;
  __shared__ float part[8][R][NT];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int slice = warp % ks;
  const int64_t r0 = (int64_t(blockIdx.x) * (8 / ks) + warp / ks) * R;
  const int cpr = r0 < W.rows ? int(W.row_bytes / 16) : 0;  // a group past the end idles
  const int64_t groups = kAffine ? W.cols / W.group_size : 0;
  float acc[R][NT];
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int t = 0; t < NT; ++t) acc[i][t] = 0.0f;

  for (int c = slice * 32 + lane; c < cpr; c += 32 * ks) {
    uint4 w[R];
#pragma unroll
    for (int i = 0; i < R; ++i) {
      const int64_t r = min(r0 + i, W.rows - 1);  // a clamped row's result is dropped
      w[i] = ld_stream(W.data + r * int64_t(W.row_bytes) + int64_t(c) * 16);
    }
    float sc[R], bi[R];
    if constexpr (kAffine) {
      const int64_t g = int64_t(c) * EPC / W.group_size;
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const int64_t r = min(r0 + i, W.rows - 1);
        sc[i] = load_f(W.scales, r * groups + g, W.scale_dtype);
        bi[i] = load_f(W.biases, r * groups + g, W.scale_dtype);
      }
    }
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      if (t >= T) break;
      const float4* xp = reinterpret_cast<const float4*>(x + int64_t(t) * W.cols + int64_t(c) * EPC);
      float xv[EPC];
#pragma unroll
      for (int e = 0; e < EPC / 4; ++e) {
        const float4 v = __ldg(xp + e);
        xv[4 * e] = v.x, xv[4 * e + 1] = v.y, xv[4 * e + 2] = v.z, xv[4 * e + 3] = v.w;
      }
      float xs = 0.0f;
      if constexpr (kAffine) {
#pragma unroll
        for (int e = 0; e < EPC; ++e) xs += xv[e];
      }
#pragma unroll
      for (int i = 0; i < R; ++i) {
        const float d = chunk_dot<F>(w[i], xv);
        acc[i][t] += kAffine ? fmaf(sc[i], d, bi[i] * xs) : d;
      }
    }
  }
#pragma unroll
  for (int i = 0; i < R; ++i)
#pragma unroll
    for (int t = 0; t < NT; ++t) {
      const float v = warp_sum(acc[i][t]);
      if (lane == 0) part[warp][i][t] = v;
    }
  __syncthreads();
  if (slice == 0 && lane < R * NT) {
    const int i = lane / NT, t = lane % NT;
    float v = 0.0f;
    for (int k = 0; k < ks; ++k) v += part[warp + k][i][t];
    if (t < T && r0 + i < W.rows) y[int64_t(t) * W.rows + r0 + i] = v;
  }
}

// Element k of row r of W as f32 (any affine bit width, any dense type).
__device__ __forceinline__ float dequant_elem(const DevMatrix& W, int64_t r, int64_t k) {
  const uint8_t* row = W.data + r * int64_t(W.row_bytes);
  if (W.kind == DevMatrix::kDense) return load_f(row, k, W.dtype);
  const uint64_t bit = uint64_t(k) * uint64_t(W.bits);
  const uint64_t byte = bit >> 3;
  const unsigned shift = unsigned(bit & 7);
  uint32_t v = row[byte];
  if (shift + unsigned(W.bits) > 8) v |= uint32_t(row[byte + 1]) << 8;
  const float q = float((v >> shift) & ((1u << W.bits) - 1u));
  const int64_t gi = r * (W.cols / W.group_size) + k / W.group_size;
  return load_f(W.scales, gi, W.scale_dtype) * q + load_f(W.biases, gi, W.scale_dtype);
}

// Any layout or alignment: a warp per row, lanes over elements, up to kGemvMaxT tokens.
__global__ void __launch_bounds__(256) gemv_generic(DevMatrix W, const float* __restrict__ x, int T,
                                                    float* __restrict__ y) {
  const int lane = threadIdx.x & 31;
  const int64_t r = (int64_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  if (r >= W.rows) return;
  float acc[kGemvMaxT] = {};
  for (int64_t k = lane; k < W.cols; k += 32) {
    const float w = dequant_elem(W, r, k);
#pragma unroll
    for (int t = 0; t < kGemvMaxT; ++t)
      if (t < T) acc[t] = fmaf(w, x[int64_t(t) * W.cols + k], acc[t]);
  }
#pragma unroll
  for (int t = 0; t < kGemvMaxT; ++t) {
    const float v = warp_sum(acc[t]);
    if (lane == 0 && t < T) y[int64_t(t) * W.rows + r] = v;
  }
}

__global__ void dequant_kernel(DevMatrix W, int64_t r0, int64_t n, float* out_f32, __nv_bfloat16* out_bf16) {
  const int64_t total = n * W.cols;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t r = i / W.cols, k = i - r * W.cols;
    const float v = dequant_elem(W, r0 + r, k);
    if (out_bf16) out_bf16[i] = __float2bfloat16_rn(v);
    else out_f32[i] = v;
  }
}

__global__ void to_bf16_kernel(const float* x, int64_t n, __nv_bfloat16* out) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    out[i] = __float2bfloat16_rn(x[i]);
}

// Which fast-path format W has, or -1 (generic kernel).
int fast_format(const DevMatrix& W, const float* x) {
  if (W.row_bytes % 16 != 0 || (reinterpret_cast<uintptr_t>(W.data) & 15) || (reinterpret_cast<uintptr_t>(x) & 15))
    return -1;
  if (W.kind == DevMatrix::kAffine) {
    if (W.bits != 4 && W.bits != 8) return -1;
    const int epc = W.bits == 4 ? 32 : 16;
    if (W.group_size % epc != 0 || W.cols % W.group_size != 0 || int64_t(W.row_bytes) * 8 != W.cols * W.bits)
      return -1;
    return W.bits == 4 ? kQ4 : kQ8;
  }
  const int64_t es = W.dtype == DType::F32 ? 4 : 2;
  if (int64_t(W.row_bytes) != W.cols * es) return -1;
  if (W.dtype == DType::BF16) return kBF16;
  if (W.dtype == DType::F16) return kF16;
  if (W.dtype == DType::F32) return kF32;
  return -1;
}

int sm_count() {
  static int n = [] {
    int dev = 0, v = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev);
    return v > 0 ? v : 100;
  }();
  return n;
}

int g_force_rows_per_warp = 0;  // benchmarks: 0 = heuristic

// Rows per warp for T = 1 (measured on H200 with split-K on, docs/benchmarks-cuda.md): affine
// formats gain from sharing each x slice across rows (q4: 4 from 8192 rows on, else 2; q8: 2,
// 4 for huge matrices); dense bf16: 1, except few long rows (split-K plus 4 rows wins).
template <int F>
int rows_per_warp(const DevMatrix& W) {
  if (g_force_rows_per_warp == 1 || g_force_rows_per_warp == 2 || g_force_rows_per_warp == 4)
    return g_force_rows_per_warp;
  if (F == kQ4) return W.rows >= 8192 ? 4 : 2;
  if (F == kQ8) return W.rows >= 16384 ? 4 : 2;
  return W.cols >= 4 * W.rows ? 4 : 1;
}

// Warps per row group: enough warps in all (~16 per SM) without slicing a row below ~24
// chunks per warp.
int k_split(int64_t groups, int64_t cpr) {
  const int64_t want = int64_t(sm_count()) * 16;
  int ks = 1;
  while (ks < 8 && groups * ks < want && cpr >= int64_t(24) * ks * 2) ks *= 2;
  return ks;
}

template <int F, int NT>
void launch_fast(const DevMatrix& W, const float* x, int T, float* y, cudaStream_t s) {
  constexpr int kThreads = 256;
  const int64_t cpr = int64_t(W.row_bytes / 16);
  auto go = [&](auto kernel, int R) {
    const int64_t groups = (W.rows + R - 1) / R;
    const int ks = k_split(groups, cpr);
    const unsigned blocks = unsigned((groups + (8 / ks) - 1) / (8 / ks));
    kernel<<<blocks, kThreads, 0, s>>>(W, x, T, y, ks);
  };
  if constexpr (NT == 1) {  // several rows per warp only for decode (T = 1): fewer kernels to build
    const int R = rows_per_warp<F>(W);
    if (R == 4) return go(gemv_fast<F, 4, NT>, 4);
    if (R == 2) return go(gemv_fast<F, 2, NT>, 2);
  }
  go(gemv_fast<F, 1, NT>, 1);
}

template <int F>
void launch_fast_t(const DevMatrix& W, const float* x, int T, float* y, cudaStream_t s) {
  if (T == 1) launch_fast<F, 1>(W, x, T, y, s);
  else if (T == 2) launch_fast<F, 2>(W, x, T, y, s);
  else if (T <= 4) launch_fast<F, 4>(W, x, T, y, s);
  else launch_fast<F, 8>(W, x, T, y, s);
}

}  // namespace

void set_gemv_rows_per_warp(int r) { g_force_rows_per_warp = r; }

void gemv(const DevMatrix& W, const float* x, int64_t T, float* y, cudaStream_t s) {
  if (T <= 0 || W.rows <= 0) return;
  const int t = int(T);
  switch (fast_format(W, x)) {
    case kQ4: launch_fast_t<kQ4>(W, x, t, y, s); break;
    case kQ8: launch_fast_t<kQ8>(W, x, t, y, s); break;
    case kBF16: launch_fast_t<kBF16>(W, x, t, y, s); break;
    case kF16: launch_fast_t<kF16>(W, x, t, y, s); break;
    case kF32: launch_fast_t<kF32>(W, x, t, y, s); break;
    default: {
      const unsigned blocks = unsigned((W.rows + 7) / 8);
      gemv_generic<<<blocks, 256, 0, s>>>(W, x, t, y);
    }
  }
  EMBER_CUDA_LAUNCHED();
}

void dequant_rows(const DevMatrix& W, int64_t r0, int64_t n, float* out_f32, __nv_bfloat16* out_bf16,
                  cudaStream_t s) {
  const int64_t total = n * W.cols;
  const unsigned blocks = unsigned(std::min<int64_t>((total + 255) / 256, int64_t(sm_count()) * 32));
  dequant_kernel<<<std::max(blocks, 1u), 256, 0, s>>>(W, r0, n, out_f32, out_bf16);
  EMBER_CUDA_LAUNCHED();
}

void f32_to_bf16(const float* x, int64_t n, __nv_bfloat16* out, cudaStream_t s) {
  const unsigned blocks = unsigned(std::min<int64_t>((n + 255) / 256, int64_t(sm_count()) * 32));
  to_bf16_kernel<<<std::max(blocks, 1u), 256, 0, s>>>(x, n, out);
  EMBER_CUDA_LAUNCHED();
}

__global__ void embedding_kernel(DevMatrix E, const int32_t* ids, float* out, float scale) {
  const int64_t t = blockIdx.y;
  const int64_t row = ids[t];
  float* o = out + t * E.cols;
  for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < E.cols; k += int64_t(gridDim.x) * blockDim.x) {
    const float v = dequant_elem(E, row, k);
    o[k] = scale != 1.0f ? v * scale : v;
  }
}

void embedding(const DevMatrix& E, const int32_t* ids, int64_t T, float* out, float scale, cudaStream_t s) {
  if (T <= 0) return;
  const unsigned bx = unsigned(std::min<int64_t>((E.cols + 255) / 256, 64));
  embedding_kernel<<<dim3(bx, unsigned(T)), 256, 0, s>>>(E, ids, out, scale);
  EMBER_CUDA_LAUNCHED();
}

}  // namespace ember::cuda
