#include "models/blocks.h"

#include <algorithm>

#include "core/status.h"

namespace ember {

float* Scratch::get(size_t slot, size_t n) {
  if (bufs_.size() <= slot) bufs_.resize(slot + 1);
  if (bufs_[slot].size() < n) bufs_[slot] = BackendBuffer(b_, n);
  return bufs_[slot].data();
}

RowLayout::RowLayout(std::span<const Piece> pieces) {
  for (const Piece& p : pieces) {
    const int32_t pos0 = p.st->cache.n_tokens();
    row0.push_back(rows);
    n.push_back(p.n);
    for (int64_t t = 0; t < p.n; ++t) {
      ids.push_back(p.ids[t]);
      pos.push_back(pos0 + int32_t(t));
      src.push_back(rows + t);
    }
    rows += p.n;
  }
}

void RowLayout::keep_output_rows(Backend& b, std::span<const Piece> pieces, float* h, int64_t width) {
  int64_t kept = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    EMBER_CHECK(pieces[i].mode != LogitsMode::kAll);
    if (pieces[i].mode == LogitsMode::kLast && n[i] > 0) {
      const int64_t r = row0[i] + n[i] - 1;  // r >= kept: moving rows forward never overwrites a kept one
      if (r != kept) b.copy(h + kept * width, h + r * width, size_t(width));
      pos[size_t(kept)] = pos[size_t(r)];
      src[size_t(kept)] = src[size_t(r)];
      row0[i] = kept++;
      n[i] = 1;
    } else {
      row0[i] = kept;
      n[i] = 0;
    }
  }
  rows = kept;
  pos.resize(size_t(kept));
  src.resize(size_t(kept));
}

void RowLayout::advance(std::span<const Piece> pieces) {
  for (const Piece& p : pieces) p.st->cache.set_n_tokens(p.st->cache.n_tokens() + int32_t(p.n));
}

void attention_block(Backend& b, const AttentionLayer& L, std::span<LayerCache* const> caches,
                     const RowLayout& lay, const float* x, Scratch& scratch, float* out) {
  const int64_t T = lay.rows;
  const int64_t qd = int64_t(L.n_heads) * L.head_dim, kvd = int64_t(L.n_kv_heads) * L.head_dim;
  const int32_t* positions = lay.pos.data();
  float* q = scratch.get(0, size_t(T * qd));     // [T, nH, hd]
  float* attn = scratch.get(1, size_t(T * qd));  // [T, nH, hd]
  float* k = nullptr;                            // [T, nKV, hd]
  float* v = nullptr;
  b.matmul(*L.q_proj, x, T, q);
  b.rmsnorm(q, L.q_norm, T * L.n_heads, L.head_dim, L.eps, q);
  b.rope(q, T, L.n_heads, L.head_dim, positions, L.inv_freq);
  if (L.has_kv) {
    k = scratch.get(2, size_t(T * kvd));
    v = scratch.get(3, size_t(T * kvd));
    b.matmul(*L.k_proj, x, T, k);
    if (L.v_proj)
      b.matmul(*L.v_proj, x, T, v);
    else
      b.copy(v, k, size_t(T * kvd));  // K=V: values from the raw key projection
    b.rmsnorm(k, L.k_norm, T * L.n_kv_heads, L.head_dim, L.eps, k);
    b.rope(k, T, L.n_kv_heads, L.head_dim, positions, L.inv_freq);
    if (L.v_norm) b.rmsnorm(v, nullptr, T * L.n_kv_heads, L.head_dim, L.eps, v);
  }
  // Per sequence: its own cache, positions and causal/sliding mask.
  std::vector<int64_t> slots;
  for (size_t i = 0; i < caches.size(); ++i) {
    const int64_t r0 = lay.row0[i], n = lay.n[i];
    if (n == 0) continue;
    LayerCache& cache = *caches[i];
    if (L.has_kv) {
      cache.reserve(positions[r0], n, &slots);
      cache.write(k + r0 * kvd, v + r0 * kvd, n, slots);
    }
    ref::AttentionShape shape;
    shape.T = n;
    shape.S = cache.slots();
    shape.n_heads = L.n_heads;
    shape.n_kv_heads = L.n_kv_heads;
    shape.head_dim = L.head_dim;
    shape.window = L.window;
    shape.scale = L.scale;
    b.attention(shape, q + r0 * qd, cache.keys(), cache.values(), positions + r0, cache.positions(),
                attn + r0 * qd);
  }
  b.matmul(*L.o_proj, attn, T, out);
}

void geglu_mlp(Backend& b, const Matrix& gate, const Matrix& up, const Matrix& down, const float* x,
               int64_t T, Scratch& scratch, float* out) {
  const int64_t width = gate.rows;
  float* g = scratch.get(5, size_t(T * width));
  float* u = scratch.get(6, size_t(T * width));
  b.matmul(gate, x, T, g);
  b.matmul(up, x, T, u);
  b.gelu_tanh_mul(g, u, T * width, g);
  b.matmul(down, g, T, out);
}

void output_head(Backend& b, const HeadWeights& w, std::span<const Piece> pieces, const RowLayout& lay,
                 const float* h, int64_t hidden, Scratch& scratch, const ActivationHook* hook) {
  // Rows wanted, piece by piece: (piece, first row, count).
  struct Want {
    size_t piece;
    int64_t row, count;
  };
  std::vector<Want> wants;
  int64_t R = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    if (pieces[i].mode == LogitsMode::kNone || lay.n[i] == 0) continue;
    const int64_t count = pieces[i].mode == LogitsMode::kAll ? lay.n[i] : 1;
    wants.push_back({i, lay.row0[i] + lay.n[i] - count, count});
    R += count;
  }
  if (R == 0) return;
  float* g = scratch.get(7, size_t(R * hidden));  // [R, hidden]
  int64_t at = 0;
  for (const Want& wt : wants) {
    b.copy(g + at * hidden, h + wt.row * hidden, size_t(wt.count * hidden));
    at += wt.count;
  }
  b.rmsnorm(g, w.norm, R, hidden, w.eps, g);
  dump_activation(b, hook, "final_norm", g, R, hidden);
  const int64_t V = w.head->rows;
  float* lg = scratch.get(8, size_t(R * V));  // [R, vocab]
  b.matmul(*w.head, g, R, lg);
  if (w.softcap > 0) b.softcap(lg, R * V, w.softcap);
  at = 0;
  for (const Want& wt : wants) {
    std::vector<float>* out = pieces[wt.piece].out;
    out->resize(size_t(wt.count * V));
    b.download(out->data(), lg + at * V, out->size());
    at += wt.count;
  }
}

namespace {

void check_tokens(const int32_t* ids, int64_t T, int64_t vocab, const SequenceState& st) {
  for (int64_t t = 0; t < T; ++t)
    if (ids[t] < 0 || ids[t] >= vocab)
      fail(ErrorCode::kInvalidArgument, "token id ", ids[t], " at index ", t,
           " is outside the vocabulary [0, ", vocab, ")");
  if (int64_t(st.cache.n_tokens()) + T > st.cache.max_context())
    fail(ErrorCode::kInvalidArgument, "sequence of ", st.cache.n_tokens() + T,
         " tokens exceeds the context limit of ", st.cache.max_context(), " tokens");
}

}  // namespace

std::vector<Piece> batch_pieces(std::span<const BatchSeq> seqs, int64_t vocab) {
  if (seqs.empty()) fail(ErrorCode::kInvalidArgument, "forward_batch: no sequences");
  std::vector<Piece> pieces;
  for (size_t i = 0; i < seqs.size(); ++i) {
    const BatchSeq& q = seqs[i];
    if (!q.state || !q.ids)
      fail(ErrorCode::kInvalidArgument, "forward_batch: sequence ", i, " has no state or ids");
    for (size_t j = 0; j < i; ++j)
      if (seqs[j].state == q.state)
        fail(ErrorCode::kInvalidArgument, "forward_batch: sequences ", j, " and ", i, " share one state");
    if (q.n <= 0 || q.n > q.state->cache.max_chunk())
      fail(ErrorCode::kInvalidArgument, "forward_batch: sequence ", i, " has ", q.n, " tokens (allowed: 1..",
           q.state->cache.max_chunk(), ")");
    if (q.want_logits && !q.logits)
      fail(ErrorCode::kInvalidArgument, "forward_batch: sequence ", i, " wants logits but has no output");
    check_tokens(q.ids, q.n, vocab, *q.state);
    pieces.push_back({q.state, q.ids, q.n, q.want_logits ? LogitsMode::kLast : LogitsMode::kNone, q.logits});
  }
  return pieces;
}

void forward_in_chunks(const int32_t* ids, int64_t T, int64_t vocab, const SequenceState& st, LogitsMode mode,
                       const ChunkRunner& run, std::vector<float>* logits) {
  if (T <= 0) fail(ErrorCode::kInvalidArgument, "forward: no tokens");
  check_tokens(ids, T, vocab, st);
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

void dump_activation(Backend& b, const ActivationHook* hook, const std::string& name, const float* x,
                     int64_t rows, int64_t cols) {
  if (!hook || !*hook) return;
  std::vector<float> host(size_t(rows * cols));
  b.download(host.data(), x, host.size());
  (*hook)(name, host.data(), rows, cols);
}

}  // namespace ember
