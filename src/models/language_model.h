// The interface every architecture implements (gemma4.cc, gemma3.cc, ...), and the
// registry that picks one by what a checkpoint declares (config.json model_type, GGUF
// general.architecture). Model code calls only the Backend interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/load_progress.h"
#include "ember/ember.hpp"
#include "runtime/kv_cache.h"

namespace ember {

// Per-sequence state an architecture needs besides weights: the KV cache and reusable
// scratch buffers (so one model serves many sequences concurrently).
struct SequenceState {
  KvCache cache;
  std::vector<BackendBuffer> scratch;
  int64_t scratch_tokens = 0;  // scratch sized for this many tokens
};

enum class LogitsMode {
  kLast,  // logits of the last position only (YOCO fast prefill allowed)
  kAll,   // logits of every position (no YOCO)
  kNone,  // prefill only (non-final chunk): no logits
};

struct ModelSummary {
  std::string architecture;  // "gemma4", "gemma3"
  int64_t vocab_size = 0;
  int64_t n_layers = 0;
  int64_t hidden_size = 0;
  int64_t max_context = 0;
  int32_t bos_id = 2, eos_id = 1, pad_id = 0;
  std::vector<int32_t> stop_ids;  // ids that end generation (config / generation_config)
  // Sampling defaults from generation_config.json (unset when absent).
  std::optional<bool> do_sample;
  std::optional<float> temperature, top_p, min_p, repetition_penalty;
  std::optional<int> top_k;
  // Multimodal prompt layout (Gemma 4 E-series; -1 when the model has no such tower).
  MediaTokenIds image_ids, audio_ids;
  // Every placeholder id whose embedding a soft token replaces (image, audio, video); empty for
  // text-only models.
  std::vector<int32_t> soft_token_ids;
};

// Soft tokens of one forward call: row k (host f32 [n, hidden_size]) replaces the token
// embedding of the k-th position of ids[] whose id is in ModelSummary::soft_token_ids. The
// per-layer embedding of such a position uses the pad token's row (gemma4-multimodal.md §6).
// n must equal the number of placeholder positions (checked).
struct SoftTokens {
  const float* rows = nullptr;
  int64_t n = 0;
};

// A tower plus its projector: turns one image / audio clip into soft tokens of the text width.
class MediaEncoder {
 public:
  virtual ~MediaEncoder() = default;
  // Soft tokens of `m`: host f32 [n, hidden_size], n = rows.size() / hidden_size.
  // Throws ember::Error naming m.source on undecodable or unsupported input.
  virtual std::vector<float> encode(const Media& m) const = 0;
};

// Activation dumps: name ("layer.3.attn_out", "embed", "final_norm", ...) and [rows, cols].
using ActivationHook =
    std::function<void(const std::string& name, const float* host, int64_t rows, int64_t cols)>;

struct ForwardOptions {
  LogitsMode logits = LogitsMode::kLast;
  bool yoco = true;  // skip KV-shared layers for all but the last prompt token (kLast only)
  const ActivationHook* hook = nullptr;
  const SoftTokens* soft = nullptr;  // multimodal soft tokens at placeholder positions (or none)
};

// One sequence's share of a batched forward (LanguageModel::forward_batch): n new tokens of
// `state` at its next positions — 1 for a decode step, up to the state's max_chunk for a
// prefill chunk.
struct BatchSeq {
  SequenceState* state = nullptr;
  const int32_t* ids = nullptr;  // host [n]
  int64_t n = 0;
  bool want_logits = true;               // logits of the last token (false: non-final prefill chunk)
  std::vector<float>* logits = nullptr;  // out: host [vocab] when want_logits (resized)
};

class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  virtual const ModelSummary& summary() const = 0;
  // A fresh per-sequence state for up to max_context tokens, prefilled in chunks of at most
  // max_chunk tokens.
  virtual std::unique_ptr<SequenceState> new_state(int64_t max_context, int64_t max_chunk) const = 0;
  // Runs ids[T] at positions state.cache.n_tokens() ... and advances the cache. Writes
  // host logits: [1, vocab] (kLast) or [T, vocab] (kAll) into *logits (resized).
  // T may exceed max_chunk: the model splits it.
  virtual void forward(const int32_t* ids, int64_t T, SequenceState& state, const ForwardOptions& opts,
                       std::vector<float>* logits) const = 0;
  // Continuous batching: ONE forward over the new tokens of several distinct sequences. The
  // token rows of all sequences go through every matmul together (the weights are read once per
  // step), while RoPE positions, the KV cache and attention stay per sequence. Equals calling
  // forward(kLast / kNone) on each sequence alone, up to f32 rounding. `scratch` holds the
  // batch's activation buffers between calls (one per caller thread). YOCO (opts.yoco) drops
  // the rows whose output is not needed before the KV-shared layers; opts.logits is ignored.
  virtual void forward_batch(std::span<const BatchSeq> seqs, std::vector<BackendBuffer>* scratch,
                             const ForwardOptions& opts) const = 0;
  // Human-readable description of the loaded checkpoint (for `ember inspect`).
  virtual std::string describe(bool tensors) const = 0;
  virtual Backend& backend() const = 0;
  // The encoder of images / audio, or nullptr when the checkpoint has no such tower.
  virtual const MediaEncoder* media_encoder(MediaKind) const { return nullptr; }
};

struct ModelLoadOptions {
  std::string backend = "cpu";
  int threads = 0;
  bool f32_reference = false;  // transformers-float32 numerics (exact constants)
  LoadProgressFn progress;  // ModelOptions::on_progress (see core/load_progress.h)
};

// Opens a checkpoint directory or a .gguf file and builds the architecture it declares.
std::unique_ptr<LanguageModel> load_language_model(const std::string& path, const ModelLoadOptions& opts);

}  // namespace ember
