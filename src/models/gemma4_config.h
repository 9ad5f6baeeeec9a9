// Gemma 4 configuration: config.json in both forms (multimodal `gemma4` with `text_config`,
// text-only `gemma4_text`), generation_config.json, and the derived per-layer structure
// (reference: shared/reference/gemma4-text.md §2). Every field takes the Hugging Face default
// when absent; the derived structure is computed once here and nowhere else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/quant_config.h"

namespace ember {

enum class LayerType : uint8_t { kSliding, kFull };
const char* layer_type_name(LayerType t);  // "sliding_attention" / "full_attention"

struct RopeParams {
  std::string rope_type;  // "default" or "proportional"
  double theta = 10000.0;
  double partial_rotary_factor = 1.0;  // proportional: fraction of frequency pairs that rotate
  double factor = 1.0;                 // absent => 1.0 (no scaling)
};

// Fields of `text_config` (§2.2), HF defaults.
struct Gemma4TextConfig {
  int64_t vocab_size = 262144;
  int64_t hidden_size = 2304;
  int64_t intermediate_size = 9216;
  int64_t num_hidden_layers = 30;
  int64_t num_attention_heads = 8;
  int64_t num_key_value_heads = 4;
  int64_t head_dim = 256;
  int64_t global_head_dim = 512;
  std::optional<int64_t> num_global_key_value_heads;
  std::string hidden_activation = "gelu_pytorch_tanh";
  int64_t max_position_embeddings = 131072;
  double rms_norm_eps = 1e-6;
  int64_t pad_token_id = 0, bos_token_id = 2;
  std::vector<int64_t> eos_token_ids = {1};
  bool tie_word_embeddings = true;
  bool attention_bias = false;
  int64_t sliding_window = 512;
  std::vector<LayerType> layer_types;
  RopeParams rope_sliding{"default", 10000.0, 1.0, 1.0};
  RopeParams rope_full{"proportional", 1000000.0, 0.25, 1.0};
  std::optional<double> final_logit_softcapping;  // HF default None
  std::string use_bidirectional_attention;        // "", "vision" or "all"
  int64_t vocab_size_per_layer_input = 262144;
  int64_t hidden_size_per_layer_input = 256;  // 0 => no per-layer embeddings (26B/31B)
  bool attention_k_eq_v = false;
  int64_t num_kv_shared_layers = 0;
  bool enable_moe_block = false;
  bool use_double_wide_mlp = false;
  int64_t num_experts = 0, top_k_experts = 0, moe_intermediate_size = 0;
};

// Derived structure of one decoder layer (§2.3, §4.11).
struct Gemma4LayerInfo {
  LayerType type = LayerType::kSliding;
  int64_t head_dim = 0;
  int64_t n_kv_heads = 0;
  bool kv_shared = false;  // borrows K/V from `kv_source`; owns no k_proj/v_proj/k_norm
  int64_t kv_source = 0;   // == layer index when !kv_shared
  bool k_eq_v = false;     // full layer of a K=V model: no v_proj, values = v_norm(k_raw)
  int64_t mlp_width = 0;
  RopeParams rope;  // of this layer's type
};

struct GenerationConfig {
  bool present = false;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id, pad_token_id;
  std::optional<bool> do_sample;
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
  std::optional<int64_t> top_k, max_new_tokens;
  std::vector<int64_t> suppress_tokens;
};

struct Gemma4Config {
  std::string model_type;   // "gemma4" or "gemma4_text"
  bool multimodal = false;  // had a text_config wrapper
  std::vector<std::string> architectures;
  Gemma4TextConfig text;
  // Multimodal wrapper (§2.1); raw sub-configs are kept as JSON text for the tower loaders.
  bool has_vision = false, has_audio = false;
  std::string vision_config_json, audio_config_json;
  int64_t boi_token_id = 255999, eoi_token_id = 258882, image_token_id = 258880, video_token_id = 258884;
  int64_t boa_token_id = 256000, eoa_token_id = 258883, audio_token_id = 258881;
  std::vector<int64_t> eos_token_ids;  // top level (multimodal) or text (text-only)
  bool tie_word_embeddings = true;     // the one that decides lm_head
  QuantConfig quant;
  GenerationConfig generation;
  std::vector<std::string> notes;  // non-fatal observations (defaults applied, fields forced)

  // Derived (§2.3): computed by parse, never recomputed elsewhere.
  std::vector<Gemma4LayerInfo> layers;
  int64_t first_kv_shared = 0;  // F = L - num_kv_shared_layers

  bool has_ple() const { return text.hidden_size_per_layer_input > 0; }
  // Stop ids: generation_config's eos list when present, else config's.
  std::vector<int64_t> stop_token_ids() const;
};

// Parses config.json text (`source` labels errors). Throws ember::Error on any problem.
Gemma4Config parse_gemma4_config(std::string_view config_json, const std::string& source = "config.json");
// Adds generation_config.json content to `cfg`.
void parse_generation_config(std::string_view text, const std::string& source, Gemma4Config* cfg);
// Reads DIR/config.json and, when present, DIR/generation_config.json.
Gemma4Config load_gemma4_config(const std::string& dir);

}  // namespace ember
