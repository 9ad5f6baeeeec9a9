// Gemma 4 vision tower: config, declared weight table (gemma4-multimodal.md §2.3) and binding.
#include "core/status.h"
#include "io/json_util.h"
#include "vision/gemma4_vision.h"

namespace ember {

Gemma4VisionConfig parse_gemma4_vision_config(const std::string& json_text, const std::string& source) {
  const nlohmann::json j = parse_json_text(json_text, source);
  JsonObj o(j, source, "vision_config");
  Gemma4VisionConfig c;
  c.hidden_size = o.get_int("hidden_size", c.hidden_size);
  c.intermediate_size = o.get_int("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = o.get_int("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = o.get_int("num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = o.get_int("num_key_value_heads", c.num_key_value_heads);
  c.head_dim = o.get_int("head_dim", c.head_dim);
  c.patch_size = o.get_int("patch_size", c.patch_size);
  c.pooling_kernel_size = o.get_int("pooling_kernel_size", c.pooling_kernel_size);
  c.position_embedding_size = o.get_int("position_embedding_size", c.position_embedding_size);
  c.rms_norm_eps = o.get_num("rms_norm_eps", c.rms_norm_eps);
  c.use_clipped_linears = o.get_bool("use_clipped_linears", c.use_clipped_linears);
  c.standardize = o.get_bool("standardize", c.standardize);
  if (auto rp = o.opt_obj("rope_parameters")) c.rope_theta = rp->get_num("rope_theta", c.rope_theta);
  const std::string act = o.get_str("hidden_activation", "gelu_pytorch_tanh");
  if (act != "gelu_pytorch_tanh")
    o.fail_key("hidden_activation", "only gelu_pytorch_tanh is supported, got \"" + act + "\"");
  auto positive = [&](const char* k, int64_t v, int64_t max) {
    if (v <= 0 || v > max)
      o.fail_key(k, "must be in [1, " + std::to_string(max) + "], got " + std::to_string(v));
  };
  positive("hidden_size", c.hidden_size, 1 << 16);
  positive("intermediate_size", c.intermediate_size, 1 << 18);
  positive("num_hidden_layers", c.num_hidden_layers, 1024);
  positive("num_attention_heads", c.num_attention_heads, 1024);
  positive("num_key_value_heads", c.num_key_value_heads, 1024);
  positive("head_dim", c.head_dim, 4096);
  positive("patch_size", c.patch_size, 1024);
  positive("pooling_kernel_size", c.pooling_kernel_size, 64);
  positive("position_embedding_size", c.position_embedding_size, 1 << 20);
  if (c.head_dim % 4 != 0) o.fail_key("head_dim", "must be a multiple of 4 (2-D RoPE over two halves)");
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    o.fail_key("num_key_value_heads", "must divide num_attention_heads");
  return c;
}

namespace {

struct Table : WeightTableBuilder {
  // A clipped linear: `<p>.linear` plus four scalar bounds (§2.9).
  void clipped(const Gemma4VisionConfig& c, const std::string& p, int64_t rows, int64_t cols,
               const std::string& role) {
    add(p + ".linear", SlotKind::kMatrix, {rows, cols}, role);
    for (const char* b : {"input_min", "input_max", "output_min", "output_max"}) {
      WeightSlot& s = add(p + "." + b, SlotKind::kVector, {1}, role + " clip bound " + b);
      s.weight_suffix = false;
      if (c.use_clipped_linears) {
        s.need = Need::kOptional;  // absent: ±inf, as transformers' buffer init
      } else {
        s.need = Need::kIgnored, s.reason = "use_clipped_linears is false";
      }
    }
  }
};

}  // namespace

std::vector<WeightSlot> gemma4_vision_weight_table(const Gemma4VisionConfig& c, int64_t text_hidden) {
  std::vector<WeightSlot> slots;
  Table t{{&slots}};
  const int64_t D = c.hidden_size, I = c.intermediate_size;
  const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  const std::string r = "vision_tower.";
  t.add(r + "patch_embedder.input_proj", SlotKind::kMatrix, {D, c.patch_size * c.patch_size * 3},
        "vision patch projection");
  WeightSlot& pos = t.add(r + "patch_embedder.position_embedding_table", SlotKind::kStacked,
                          {2, c.position_embedding_size, D}, "vision 2-D position table (x, y)");
  pos.weight_suffix = false, pos.quantizable = false;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = r + "encoder.layers." + std::to_string(i) + ".";
    for (const char* n : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                          "post_feedforward_layernorm"})
      t.add(p + n, SlotKind::kVector, {D}, std::string("vision ") + n + " weight");
    t.clipped(c, p + "self_attn.q_proj", q, D, "vision query projection");
    t.clipped(c, p + "self_attn.k_proj", kv, D, "vision key projection");
    t.clipped(c, p + "self_attn.v_proj", kv, D, "vision value projection");
    t.clipped(c, p + "self_attn.o_proj", D, q, "vision attention output projection");
    t.add(p + "self_attn.q_norm", SlotKind::kVector, {c.head_dim}, "vision query RMSNorm weight");
    t.add(p + "self_attn.k_norm", SlotKind::kVector, {c.head_dim}, "vision key RMSNorm weight");
    t.clipped(c, p + "mlp.gate_proj", I, D, "vision MLP gate projection");
    t.clipped(c, p + "mlp.up_proj", I, D, "vision MLP up projection");
    t.clipped(c, p + "mlp.down_proj", D, I, "vision MLP down projection");
  }
  if (c.standardize) {
    t.add(r + "std_bias", SlotKind::kVector, {D}, "vision standardization bias").weight_suffix = false;
    t.add(r + "std_scale", SlotKind::kVector, {D}, "vision standardization scale").weight_suffix = false;
  }
  t.add("embed_vision.embedding_projection", SlotKind::kMatrix, {text_hidden, D},
        "vision embedder projection to the text width");
  return slots;
}

namespace {

float bound(std::map<std::string, BoundWeight>& b, const std::string& n, float def) {
  auto it = b.find(n);
  return it == b.end() || it->second.vec.empty() ? def : it->second.vec[0];
}

ClippedLinear clipped(std::map<std::string, BoundWeight>& b, const std::string& p) {
  ClippedLinear l;
  l.w = b[p + ".linear"].matrix;
  l.in_min = bound(b, p + ".input_min", l.in_min);
  l.in_max = bound(b, p + ".input_max", l.in_max);
  l.out_min = bound(b, p + ".output_min", l.out_min);
  l.out_max = bound(b, p + ".output_max", l.out_max);
  return l;
}

}  // namespace

Gemma4VisionWeights load_gemma4_vision(std::shared_ptr<SafetensorsCollection> files, const QuantConfig& quant,
                                       const Gemma4VisionConfig& cfg, int64_t text_hidden,
                                       const std::string& what) {
  Gemma4VisionWeights w;
  w.cfg = cfg;
  w.text_hidden = text_hidden;
  w.files = std::move(files);
  WeightBinder binder(*w.files, quant, detect_layout(*w.files), SubModel::kVision);
  auto b = binder.bind(gemma4_vision_weight_table(cfg, text_hidden));
  w.report = binder.finish(what, /*skip_towers=*/true);

  const std::string r = "vision_tower.";
  w.input_proj = b[r + "patch_embedder.input_proj"].matrix;
  const auto& pos = b[r + "patch_embedder.position_embedding_table"].stacked;
  EMBER_CHECK(pos.size() == 2);
  w.pos_table[0] = pos[0], w.pos_table[1] = pos[1];
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    const std::string p = r + "encoder.layers." + std::to_string(i) + ".";
    Gemma4VisionLayer l;
    l.q_proj = clipped(b, p + "self_attn.q_proj");
    l.k_proj = clipped(b, p + "self_attn.k_proj");
    l.v_proj = clipped(b, p + "self_attn.v_proj");
    l.o_proj = clipped(b, p + "self_attn.o_proj");
    l.gate_proj = clipped(b, p + "mlp.gate_proj");
    l.up_proj = clipped(b, p + "mlp.up_proj");
    l.down_proj = clipped(b, p + "mlp.down_proj");
    l.q_norm = std::move(b[p + "self_attn.q_norm"].vec);
    l.k_norm = std::move(b[p + "self_attn.k_norm"].vec);
    l.input_layernorm = std::move(b[p + "input_layernorm"].vec);
    l.post_attention_layernorm = std::move(b[p + "post_attention_layernorm"].vec);
    l.pre_feedforward_layernorm = std::move(b[p + "pre_feedforward_layernorm"].vec);
    l.post_feedforward_layernorm = std::move(b[p + "post_feedforward_layernorm"].vec);
    w.layers.push_back(std::move(l));
  }
  if (cfg.standardize) {
    w.std_bias = std::move(b[r + "std_bias"].vec);
    w.std_scale = std::move(b[r + "std_scale"].vec);
  }
  w.embedding_projection = b["embed_vision.embedding_projection"].matrix;
  return w;
}

}  // namespace ember
