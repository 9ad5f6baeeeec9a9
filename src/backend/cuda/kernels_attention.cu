// Attention of the CUDA backend (ref::attention semantics: causal + sliding window by
// absolute positions, GQA, empty slots k_pos < 0, a query with no visible key gets 0).
//
// Split-K ("flash decoding"): block (split, head, token) walks its key range in tiles of
// kTile keys with an online softmax: scores of a tile into shared memory (a warp per key),
// running max/sum, then each thread accumulates its output dims over the tile's values.
// Partials (o, m, l) go to a workspace; a second kernel merges the splits. The number of
// splits is chosen so that decode (T = 1) still spreads one head over many SMs; long
// prefills get one split per (token, head). head_dim up to 512 (kMaxDimPerThread · 128).
#include <algorithm>
#include <cmath>

#include "backend/cuda/cuda_common.cuh"

namespace ember::cuda {

namespace {

constexpr int kThreads = 128, kWarps = kThreads / 32, kTile = 64, kMaxDimPerThread = 4, kKeysPerStep = 4;
static_assert(kTile % (kWarps * kKeysPerStep) == 0, "a tile is whole warp steps");

__device__ __forceinline__ bool visible(int32_t qp, int32_t kp, int64_t window) {
  return kp >= 0 && kp <= qp && (window <= 0 || int64_t(qp) - kp < window);
}

struct Geometry {
  ref::AttentionShape sh;
  int splits;
  int64_t keys_per_split;
};

__global__ void __launch_bounds__(kThreads) attn_split_kernel(Geometry g, const float* __restrict__ q,
                                                              const float* __restrict__ K,
                                                              const float* __restrict__ V, Positions q_pos,
                                                              const int32_t* k_pos, float* ws) {
  const auto& sh = g.sh;
  const int split = blockIdx.x, h = blockIdx.y;
  const int64_t t = blockIdx.z;
  const int hd = sh.head_dim, kvh = h / (sh.n_heads / sh.n_kv_heads);
  const int64_t kv_stride = int64_t(sh.n_kv_heads) * hd;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  extern __shared__ float qs[];  // [hd]
  __shared__ float p[kTile];
  __shared__ float m_sh, l_sh, corr_sh;
  const float* qv = q + (t * sh.n_heads + h) * hd;
  for (int i = threadIdx.x; i < hd; i += kThreads) qs[i] = qv[i];
  if (threadIdx.x == 0) m_sh = -INFINITY, l_sh = 0.0f;
  const int32_t qp = q_pos[t];
  float acc[kMaxDimPerThread] = {};
  const int64_t s_begin = int64_t(split) * g.keys_per_split;
  const int64_t s_end = min(sh.S, s_begin + g.keys_per_split);
  __syncthreads();
  for (int64_t s0 = s_begin; s0 < s_end; s0 += kTile) {
    // Scores of this tile (masked keys: -inf). A warp scores kKeysPerStep keys at once so
    // their loads are in flight together.
    for (int j0 = warp; j0 < kTile; j0 += kWarps * kKeysPerStep) {
      float part[kKeysPerStep];
      bool vis[kKeysPerStep];
#pragma unroll
      for (int u = 0; u < kKeysPerStep; ++u) {
        const int64_t s = s0 + j0 + u * kWarps;
        vis[u] = s < s_end && visible(qp, k_pos[s], sh.window);
        part[u] = 0.0f;
      }
#pragma unroll
      for (int u = 0; u < kKeysPerStep; ++u) {
        if (!vis[u]) continue;
        const float* kr = K + (s0 + j0 + u * kWarps) * kv_stride + int64_t(kvh) * hd;
        if ((hd & 127) == 0) {
          for (int i = lane * 4; i < hd; i += 128) {
            const float4 k4 = *reinterpret_cast<const float4*>(kr + i);
            part[u] = fmaf(qs[i], k4.x, part[u]);
            part[u] = fmaf(qs[i + 1], k4.y, part[u]);
            part[u] = fmaf(qs[i + 2], k4.z, part[u]);
            part[u] = fmaf(qs[i + 3], k4.w, part[u]);
          }
        } else {
          for (int i = lane; i < hd; i += 32) part[u] = fmaf(qs[i], kr[i], part[u]);
        }
      }
#pragma unroll
      for (int u = 0; u < kKeysPerStep; ++u) {
        float v = part[u];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0) p[j0 + u * kWarps] = vis[u] ? v * sh.scale : -INFINITY;
      }
    }
    __syncthreads();
    // Online softmax update (warp 0), p[j] <- exp(p[j] - m_new).
    if (warp == 0) {
      float a = p[lane], b = p[lane + 32];
      float mx = fmaxf(a, b);
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, o));
      const float m_old = m_sh, m_new = fmaxf(m_old, mx);
      float ea = 0.0f, eb = 0.0f;
      if (m_new != -INFINITY) {
        ea = a == -INFINITY ? 0.0f : expf(a - m_new);
        eb = b == -INFINITY ? 0.0f : expf(b - m_new);
      }
      p[lane] = ea, p[lane + 32] = eb;
      float sum = ea + eb;
#pragma unroll
      for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
      __syncwarp();  // every lane has read m_sh before lane 0 overwrites it (racecheck)
      if (lane == 0) {
        const float corr = m_old == -INFINITY ? 0.0f : expf(m_old - m_new);
        corr_sh = corr;
        l_sh = l_sh * corr + sum;
        m_sh = m_new;
      }
    }
    __syncthreads();
    const float corr = corr_sh;
#pragma unroll
    for (int i = 0; i < kMaxDimPerThread; ++i) acc[i] *= corr;
    const int64_t n = min(int64_t(kTile), s_end - s0);
    for (int j = 0; j < n; ++j) {
      const float pj = p[j];
      if (pj == 0.0f) continue;  // masked (uniform across the block)
      const float* vr = V + (s0 + j) * kv_stride + int64_t(kvh) * hd;
#pragma unroll
      for (int i = 0; i < kMaxDimPerThread; ++i) {
        const int d = threadIdx.x + i * kThreads;
        if (d < hd) acc[i] = fmaf(pj, vr[d], acc[i]);
      }
    }
    __syncthreads();  // p is rewritten by the next tile
  }
  const int64_t base = (t * sh.n_heads + h) * g.splits + split;
  float* o = ws + base * hd;
#pragma unroll
  for (int i = 0; i < kMaxDimPerThread; ++i) {
    const int d = threadIdx.x + i * kThreads;
    if (d < hd) o[d] = acc[i];
  }
  if (threadIdx.x == 0) {
    float* ml = ws + int64_t(sh.T) * sh.n_heads * g.splits * hd;
    ml[2 * base] = m_sh;
    ml[2 * base + 1] = l_sh;
  }
}

// One block per (head, token): the split weights exp(m_i - M) / L once into shared memory,
// then each thread sums its dims over the splits.
__global__ void attn_combine_kernel(Geometry g, const float* ws, float* out) {
  const auto& sh = g.sh;
  const int h = blockIdx.x;
  const int64_t t = blockIdx.y;
  const int hd = sh.head_dim;
  const int64_t base = (t * sh.n_heads + h) * g.splits;
  const float* ml = ws + int64_t(sh.T) * sh.n_heads * g.splits * hd;
  extern __shared__ float wsplit[];  // [splits]
  __shared__ float red[2];
  if (threadIdx.x < 32) {
    float M = -INFINITY;
    for (int i = threadIdx.x; i < g.splits; i += 32) M = fmaxf(M, ml[2 * (base + i)]);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) M = fmaxf(M, __shfl_xor_sync(0xffffffffu, M, o));
    float L = 0.0f;
    for (int i = threadIdx.x; i < g.splits; i += 32) {
      const float m = ml[2 * (base + i)];
      const float e = (M == -INFINITY || m == -INFINITY) ? 0.0f : expf(m - M);
      wsplit[i] = e;
      L += ml[2 * (base + i) + 1] * e;
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) L += __shfl_xor_sync(0xffffffffu, L, o);
    if (threadIdx.x == 0) red[0] = L;
  }
  __syncthreads();
  const float L = red[0];
  float* o = out + (t * sh.n_heads + h) * hd;
  for (int d = threadIdx.x; d < hd; d += blockDim.x) {
    float v = 0.0f;
    if (L > 0.0f) {
      for (int i = 0; i < g.splits; ++i) v = fmaf(ws[(base + i) * hd + d], wsplit[i], v);
      v /= L;
    }
    o[d] = v;
  }
}

Geometry geometry(const ref::AttentionShape& sh) {
  Geometry g;
  g.sh = sh;
  const int64_t tiles = std::max<int64_t>(1, (sh.S + kTile - 1) / kTile);
  // Aim for ~1024 blocks in all; each split covers whole tiles.
  const int64_t rows = std::max<int64_t>(1, sh.T * sh.n_heads);
  const int64_t want = std::max<int64_t>(1, 1024 / rows);
  const int64_t splits = std::min(tiles, want);
  g.keys_per_split = ((tiles + splits - 1) / splits) * kTile;
  g.splits = int((sh.S + g.keys_per_split - 1) / g.keys_per_split);
  if (g.splits < 1) g.splits = 1;
  return g;
}

}  // namespace

size_t attention_ws_floats(const ref::AttentionShape& sh) {
  const Geometry g = geometry(sh);
  return size_t(sh.T) * size_t(sh.n_heads) * size_t(g.splits) * size_t(sh.head_dim + 2);
}

void attention(const ref::AttentionShape& sh, const float* q, const float* K, const float* V, const Positions& q_pos,
               const int32_t* k_pos, float* out, float* ws, cudaStream_t s) {
  if (sh.T <= 0) return;
  const Geometry g = geometry(sh);
  const size_t smem = size_t(sh.head_dim) * sizeof(float);
  attn_split_kernel<<<dim3(unsigned(g.splits), unsigned(sh.n_heads), unsigned(sh.T)), kThreads, smem, s>>>(
      g, q, K, V, q_pos, k_pos, ws);
  EMBER_CUDA_LAUNCHED();
  // (+4 floats: compute-sanitizer saw a 12-byte shared read at the end of wsplit)
  attn_combine_kernel<<<dim3(unsigned(sh.n_heads), unsigned(sh.T)), 128, size_t(g.splits + 4) * sizeof(float), s>>>(
      g, ws, out);
  EMBER_CUDA_LAUNCHED();
}

}  // namespace ember::cuda
