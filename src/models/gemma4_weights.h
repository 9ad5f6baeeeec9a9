// Gemma 4 text weights: the declared weight table (gemma4-text.md §3.1-3.2, §4.11) and the
// loader that binds a checkpoint directory to it. Every Matrix points into the mapped files
// (dense or MLX-quantized, as stored); norms and scalars are small f32 vectors.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/load_progress.h"
#include "core/weights.h"
#include "io/safetensors.h"
#include "models/gemma4_config.h"
#include "models/weight_table.h"

namespace ember {

class GgufFile;

struct Gemma4Layer {
  int64_t index = 0;
  Gemma4LayerInfo info;  // type, head_dim, n_kv_heads, kv_shared/kv_source, k_eq_v, mlp_width, rope

  // Attention. k_proj/v_proj/k_norm are empty on KV-shared layers (they borrow K/V from
  // info.kv_source); v_proj is empty on K=V full layers (values = v_norm(k_raw)).
  Matrix q_proj;                      // [n_heads*head_dim, H]
  Matrix k_proj, v_proj;              // [n_kv*head_dim, H]
  Matrix o_proj;                      // [H, n_heads*head_dim]
  std::vector<float> q_norm, k_norm;  // [head_dim]
  bool has_kv() const { return !info.kv_shared; }

  std::vector<float> input_layernorm, post_attention_layernorm;              // [H]
  std::vector<float> pre_feedforward_layernorm, post_feedforward_layernorm;  // [H]

  // Dense MLP (kept beside the experts in MoE models).
  Matrix gate_proj, up_proj;  // [mlp_width, H]
  Matrix down_proj;           // [H, mlp_width]

  // Per-layer embeddings (E-series; empty when hidden_size_per_layer_input == 0).
  Matrix per_layer_input_gate;                   // [P, H]
  Matrix per_layer_projection;                   // [H, P]
  std::vector<float> post_per_layer_input_norm;  // [H]

  float layer_scalar = 1.0f;  // learned; multiplies the residual at the end of the layer

  // MoE block (26B-A4B): router + experts beside the dense MLP.
  bool has_moe = false;
  Matrix router_proj;                          // [E, H]
  std::vector<float> router_scale;             // [H]
  std::vector<float> router_per_expert_scale;  // [E]
  std::vector<Matrix> expert_gate, expert_up;  // E x [I_moe, H] (slices of the stored tensors)
  std::vector<Matrix> expert_down;             // E x [H, I_moe]
  std::vector<float> pre_feedforward_layernorm_2, post_feedforward_layernorm_1,
      post_feedforward_layernorm_2;  // [H]
};

struct LoadOptions {
  bool skip_towers = true;  // text-only load: vision/audio tensors are set aside with a note
  LoadProgressFn progress;  // per tensor bound (may be empty)
  bool vision = false;
  bool audio = false;  // also bind the audio tower (when config.json has audio_config)      // also bind the vision tower (when config.json has vision_config)
};

struct Gemma4VisionWeights;
struct Gemma4AudioTower;

struct Gemma4Model {
  Gemma4Config cfg;
  Matrix embed_tokens;  // [V, H]
  Matrix lm_head;       // [V, H]; == embed_tokens (same storage) when tied
  bool lm_head_tied = true;
  Matrix embed_tokens_per_layer;                 // [V_ple, L*P] (PLE only)
  Matrix per_layer_model_projection;             // [L*P, H] (PLE only)
  std::vector<float> per_layer_projection_norm;  // [P]
  std::vector<float> norm;                       // [H] final norm
  std::vector<Gemma4Layer> layers;
  LoadReport report;
  std::shared_ptr<SafetensorsCollection> files;  // keeps every Matrix's storage mapped
  std::shared_ptr<const GgufFile> gguf;          // same, for a model loaded from GGUF
  // Vision tower (LoadOptions::vision). A tower that does not fit its table leaves the text model
  // usable: vision stays null and vision_error holds the problems (reported when an image is given).
  std::shared_ptr<const Gemma4VisionWeights> vision;
  std::string vision_error;
  // Audio tower (LoadOptions::audio), same policy as the vision tower.
  std::shared_ptr<const Gemma4AudioTower> audio;
  std::string audio_error;
};

// Form of the stacked MoE expert tensors in a checkpoint.
enum class MoeForm : uint8_t {
  kHf,   // experts.gate_up_proj [E, 2I, H], experts.down_proj [E, H, I] (no .weight suffix)
  kMlx,  // experts.switch_glu.{gate,up}_proj.weight [E, I, H], down_proj [E, H, I] (quantizable)
};

// The declared table of the Gemma 4 text model for `cfg`.
std::vector<WeightSlot> gemma4_text_weight_table(const Gemma4Config& cfg, MoeForm moe_form);

// Moves bound weights (by canonical slot name) into `m`, whose cfg is set: shared by the
// safetensors and the GGUF (gemma4_gguf.cc) loaders.
void assemble_gemma4(std::map<std::string, BoundWeight>& bound, MoeForm form, Gemma4Model* m);

// Loads DIR (config.json, generation_config.json, safetensors). Throws ember::Error; a
// checkpoint that does not fit the table gives one kInvalidCheckpoint listing every problem.
Gemma4Model load_gemma4(const std::string& dir, const LoadOptions& opts = {});

}  // namespace ember
