// Gemma 4 text decoder (E2B/E4B with per-layer embeddings and KV sharing, 26B MoE, 31B K=V):
// the forward pass of shared/reference/gemma4-text.md §4-§5 on the Backend interface.
// Config parsing: gemma4_config.cc; weight table and loading: gemma4_weights.cc.
#include <algorithm>
#include <cmath>

#include "core/status.h"
#include "models/blocks.h"
#include "models/gemma4_audio.h"
#include "models/gemma4_weights.h"
#include "models/language_model.h"
#include "vision/gemma4_vision.h"

namespace ember {

namespace {

// Scratch slots used by this file (blocks.h reserves those below kFirstFreeSlot).
enum : size_t { kH = kFirstFreeSlot, kA, kTmp, kPle, kPleTok, kPleGate, kMoeA, kMoeB, kMoeIn, kMoeOut };

struct LayerDev {  // per-layer backend copies of the small vectors
  const float *in_ln = nullptr, *post_attn_ln = nullptr, *pre_ff_ln = nullptr, *post_ff_ln = nullptr;
  const float *q_norm = nullptr, *k_norm = nullptr, *post_pl_norm = nullptr;
  const float *pre_ff_ln2 = nullptr, *post_ff_ln1 = nullptr, *post_ff_ln2 = nullptr;
  std::vector<float> inv_freq;  // host
};

class Gemma4 final : public LanguageModel {
 public:
  Gemma4(Gemma4Model weights, std::unique_ptr<Backend> backend, const ModelLoadOptions& opts)
      : w_(std::move(weights)), backend_(std::move(backend)) {
    init(opts);
  }

  const ModelSummary& summary() const override { return summary_; }
  Backend& backend() const override { return *backend_; }
  std::string describe(bool tensors) const override;
  const MediaEncoder* media_encoder(MediaKind kind) const override;
  std::unique_ptr<SequenceState> new_state(int64_t max_context, int64_t max_chunk) const override;
  void forward(const int32_t* ids, int64_t T, SequenceState& st, const ForwardOptions& opts,
               std::vector<float>* logits) const override;
  void forward_batch(std::span<const BatchSeq> seqs, std::vector<BackendBuffer>* scratch,
                     const ForwardOptions& opts) const override;

 private:
  void init(const ModelLoadOptions& opts);
  void run(std::span<const Piece> pieces, std::vector<BackendBuffer>* scratch,
           const ForwardOptions& opts) const;
  AttentionLayer attention_layer(int64_t l) const;
  void per_layer_inputs(const int32_t* ids, int64_t T, const float* h0, Scratch& s,
                        const ActivationHook* hook) const;
  void moe_block(const Gemma4Layer& L, const LayerDev& D, const float* r, int64_t T, Scratch& s,
                 float* out) const;
  bool is_soft_placeholder(int32_t id) const;
  std::vector<int32_t> embed_ids(const int32_t* ids, int64_t T) const;
  void place_soft_tokens(std::span<const Piece> pieces, float* h) const;

  Gemma4Model w_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Gemma4VisionTower> vision_;
  std::unique_ptr<Gemma4AudioEncoder> audio_;
  ModelSummary summary_;
  std::vector<BackendBuffer> vec_bufs_;
  std::vector<LayerDev> dev_;
  const float* final_norm_ = nullptr;
  const float* ple_norm_ = nullptr;
  float embed_scale_ = 1.0f, ple_tok_scale_ = 1.0f, ple_proj_scale_ = 1.0f, ple_mix_scale_ = 1.0f;
  float eps_ = 1e-6f;
};

// HF multiplies by the scale cast to the embedding's dtype (bf16: sqrt(1536) -> 39.25).
float dtype_rounded(float v, const Matrix& m, bool f32_reference) {
  DType d = m.quantized() ? m.scale_dtype : m.dtype;
  if (f32_reference || d == DType::F32) return v;
  if (d == DType::BF16) return bf16_to_f32(f32_to_bf16(v));
  if (d == DType::F16) return f16_to_f32(f32_to_f16(v));
  return v;
}

void Gemma4::init(const ModelLoadOptions& opts) {
  const auto& cfg = w_.cfg;
  const auto& tc = cfg.text;
  summary_.architecture = "gemma4";
  summary_.vocab_size = tc.vocab_size;
  summary_.n_layers = tc.num_hidden_layers;
  summary_.hidden_size = tc.hidden_size;
  summary_.max_context = tc.max_position_embeddings;
  summary_.bos_id = int32_t(tc.bos_token_id);
  summary_.pad_id = int32_t(tc.pad_token_id);
  for (int64_t id : cfg.stop_token_ids()) summary_.stop_ids.push_back(int32_t(id));
  summary_.eos_id = summary_.stop_ids.empty() ? 1 : summary_.stop_ids[0];
  const auto& g = cfg.generation;
  summary_.do_sample = g.do_sample;
  if (g.temperature) summary_.temperature = float(*g.temperature);
  if (g.top_p) summary_.top_p = float(*g.top_p);
  if (g.min_p) summary_.min_p = float(*g.min_p);
  if (g.repetition_penalty) summary_.repetition_penalty = float(*g.repetition_penalty);
  if (g.top_k) summary_.top_k = int(*g.top_k);
  if (cfg.multimodal) {  // Gemma4ForConditionalGeneration: placeholders are replaced (§6)
    if (cfg.has_vision)
      summary_.image_ids = {int32_t(cfg.boi_token_id), int32_t(cfg.image_token_id),
                            int32_t(cfg.eoi_token_id)};
    if (cfg.has_audio)
      summary_.audio_ids = {int32_t(cfg.boa_token_id), int32_t(cfg.audio_token_id),
                            int32_t(cfg.eoa_token_id)};
    summary_.soft_token_ids = {int32_t(cfg.image_token_id), int32_t(cfg.audio_token_id),
                               int32_t(cfg.video_token_id)};
  }

  eps_ = float(tc.rms_norm_eps);
  embed_scale_ = dtype_rounded(std::sqrt(float(tc.hidden_size)), w_.embed_tokens, opts.f32_reference);
  if (cfg.has_ple()) {
    ple_tok_scale_ = dtype_rounded(std::sqrt(float(tc.hidden_size_per_layer_input)),
                                   w_.embed_tokens_per_layer, opts.f32_reference);
    ple_proj_scale_ = float(1.0 / std::sqrt(double(tc.hidden_size)));
    ple_mix_scale_ = float(1.0 / std::sqrt(2.0));
    ple_norm_ = upload_vector(*backend_, w_.per_layer_projection_norm, &vec_bufs_);
  }
  final_norm_ = upload_vector(*backend_, w_.norm, &vec_bufs_);
  if (w_.vision) vision_ = std::make_unique<Gemma4VisionTower>(w_.vision, *backend_);
  if (w_.audio) audio_ = std::make_unique<Gemma4AudioEncoder>(w_.audio, *backend_, opts.f32_reference);
  dev_.resize(w_.layers.size());
  for (size_t i = 0; i < w_.layers.size(); ++i) {
    const auto& L = w_.layers[i];
    const auto& info = cfg.layers[i];
    auto& D = dev_[i];
    auto up = [&](const std::vector<float>& v) { return upload_vector(*backend_, v, &vec_bufs_); };
    D.in_ln = up(L.input_layernorm);
    D.post_attn_ln = up(L.post_attention_layernorm);
    D.pre_ff_ln = up(L.pre_feedforward_layernorm);
    D.post_ff_ln = up(L.post_feedforward_layernorm);
    D.q_norm = up(L.q_norm);
    D.k_norm = up(L.k_norm);
    D.post_pl_norm = up(L.post_per_layer_input_norm);
    D.pre_ff_ln2 = up(L.pre_feedforward_layernorm_2);
    D.post_ff_ln1 = up(L.post_feedforward_layernorm_1);
    D.post_ff_ln2 = up(L.post_feedforward_layernorm_2);
    const RopeParams& rp = info.rope;
    D.inv_freq = rp.rope_type == "proportional"
                     ? ref::rope_inv_freq_proportional(int(info.head_dim), rp.theta, rp.partial_rotary_factor)
                     : ref::rope_inv_freq_default(int(info.head_dim), rp.theta);
    if (rp.factor != 1.0)
      for (float& f : D.inv_freq) f = float(f / rp.factor);
  }
}

std::string Gemma4::describe(bool tensors) const {
  std::string s = "gemma4: " + std::to_string(w_.layers.size()) + " layers, hidden " +
                  std::to_string(w_.cfg.text.hidden_size) + ", layout " + w_.report.layout + "\n";
  if (tensors)
    for (const auto& t : w_.report.tensors) s += "  " + t.key + "  " + t.status + "  " + t.role + "\n";
  return s;
}

const MediaEncoder* Gemma4::media_encoder(MediaKind kind) const {
  if (kind == MediaKind::kAudio) {
    if (!w_.cfg.has_audio) return nullptr;
    if (!audio_) fail(ErrorCode::kInvalidCheckpoint, "the audio tower could not be loaded: ", w_.audio_error);
    return audio_.get();
  }
  if (kind != MediaKind::kImage || !w_.cfg.has_vision) return nullptr;
  if (!vision_)
    fail(ErrorCode::kInvalidCheckpoint, "the vision tower could not be loaded: ", w_.vision_error);
  return vision_.get();
}

std::unique_ptr<SequenceState> Gemma4::new_state(int64_t max_context, int64_t max_chunk) const {
  const auto& cfg = w_.cfg;
  std::vector<LayerCacheSpec> specs(cfg.layers.size());
  std::vector<bool> owns(cfg.layers.size());
  for (size_t i = 0; i < cfg.layers.size(); ++i) {
    const auto& L = cfg.layers[i];
    specs[i] = {int(L.n_kv_heads), int(L.head_dim),
                L.type == LayerType::kSliding ? cfg.text.sliding_window : 0};
    owns[i] = !L.kv_shared;
  }
  auto st = std::make_unique<SequenceState>();
  st->cache = KvCache(*backend_, specs, owns, max_chunk, max_context);
  return st;
}

void Gemma4::forward(const int32_t* ids, int64_t T, SequenceState& st, const ForwardOptions& opts,
                     std::vector<float>* logits) const {
  int64_t placeholders = 0;
  for (int64_t t = 0; t < T; ++t) placeholders += is_soft_placeholder(ids[t]);
  const SoftTokens* soft = opts.soft && opts.soft->n > 0 ? opts.soft : nullptr;
  if (soft && soft->n != placeholders)
    fail(ErrorCode::kInvalidArgument, "forward: ", soft->n, " soft tokens for ", placeholders,
         " image/audio placeholder tokens (the counts must match)");
  int64_t used = 0;  // soft rows consumed by earlier chunks
  forward_in_chunks(
      ids, T, w_.cfg.text.vocab_size, st, opts.logits,
      [&](const int32_t* c, int64_t n, bool want, std::vector<float>* out) {
        const LogitsMode mode = opts.logits == LogitsMode::kAll ? LogitsMode::kAll
                                : want                          ? LogitsMode::kLast
                                                                : LogitsMode::kNone;
        Piece p{&st, c, n, mode, out};
        p.soft_rows = soft ? soft->rows + used * w_.cfg.text.hidden_size : nullptr;
        run({&p, 1}, &st.scratch, opts);
        for (int64_t t = 0; t < n; ++t) used += is_soft_placeholder(c[t]);
      },
      logits);
}

void Gemma4::forward_batch(std::span<const BatchSeq> seqs, std::vector<BackendBuffer>* scratch,
                           const ForwardOptions& opts) const {
  const std::vector<Piece> pieces = batch_pieces(seqs, w_.cfg.text.vocab_size);
  run(pieces, scratch, opts);
}

bool Gemma4::is_soft_placeholder(int32_t id) const {
  const auto& v = summary_.soft_token_ids;
  return std::find(v.begin(), v.end(), id) != v.end();
}

// The ids whose embedding rows are looked up: placeholders take the pad id, for the token
// embedding (then overwritten by a soft token, if given) and for the per-layer embedding.
std::vector<int32_t> Gemma4::embed_ids(const int32_t* ids, int64_t T) const {
  std::vector<int32_t> out(ids, ids + T);
  for (int32_t& id : out)
    if (is_soft_placeholder(id)) id = summary_.pad_id;
  return out;
}

// h[row] = the piece's k-th soft row for its k-th placeholder (soft tokens are not scaled, §1).
// Rows are every token of every piece, piece after piece (before YOCO drops any).
void Gemma4::place_soft_tokens(std::span<const Piece> pieces, float* h) const {
  const int64_t H = w_.cfg.text.hidden_size;
  int64_t row = 0;
  for (const Piece& p : pieces) {
    int64_t k = 0;
    for (int64_t t = 0; t < p.n; ++t, ++row)
      if (p.soft_rows && is_soft_placeholder(p.ids[t]))
        backend_->upload(h + row * H, p.soft_rows + (k++) * H, size_t(H));
  }
}

// ple[T, L, P] = (RMSNorm_P(proj(h0) * H^-0.5) + embed_pl[ids] * sqrt(P)) * 2^-0.5   (§4.3)
// Dumps "ple_tokens" (the table rows, scaled) and "ple", both [T, L*P].
void Gemma4::per_layer_inputs(const int32_t* ids, int64_t T, const float* h0, Scratch& s,
                              const ActivationHook* hook) const {
  Backend& b = *backend_;
  const auto& tc = w_.cfg.text;
  const int64_t LP = tc.num_hidden_layers * tc.hidden_size_per_layer_input;
  float* ple = s.get(kPle, size_t(T * LP));
  float* tok = s.get(kPleTok, size_t(T * LP));
  b.embedding_rows(w_.embed_tokens_per_layer, ids, T, tok, ple_tok_scale_);
  dump_activation(b, hook, "ple_tokens", tok, T, LP);
  b.matmul(w_.per_layer_model_projection, h0, T, ple);
  b.scale(ple, ple_proj_scale_, T * LP);
  b.rmsnorm(ple, ple_norm_, T * tc.num_hidden_layers, tc.hidden_size_per_layer_input, eps_, ple);
  b.add_scaled(ple, tok, ple_mix_scale_, T * LP);
  dump_activation(b, hook, "ple", ple, T, LP);
}

AttentionLayer Gemma4::attention_layer(int64_t l) const {
  const auto& tc = w_.cfg.text;
  const auto& info = w_.cfg.layers[size_t(l)];
  const auto& L = w_.layers[size_t(l)];
  const auto& D = dev_[size_t(l)];
  AttentionLayer al;
  al.q_proj = &L.q_proj;
  al.k_proj = info.kv_shared ? nullptr : &L.k_proj;
  al.v_proj = (info.kv_shared || info.k_eq_v) ? nullptr : &L.v_proj;
  al.o_proj = &L.o_proj;
  al.q_norm = D.q_norm;
  al.k_norm = D.k_norm;
  al.v_norm = true;
  al.n_heads = int(tc.num_attention_heads);
  al.n_kv_heads = int(info.n_kv_heads);
  al.head_dim = int(info.head_dim);
  al.window = info.type == LayerType::kSliding ? tc.sliding_window : 0;
  al.scale = 1.0f;
  al.eps = eps_;
  al.inv_freq = D.inv_freq.data();
  al.has_kv = !info.kv_shared;
  return al;
}

// The decoder over the rows of every piece at once (one piece: a plain forward chunk).
void Gemma4::run(std::span<const Piece> pieces, std::vector<BackendBuffer>* scratch,
                 const ForwardOptions& opts) const {
  Backend& b = *backend_;
  const auto& cfg = w_.cfg;
  const auto& tc = cfg.text;
  const int64_t H = tc.hidden_size, P = tc.hidden_size_per_layer_input, nL = tc.num_hidden_layers;
  Scratch s(b, scratch);
  RowLayout lay(pieces);
  const int64_t T = lay.rows;
  const int32_t* ids = lay.ids.data();

  float* h = s.get(kH, size_t(T * H));  // [rows, H] residual stream
  float* a = s.get(kA, size_t(T * H));
  float* tmp = s.get(kTmp, size_t(T * H));
  const std::vector<int32_t> eids = embed_ids(ids, T);
  b.embedding_rows(w_.embed_tokens, eids.data(), T, h, embed_scale_);
  place_soft_tokens(pieces, h);
  dump_activation(b, opts.hook, "embed", h, T, H);
  if (cfg.has_ple()) per_layer_inputs(eids.data(), T, h, s, opts.hook);
  float* ple = cfg.has_ple() ? s.get(kPle, 0) : nullptr;  // [T, nL, P], by original row
  float* pg = cfg.has_ple() ? s.get(kPleGate, size_t(T * P)) : nullptr;

  // YOCO: KV-shared layers write no cache, so only rows whose output is needed go through
  // them: the last row of each sequence that wants logits, none of a non-final chunk.
  bool any_all = false;
  for (const Piece& p : pieces) any_all |= p.mode == LogitsMode::kAll;
  const bool yoco = opts.yoco && !any_all && cfg.first_kv_shared > 0 && cfg.first_kv_shared < nL;
  std::vector<LayerCache*> caches(pieces.size());
  for (int64_t l = 0; l < nL; ++l) {
    const auto& info = cfg.layers[size_t(l)];
    const auto& L = w_.layers[size_t(l)];
    const auto& D = dev_[size_t(l)];
    if (yoco && l == cfg.first_kv_shared) {
      lay.keep_output_rows(b, pieces, h, H);
      if (lay.rows == 0) break;
    }
    const int64_t rows = lay.rows;
    const std::string tag = "layer." + std::to_string(l) + ".";

    // Attention (per-sequence caches; shared-KV layers read their donor's).
    for (size_t i = 0; i < pieces.size(); ++i) caches[i] = &pieces[i].st->cache.layer(size_t(info.kv_source));
    b.rmsnorm(h, D.in_ln, rows, H, eps_, a);
    attention_block(b, attention_layer(l), caches, lay, a, s, tmp);
    b.rmsnorm(tmp, D.post_attn_ln, rows, H, eps_, tmp);
    b.add(h, tmp, rows * H);
    dump_activation(b, opts.hook, tag + "attn_out", h, rows, H);

    // Feed-forward (dense MLP, plus the expert mixture on MoE layers).
    if (tc.enable_moe_block) {
      moe_block(L, D, h, rows, s, tmp);
    } else {
      b.rmsnorm(h, D.pre_ff_ln, rows, H, eps_, a);
      geglu_mlp(b, L.gate_proj, L.up_proj, L.down_proj, a, rows, s, tmp);
      b.rmsnorm(tmp, D.post_ff_ln, rows, H, eps_, tmp);
    }
    b.add(h, tmp, rows * H);
    dump_activation(b, opts.hook, tag + "mlp_out", h, rows, H);

    // Per-layer embedding injection: h += RMSNorm(proj(gelu(gate(h)) * ple_l)).
    if (cfg.has_ple()) {
      b.matmul(L.per_layer_input_gate, h, rows, pg);
      b.gelu_tanh(pg, rows * P);
      for (int64_t r = 0; r < rows; ++r) b.mul(pg + r * P, ple + (lay.src[size_t(r)] * nL + l) * P, P);
      b.matmul(L.per_layer_projection, pg, rows, tmp);
      b.rmsnorm(tmp, D.post_pl_norm, rows, H, eps_, tmp);
      b.add(h, tmp, rows * H);
    }
    b.scale(h, L.layer_scalar, rows * H);
    dump_activation(b, opts.hook, tag + "out", h, rows, H);
  }
  RowLayout::advance(pieces);

  // Head: final norm, tied (or untied) output matrix, soft-capping.
  HeadWeights hw;
  hw.head = w_.lm_head_tied ? &w_.embed_tokens : &w_.lm_head;
  hw.norm = final_norm_;
  hw.eps = eps_;
  hw.softcap = tc.final_logit_softcapping ? float(*tc.final_logit_softcapping) : 0.0f;
  output_head(b, hw, pieces, lay, h, H, s, opts.hook);
}

// MoE feed-forward (§4.11); routing is decided on the host.
void Gemma4::moe_block(const Gemma4Layer& L, const LayerDev& D, const float* r, int64_t T, Scratch& s,
                       float* out) const {
  Backend& b = *backend_;
  const auto& tc = w_.cfg.text;
  const int64_t H = tc.hidden_size, E = tc.num_experts, K = tc.top_k_experts;
  float* a = s.get(kMoeA, size_t(T * H));
  float* h2 = s.get(kMoeB, size_t(T * H));
  // h1 = post_ff_ln_1(mlp(pre_ff_ln(r)))  -> out
  b.rmsnorm(r, D.pre_ff_ln, T, H, eps_, a);
  geglu_mlp(b, L.gate_proj, L.up_proj, L.down_proj, a, T, s, out);
  b.rmsnorm(out, D.post_ff_ln1, T, H, eps_, out);

  // Router: softmax(RMSNorm_noscale(r) * scale * H^-0.5 @ projᵀ), top-K, renormalize, per-expert scale.
  float* x = s.get(kMoeIn, size_t(T * H));
  b.rmsnorm(r, nullptr, T, H, eps_, x);
  std::vector<float> rs(L.router_scale);
  const float hs = float(1.0 / std::sqrt(double(H)));
  for (float& v : rs) v *= hs;
  std::vector<BackendBuffer> tmp_owner;
  const float* rs_dev = upload_vector(b, rs, &tmp_owner);
  for (int64_t t = 0; t < T; ++t) b.mul(x + t * H, rs_dev, H);
  float* rl = s.get(kMoeOut, size_t(T * std::max(E, H)));
  b.matmul(L.router_proj, x, T, rl);
  std::vector<float> probs(static_cast<size_t>(T * E));
  b.download(probs.data(), rl, probs.size());

  b.rmsnorm(r, D.pre_ff_ln2, T, H, eps_, a);  // x2
  std::vector<float> zero(static_cast<size_t>(T * H), 0.0f);
  b.upload(h2, zero.data(), zero.size());
  float* xin = s.get(kMoeIn, size_t(T * H));
  float* xout = s.get(kMoeOut, size_t(T * H));
  std::vector<std::vector<std::pair<int64_t, float>>> by_expert(static_cast<size_t>(E));
  for (int64_t t = 0; t < T; ++t) {
    float* p = probs.data() + t * E;
    float mx = *std::max_element(p, p + E);
    double sum = 0;
    for (int64_t e = 0; e < E; ++e) sum += p[e] = std::exp(p[e] - mx);
    for (int64_t e = 0; e < E; ++e) p[e] = float(p[e] / sum);
    std::vector<int64_t> idx(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) idx[size_t(e)] = e;
    std::partial_sort(idx.begin(), idx.begin() + K, idx.end(),
                      [&](int64_t i, int64_t j) { return p[i] > p[j] || (p[i] == p[j] && i < j); });
    double top = 0;
    for (int64_t k = 0; k < K; ++k) top += p[idx[size_t(k)]];
    for (int64_t k = 0; k < K; ++k) {
      int64_t e = idx[size_t(k)];
      float wgt = float(p[e] / top) * L.router_per_expert_scale[size_t(e)];
      by_expert[size_t(e)].push_back({t, wgt});
    }
  }
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = by_expert[size_t(e)];
    if (toks.empty()) continue;
    const int64_t n = int64_t(toks.size());
    for (int64_t i = 0; i < n; ++i) b.copy(xin + i * H, a + toks[size_t(i)].first * H, size_t(H));
    geglu_mlp(b, L.expert_gate[size_t(e)], L.expert_up[size_t(e)], L.expert_down[size_t(e)], xin, n, s, xout);
    for (int64_t i = 0; i < n; ++i) {
      b.scale(xout + i * H, toks[size_t(i)].second, H);
      b.add(h2 + toks[size_t(i)].first * H, xout + i * H, H);
    }
  }
  b.rmsnorm(h2, D.post_ff_ln2, T, H, eps_, h2);
  b.add(out, h2, T * H);
  b.rmsnorm(out, D.post_ff_ln, T, H, eps_, out);
}

}  // namespace

// Also the GGUF entry point (gemma4_gguf.cc): both loaders fill the same Gemma4Model.
std::unique_ptr<LanguageModel> make_gemma4_from_weights(Gemma4Model weights, const ModelLoadOptions& opts) {
  auto backend = make_backend(opts.backend, opts.threads);
  // Reference numerics: f32 activations into every matmul (no int8 activation quantization).
  if (opts.f32_reference) backend->set_matmul_mode(MatmulMode::kExact);
  return std::make_unique<Gemma4>(std::move(weights), std::move(backend), opts);
}

std::unique_ptr<LanguageModel> make_gemma4(const std::string& dir, const ModelLoadOptions& opts) {
  LoadOptions lo;
  lo.progress = opts.progress;
  lo.vision = true;
  lo.audio = true;
  return make_gemma4_from_weights(load_gemma4(dir, lo), opts);
}

}  // namespace ember
