// Shared transformer blocks on the Backend interface, used by every Gemma architecture:
// a scratch arena, GQA attention with q/k(/v) head norms, RoPE and a KV cache, and the
// GeGLU MLP. Architecture files (gemma4.cc, gemma3.cc) compose them.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/weights.h"
#include "models/language_model.h"

namespace ember {

// Named, reusable activation buffers of one sequence (grow-only).
class Scratch {
 public:
  Scratch(Backend& b, std::vector<BackendBuffer>* bufs) : b_(b), bufs_(*bufs) {}
  // Buffer #slot with at least n floats (contents unspecified).
  float* get(size_t slot, size_t n);

 private:
  Backend& b_;
  std::vector<BackendBuffer>& bufs_;
};

// Geometry and weights of one attention layer. Norm weights are backend buffers (nullptr =
// no such norm). Shared-KV layers pass has_kv = false and read `cache` of their donor.
struct AttentionLayer {
  const Matrix* q_proj = nullptr;
  const Matrix* k_proj = nullptr;  // nullptr when the layer owns no K/V
  const Matrix* v_proj = nullptr;  // nullptr: K=V (values from the raw key projection)
  const Matrix* o_proj = nullptr;
  const float* q_norm = nullptr;
  const float* k_norm = nullptr;
  bool v_norm = false;  // scale-free RMSNorm on values (Gemma 4)
  int n_heads = 0, n_kv_heads = 0, head_dim = 0;
  int64_t window = 0;  // 0 = full attention
  float scale = 1.0f;
  float eps = 1e-6f;
  const float* inv_freq = nullptr;  // host [head_dim/2]
  bool has_kv = true;
};

// One sequence's share of a batched run: `n` new tokens of `st`; `mode` says which logits it
// wants (kAll: every row, kLast: its last row, kNone: none — a non-final prefill chunk).
struct Piece {
  SequenceState* st = nullptr;
  const int32_t* ids = nullptr;  // host [n]
  int64_t n = 0;
  LogitsMode mode = LogitsMode::kLast;
  std::vector<float>* out = nullptr;
  // Multimodal: f32 [k, hidden] embeddings for the k soft-token placeholders among ids, in
  // order (null: placeholders keep the pad embedding).
  const float* soft_rows = nullptr;
};

// Which rows of the activations h[rows, width] belong to which piece. Rows start as every
// token of every piece, piece after piece; YOCO later keeps only the rows whose output is
// needed.
struct RowLayout {
  explicit RowLayout(std::span<const Piece> pieces);
  // Keeps only the last row of each kLast piece (none of kNone pieces), moving the kept rows of
  // h[rows, width] to the front in order. Requires no kAll piece.
  void keep_output_rows(Backend& b, std::span<const Piece> pieces, float* h, int64_t width);
  // Advances each piece's cache by its token count (after the last layer).
  static void advance(std::span<const Piece> pieces);

  std::vector<int32_t> ids;      // host [T]: every token, piece after piece
  std::vector<int32_t> pos;      // host [rows]: position of each current row
  std::vector<int64_t> src;      // host [rows]: the token (index into ids) each row came from
  std::vector<int64_t> row0, n;  // per piece: its current rows [row0, row0 + n)
  int64_t rows = 0;
};

// out[rows, hidden] = o_proj(attention(q(x), K, V)) over a batch: the projections run on all
// rows at once; each piece writes its K/V rows into its own cache (caches[i]: the layer's cache
// of piece i, its donor's for shared-KV layers) when has_kv and attends over that cache with its
// own positions. x: [rows, hidden] normalized input. Scratch slots 0..4 are used.
void attention_block(Backend& b, const AttentionLayer& L, std::span<LayerCache* const> caches,
                     const RowLayout& lay, const float* x, Scratch& scratch, float* out);

// out[T, hidden] = down(gelu_tanh(gate(x)) * up(x)). scratch slots 5..6 are used.
void geglu_mlp(Backend& b, const Matrix& gate, const Matrix& up, const Matrix& down, const float* x,
               int64_t T, Scratch& scratch, float* out);

// Uploads a host vector into a new backend buffer appended to `owner`; returns its pointer.
const float* upload_vector(Backend& b, const std::vector<float>& v, std::vector<BackendBuffer>* owner);

// Calls the hook (if any) with a backend buffer's contents.
void dump_activation(Backend& b, const ActivationHook* hook, const std::string& name, const float* x,
                     int64_t rows, int64_t cols);

// The output head over a batch: gathers the rows each piece wants logits of (RowLayout), then
// final RMSNorm (norm: backend [hidden]), head matmul and optional soft-capping (softcap > 0),
// and downloads each piece's logits into its `out`. Scratch slots 7 and 8 are used.
struct HeadWeights {
  const Matrix* head = nullptr;
  const float* norm = nullptr;
  float eps = 1e-6f;
  float softcap = 0.0f;
};
void output_head(Backend& b, const HeadWeights& w, std::span<const Piece> pieces, const RowLayout& lay,
                 const float* h, int64_t hidden, Scratch& scratch, const ActivationHook* hook);

// One forward call split into prefill chunks of at most the cache's max_chunk tokens, for every
// architecture: validates the ids (against `vocab`) and the context limit, then calls
// run(ids, n, want_logits, out) per chunk; kAll logits of all chunks are concatenated, kLast
// logits come from the last chunk only, kNone computes none.
using ChunkRunner =
    std::function<void(const int32_t* ids, int64_t n, bool want_logits, std::vector<float>* out)>;
void forward_in_chunks(const int32_t* ids, int64_t T, int64_t vocab, const SequenceState& st, LogitsMode mode,
                       const ChunkRunner& run, std::vector<float>* logits);

// The pieces of a forward_batch call, validated: distinct states, 1 <= n <= max_chunk, ids in
// [0, vocab), the context limit, an output vector for every sequence that wants logits.
std::vector<Piece> batch_pieces(std::span<const BatchSeq> seqs, int64_t vocab);

// Scratch slot numbers reserved by the blocks above; architectures use kFirstFreeSlot on.
constexpr size_t kFirstFreeSlot = 9;

}  // namespace ember
