#include "models/gemma4_gguf.h"

#include <algorithm>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "core/status.h"
#include "models/language_model.h"
#include "quant/gguf_types.h"

namespace ember {

std::unique_ptr<LanguageModel> make_gemma4_from_weights(Gemma4Model weights, const ModelLoadOptions& opts);

namespace {

using nlohmann::json;

// ---------------------------------------------------------------------------------------------
// Metadata -> config.json fields.

// Typed access to the `gemma4.*` keys that names the GGUF key in every error.
class Meta {
 public:
  explicit Meta(const GgufFile& f) : f_(f) {}
  std::string key(std::string_view s) const { return "gemma4." + std::string(s); }
  [[noreturn]] void bad(std::string_view s, const std::string& what) const {
    fail(ErrorCode::kInvalidCheckpoint, f_.path(), ": metadata key '", key(s), "': ", what);
  }
  const GgufValue& req(std::string_view s) const {
    const GgufValue* v = f_.find(key(s));
    if (!v) bad(s, "required by the gemma4 architecture but missing");
    return *v;
  }
  int64_t u(std::string_view s) const {
    req(s);
    return int64_t(f_.get_u32(key(s)));
  }
  std::optional<int64_t> opt_u(std::string_view s) const {
    if (!f_.has(key(s))) return std::nullopt;
    return int64_t(f_.get_u32(key(s)));
  }
  double num(std::string_view s) const {
    req(s);
    return f_.get_f64(key(s));
  }
  std::optional<double> opt_num(std::string_view s) const {
    if (!f_.has(key(s))) return std::nullopt;
    return f_.get_f64(key(s));
  }
  // A scalar (same for every layer) or an array of one integer per layer (llama.cpp's
  // get_key_or_arr); each value in [lo, hi].
  std::vector<int64_t> per_layer(std::string_view s, int64_t L, int64_t lo, int64_t hi) const {
    const GgufValue& v = req(s);
    std::vector<int64_t> out;
    if (v.type == GgufValueType::kArray) {
      if (v.elem_type == GgufValueType::kArray || v.elem_type == GgufValueType::kString ||
          v.elem_type == GgufValueType::kBool || v.elem_type == GgufValueType::kF32 ||
          v.elem_type == GgufValueType::kF64)
        bad(s, "expected an integer or an array of integers");
      if (int64_t(v.count) != L)
        bad(s, "has " + std::to_string(v.count) + " entries but block_count is " + std::to_string(L));
      for (uint64_t i = 0; i < v.count; ++i) out.push_back(v.int_at(i));
    } else {
      out.assign(size_t(L), int64_t(f_.get_u32(key(s))));
    }
    for (size_t i = 0; i < out.size(); ++i)
      if (out[i] < lo || out[i] > hi)
        bad(s, "layer " + std::to_string(i) + ": value " + std::to_string(out[i]) + " out of range [" +
                   std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return out;
  }

 private:
  const GgufFile& f_;
};

std::string blk(int64_t i, const char* name) { return "blk." + std::to_string(i) + "." + name; }

// Rows of a 2-D tensor (ggml ne[1]); 0 when absent or not 2-D (reported by the binder).
int64_t rows_of(const GgufFile& f, const std::string& name) {
  const GgufTensor* t = f.find_tensor(name);
  return t && t->ne.size() == 2 ? t->ne[1] : 0;
}

// partial_rotary_factor of the full layers from rope_freqs (1 = rotated pair, 1e30 = kept).
double partial_factor_from_rope_freqs(const GgufFile& f, int64_t head_dim) {
  const GgufTensor* t = f.find_tensor("rope_freqs.weight");
  if (!t)
    fail(ErrorCode::kInvalidCheckpoint, f.path(),
         ": tensor 'rope_freqs.weight' is missing (gemma4 full-attention layers need it for proportional "
         "RoPE)");
  const int64_t half = head_dim / 2;
  if (t->ne != std::vector<int64_t>{half})
    fail(ErrorCode::kInvalidCheckpoint, f.path(), ": tensor 'rope_freqs.weight' has shape ", t->shape_str(),
         ", expected [", half, "] (global head_dim / 2)");
  std::vector<float> v(static_cast<size_t>(half));
  dequantize_row(f.matrix(*t), 0, v.data());
  int64_t rotated = 0;
  while (rotated < half && v[size_t(rotated)] == 1.0f) ++rotated;
  for (int64_t i = rotated; i < half; ++i)
    if (!(v[size_t(i)] >= 1e20f))
      fail(ErrorCode::kUnsupported, f.path(), ": rope_freqs.weight[", i, "] = ", v[size_t(i)],
           ": only proportional RoPE factors (1 for rotated pairs, then ~1e30) are supported");
  if (rotated == half) return 1.0;
  // HF rounds partial*head_dim/2 down: +0.5 makes that land exactly on `rotated`.
  return (double(rotated) + 0.5) / double(half);
}

void check_rope(const GgufFile& f, const Meta& m, int64_t hd_full, int64_t hd_swa, bool has_full) {
  if (auto t = f.opt_string(m.key("rope.scaling.type")); t && *t != "none")
    fail(ErrorCode::kUnsupported, f.path(), ": ", m.key("rope.scaling.type"), " = \"", *t,
         "\": RoPE scaling is not supported");
  if (auto s = m.opt_num("rope.scaling.factor"); s && *s != 0.0 && *s != 1.0)
    fail(ErrorCode::kUnsupported, f.path(), ": ", m.key("rope.scaling.factor"), " = ", *s,
         ": RoPE scaling is not supported");
  // llama.cpp rotates the first n_rot lanes with exponents over n_rot: only n_rot == head_dim is
  // the HF rotation (partial rotation of full layers is expressed by rope_freqs instead).
  if (auto n = m.opt_u("rope.dimension_count_swa"); n && *n != hd_swa)
    fail(ErrorCode::kUnsupported, f.path(), ": ", m.key("rope.dimension_count_swa"), " = ", *n,
         " differs from the sliding head_dim ", hd_swa, ": partial RoPE on sliding layers is not supported");
  if (auto n = m.opt_u("rope.dimension_count"); n && has_full && *n != hd_full)
    fail(ErrorCode::kUnsupported, f.path(), ": ", m.key("rope.dimension_count"), " = ", *n,
         " differs from the full head_dim ", hd_full, " (rope_freqs expresses partial rotation)");
}

// Per-layer attention shapes -> head_dim / global_head_dim / per_layer_config.
void attention_fields(const GgufFile& f, const Meta& m, int64_t L, const std::vector<bool>& sliding,
                      json* c) {
  const int64_t hd_full = m.u("attention.key_length"), hd_swa = m.u("attention.key_length_swa");
  if (m.u("attention.value_length") != hd_full)
    m.bad("attention.value_length", "must equal attention.key_length (" + std::to_string(hd_full) + ")");
  if (m.u("attention.value_length_swa") != hd_swa)
    m.bad("attention.value_length_swa",
          "must equal attention.key_length_swa (" + std::to_string(hd_swa) + ")");
  const auto heads = m.per_layer("attention.head_count", L, 1, 4096);
  if (std::adjacent_find(heads.begin(), heads.end(), std::not_equal_to<>()) != heads.end())
    m.bad("attention.head_count", "differs between layers (not a Gemma 4 model)");
  const auto kv = m.per_layer("attention.head_count_kv", L, 1, 4096);
  (*c)["num_attention_heads"] = heads[0];
  (*c)["head_dim"] = hd_swa;
  (*c)["global_head_dim"] = hd_full;
  (*c)["num_key_value_heads"] = kv[0];
  json plc = json::object();
  for (int64_t i = 0; i < L; ++i)
    plc[std::to_string(i)] = {{"head_dim", sliding[size_t(i)] ? hd_swa : hd_full},
                              {"num_key_value_heads", kv[size_t(i)]}};
  (*c)["per_layer_config"] = plc;
  const bool has_full = std::find(sliding.begin(), sliding.end(), false) != sliding.end();
  check_rope(f, m, hd_full, hd_swa, has_full);
  const double base = m.num("rope.freq_base");
  // llama.cpp: freq_base_swa defaults to freq_base when absent.
  const double base_swa = m.opt_num("rope.freq_base_swa").value_or(base);
  json rp = {{"sliding_attention", {{"rope_type", "default"}, {"rope_theta", base_swa}}}};
  if (has_full)
    rp["full_attention"] = {{"rope_type", "proportional"},
                            {"rope_theta", base},
                            {"partial_rotary_factor", partial_factor_from_rope_freqs(f, hd_full)}};
  (*c)["rope_parameters"] = rp;
}

// Per-layer FFN widths: one value, or HF's double-wide pattern (x2 on KV-shared layers).
// Any other per-layer pattern is applied after parsing (returned widths).
std::vector<int64_t> ffn_fields(const Meta& m, int64_t L, int64_t n_shared, json* c) {
  const auto ff = m.per_layer("feed_forward_length", L, 1, int64_t(1) << 20);
  const int64_t F = L - n_shared;
  bool uniform = true, doubled = n_shared > 0;
  for (int64_t i = 0; i < L; ++i) {
    uniform &= ff[size_t(i)] == ff[0];
    doubled &= ff[size_t(i)] == (i < F ? ff[0] : 2 * ff[0]);
  }
  (*c)["intermediate_size"] = ff[0];
  (*c)["use_double_wide_mlp"] = !uniform && doubled;
  return uniform || doubled ? std::vector<int64_t>{} : ff;
}

void moe_fields(const GgufFile& f, const Meta& m, int64_t L, json* c) {
  bool any = false;
  for (int64_t i = 0; i < L; ++i) any |= f.find_tensor(blk(i, "ffn_gate_inp.weight")) != nullptr;
  (*c)["enable_moe_block"] = any;
  if (!any) return;
  (*c)["num_experts"] = m.u("expert_count");
  (*c)["top_k_experts"] = m.u("expert_used_count");
  (*c)["moe_intermediate_size"] = m.u("expert_feed_forward_length");
}

// K=V full layers: they own K but have no attn_v (llama.cpp then uses K as V).
bool k_eq_v_from_tensors(const GgufFile& f, const std::vector<bool>& sliding, int64_t first_shared) {
  for (int64_t i = 0; i < first_shared; ++i)
    if (!sliding[size_t(i)] && f.find_tensor(blk(i, "attn_k.weight")) &&
        !f.find_tensor(blk(i, "attn_v.weight")))
      return true;
  return false;
}

void token_fields(const GgufFile& f, json* c, GgufTokenizerData* tok) {
  if (!f.has("tokenizer.ggml.tokens")) return;
  *tok = gguf_tokenizer_data(f);
  if (tok->bos_id >= 0) (*c)["bos_token_id"] = tok->bos_id;
  if (tok->pad_id >= 0) (*c)["pad_token_id"] = tok->pad_id;
  if (tok->eos_id >= 0) (*c)["eos_token_id"] = tok->eos_id;
}

}  // namespace

Gemma4Config gemma4_config_from_gguf(const GgufFile& f) {
  Meta m(f);
  const std::string arch = f.get_string("general.architecture");
  if (arch != "gemma4")
    fail(ErrorCode::kInvalidCheckpoint, f.path(), ": general.architecture is \"", arch, "\", not \"gemma4\"");
  json c = {{"model_type", "gemma4_text"}, {"hidden_activation", "gelu_pytorch_tanh"}};
  const int64_t L = m.u("block_count");
  if (L < 1 || L > 1024) m.bad("block_count", "must be in [1, 1024]");
  c["num_hidden_layers"] = L;
  const int64_t V = rows_of(f, "token_embd.weight");
  if (V <= 0)
    fail(ErrorCode::kInvalidCheckpoint, f.path(), ": tensor 'token_embd.weight' is missing or not 2-D");
  c["vocab_size"] = V;
  c["hidden_size"] = m.u("embedding_length");
  c["max_position_embeddings"] = m.u("context_length");
  c["rms_norm_eps"] = m.num("attention.layer_norm_rms_epsilon");
  c["sliding_window"] = m.u("attention.sliding_window");
  if (auto sc = m.opt_num("final_logit_softcapping"); sc && *sc > 0) c["final_logit_softcapping"] = *sc;
  if (auto sc = m.opt_num("attn_logit_softcapping"); sc && *sc > 0)
    fail(ErrorCode::kUnsupported, f.path(), ": ", m.key("attn_logit_softcapping"),
         ": attention logit soft-capping is not part of Gemma 4");
  c["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;

  // Layer types: true = sliding.
  const GgufValue& pat = m.req("attention.sliding_window_pattern");
  if (pat.type != GgufValueType::kArray || pat.elem_type != GgufValueType::kBool)
    m.bad("attention.sliding_window_pattern", "expected an array of bool (one per layer)");
  if (int64_t(pat.count) != L)
    m.bad("attention.sliding_window_pattern",
          "has " + std::to_string(pat.count) + " entries but block_count is " + std::to_string(L));
  std::vector<bool> sliding;
  json types = json::array();
  for (uint64_t i = 0; i < pat.count; ++i) {
    sliding.push_back(pat.raw[i] != 0);
    types.push_back(sliding.back() ? "sliding_attention" : "full_attention");
  }
  c["layer_types"] = types;

  const int64_t n_shared = m.opt_u("attention.shared_kv_layers").value_or(0);
  c["num_kv_shared_layers"] = n_shared;
  attention_fields(f, m, L, sliding, &c);
  const std::vector<int64_t> widths = ffn_fields(m, L, n_shared, &c);
  moe_fields(f, m, L, &c);
  c["attention_k_eq_v"] = n_shared < L && k_eq_v_from_tensors(f, sliding, L - n_shared);

  const int64_t P = m.u("embedding_length_per_layer_input");
  c["hidden_size_per_layer_input"] = P;
  if (P > 0) {
    const int64_t Vp = rows_of(f, "per_layer_token_embd.weight");
    if (Vp <= 0)
      fail(ErrorCode::kInvalidCheckpoint, f.path(),
           ": tensor 'per_layer_token_embd.weight' is missing or not 2-D (embedding_length_per_layer_input "
           "is ",
           P, ")");
    c["vocab_size_per_layer_input"] = Vp;
  }
  GgufTokenizerData tok;
  token_fields(f, &c, &tok);
  if (!tok.tokens.empty() && int64_t(tok.tokens.size()) != V)
    fail(ErrorCode::kInvalidCheckpoint, f.path(), ": tokenizer.ggml.tokens has ", tok.tokens.size(),
         " tokens but token_embd.weight has ", V, " rows");

  Gemma4Config cfg = parse_gemma4_config(c.dump(), f.path() + " (gemma4 metadata as config)");
  for (size_t i = 0; i < widths.size(); ++i) cfg.layers[i].mlp_width = widths[i];
  cfg.notes.push_back("config from GGUF metadata (llama.cpp gemma4 architecture)");
  // GGUF has no generation_config.json: stop on the tokenizer's eos ids and Gemma 4's <turn|>.
  GenerationConfig& g = cfg.generation;
  g.present = true;
  g.eos_token_ids = cfg.eos_token_ids;
  for (int64_t id : tok.eos_ids)
    if (id >= 0 && id < V) g.eos_token_ids.push_back(id);
  auto turn_end = std::find(tok.tokens.begin(), tok.tokens.end(), "<turn|>");
  if (turn_end != tok.tokens.end()) g.eos_token_ids.push_back(turn_end - tok.tokens.begin());
  std::sort(g.eos_token_ids.begin(), g.eos_token_ids.end());
  g.eos_token_ids.erase(std::unique(g.eos_token_ids.begin(), g.eos_token_ids.end()), g.eos_token_ids.end());
  return cfg;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Tensors -> weight table.

// Canonical slot name (gemma4_weights.cc) -> llama.cpp tensor name.
std::string gguf_name(const std::string& canonical) {
  static const std::map<std::string, std::string> top = {
      {"embed_tokens", "token_embd.weight"},
      {"norm", "output_norm.weight"},
      {"lm_head", "output.weight"},
      {"embed_tokens_per_layer", "per_layer_token_embd.weight"},
      {"per_layer_model_projection", "per_layer_model_proj.weight"},
      {"per_layer_projection_norm", "per_layer_proj_norm.weight"}};
  static const std::map<std::string, std::string> layer = {
      {"input_layernorm", "attn_norm.weight"},
      {"post_attention_layernorm", "post_attention_norm.weight"},
      {"pre_feedforward_layernorm", "ffn_norm.weight"},
      {"post_feedforward_layernorm", "post_ffw_norm.weight"},
      {"self_attn.q_proj", "attn_q.weight"},
      {"self_attn.k_proj", "attn_k.weight"},
      {"self_attn.v_proj", "attn_v.weight"},
      {"self_attn.o_proj", "attn_output.weight"},
      {"self_attn.q_norm", "attn_q_norm.weight"},
      {"self_attn.k_norm", "attn_k_norm.weight"},
      {"mlp.gate_proj", "ffn_gate.weight"},
      {"mlp.up_proj", "ffn_up.weight"},
      {"mlp.down_proj", "ffn_down.weight"},
      {"per_layer_input_gate", "inp_gate.weight"},
      {"per_layer_projection", "proj.weight"},
      {"post_per_layer_input_norm", "post_norm.weight"},
      {"layer_scalar", "layer_output_scale.weight"},
      {"router.proj", "ffn_gate_inp.weight"},
      {"router.scale", "ffn_gate_inp.scale"},
      {"router.per_expert_scale", "ffn_down_exps.scale"},
      {"pre_feedforward_layernorm_2", "pre_ffw_norm_2.weight"},
      {"post_feedforward_layernorm_1", "post_ffw_norm_1.weight"},
      {"post_feedforward_layernorm_2", "post_ffw_norm_2.weight"},
      {"experts.gate_up_proj", "ffn_gate_up_exps.weight"},
      {"experts.down_proj", "ffn_down_exps.weight"},
      {"experts.switch_glu.gate_proj", "ffn_gate_exps.weight"},
      {"experts.switch_glu.up_proj", "ffn_up_exps.weight"},
      {"experts.switch_glu.down_proj", "ffn_down_exps.weight"}};
  if (auto it = top.find(canonical); it != top.end()) return it->second;
  // "layers.N.<rest>" -> "blk.N.<mapped rest>"
  const size_t dot = canonical.find('.', 7);
  EMBER_CHECK(canonical.rfind("layers.", 0) == 0 && dot != std::string::npos);
  auto it = layer.find(canonical.substr(dot + 1));
  EMBER_CHECK(it != layer.end());
  return "blk." + canonical.substr(7, dot - 7) + "." + it->second;
}

// ggml order of a slot's logical shape: [rows, cols] -> {cols, rows}; [n, rows, cols] -> {cols, rows, n}.
std::vector<int64_t> ggml_shape(const WeightSlot& s) {
  std::vector<int64_t> ne(s.shape.rbegin(), s.shape.rend());
  return ne;
}

std::string ne_str(const std::vector<int64_t>& ne) { return shape_str(ne); }

class GgufBinder {
 public:
  explicit GgufBinder(const GgufFile& f) : f_(f) {}

  std::map<std::string, BoundWeight> bind(const std::vector<WeightSlot>& table) {
    std::map<std::string, BoundWeight> out;
    for (const auto& s : table) {
      BoundWeight b;
      const std::string name = gguf_name(s.name);
      const GgufTensor* t = f_.find_tensor(name);
      if (s.need == Need::kIgnored) {
        if (t) claim(*t, "ignored", s.role + " — " + s.reason);
      } else if (!t) {
        if (s.need == Need::kRequired)
          problems_.push_back({"", name, "required tensor is missing", "ggml " + ne_str(ggml_shape(s)),
                               "nothing", "canonical slot '" + s.name + "'"});
      } else {
        bind_one(s, *t, &b);
      }
      out[s.name] = std::move(b);
    }
    return out;
  }

  void claim(const GgufTensor& t, const std::string& status, const std::string& role) {
    TensorReport r;
    r.key = t.name, r.file = f_.path(), r.status = status, r.role = role + "; " + t.type_name();
    r.shape = std::vector<int64_t>(t.ne.rbegin(), t.ne.rend());
    r.nbytes = t.nbytes;
    claimed_[t.name] = std::move(r);
  }

  LoadReport finish() {
    for (const auto& t : f_.tensors()) {
      if (claimed_.count(t.name)) continue;
      Problem p{"", t.name, "unexpected tensor: not in the Gemma 4 text weight table", "", "", ""};
      if (t.name.find("attn_qkv") != std::string::npos) p.hint = "fused QKV projections are not supported";
      if (t.name.find(".bias") != std::string::npos) p.hint = "Gemma 4 linears have no bias";
      problems_.push_back(p);
    }
    if (!problems_.empty()) {
      std::string msg = f_.path() + ": " + std::to_string(problems_.size()) + " problem" +
                        (problems_.size() > 1 ? "s" : "") + " with the gemma4 tensors:";
      const size_t shown = std::min<size_t>(problems_.size(), 200);
      for (size_t i = 0; i < shown; ++i) msg += "\n  - " + problems_[i].str();
      if (shown < problems_.size())
        msg += "\n  ... and " + std::to_string(problems_.size() - shown) + " more";
      throw Error(ErrorCode::kInvalidCheckpoint, msg);
    }
    LoadReport rep;
    rep.layout = "gguf (llama.cpp gemma4)";
    for (auto& [name, r] : claimed_) {
      rep.total_bytes += r.nbytes;
      (r.status == "used" ? rep.used_bytes : rep.ignored_bytes) += r.nbytes;
      rep.tensors.push_back(r);
    }
    rep.storage = storage_;
    return rep;
  }

 private:
  void bind_one(const WeightSlot& s, const GgufTensor& t, BoundWeight* b) {
    claim(t, "used", s.role);
    const std::vector<int64_t> want = ggml_shape(s);
    // A [1] vector (layer_scalar) is written as ne {1}.
    if (t.ne != want) {
      problems_.push_back({"", t.name, "wrong shape", "ggml " + ne_str(want), "ggml " + t.shape_str(),
                           s.shape_hint.empty() ? "canonical slot '" + s.name + "'" : s.shape_hint});
      return;
    }
    if (s.kind == SlotKind::kVector) {
      b->vec.resize(size_t(s.shape[0]));
      dequantize_row(f_.matrix(t), 0, b->vec.data());
      storage_["float vectors (" + t.type_name() + ")"].push_back(s.name);
    } else if (s.kind == SlotKind::kMatrix) {
      b->matrix = f_.matrix(t);
      b->matrix.name = s.name;
      storage_["gguf " + t.type_name()].push_back(s.name);
    } else {
      for (int64_t e = 0; e < s.shape[0]; ++e) {
        Matrix m = f_.matrix(t, e);  // expert e's [rows, cols] slice
        m.name = s.name + "[" + std::to_string(e) + "]";
        b->stacked.push_back(m);
      }
      storage_["gguf " + t.type_name()].push_back(s.name);
    }
    b->present = true;
  }

  const GgufFile& f_;
  std::vector<Problem> problems_;
  std::map<std::string, TensorReport> claimed_;
  std::map<std::string, std::vector<std::string>> storage_;
};

}  // namespace

Gemma4Model load_gemma4_gguf(std::shared_ptr<const GgufFile> f) {
  Gemma4Model m;
  m.cfg = gemma4_config_from_gguf(*f);
  GgufBinder binder(*f);
  bool separate_experts = false;
  for (int64_t i = 0; i < m.cfg.text.num_hidden_layers; ++i)
    separate_experts |= f->find_tensor(blk(i, "ffn_gate_exps.weight")) != nullptr;
  const MoeForm form = separate_experts ? MoeForm::kMlx : MoeForm::kHf;
  auto bound = binder.bind(gemma4_text_weight_table(m.cfg, form));
  // Consumed by the config (full layers' proportional RoPE).
  if (const GgufTensor* rf = f->find_tensor("rope_freqs.weight"))
    binder.claim(*rf, "used", "RoPE frequency factors of the full layers (-> partial_rotary_factor)");
  m.report = binder.finish();
  for (const auto& n : m.cfg.notes) m.report.notes.push_back("config: " + n);
  assemble_gemma4(bound, form, &m);
  m.gguf = std::move(f);
  return m;
}

std::unique_ptr<LanguageModel> make_gemma4_gguf(std::unique_ptr<GgufFile> file,
                                                const ModelLoadOptions& opts) {
  return make_gemma4_from_weights(load_gemma4_gguf(std::shared_ptr<const GgufFile>(std::move(file))), opts);
}

}  // namespace ember
