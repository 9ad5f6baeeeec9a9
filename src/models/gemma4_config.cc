#include "models/gemma4_config.h"

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "core/mapped_file.h"
#include "core/status.h"
#include "io/json_util.h"

namespace ember {

using nlohmann::json;

const char* layer_type_name(LayerType t) {
  return t == LayerType::kFull ? "full_attention" : "sliding_attention";
}

std::vector<int64_t> Gemma4Config::stop_token_ids() const {
  if (generation.present && !generation.eos_token_ids.empty()) return generation.eos_token_ids;
  return eos_token_ids;
}

namespace {

// Sizes beyond these are not a Gemma 4 model; bounding them keeps every product in int64.
constexpr int64_t kMaxDim = int64_t(1) << 20, kMaxVocab = int64_t(1) << 24, kMaxLayers = 1024;

int64_t ranged(const JsonObj& o, const std::string& key, int64_t def, int64_t lo, int64_t hi) {
  int64_t v = o.get_int(key, def);
  if (v < lo || v > hi)
    o.fail_key(key, "value " + std::to_string(v) + " out of range [" + std::to_string(lo) + ", " +
                        std::to_string(hi) + "]");
  return v;
}

RopeParams parse_rope(const JsonObj& o, LayerType type, std::vector<std::string>* notes) {
  RopeParams p;
  p.theta = o.get_num("rope_theta", type == LayerType::kFull ? 1e6 : 1e4);
  p.factor = o.get_num("factor", 1.0);
  auto prf = o.opt_num("partial_rotary_factor");
  if (auto t = o.opt_str("rope_type")) {
    p.rope_type = *t;
  } else if (type == LayerType::kSliding) {
    p.rope_type = "default";
    notes->push_back(o.key_path("rope_type") + " absent: using \"default\"");
  } else if (prf) {
    // §2.2 robustness note: a full-attention entry with a partial factor but no type is
    // proportional; guessing "default" would rotate every lane (wrong).
    p.rope_type = "proportional";
    notes->push_back(o.key_path("rope_type") +
                     " absent: partial_rotary_factor given, using \"proportional\"");
  } else {
    o.fail_key("rope_type",
               "missing for full_attention and no partial_rotary_factor to infer \"proportional\"");
  }
  if (p.rope_type != "default" && p.rope_type != "proportional")
    fail(ErrorCode::kUnsupported, o.source(), ": ", o.key_path("rope_type"), ": rope type \"", p.rope_type,
         "\" is not supported (default, proportional)");
  p.partial_rotary_factor = prf.value_or(1.0);
  if (!(p.theta > 0)) o.fail_key("rope_theta", "must be positive");
  if (!(p.factor > 0)) o.fail_key("factor", "must be positive");
  if (!(p.partial_rotary_factor > 0 && p.partial_rotary_factor <= 1))
    o.fail_key("partial_rotary_factor", "must be in (0, 1]");
  if (p.factor != 1.0)
    fail(ErrorCode::kUnsupported, o.source(), ": ", o.key_path("factor"),
         ": RoPE scaling factor != 1 is not supported");
  return p;
}

std::vector<LayerType> parse_layer_types(const JsonObj& t, int64_t L, std::vector<std::string>* notes) {
  std::vector<LayerType> out;
  if (t.has("layer_types")) {
    auto names = t.str_list("layer_types");
    if (int64_t(names.size()) != L)
      t.fail_key("layer_types", "has " + std::to_string(names.size()) + " entries but num_hidden_layers is " +
                                    std::to_string(L));
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == "sliding_attention")
        out.push_back(LayerType::kSliding);
      else if (names[i] == "full_attention")
        out.push_back(LayerType::kFull);
      else
        t.fail_key("layer_types[" + std::to_string(i) + "]", "unknown layer type \"" + names[i] + "\"");
    }
  } else {
    // HF default is 5:1 (pattern 6); an explicit sliding_window_pattern (mlx) takes precedence.
    int64_t pattern = ranged(t, "sliding_window_pattern", 6, 1, kMaxLayers);
    for (int64_t i = 0; i < L; ++i) out.push_back((i + 1) % pattern ? LayerType::kSliding : LayerType::kFull);
    notes->push_back("layer_types absent: pattern " + std::to_string(pattern - 1) + ":1");
  }
  if (!out.empty() && out.back() != LayerType::kFull) {
    out.back() = LayerType::kFull;  // as HF __post_init__ does (with a warning)
    notes->push_back("last layer forced to full_attention (HF rule)");
  }
  return out;
}

void parse_text_fields(const JsonObj& t, Gemma4TextConfig* c, std::vector<std::string>* notes) {
  c->vocab_size = ranged(t, "vocab_size", c->vocab_size, 1, kMaxVocab);
  c->hidden_size = ranged(t, "hidden_size", c->hidden_size, 1, kMaxDim);
  c->intermediate_size = ranged(t, "intermediate_size", c->intermediate_size, 1, kMaxDim);
  c->num_hidden_layers = ranged(t, "num_hidden_layers", c->num_hidden_layers, 1, kMaxLayers);
  c->num_attention_heads = ranged(t, "num_attention_heads", c->num_attention_heads, 1, 4096);
  c->num_key_value_heads = ranged(t, "num_key_value_heads", c->num_key_value_heads, 1, 4096);
  c->head_dim = ranged(t, "head_dim", c->head_dim, 1, 65536);
  c->global_head_dim = ranged(t, "global_head_dim", c->global_head_dim, 1, 65536);
  if (t.has("num_global_key_value_heads"))
    c->num_global_key_value_heads = ranged(t, "num_global_key_value_heads", 0, 1, 4096);
  c->hidden_activation = t.get_str("hidden_activation", c->hidden_activation);
  if (c->hidden_activation != "gelu_pytorch_tanh")
    fail(ErrorCode::kUnsupported, t.source(), ": ", t.key_path("hidden_activation"), ": \"",
         c->hidden_activation, "\" is not supported (gelu_pytorch_tanh)");
  c->max_position_embeddings =
      ranged(t, "max_position_embeddings", c->max_position_embeddings, 1, int64_t(1) << 40);
  c->rms_norm_eps = t.get_num("rms_norm_eps", c->rms_norm_eps);
  if (!(c->rms_norm_eps > 0 && c->rms_norm_eps < 1)) t.fail_key("rms_norm_eps", "must be in (0, 1)");
  c->pad_token_id = t.get_int("pad_token_id", c->pad_token_id);
  c->bos_token_id = t.get_int("bos_token_id", c->bos_token_id);
  if (t.has("eos_token_id")) c->eos_token_ids = t.int_or_list("eos_token_id");
  c->tie_word_embeddings = t.get_bool("tie_word_embeddings", c->tie_word_embeddings);
  c->attention_bias = t.get_bool("attention_bias", false);
  if (c->attention_bias)
    fail(ErrorCode::kUnsupported, t.source(), ": ", t.key_path("attention_bias"),
         ": attention biases are not supported");
  c->sliding_window = ranged(t, "sliding_window", c->sliding_window, 1, int64_t(1) << 40);
  c->final_logit_softcapping = t.opt_num("final_logit_softcapping");
  if (!c->final_logit_softcapping)
    notes->push_back("final_logit_softcapping absent/null: no softcap (HF default)");
  c->use_bidirectional_attention = t.get_str("use_bidirectional_attention", "");
  if (!c->use_bidirectional_attention.empty() && c->use_bidirectional_attention != "vision" &&
      c->use_bidirectional_attention != "all")
    t.fail_key("use_bidirectional_attention", "must be null, \"vision\" or \"all\"");
  c->vocab_size_per_layer_input =
      ranged(t, "vocab_size_per_layer_input", c->vocab_size_per_layer_input, 1, kMaxVocab);
  c->hidden_size_per_layer_input =
      ranged(t, "hidden_size_per_layer_input", c->hidden_size_per_layer_input, 0, kMaxDim);
  c->attention_k_eq_v = t.get_bool("attention_k_eq_v", false);
  c->num_kv_shared_layers = ranged(t, "num_kv_shared_layers", 0, 0, kMaxLayers);
  c->enable_moe_block = t.get_bool("enable_moe_block", false);
  if (!t.has("use_double_wide_mlp"))
    notes->push_back("use_double_wide_mlp absent: false (HF default; mlx-lm assumes true)");
  c->use_double_wide_mlp = t.get_bool("use_double_wide_mlp", false);
  if (c->enable_moe_block) {
    c->num_experts = ranged(t, "num_experts", 0, 1, 4096);
    c->top_k_experts = ranged(t, "top_k_experts", 0, 1, c->num_experts);
    c->moe_intermediate_size = ranged(t, "moe_intermediate_size", 0, 1, kMaxDim);
  }
  c->layer_types = parse_layer_types(t, c->num_hidden_layers, notes);
  if (auto rp = t.opt_obj("rope_parameters")) {
    bool uses[2] = {false, false};
    for (LayerType lt : c->layer_types) uses[lt == LayerType::kFull] = true;
    for (LayerType lt : {LayerType::kSliding, LayerType::kFull}) {
      auto e = rp->opt_obj(layer_type_name(lt));
      if (!e) {
        if (uses[lt == LayerType::kFull])
          rp->fail_key(layer_type_name(lt), "missing, but layer_types uses it");
        continue;
      }
      (lt == LayerType::kFull ? c->rope_full : c->rope_sliding) = parse_rope(*e, lt, notes);
    }
  }
}

// Per-layer head_dim / n_kv overrides: HF's serialized `per_layer_config` when present,
// else derived from global_head_dim / num_global_key_value_heads (HF __post_init__).
void derive_layers(const JsonObj& t, Gemma4Config* cfg) {
  const Gemma4TextConfig& c = cfg->text;
  const int64_t L = c.num_hidden_layers;
  if (c.num_kv_shared_layers >= L)
    t.fail_key("num_kv_shared_layers", std::to_string(c.num_kv_shared_layers) +
                                           " leaves no layer to own K/V (num_hidden_layers " +
                                           std::to_string(L) + ")");
  cfg->first_kv_shared = L - c.num_kv_shared_layers;
  const int64_t F = cfg->first_kv_shared;
  cfg->layers.assign(size_t(L), {});
  auto plc = t.opt_obj("per_layer_config");
  // Keys are layer indices as strings; transformers zero-pads them ("04") so they sort.
  std::map<int64_t, std::string> plc_keys;
  if (plc) {
    for (const auto& [k, v] : plc->raw().items()) {
      size_t pos = 0;
      long long idx = -1;
      try {
        idx = std::stoll(k, &pos);
      } catch (...) {
      }
      if (k.empty() || pos != k.size() || k[0] == '-' || k[0] == '+' || idx < 0 || idx >= L)
        plc->fail_key(k, "not a layer index in [0, " + std::to_string(L) + ")");
      if (!plc_keys.emplace(idx, k).second)
        plc->fail_key(k, "layer " + std::to_string(idx) + " listed twice");
    }
  }
  for (int64_t i = 0; i < L; ++i) {
    Gemma4LayerInfo& li = cfg->layers[size_t(i)];
    li.type = c.layer_types[size_t(i)];
    const bool full = li.type == LayerType::kFull;
    li.k_eq_v = c.attention_k_eq_v && full;
    li.head_dim = full && !plc ? c.global_head_dim : c.head_dim;
    li.n_kv_heads = li.k_eq_v && c.num_global_key_value_heads && !plc ? *c.num_global_key_value_heads
                                                                      : c.num_key_value_heads;
    if (auto k = plc_keys.find(i); k != plc_keys.end()) {
      if (auto e = plc->opt_obj(k->second)) {
        li.head_dim = ranged(*e, "head_dim", li.head_dim, 1, 65536);
        li.n_kv_heads = ranged(*e, "num_key_value_heads", li.n_kv_heads, 1, 4096);
      }
    }
    if (c.num_attention_heads % li.n_kv_heads != 0)
      t.fail_key("num_attention_heads", std::to_string(c.num_attention_heads) +
                                            " is not a multiple of layer " + std::to_string(i) + "'s " +
                                            std::to_string(li.n_kv_heads) + " KV heads");
    li.kv_shared = F > 0 && i >= F;
    li.kv_source = i;
    if (li.kv_shared) {
      li.kv_source = -1;
      for (int64_t j = 0; j < F; ++j)
        if (c.layer_types[size_t(j)] == li.type) li.kv_source = j;  // last same-type owner
      if (li.kv_source < 0)
        t.fail_key("num_kv_shared_layers",
                   "layer " + std::to_string(i) + " (" + layer_type_name(li.type) +
                       ") is KV-shared but no earlier non-shared layer has that type");
    }
    li.mlp_width = c.intermediate_size * (c.use_double_wide_mlp && li.kv_shared ? 2 : 1);
    li.rope = full ? c.rope_full : c.rope_sliding;
  }
}

void check_token(const JsonObj& o, const std::string& key, int64_t id, int64_t vocab) {
  if (id < 0 || id >= vocab)
    o.fail_key(
        key, "token id " + std::to_string(id) + " outside the vocabulary [0, " + std::to_string(vocab) + ")");
}

}  // namespace

Gemma4Config parse_gemma4_config(std::string_view text, const std::string& source) {
  json root = parse_json_text(text, source);
  JsonObj r(root, source);
  Gemma4Config cfg;
  cfg.model_type = r.get_str("model_type", "");
  cfg.architectures = r.str_list("architectures");
  auto tc = r.opt_obj("text_config");
  if (cfg.model_type == "gemma4" || (cfg.model_type.empty() && tc)) {
    if (!tc) r.fail_key("text_config", "required for model_type \"gemma4\"");
    cfg.multimodal = true;
  } else if (cfg.model_type != "gemma4_text") {
    fail(ErrorCode::kUnsupported, source, ": model_type \"", cfg.model_type,
         "\" is not a Gemma 4 model (gemma4, gemma4_text)");
  }
  const JsonObj& t = cfg.multimodal ? *tc : r;
  if (cfg.multimodal && !t.has("vocab_size") && r.has("vocab_size")) {
    cfg.notes.push_back("text_config.vocab_size absent: using top-level vocab_size");
    cfg.text.vocab_size = r.get_int("vocab_size", cfg.text.vocab_size);
  }
  parse_text_fields(t, &cfg.text, &cfg.notes);
  derive_layers(t, &cfg);
  cfg.tie_word_embeddings = cfg.text.tie_word_embeddings;
  cfg.eos_token_ids = cfg.text.eos_token_ids;
  if (cfg.multimodal) {
    if (r.has("vocab_size") && r.get_int("vocab_size", 0) != cfg.text.vocab_size)
      r.fail_key("vocab_size", std::to_string(r.get_int("vocab_size", 0)) +
                                   " contradicts text_config.vocab_size " +
                                   std::to_string(cfg.text.vocab_size));
    if (r.has("tie_word_embeddings")) {
      bool top = r.get_bool("tie_word_embeddings", true);
      if (t.has("tie_word_embeddings") && top != cfg.text.tie_word_embeddings)
        r.fail_key("tie_word_embeddings", "contradicts text_config.tie_word_embeddings");
      cfg.tie_word_embeddings = top;
    }
    if (r.has("eos_token_id")) cfg.eos_token_ids = r.int_or_list("eos_token_id");
    cfg.boi_token_id = r.get_int("boi_token_id", cfg.boi_token_id);
    cfg.eoi_token_id = r.get_int("eoi_token_id", cfg.eoi_token_id);
    cfg.image_token_id = r.get_int("image_token_id", cfg.image_token_id);
    cfg.video_token_id = r.get_int("video_token_id", cfg.video_token_id);
    cfg.boa_token_id = r.get_int("boa_token_id", cfg.boa_token_id);
    cfg.eoa_token_id = r.get_int("eoa_token_id", r.get_int("eoa_token_index", cfg.eoa_token_id));
    cfg.audio_token_id = r.get_int("audio_token_id", cfg.audio_token_id);
    if (auto v = r.opt_obj("vision_config")) cfg.has_vision = true, cfg.vision_config_json = v->raw().dump();
    if (auto a = r.opt_obj("audio_config")) cfg.has_audio = true, cfg.audio_config_json = a->raw().dump();
  }
  const JsonObj& ids = cfg.multimodal ? r : t;
  for (size_t i = 0; i < cfg.eos_token_ids.size(); ++i)
    check_token(ids, "eos_token_id", cfg.eos_token_ids[i], cfg.text.vocab_size);
  check_token(t, "bos_token_id", cfg.text.bos_token_id, cfg.text.vocab_size);
  check_token(t, "pad_token_id", cfg.text.pad_token_id, cfg.text.vocab_size);
  cfg.quant = parse_quant_config(root, source);
  return cfg;
}

void parse_generation_config(std::string_view text, const std::string& source, Gemma4Config* cfg) {
  json root = parse_json_text(text, source);
  JsonObj g(root, source);
  GenerationConfig& gc = cfg->generation;
  gc.present = true;
  gc.eos_token_ids = g.int_or_list("eos_token_id");
  for (int64_t id : gc.eos_token_ids) check_token(g, "eos_token_id", id, cfg->text.vocab_size);
  gc.bos_token_id = g.opt_int("bos_token_id");
  gc.pad_token_id = g.opt_int("pad_token_id");
  if (g.has("do_sample")) gc.do_sample = g.get_bool("do_sample", false);
  gc.temperature = g.opt_num("temperature");
  gc.top_p = g.opt_num("top_p");
  gc.min_p = g.opt_num("min_p");
  gc.repetition_penalty = g.opt_num("repetition_penalty");
  gc.top_k = g.opt_int("top_k");
  gc.max_new_tokens = g.opt_int("max_new_tokens");
  gc.suppress_tokens = g.int_list("suppress_tokens");
  if (gc.temperature && *gc.temperature < 0) g.fail_key("temperature", "must be >= 0");
  if (gc.top_p && !(*gc.top_p > 0 && *gc.top_p <= 1)) g.fail_key("top_p", "must be in (0, 1]");
  if (gc.top_k && *gc.top_k < 0) g.fail_key("top_k", "must be >= 0");
}

namespace {
std::string read_text(const std::string& path) {
  auto m = MappedFile::open(path);
  return std::string(reinterpret_cast<const char*>(m->data()), m->size());
}
}  // namespace

Gemma4Config load_gemma4_config(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string cpath = (fs::path(dir) / "config.json").string();
  Gemma4Config cfg = parse_gemma4_config(read_text(cpath), cpath);
  const std::string gpath = (fs::path(dir) / "generation_config.json").string();
  std::error_code ec;
  if (fs::exists(gpath, ec)) parse_generation_config(read_text(gpath), gpath, &cfg);
  return cfg;
}

}  // namespace ember
