#include "models/gemma4_weights.h"

#include "core/status.h"
#include "models/gemma4_audio.h"
#include "vision/gemma4_vision.h"

namespace ember {

namespace {


void add_attention(WeightTableBuilder& t, const Gemma4Config& cfg, int64_t i, const std::string& p) {
  const Gemma4LayerInfo& li = cfg.layers[size_t(i)];
  const int64_t H = cfg.text.hidden_size, nH = cfg.text.num_attention_heads;
  const int64_t q = nH * li.head_dim, kv = li.n_kv_heads * li.head_dim;
  const std::string a = p + "self_attn.";
  t.matrix(a + "q_proj", q, H, "query projection");
  t.matrix(a + "o_proj", H, q, "attention output projection");
  t.vec(a + "q_norm", li.head_dim, "query RMSNorm weight");
  if (li.kv_shared) {
    // Official checkpoints ship these unused tensors, re-saved/QAT ones omit them (§3.1 (*)).
    const std::string why = "KV-shared layer: borrows K/V from layer " + std::to_string(li.kv_source);
    t.ignored(a + "k_proj", SlotKind::kMatrix, "key projection", why);
    t.ignored(a + "v_proj", SlotKind::kMatrix, "value projection", why);
    t.ignored(a + "k_norm", SlotKind::kVector, "key RMSNorm weight", why);
    return;
  }
  t.matrix(a + "k_proj", kv, H, li.k_eq_v ? "key projection (K=V: also the values)" : "key projection");
  if (!li.k_eq_v) t.matrix(a + "v_proj", kv, H, "value projection");
  t.vec(a + "k_norm", li.head_dim, "key RMSNorm weight");
}

void add_mlp(WeightTableBuilder& t, const Gemma4Config& cfg, int64_t i, const std::string& p) {
  const Gemma4LayerInfo& li = cfg.layers[size_t(i)];
  const int64_t H = cfg.text.hidden_size, W = li.mlp_width;
  std::string hint;
  if (li.kv_shared) {
    // §2.4: the double-wide default differs between HF (false) and mlx (true).
    hint = cfg.text.use_double_wide_mlp ? "config has use_double_wide_mlp=true (width " + std::to_string(W) +
                                              " on KV-shared layers); a width of " + std::to_string(W / 2) +
                                              " means it should be false"
                                        : "config has use_double_wide_mlp=false; a width of " +
                                              std::to_string(2 * W) + " means it should be true";
  }
  t.matrix(p + "mlp.gate_proj", W, H, "MLP gate projection").shape_hint = hint;
  t.matrix(p + "mlp.up_proj", W, H, "MLP up projection").shape_hint = hint;
  t.matrix(p + "mlp.down_proj", H, W, "MLP down projection").shape_hint = hint;
}

void add_moe(WeightTableBuilder& t, const Gemma4Config& cfg, const std::string& p, MoeForm form) {
  const int64_t H = cfg.text.hidden_size, E = cfg.text.num_experts, I = cfg.text.moe_intermediate_size;
  t.matrix(p + "router.proj", E, H, "MoE router projection");
  t.vec(p + "router.scale", H, "MoE router input scale").weight_suffix = false;
  t.vec(p + "router.per_expert_scale", E, "MoE per-expert output scale").weight_suffix = false;
  t.vec(p + "pre_feedforward_layernorm_2", H, "MoE pre-norm");
  t.vec(p + "post_feedforward_layernorm_1", H, "dense-MLP post-norm (MoE layers)");
  t.vec(p + "post_feedforward_layernorm_2", H, "MoE post-norm");
  if (form == MoeForm::kHf) {
    WeightSlot& gu = t.add(p + "experts.gate_up_proj", SlotKind::kStacked, {E, 2 * I, H},
                           "experts: fused gate (rows 0..I) and up projections");
    gu.weight_suffix = false, gu.quantizable = false;
    WeightSlot& d =
        t.add(p + "experts.down_proj", SlotKind::kStacked, {E, H, I}, "experts: down projections");
    d.weight_suffix = false, d.quantizable = false;
  } else {
    const std::string g = p + "experts.switch_glu.";
    t.add(g + "gate_proj", SlotKind::kStacked, {E, I, H}, "experts: gate projections");
    t.add(g + "up_proj", SlotKind::kStacked, {E, I, H}, "experts: up projections");
    t.add(g + "down_proj", SlotKind::kStacked, {E, H, I}, "experts: down projections");
  }
}

}  // namespace

std::vector<WeightSlot> gemma4_text_weight_table(const Gemma4Config& cfg, MoeForm moe_form) {
  std::vector<WeightSlot> slots;
  WeightTableBuilder t{&slots};
  const Gemma4TextConfig& c = cfg.text;
  const int64_t H = c.hidden_size, L = c.num_hidden_layers, P = c.hidden_size_per_layer_input;
  t.matrix("embed_tokens", c.vocab_size, H,
           cfg.tie_word_embeddings ? "token embedding (also the tied LM head)" : "token embedding");
  t.vec("norm", H, "final RMSNorm weight");
  if (cfg.tie_word_embeddings)
    t.ignored("lm_head", SlotKind::kMatrix, "LM head", "tied to embed_tokens");
  else
    t.matrix("lm_head", c.vocab_size, H, "LM head (untied)");
  if (cfg.has_ple()) {
    t.matrix("embed_tokens_per_layer", c.vocab_size_per_layer_input, L * P,
             "per-layer embedding table [V, L*P]");
    t.matrix("per_layer_model_projection", L * P, H, "per-layer input projection from the embedding");
    t.vec("per_layer_projection_norm", P, "per-layer projection RMSNorm weight");
  }
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    for (const char* n : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                          "post_feedforward_layernorm"})
      t.vec(p + n, H, std::string(n) + " weight");
    add_attention(t, cfg, i, p);
    add_mlp(t, cfg, i, p);
    if (cfg.has_ple()) {
      t.matrix(p + "per_layer_input_gate", P, H, "PLE gate projection");
      t.matrix(p + "per_layer_projection", H, P, "PLE up projection");
      t.vec(p + "post_per_layer_input_norm", H, "PLE post-norm weight");
    }
    t.vec(p + "layer_scalar", 1, "learned layer output scale").weight_suffix = false;
    if (c.enable_moe_block) add_moe(t, cfg, p, moe_form);
  }
  return slots;
}

namespace {

// Moves bound weights into the model structs by canonical name.
struct Assembler {
  std::map<std::string, BoundWeight>& bound;
  Matrix mat(const std::string& n) {
    auto it = bound.find(n);
    return it == bound.end() ? Matrix{} : it->second.matrix;
  }
  std::vector<float> vec(const std::string& n) {
    auto it = bound.find(n);
    return it == bound.end() ? std::vector<float>{} : std::move(it->second.vec);
  }
  std::vector<Matrix> stacked(const std::string& n) {
    auto it = bound.find(n);
    return it == bound.end() ? std::vector<Matrix>{} : it->second.stacked;
  }
};

void assemble_moe(Assembler& a, const Gemma4Config& cfg, const std::string& p, MoeForm form, Gemma4Layer* l) {
  l->has_moe = true;
  l->router_proj = a.mat(p + "router.proj");
  l->router_scale = a.vec(p + "router.scale");
  l->router_per_expert_scale = a.vec(p + "router.per_expert_scale");
  l->pre_feedforward_layernorm_2 = a.vec(p + "pre_feedforward_layernorm_2");
  l->post_feedforward_layernorm_1 = a.vec(p + "post_feedforward_layernorm_1");
  l->post_feedforward_layernorm_2 = a.vec(p + "post_feedforward_layernorm_2");
  const int64_t I = cfg.text.moe_intermediate_size;
  if (form == MoeForm::kHf) {
    // gate rows first, then up (§4.11): split each expert's [2I, H] slice without copying.
    for (const Matrix& gu : a.stacked(p + "experts.gate_up_proj")) {
      l->expert_gate.push_back(matrix_rows(gu, 0, I, gu.name + ".gate"));
      l->expert_up.push_back(matrix_rows(gu, I, I, gu.name + ".up"));
    }
    l->expert_down = a.stacked(p + "experts.down_proj");
  } else {
    l->expert_gate = a.stacked(p + "experts.switch_glu.gate_proj");
    l->expert_up = a.stacked(p + "experts.switch_glu.up_proj");
    l->expert_down = a.stacked(p + "experts.switch_glu.down_proj");
  }
}

Gemma4Layer assemble_layer(Assembler& a, const Gemma4Config& cfg, int64_t i, MoeForm form) {
  Gemma4Layer l;
  l.index = i;
  l.info = cfg.layers[size_t(i)];
  const std::string p = "layers." + std::to_string(i) + ".";
  l.q_proj = a.mat(p + "self_attn.q_proj");
  l.o_proj = a.mat(p + "self_attn.o_proj");
  l.q_norm = a.vec(p + "self_attn.q_norm");
  if (!l.info.kv_shared) {
    l.k_proj = a.mat(p + "self_attn.k_proj");
    if (!l.info.k_eq_v) l.v_proj = a.mat(p + "self_attn.v_proj");
    l.k_norm = a.vec(p + "self_attn.k_norm");
  }
  l.input_layernorm = a.vec(p + "input_layernorm");
  l.post_attention_layernorm = a.vec(p + "post_attention_layernorm");
  l.pre_feedforward_layernorm = a.vec(p + "pre_feedforward_layernorm");
  l.post_feedforward_layernorm = a.vec(p + "post_feedforward_layernorm");
  l.gate_proj = a.mat(p + "mlp.gate_proj");
  l.up_proj = a.mat(p + "mlp.up_proj");
  l.down_proj = a.mat(p + "mlp.down_proj");
  if (cfg.has_ple()) {
    l.per_layer_input_gate = a.mat(p + "per_layer_input_gate");
    l.per_layer_projection = a.mat(p + "per_layer_projection");
    l.post_per_layer_input_norm = a.vec(p + "post_per_layer_input_norm");
  }
  auto s = a.vec(p + "layer_scalar");
  l.layer_scalar = s.empty() ? 1.0f : s[0];
  if (cfg.text.enable_moe_block) assemble_moe(a, cfg, p, form, &l);
  return l;
}

// Binds the vision tower and folds its tensors into the report (they were "skipped" by the text
// binder). Problems leave the text model loadable (see Gemma4Model::vision_error).
void load_vision(Gemma4Model& m, const std::string& dir) {
  try {
    const Gemma4VisionConfig vc = parse_gemma4_vision_config(m.cfg.vision_config_json, dir + "/config.json");
    auto v = std::make_shared<Gemma4VisionWeights>(
        load_gemma4_vision(m.files, m.cfg.quant, vc, m.cfg.text.hidden_size, dir + " (vision tower)"));
    std::map<std::string, const TensorReport*> rows;
    for (const auto& r : v->report.tensors) rows[r.key] = &r;
    for (auto& r : m.report.tensors) {
      auto it = rows.find(r.key);
      if (it == rows.end() || r.status != "skipped") continue;
      m.report.skipped_bytes -= r.nbytes;
      r = *it->second;
      (r.status == "used" ? m.report.used_bytes : m.report.ignored_bytes) += r.nbytes;
    }
    for (auto& [k, names] : v->report.storage)
      m.report.storage[k].insert(m.report.storage[k].end(), names.begin(), names.end());
    std::erase_if(m.report.notes,
                  [](const std::string& n) { return n.find(" vision tensors (") != std::string::npos; });
    m.report.notes.push_back("vision tower: " + std::to_string(vc.num_hidden_layers) + " layers, hidden " +
                             std::to_string(vc.hidden_size) + ", patch " + std::to_string(vc.patch_size) +
                             (vc.use_clipped_linears ? ", clipped linears" : ""));
    m.vision = std::move(v);
  } catch (const Error& e) {
    m.vision_error = e.what();
    m.report.notes.push_back("vision tower NOT loaded (images will be refused): " + m.vision_error);
  }
}

// Binds the audio tower and folds its rows into the report (the text binder "skipped" them).
// Problems leave the text model loadable (Gemma4Model::audio_error is reported when audio is given).
void load_audio(Gemma4Model& m) {
  try {
    auto a = std::make_shared<Gemma4AudioTower>(load_gemma4_audio(m.files, m.cfg));
    std::map<std::string, const TensorReport*> rows;
    for (const auto& r : a->report.tensors) rows[r.key] = &r;
    for (auto& r : m.report.tensors) {
      auto it = rows.find(r.key);
      if (it == rows.end() || r.status != "skipped") continue;
      m.report.skipped_bytes -= r.nbytes;
      r = *it->second;
      r.sub = SubModel::kAudio;
      (r.status == "used" ? m.report.used_bytes : m.report.ignored_bytes) += r.nbytes;
    }
    for (auto& [k, names] : a->report.storage)
      m.report.storage[k].insert(m.report.storage[k].end(), names.begin(), names.end());
    std::erase_if(m.report.notes,
                  [](const std::string& n) { return n.find(" audio tensors (") != std::string::npos; });
    m.report.notes.push_back("audio tower: " + std::to_string(a->cfg.num_hidden_layers) +
                             " conformer layers, hidden " + std::to_string(a->cfg.hidden_size) +
                             (a->cfg.use_clipped_linears ? ", clipped linears" : ""));
    m.audio = std::move(a);
  } catch (const Error& e) {
    m.audio_error = e.what();
    m.report.notes.push_back("audio tower NOT loaded (audio will be refused): " + m.audio_error);
  }
}

}  // namespace

void assemble_gemma4(std::map<std::string, BoundWeight>& bound, MoeForm form, Gemma4Model* m) {
  Assembler a{bound};
  m->embed_tokens = a.mat("embed_tokens");
  m->norm = a.vec("norm");
  m->lm_head_tied = m->cfg.tie_word_embeddings;
  m->lm_head = m->lm_head_tied ? m->embed_tokens : a.mat("lm_head");
  if (m->cfg.has_ple()) {
    m->embed_tokens_per_layer = a.mat("embed_tokens_per_layer");
    m->per_layer_model_projection = a.mat("per_layer_model_projection");
    m->per_layer_projection_norm = a.vec("per_layer_projection_norm");
  }
  for (int64_t i = 0; i < m->cfg.text.num_hidden_layers; ++i)
    m->layers.push_back(assemble_layer(a, m->cfg, i, form));
}

Gemma4Model load_gemma4(const std::string& dir, const LoadOptions& opts) {
  Gemma4Model m;
  m.cfg = load_gemma4_config(dir);
  m.files = std::make_shared<SafetensorsCollection>(SafetensorsCollection::open_dir(dir));
  WeightBinder binder(*m.files, m.cfg.quant, detect_layout(*m.files));
  LoadProgressReporter progress(opts.progress, m.files->total_bytes(), int64_t(m.files->all().size()));
  binder.set_progress(&progress);
  bool mlx_experts = false;
  for (int64_t i = 0; i < m.cfg.text.num_hidden_layers && !mlx_experts; ++i)
    mlx_experts = binder.has_local("layers." + std::to_string(i) + ".experts.switch_glu.gate_proj.weight");
  const MoeForm form = mlx_experts ? MoeForm::kMlx : MoeForm::kHf;
  const auto table = gemma4_text_weight_table(m.cfg, form);
  auto bound = binder.bind(table);
  // Old exports may carry the non-persistent RoPE buffers; mlx-lm's sanitize drops them too.
  binder.ignore_containing("self_attn.rotary_emb.", "saved RoPE buffer (recomputed from config)");
  m.report = binder.finish(dir, opts.skip_towers);
  for (const auto& n : m.cfg.notes) m.report.notes.push_back("config: " + n);

  assemble_gemma4(bound, form, &m);
  progress.finish();
  if (opts.vision && m.cfg.has_vision) load_vision(m, dir);
  if (opts.audio && m.cfg.has_audio) load_audio(m);
  return m;
}

}  // namespace ember
