// Shared transformer blocks on the Backend interface, used by every Gemma architecture:
// a scratch arena, GQA attention with q/k(/v) head norms, RoPE and a KV cache, and the
// GeGLU MLP. Architecture files (gemma4.cc, gemma3.cc) compose them.
#pragma once

#include <cstdint>
#include <functional>
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
  int64_t window = 0;   // 0 = full attention
  float scale = 1.0f;
  float eps = 1e-6f;
  const float* inv_freq = nullptr;  // host [head_dim/2]
  bool has_kv = true;
};

// out[T, hidden] = o_proj(attention(q(x), K, V)); writes this step's K/V into `cache` when
// has_kv. x: [T, hidden] normalized input. positions: host [T]. scratch slots 0..4 are used.
void attention_block(Backend& b, const AttentionLayer& L, LayerCache& cache, const float* x, int64_t T,
                     const int32_t* positions, Scratch& scratch, float* out);

// out[T, hidden] = down(gelu_tanh(gate(x)) * up(x)). scratch slots 5..6 are used.
void geglu_mlp(Backend& b, const Matrix& gate, const Matrix& up, const Matrix& down, const float* x, int64_t T,
               Scratch& scratch, float* out);

// Uploads a host vector into a new backend buffer appended to `owner`; returns its pointer.
const float* upload_vector(Backend& b, const std::vector<float>& v, std::vector<BackendBuffer>* owner);

// Calls the hook (if any) with a backend buffer's contents.
void dump_activation(Backend& b, const ActivationHook* hook, const std::string& name, const float* x, int64_t rows,
                     int64_t cols);

// One forward call split into prefill chunks of at most the cache's max_chunk tokens, for every
// architecture: validates the ids (against `vocab`) and the context limit, then calls
// run(ids, n, want_logits, out) per chunk; kAll logits of all chunks are concatenated, kLast
// logits come from the last chunk only, kNone computes none.
using ChunkRunner = std::function<void(const int32_t* ids, int64_t n, bool want_logits, std::vector<float>* out)>;
void forward_in_chunks(const int32_t* ids, int64_t T, int64_t vocab, const SequenceState& st, LogitsMode mode,
                       const ChunkRunner& run, std::vector<float>* logits);

// Scratch slot numbers reserved by the blocks above; architectures use kFirstFreeSlot on.
constexpr size_t kFirstFreeSlot = 8;

}  // namespace ember
