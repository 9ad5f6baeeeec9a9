// Gemma 3 text decoder, from GGUF files as llama.cpp writes them (the demo model, Gemma 3 270M
// Q4_K_M). Differences from Gemma 4 (gemma4-text.md §8): RMSNorm weights are (1 + w) — the
// GGUF converter already stores 1 + w —, attention scale query_pre_attn_scalar^-0.5, local
// (sliding, RoPE base 10000) and global (RoPE base from the file) layers in a 5:1 pattern,
// no PLE, no KV sharing, no v norm, no final soft-capping unless the file declares it.
#include <cmath>
#include <sstream>

#include "core/status.h"
#include "io/gguf.h"
#include "models/blocks.h"
#include "models/language_model.h"

namespace ember {

namespace {

enum : size_t { kH = kFirstFreeSlot, kA, kTmp };

struct Gemma3Hparams {
  int64_t vocab = 0, hidden = 0, layers = 0, ffn = 0, n_heads = 0, n_kv = 0, head_dim = 0, context = 0;
  int64_t window = 0, swa_pattern = 6;
  float eps = 1e-6f, rope_global = 1e6f, rope_local = 1e4f, rope_scale = 1.0f, attn_scale = 1.0f,
        softcap = 0.0f;
  bool is_sliding(int64_t l) const { return window > 0 && (l % swa_pattern) < swa_pattern - 1; }
};

struct Gemma3Layer {
  Matrix q, k, v, o, gate, up, down;
  const float *attn_norm = nullptr, *q_norm = nullptr, *k_norm = nullptr, *post_attn_norm = nullptr;
  const float *ffn_norm = nullptr, *post_ffw_norm = nullptr;
  std::vector<float> inv_freq;
};

class Gemma3 final : public LanguageModel {
 public:
  Gemma3(std::unique_ptr<GgufFile> file, std::unique_ptr<Backend> backend);

  const ModelSummary& summary() const override { return summary_; }
  Backend& backend() const override { return *backend_; }
  std::string describe(bool tensors) const override;
  std::unique_ptr<SequenceState> new_state(int64_t max_context, int64_t max_chunk) const override;
  void forward(const int32_t* ids, int64_t T, SequenceState& st, const ForwardOptions& opts,
               std::vector<float>* logits) const override;
  void forward_batch(std::span<const BatchSeq> seqs, std::vector<BackendBuffer>* scratch,
                     const ForwardOptions& opts) const override;

 private:
  void run(std::span<const Piece> pieces, std::vector<BackendBuffer>* scratch,
           const ForwardOptions& opts) const;

  std::unique_ptr<GgufFile> f_;
  std::unique_ptr<Backend> backend_;
  Gemma3Hparams hp_;
  ModelSummary summary_;
  Matrix embd_, output_;
  const float* out_norm_ = nullptr;
  std::vector<Gemma3Layer> layers_;
  std::vector<BackendBuffer> vec_bufs_;
};

Gemma3Hparams read_hparams(const GgufFile& f) {
  Gemma3Hparams h;
  auto u = [&](const std::string& k) { return int64_t(f.get_u64("gemma3." + k)); };
  h.hidden = u("embedding_length");
  h.layers = u("block_count");
  h.ffn = u("feed_forward_length");
  h.n_heads = u("attention.head_count");
  h.n_kv = u("attention.head_count_kv");
  h.head_dim = f.has("gemma3.attention.key_length") ? u("attention.key_length") : h.hidden / h.n_heads;
  h.context = u("context_length");
  h.window = f.has("gemma3.attention.sliding_window") ? u("attention.sliding_window") : 0;
  h.eps = f.get_f32("gemma3.attention.layer_norm_rms_epsilon");
  if (auto v = f.opt_f32("gemma3.rope.freq_base")) h.rope_global = *v;
  if (auto v = f.opt_f32("gemma3.rope.scaling.factor")) h.rope_scale = *v > 0 ? *v : 1.0f;
  if (auto v = f.opt_f32("gemma3.final_logit_softcapping")) h.softcap = *v;
  // As llama.cpp: the 27B model scales by (hidden / heads)^-0.5, the others by head_dim^-0.5
  // (query_pre_attn_scalar is not stored in GGUF).
  const bool is_27b = h.layers == 62;
  h.attn_scale = float(1.0 / std::sqrt(double(is_27b ? h.hidden / h.n_heads : h.head_dim)));
  if (h.hidden <= 0 || h.layers <= 0 || h.n_heads <= 0 || h.n_kv <= 0 || h.head_dim <= 0 ||
      h.n_heads % h.n_kv)
    fail(ErrorCode::kInvalidCheckpoint, f.path(), ": inconsistent gemma3 hyperparameters");
  return h;
}

Gemma3::Gemma3(std::unique_ptr<GgufFile> file, std::unique_ptr<Backend> backend)
    : f_(std::move(file)), backend_(std::move(backend)) {
  hp_ = read_hparams(*f_);
  std::vector<std::string> problems;
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) -> Matrix {
    const GgufTensor* t = f_->find_tensor(name);
    if (!t) {
      problems.push_back(name + ": missing");
      return {};
    }
    Matrix m = f_->matrix(*t);
    if (m.rows != rows || m.cols != cols)
      problems.push_back(name + ": shape " + t->shape_str() + ", expected [" + std::to_string(cols) + ", " +
                         std::to_string(rows) + "]");
    return m;
  };
  auto vec = [&](const std::string& name, int64_t n) -> const float* {
    const GgufTensor* t = f_->find_tensor(name);
    if (!t) {
      problems.push_back(name + ": missing");
      return nullptr;
    }
    if (t->numel() != n) {
      problems.push_back(name + ": " + std::to_string(t->numel()) + " elements, expected " +
                         std::to_string(n));
      return nullptr;
    }
    Matrix m = f_->matrix(*t);
    std::vector<float> v(static_cast<size_t>(n));
    dequantize_row(m, 0, v.data());
    return upload_vector(*backend_, v, &vec_bufs_);
  };
  const int64_t H = hp_.hidden, hd = hp_.head_dim;
  embd_ =
      matrix("token_embd.weight",
             f_->tensor("token_embd.weight").ne.size() > 1 ? f_->tensor("token_embd.weight").ne[1] : 0, H);
  hp_.vocab = embd_.rows;
  output_ = f_->find_tensor("output.weight") ? matrix("output.weight", hp_.vocab, H) : embd_;
  out_norm_ = vec("output_norm.weight", H);
  layers_.resize(size_t(hp_.layers));
  for (int64_t l = 0; l < hp_.layers; ++l) {
    auto& L = layers_[size_t(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    L.q = matrix(p + "attn_q.weight", hp_.n_heads * hd, H);
    L.k = matrix(p + "attn_k.weight", hp_.n_kv * hd, H);
    L.v = matrix(p + "attn_v.weight", hp_.n_kv * hd, H);
    L.o = matrix(p + "attn_output.weight", H, hp_.n_heads * hd);
    L.gate = matrix(p + "ffn_gate.weight", hp_.ffn, H);
    L.up = matrix(p + "ffn_up.weight", hp_.ffn, H);
    L.down = matrix(p + "ffn_down.weight", H, hp_.ffn);
    L.attn_norm = vec(p + "attn_norm.weight", H);
    L.q_norm = vec(p + "attn_q_norm.weight", hd);
    L.k_norm = vec(p + "attn_k_norm.weight", hd);
    L.post_attn_norm = vec(p + "post_attention_norm.weight", H);
    L.ffn_norm = vec(p + "ffn_norm.weight", H);
    L.post_ffw_norm = vec(p + "post_ffw_norm.weight", H);
    const bool sliding = hp_.is_sliding(l);
    L.inv_freq = ref::rope_inv_freq_default(int(hd), sliding ? hp_.rope_local : hp_.rope_global);
    if (!sliding && hp_.rope_scale != 1.0f)
      for (float& x : L.inv_freq) x /= hp_.rope_scale;
  }
  if (!problems.empty()) {
    std::ostringstream os;
    os << f_->path() << ": " << problems.size() << " problem(s) with the gemma3 tensors:";
    for (const auto& p : problems) os << "\n  " << p;
    fail(ErrorCode::kInvalidCheckpoint, os.str());
  }
  summary_.architecture = "gemma3";
  summary_.vocab_size = hp_.vocab;
  summary_.n_layers = hp_.layers;
  summary_.hidden_size = H;
  summary_.max_context = hp_.context;
  GgufTokenizerData tok = gguf_tokenizer_data(*f_);
  summary_.bos_id = tok.bos_id >= 0 ? int32_t(tok.bos_id) : 2;
  summary_.eos_id = tok.eos_id >= 0 ? int32_t(tok.eos_id) : 1;
  summary_.pad_id = tok.pad_id >= 0 ? int32_t(tok.pad_id) : 0;
  summary_.stop_ids = {summary_.eos_id};
  for (int64_t id : tok.eos_ids)
    if (id != summary_.eos_id) summary_.stop_ids.push_back(int32_t(id));
  // Gemma 3 -it ends a turn with <end_of_turn>.
  for (size_t i = 0; i < tok.tokens.size(); ++i)
    if (tok.tokens[i] == "<end_of_turn>") summary_.stop_ids.push_back(int32_t(i));
}

std::string Gemma3::describe(bool tensors) const {
  std::ostringstream os;
  os << "architecture: gemma3 (GGUF " << f_->path() << ")\n"
     << "layers " << hp_.layers << ", hidden " << hp_.hidden << ", heads " << hp_.n_heads << "/" << hp_.n_kv
     << " (head_dim " << hp_.head_dim << "), ffn " << hp_.ffn << ", vocab " << hp_.vocab
     << ", sliding window " << hp_.window << " (every " << hp_.swa_pattern << "th layer global)\n";
  if (tensors)
    for (const auto& t : f_->tensors())
      os << "  " << t.name << "  " << t.type_name() << "  " << t.shape_str() << "\n";
  return os.str();
}

std::unique_ptr<SequenceState> Gemma3::new_state(int64_t max_context, int64_t max_chunk) const {
  std::vector<LayerCacheSpec> specs(size_t(hp_.layers));
  for (int64_t l = 0; l < hp_.layers; ++l)
    specs[size_t(l)] = {int(hp_.n_kv), int(hp_.head_dim), hp_.is_sliding(l) ? hp_.window : 0};
  auto st = std::make_unique<SequenceState>();
  st->cache = KvCache(*backend_, specs, std::vector<bool>(size_t(hp_.layers), true), max_chunk, max_context);
  return st;
}

void Gemma3::forward(const int32_t* ids, int64_t T, SequenceState& st, const ForwardOptions& opts,
                     std::vector<float>* logits) const {
  forward_in_chunks(
      ids, T, hp_.vocab, st, opts.logits,
      [&](const int32_t* c, int64_t n, bool want, std::vector<float>* out) {
        const LogitsMode mode = opts.logits == LogitsMode::kAll ? LogitsMode::kAll
                                : want                          ? LogitsMode::kLast
                                                                : LogitsMode::kNone;
        const Piece p{&st, c, n, mode, out};
        run({&p, 1}, &st.scratch, opts);
      },
      logits);
}

void Gemma3::forward_batch(std::span<const BatchSeq> seqs, std::vector<BackendBuffer>* scratch,
                           const ForwardOptions& opts) const {
  const std::vector<Piece> pieces = batch_pieces(seqs, hp_.vocab);
  run(pieces, scratch, opts);
}

// The decoder over the rows of every piece at once (one piece: a plain forward chunk).
void Gemma3::run(std::span<const Piece> pieces, std::vector<BackendBuffer>* scratch,
                 const ForwardOptions& opts) const {
  Backend& b = *backend_;
  const int64_t H = hp_.hidden;
  Scratch s(b, scratch);
  const RowLayout lay(pieces);
  const int64_t T = lay.rows;
  float* h = s.get(kH, size_t(T * H));  // [T, H] residual stream
  float* a = s.get(kA, size_t(T * H));
  float* tmp = s.get(kTmp, size_t(T * H));
  b.embedding_rows(embd_, lay.ids.data(), T, h, std::sqrt(float(H)));
  dump_activation(b, opts.hook, "embed", h, T, H);
  std::vector<LayerCache*> caches(pieces.size());
  for (int64_t l = 0; l < hp_.layers; ++l) {
    const auto& L = layers_[size_t(l)];
    AttentionLayer al;
    al.q_proj = &L.q;
    al.k_proj = &L.k;
    al.v_proj = &L.v;
    al.o_proj = &L.o;
    al.q_norm = L.q_norm;
    al.k_norm = L.k_norm;
    al.v_norm = false;
    al.n_heads = int(hp_.n_heads);
    al.n_kv_heads = int(hp_.n_kv);
    al.head_dim = int(hp_.head_dim);
    al.window = hp_.is_sliding(l) ? hp_.window : 0;
    al.scale = hp_.attn_scale;
    al.eps = hp_.eps;
    al.inv_freq = L.inv_freq.data();
    for (size_t i = 0; i < pieces.size(); ++i) caches[i] = &pieces[i].st->cache.layer(size_t(l));
    b.rmsnorm(h, L.attn_norm, T, H, hp_.eps, a);
    attention_block(b, al, caches, lay, a, s, tmp);
    b.rmsnorm(tmp, L.post_attn_norm, T, H, hp_.eps, tmp);
    b.add(h, tmp, T * H);
    b.rmsnorm(h, L.ffn_norm, T, H, hp_.eps, a);
    geglu_mlp(b, L.gate, L.up, L.down, a, T, s, tmp);
    b.rmsnorm(tmp, L.post_ffw_norm, T, H, hp_.eps, tmp);
    b.add(h, tmp, T * H);
    dump_activation(b, opts.hook, "layer." + std::to_string(l) + ".out", h, T, H);
  }
  RowLayout::advance(pieces);
  HeadWeights hw;
  hw.head = &output_;
  hw.norm = out_norm_;
  hw.eps = hp_.eps;
  hw.softcap = hp_.softcap;
  output_head(b, hw, pieces, lay, h, H, s, nullptr);
}

}  // namespace

std::unique_ptr<LanguageModel> make_gemma3_gguf(std::unique_ptr<GgufFile> file,
                                                const ModelLoadOptions& opts) {
  auto backend = make_backend(opts.backend, opts.threads);
  if (opts.f32_reference) backend->set_matmul_mode(MatmulMode::kExact);
  return std::make_unique<Gemma3>(std::move(file), std::move(backend));
}

}  // namespace ember
