// Gemma 3 text decoder, from GGUF files as llama.cpp writes them (the demo model, Gemma 3 270M
// Q4_K_M) and from Hugging Face safetensors (config model_type gemma3_text, or gemma3 with a
// text_config; weights bound through the shared weight-table binder). Differences from Gemma 4
// (gemma4-text.md §8): RMSNorm weights are (1 + w) — the GGUF converter already stores 1 + w, the
// HF loader adds the 1 —, attention scale query_pre_attn_scalar^-0.5, local (sliding, RoPE base
// 10000) and global layers (5:1 in GGUF files; layer_types in HF configs), no PLE, no KV sharing,
// no v norm, no final soft-capping unless the checkpoint declares it.
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/status.h"
#include "io/gguf.h"
#include "io/json_util.h"
#include "io/quant_config.h"
#include "io/safetensors.h"
#include "models/blocks.h"
#include "models/language_model.h"
#include "models/weight_table.h"

namespace ember {

namespace {

enum : size_t { kH = kFirstFreeSlot, kA, kTmp };

struct Gemma3Hparams {
  int64_t vocab = 0, hidden = 0, layers = 0, ffn = 0, n_heads = 0, n_kv = 0, head_dim = 0, context = 0;
  int64_t window = 0;
  float eps = 1e-6f, rope_global = 1e6f, rope_local = 1e4f, rope_scale = 1.0f, attn_scale = 1.0f, softcap = 0.0f;
  float rope_local_scale = 1.0f;  // linear RoPE scaling factors (global / local layers)
  bool untied_head = false;         // HF: untied lm_head
  std::vector<bool> sliding;      // per layer
  bool is_sliding(int64_t l) const { return window > 0 && sliding[size_t(l)]; }
};

struct Gemma3Layer {
  Matrix q, k, v, o, gate, up, down;
  const float *attn_norm = nullptr, *q_norm = nullptr, *k_norm = nullptr, *post_attn_norm = nullptr;
  const float *ffn_norm = nullptr, *post_ffw_norm = nullptr;
  std::vector<float> inv_freq;
};

class Gemma3 final : public LanguageModel {
 public:
  Gemma3(std::unique_ptr<GgufFile> file, std::unique_ptr<Backend> backend, const LoadProgressFn& progress);
  Gemma3(const std::string& dir, std::unique_ptr<Backend> backend);

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
  void init_rope();

  std::unique_ptr<GgufFile> f_;
  std::shared_ptr<SafetensorsCollection> st_;  // HF checkpoints: keeps the weights mapped
  LoadReport report_;
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
  // Not stored in GGUF: 5 local layers then 1 global (llama.cpp's gemma3 rule).
  for (int64_t l = 0; l < std::max<int64_t>(h.layers, 0); ++l) h.sliding.push_back(l % 6 < 5);
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

Gemma3::Gemma3(std::unique_ptr<GgufFile> file, std::unique_ptr<Backend> backend, const LoadProgressFn& progress)
    : f_(std::move(file)), backend_(std::move(backend)) {
  hp_ = read_hparams(*f_);
  std::vector<std::string> problems;
  uint64_t total = 0;
  for (const auto& t : f_->tensors()) total += t.nbytes;
  LoadProgressReporter reporter(progress, total, int64_t(f_->tensors().size()));
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) -> Matrix {
    const GgufTensor* t = f_->find_tensor(name);
    if (!t) {
      problems.push_back(name + ": missing");
      return {};
    }
    Matrix m = f_->matrix(*t);
    reporter.tensor_done(name, t->nbytes);
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
    reporter.tensor_done(name, t->nbytes);
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
  }
  init_rope();
  if (!problems.empty()) {
    std::ostringstream os;
    os << f_->path() << ": " << problems.size() << " problem(s) with the gemma3 tensors:";
    for (const auto& p : problems) os << "\n  " << p;
    fail(ErrorCode::kInvalidCheckpoint, os.str());
  }
  reporter.finish();
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

void Gemma3::init_rope() {
  for (int64_t l = 0; l < hp_.layers; ++l) {
    auto& L = layers_[size_t(l)];
    const bool sliding = hp_.is_sliding(l);
    L.inv_freq = ref::rope_inv_freq_default(int(hp_.head_dim), sliding ? hp_.rope_local : hp_.rope_global);
    const float scale = sliding ? hp_.rope_local_scale : hp_.rope_scale;  // linear: positions / factor
    if (scale != 1.0f)
      for (float& x : L.inv_freq) x /= scale;
  }
}

// ---------------------------------------------------------------------------------------------
// Hugging Face safetensors: config.json (gemma3_text, or gemma3 with text_config).

// One RoPE entry: theta and a linear scaling factor ("default" or "linear" only).
void parse_rope_entry(const JsonObj& o, float* theta, float* factor) {
  *theta = float(o.get_num("rope_theta", *theta));
  const std::string type = o.get_str("rope_type", o.get_str("type", "default"));
  if (type == "linear") {
    *factor = float(o.get_num("factor", 1.0));
    if (!(*factor > 0)) o.fail_key("factor", "must be positive");
  } else if (type != "default") {
    fail(ErrorCode::kUnsupported, o.source(), ": ", o.key_path("rope_type"), ": \"", type,
         "\" is not supported for gemma3 (default, linear)");
  }
}

Gemma3Hparams parse_hf_hparams(const nlohmann::json& root, const std::string& src, ModelSummary* sum) {
  JsonObj r(root, src);
  auto tc = r.opt_obj("text_config");
  const std::string type = r.get_str("model_type", "");
  if (type == "gemma3" && !tc) r.fail_key("text_config", "required for model_type \"gemma3\"");
  const JsonObj& t = type == "gemma3" ? *tc : r;
  Gemma3Hparams h;
  auto ranged = [&](const char* k, int64_t def, int64_t hi) {
    int64_t v = t.get_int(k, def);
    if (v < 1 || v > hi)
      t.fail_key(k, "value " + std::to_string(v) + " out of range [1, " + std::to_string(hi) + "]");
    return v;
  };
  h.vocab = ranged("vocab_size", 262208, int64_t(1) << 24);
  h.hidden = ranged("hidden_size", 2304, int64_t(1) << 20);
  h.layers = ranged("num_hidden_layers", 26, 1024);
  h.ffn = ranged("intermediate_size", 9216, int64_t(1) << 20);
  h.n_heads = ranged("num_attention_heads", 8, 4096);
  h.n_kv = ranged("num_key_value_heads", 4, 4096);
  h.head_dim = ranged("head_dim", 256, 65536);
  h.context = ranged("max_position_embeddings", 131072, int64_t(1) << 40);
  h.window = ranged("sliding_window", 4096, int64_t(1) << 40);
  h.eps = float(t.get_num("rms_norm_eps", 1e-6));
  if (!(h.eps > 0 && h.eps < 1)) t.fail_key("rms_norm_eps", "must be in (0, 1)");
  if (h.n_heads % h.n_kv) t.fail_key("num_key_value_heads", "must divide num_attention_heads");
  h.attn_scale = float(1.0 / std::sqrt(double(ranged("query_pre_attn_scalar", 256, int64_t(1) << 20))));
  h.softcap = float(t.opt_num("final_logit_softcapping").value_or(0.0));
  if (t.opt_num("attn_logit_softcapping"))
    fail(ErrorCode::kUnsupported, src, ": attn_logit_softcapping is not supported (Gemma 3 has none)");
  if (t.get_str("hidden_activation", "gelu_pytorch_tanh") != "gelu_pytorch_tanh")
    t.fail_key("hidden_activation", "only gelu_pytorch_tanh is supported");
  if (t.has("layer_types")) {
    auto names = t.str_list("layer_types");
    if (int64_t(names.size()) != h.layers) t.fail_key("layer_types", "needs one entry per layer");
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] != "sliding_attention" && names[i] != "full_attention")
        t.fail_key("layer_types[" + std::to_string(i) + "]", "unknown layer type \"" + names[i] + "\"");
      h.sliding.push_back(names[i] == "sliding_attention");
    }
  } else {
    const int64_t pat = t.get_int("sliding_window_pattern", t.get_int("_sliding_window_pattern", 6));
    if (pat < 1) t.fail_key("sliding_window_pattern", "must be >= 1");
    for (int64_t l = 0; l < h.layers; ++l) h.sliding.push_back((l + 1) % pat != 0);
  }
  h.rope_global = 1e6f, h.rope_local = 1e4f;
  if (auto rp = t.opt_obj("rope_parameters")) {
    if (auto e = rp->opt_obj("full_attention")) parse_rope_entry(*e, &h.rope_global, &h.rope_scale);
    if (auto e = rp->opt_obj("sliding_attention")) parse_rope_entry(*e, &h.rope_local, &h.rope_local_scale);
  } else {  // shipped configs: rope_theta (global), rope_local_base_freq, rope_scaling (global only)
    h.rope_global = float(t.get_num("rope_theta", 1e6));
    h.rope_local = float(t.get_num("rope_local_base_freq", 1e4));
    if (auto rs = t.opt_obj("rope_scaling")) {
      float theta = h.rope_global;
      parse_rope_entry(*rs, &theta, &h.rope_scale);
    }
  }
  sum->bos_id = int32_t(t.get_int("bos_token_id", 2));
  sum->pad_id = int32_t(t.get_int("pad_token_id", 0));
  for (int64_t id : (r.has("eos_token_id") ? r : t).int_or_list("eos_token_id"))
    sum->stop_ids.push_back(int32_t(id));
  if (!t.get_bool("tie_word_embeddings", r.get_bool("tie_word_embeddings", true)))
    h.untied_head = true;
  return h;
}

std::vector<WeightSlot> gemma3_weight_table(const Gemma3Hparams& h) {
  std::vector<WeightSlot> out;
  WeightTableBuilder t{&out};
  const int64_t H = h.hidden, q = h.n_heads * h.head_dim, kv = h.n_kv * h.head_dim;
  t.matrix("embed_tokens", h.vocab, H, "token embedding");
  t.vec("norm", H, "final RMSNorm weight (used as 1 + w)");
  if (h.untied_head) {
    t.matrix("lm_head", h.vocab, H, "LM head (untied)");
  } else {
    t.ignored("lm_head", SlotKind::kMatrix, "LM head", "tied to embed_tokens");
  }
  for (int64_t i = 0; i < h.layers; ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    for (const char* n : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                          "post_feedforward_layernorm"})
      t.vec(p + n, H, std::string(n) + " (1 + w)");
    t.matrix(p + "self_attn.q_proj", q, H, "query projection");
    t.matrix(p + "self_attn.k_proj", kv, H, "key projection");
    t.matrix(p + "self_attn.v_proj", kv, H, "value projection");
    t.matrix(p + "self_attn.o_proj", H, q, "attention output projection");
    t.vec(p + "self_attn.q_norm", h.head_dim, "query RMSNorm (1 + w)");
    t.vec(p + "self_attn.k_norm", h.head_dim, "key RMSNorm (1 + w)");
    t.matrix(p + "mlp.gate_proj", h.ffn, H, "MLP gate projection");
    t.matrix(p + "mlp.up_proj", h.ffn, H, "MLP up projection");
    t.matrix(p + "mlp.down_proj", H, h.ffn, "MLP down projection");
  }
  return out;
}

Gemma3::Gemma3(const std::string& dir, std::unique_ptr<Backend> backend) : backend_(std::move(backend)) {
  const std::string cpath = dir + "/config.json";
  nlohmann::json root = read_json_file(cpath);
  hp_ = parse_hf_hparams(root, cpath, &summary_);
  st_ = std::make_shared<SafetensorsCollection>(SafetensorsCollection::open_dir(dir));
  const QuantConfig quant = parse_quant_config(root, cpath);
  WeightBinder binder(*st_, quant, detect_layout(*st_));
  binder.set_table_name("Gemma 3 text");
  auto bound = binder.bind(gemma3_weight_table(hp_));
  binder.ignore_containing("self_attn.rotary_emb.", "saved RoPE buffer (recomputed from config)");
  report_ = binder.finish(dir, /*skip_towers=*/true);
  // Gemma3RMSNorm computes x * (1 + w): add the 1 once here (the GGUF converter stores 1 + w).
  auto norm = [&](const std::string& n) {
    std::vector<float> v = std::move(bound[n].vec);
    for (float& x : v) x += 1.0f;
    return upload_vector(*backend_, v, &vec_bufs_);
  };
  embd_ = bound["embed_tokens"].matrix;
  output_ = hp_.untied_head ? bound["lm_head"].matrix : embd_;
  out_norm_ = norm("norm");
  layers_.resize(size_t(hp_.layers));
  for (int64_t l = 0; l < hp_.layers; ++l) {
    auto& L = layers_[size_t(l)];
    const std::string p = "layers." + std::to_string(l) + ".";
    L.q = bound[p + "self_attn.q_proj"].matrix;
    L.k = bound[p + "self_attn.k_proj"].matrix;
    L.v = bound[p + "self_attn.v_proj"].matrix;
    L.o = bound[p + "self_attn.o_proj"].matrix;
    L.gate = bound[p + "mlp.gate_proj"].matrix;
    L.up = bound[p + "mlp.up_proj"].matrix;
    L.down = bound[p + "mlp.down_proj"].matrix;
    L.attn_norm = norm(p + "input_layernorm");
    L.q_norm = norm(p + "self_attn.q_norm");
    L.k_norm = norm(p + "self_attn.k_norm");
    L.post_attn_norm = norm(p + "post_attention_layernorm");
    L.ffn_norm = norm(p + "pre_feedforward_layernorm");
    L.post_ffw_norm = norm(p + "post_feedforward_layernorm");
  }
  init_rope();
  summary_.architecture = "gemma3";
  summary_.vocab_size = hp_.vocab;
  summary_.n_layers = hp_.layers;
  summary_.hidden_size = hp_.hidden;
  summary_.max_context = hp_.context;
  const std::string gpath = dir + "/generation_config.json";
  if (std::filesystem::exists(gpath)) {
    nlohmann::json g = read_json_file(gpath);
    auto ids = JsonObj(g, gpath).int_or_list("eos_token_id");
    if (!ids.empty()) summary_.stop_ids.assign(ids.begin(), ids.end());
  }
  if (summary_.stop_ids.empty()) summary_.stop_ids = {1};
  summary_.eos_id = summary_.stop_ids[0];
}

std::string Gemma3::describe(bool tensors) const {
  std::ostringstream os;
  os << "architecture: gemma3 (" << (f_ ? "GGUF " + f_->path() : "layout " + report_.layout) << ")\n"
     << "layers " << hp_.layers << ", hidden " << hp_.hidden << ", heads " << hp_.n_heads << "/" << hp_.n_kv
     << " (head_dim " << hp_.head_dim << "), ffn " << hp_.ffn << ", vocab " << hp_.vocab << ", sliding window "
     << hp_.window << "\n";
  if (tensors && f_)
    for (const auto& t : f_->tensors()) os << "  " << t.name << "  " << t.type_name() << "  " << t.shape_str() << "\n";
  if (tensors && !f_)
    for (const auto& t : report_.tensors) os << "  " << t.key << "  " << t.status << "  " << t.role << "\n";
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

std::unique_ptr<LanguageModel> make_gemma3_hf(const std::string& dir, const ModelLoadOptions& opts) {
  auto backend = make_backend(opts.backend, opts.threads);
  if (opts.f32_reference) backend->set_matmul_mode(MatmulMode::kExact);
  return std::make_unique<Gemma3>(dir, std::move(backend));
}

std::unique_ptr<LanguageModel> make_gemma3_gguf(std::unique_ptr<GgufFile> file, const ModelLoadOptions& opts) {
  auto backend = make_backend(opts.backend, opts.threads);
  if (opts.f32_reference) backend->set_matmul_mode(MatmulMode::kExact);
  return std::make_unique<Gemma3>(std::move(file), std::move(backend), opts.progress);
}

}  // namespace ember
