// Scalar reference implementations of ops.h. Clarity over speed: these are the oracle.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/status.h"
#include "ops/ops.h"

namespace ember::ref {

void matmul_rows(const Matrix& W, const float* x, int64_t T, float* y, int64_t r0, int64_t r1) {
  std::vector<float> row(size_t(W.cols));  // one dequantized row at a time, never the matrix
  for (int64_t r = r0; r < r1; ++r) {
    dequantize_row(W, r, row.data());
    for (int64_t t = 0; t < T; ++t) {
      const float* xt = x + t * W.cols;
      double acc = 0.0;
      for (int64_t c = 0; c < W.cols; ++c) acc += double(row[size_t(c)]) * double(xt[c]);
      y[t * W.rows + r] = float(acc);
    }
  }
}

void matmul(const Matrix& W, const float* x, int64_t T, float* y) { matmul_rows(W, x, T, y, 0, W.rows); }

void embedding_rows(const Matrix& E, const int32_t* ids, int64_t T, float* out, float scale) {
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= E.rows)
      fail(ErrorCode::kInvalidArgument, E.name, ": token id ", ids[t], " at position ", t,
           " is outside the embedding table [0, ", E.rows, ")");
    float* o = out + t * E.cols;  // 64-bit: t and cols are int64_t
    dequantize_row(E, int64_t(ids[t]), o);
    if (scale != 1.0f)
      for (int64_t c = 0; c < E.cols; ++c) o[c] *= scale;
  }
}

void rmsnorm(const float* x, const float* w, int64_t n_rows, int64_t dim, float eps, float* out) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * dim;
    float* o = out + r * dim;
    // HF: mean of squares in f32, then x * pow(mean + eps, -0.5), then * w (all f32).
    float ss = 0.0f;
    for (int64_t i = 0; i < dim; ++i) ss += xr[i] * xr[i];
    const float inv = 1.0f / std::sqrt(ss / float(dim) + eps);
    for (int64_t i = 0; i < dim; ++i) o[i] = w ? xr[i] * inv * w[i] : xr[i] * inv;
  }
}

std::vector<float> rope_inv_freq_default(int head_dim, double theta) {
  return rope_inv_freq_proportional(head_dim, theta, 1.0);
}

std::vector<float> rope_inv_freq_proportional(int head_dim, double theta, double partial_rotary_factor) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    fail(ErrorCode::kInvalidArgument, "rope: head_dim must be positive and even, got ", head_dim);
  if (!(partial_rotary_factor > 0.0 && partial_rotary_factor <= 1.0))
    fail(ErrorCode::kInvalidArgument, "rope: partial_rotary_factor must be in (0, 1], got ",
         partial_rotary_factor);
  const int half = head_dim / 2;
  // HF: rope_angles = int(partial_rotary_factor * head_dim // 2).
  const int angles = int(std::floor(partial_rotary_factor * head_dim / 2.0));
  std::vector<float> inv(size_t(half), 0.0f);
  for (int j = 0; j < angles; ++j) inv[size_t(j)] = float(std::pow(theta, -2.0 * j / head_dim));
  return inv;
}

void rope_apply(float* x, int64_t T, int n_heads, int head_dim, const int32_t* positions,
                const float* inv_freq) {
  const int half = head_dim / 2;
  std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
  for (int64_t t = 0; t < T; ++t) {
    for (int j = 0; j < half; ++j) {
      float angle = float(positions[t]) * inv_freq[j];  // f32 product, as HF
      cs[size_t(j)] = std::cos(angle);
      sn[size_t(j)] = std::sin(angle);
    }
    for (int h = 0; h < n_heads; ++h) {
      float* v = x + (t * n_heads + h) * head_dim;
      for (int j = 0; j < half; ++j) {
        float a = v[j], b = v[j + half];
        v[j] = a * cs[size_t(j)] - b * sn[size_t(j)];
        v[j + half] = b * cs[size_t(j)] + a * sn[size_t(j)];
      }
    }
  }
}

namespace {
inline float gelu_tanh1(float v) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
}
}  // namespace

void gelu_tanh(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh1(x[i]);
}

void gelu_tanh_mul(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh1(gate[i]) * up[i];
}

void softcap(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void softmax(float* x, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; ++r) {
    float* v = x + r * n;
    float mx = -INFINITY;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, v[i]);
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += (v[i] = std::exp(v[i] - mx));
    for (int64_t i = 0; i < n; ++i) v[i] /= sum;
  }
}

void attention(const AttentionShape& sh, const float* q, const float* K, const float* V, const int32_t* q_pos,
               const int32_t* k_pos, float* out) {
  if (sh.n_kv_heads <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    fail(ErrorCode::kInvalidArgument, "attention: n_heads ", sh.n_heads, " is not a multiple of n_kv_heads ",
         sh.n_kv_heads);
  const int group = sh.n_heads / sh.n_kv_heads;
  const int64_t hd = sh.head_dim;
  std::vector<float> p(size_t(sh.S));
  for (int64_t t = 0; t < sh.T; ++t) {
    for (int h = 0; h < sh.n_heads; ++h) {
      const float* qv = q + (t * sh.n_heads + h) * hd;
      const int kvh = h / group;
      float mx = -INFINITY;
      for (int64_t s = 0; s < sh.S; ++s) {
        if (!attention_visible(q_pos[t], k_pos[s], sh.window)) continue;
        const float* kv = K + (s * sh.n_kv_heads + kvh) * hd;
        float d = 0.0f;
        for (int64_t i = 0; i < hd; ++i) d += qv[i] * kv[i];
        p[size_t(s)] = d * sh.scale;
        mx = std::max(mx, p[size_t(s)]);
      }
      float* o = out + (t * sh.n_heads + h) * hd;
      std::fill(o, o + hd, 0.0f);
      if (mx == -INFINITY) continue;  // no visible key
      float sum = 0.0f;
      for (int64_t s = 0; s < sh.S; ++s)
        if (attention_visible(q_pos[t], k_pos[s], sh.window))
          sum += (p[size_t(s)] = std::exp(p[size_t(s)] - mx));
      for (int64_t s = 0; s < sh.S; ++s) {
        if (!attention_visible(q_pos[t], k_pos[s], sh.window)) continue;
        const float w = p[size_t(s)] / sum;
        const float* vv = V + (s * sh.n_kv_heads + kvh) * hd;
        for (int64_t i = 0; i < hd; ++i) o[i] += w * vv[i];
      }
    }
  }
}

}  // namespace ember::ref
