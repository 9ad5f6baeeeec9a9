#include "models/blocks.h"

#include <algorithm>

#include "core/status.h"

namespace ember {

float* Scratch::get(size_t slot, size_t n) {
  if (bufs_.size() <= slot) bufs_.resize(slot + 1);
  if (bufs_[slot].size() < n) bufs_[slot] = BackendBuffer(b_, n);
  return bufs_[slot].data();
}

void attention_block(Backend& b, const AttentionLayer& L, LayerCache& cache, const float* x, int64_t T,
                     const int32_t* positions, Scratch& scratch, float* out) {
  const int64_t qd = int64_t(L.n_heads) * L.head_dim, kvd = int64_t(L.n_kv_heads) * L.head_dim;
  float* q = scratch.get(0, size_t(T * qd));     // [T, nH, hd]
  float* attn = scratch.get(1, size_t(T * qd));  // [T, nH, hd]
  b.matmul(*L.q_proj, x, T, q);
  b.rmsnorm(q, L.q_norm, T * L.n_heads, L.head_dim, L.eps, q);
  b.rope(q, T, L.n_heads, L.head_dim, positions, L.inv_freq);
  if (L.has_kv) {
    float* k = scratch.get(2, size_t(T * kvd));  // [T, nKV, hd]
    float* v = scratch.get(3, size_t(T * kvd));
    b.matmul(*L.k_proj, x, T, k);
    if (L.v_proj) b.matmul(*L.v_proj, x, T, v);
    else b.copy(v, k, size_t(T * kvd));  // K=V: values from the raw key projection
    b.rmsnorm(k, L.k_norm, T * L.n_kv_heads, L.head_dim, L.eps, k);
    b.rope(k, T, L.n_kv_heads, L.head_dim, positions, L.inv_freq);
    if (L.v_norm) b.rmsnorm(v, nullptr, T * L.n_kv_heads, L.head_dim, L.eps, v);
    std::vector<int64_t> slots;
    cache.reserve(positions[0], T, &slots);
    cache.write(k, v, T, slots);
  }
  ref::AttentionShape shape;
  shape.T = T;
  shape.S = cache.slots();
  shape.n_heads = L.n_heads;
  shape.n_kv_heads = L.n_kv_heads;
  shape.head_dim = L.head_dim;
  shape.window = L.window;
  shape.scale = L.scale;
  b.attention(shape, q, cache.keys(), cache.values(), positions, cache.positions(), attn);
  b.matmul(*L.o_proj, attn, T, out);
}

void geglu_mlp(Backend& b, const Matrix& gate, const Matrix& up, const Matrix& down, const float* x, int64_t T,
               Scratch& scratch, float* out) {
  const int64_t width = gate.rows;
  float* g = scratch.get(5, size_t(T * width));
  float* u = scratch.get(6, size_t(T * width));
  b.matmul(gate, x, T, g);
  b.matmul(up, x, T, u);
  b.gelu_tanh_mul(g, u, T * width, g);
  b.matmul(down, g, T, out);
}

void forward_in_chunks(const int32_t* ids, int64_t T, int64_t vocab, const SequenceState& st, LogitsMode mode,
                       const ChunkRunner& run, std::vector<float>* logits) {
  if (T <= 0) fail(ErrorCode::kInvalidArgument, "forward: no tokens");
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= vocab)
      fail(ErrorCode::kInvalidArgument, "token id ", ids[t], " at index ", t, " is outside the vocabulary [0, ", vocab,
           ")");
  if (int64_t(st.cache.n_tokens()) + T > st.cache.max_context())
    fail(ErrorCode::kInvalidArgument, "sequence of ", st.cache.n_tokens() + T, " tokens exceeds the context limit of ",
         st.cache.max_context(), " tokens");
  const int64_t chunk = st.cache.max_chunk();
  logits->clear();
  std::vector<float> part;
  for (int64_t t0 = 0; t0 < T; t0 += chunk) {
    const int64_t n = std::min(chunk, T - t0);
    if (mode == LogitsMode::kAll) {
      run(ids + t0, n, true, &part);
      logits->insert(logits->end(), part.begin(), part.end());
    } else {
      run(ids + t0, n, mode == LogitsMode::kLast && t0 + n == T, logits);
    }
  }
}

const float* upload_vector(Backend& b, const std::vector<float>& v, std::vector<BackendBuffer>* owner) {
  if (v.empty()) return nullptr;
  owner->emplace_back(b, v.size());
  b.upload(owner->back().data(), v.data(), v.size());
  return owner->back().data();
}

void dump_activation(Backend& b, const ActivationHook* hook, const std::string& name, const float* x, int64_t rows,
                     int64_t cols) {
  if (!hook || !*hook) return;
  std::vector<float> host(size_t(rows * cols));
  b.download(host.data(), x, host.size());
  (*hook)(name, host.data(), rows, cols);
}

}  // namespace ember
