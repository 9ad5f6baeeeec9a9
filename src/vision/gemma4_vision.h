// Gemma 4 vision tower (gemma4-multimodal.md §2): patch embedding with the factorized 2-D
// position table, ViT encoder layers (sandwich RMSNorms, per-head q/k norms, weight-less v norm,
// axial 2-D RoPE, attention scale 1, bidirectional over one image's patches, clipped linears,
// GeGLU MLP), 3×3 position pooling × √hidden, then the embedder (scale-free RMSNorm → linear to
// the text width). Weights bind through the loader's weight table (sub-model `vision`, keys
// `[model.]vision_tower.*` and `[model.]embed_vision.*`), dense or MLX-quantized as stored.
#pragma once

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/weights.h"
#include "io/quant_config.h"
#include "io/safetensors.h"
#include "models/language_model.h"
#include "models/weight_table.h"

namespace ember {

struct Gemma4VisionConfig {  // HF Gemma4VisionConfig defaults
  int64_t hidden_size = 768, intermediate_size = 3072, num_hidden_layers = 16;
  int64_t num_attention_heads = 12, num_key_value_heads = 12, head_dim = 64;
  int64_t patch_size = 16, pooling_kernel_size = 3, position_embedding_size = 10240;
  double rms_norm_eps = 1e-6, rope_theta = 100.0;
  bool use_clipped_linears = false, standardize = false;
};

// Parses `vision_config` (JSON text, as kept by Gemma4Config); `source` labels errors.
Gemma4VisionConfig parse_gemma4_vision_config(const std::string& json_text, const std::string& source);

// y = clamp(W · clamp(x, in_min, in_max), out_min, out_max); bounds ±inf when absent.
struct ClippedLinear {
  Matrix w;
  float in_min = -std::numeric_limits<float>::infinity(), in_max = std::numeric_limits<float>::infinity();
  float out_min = -std::numeric_limits<float>::infinity(), out_max = std::numeric_limits<float>::infinity();
};

struct Gemma4VisionLayer {
  ClippedLinear q_proj, k_proj, v_proj, o_proj;  // [nH*hd, D] / [D, nH*hd]
  ClippedLinear gate_proj, up_proj, down_proj;   // [I, D] / [D, I]
  std::vector<float> q_norm, k_norm;             // [head_dim]
  std::vector<float> input_layernorm, post_attention_layernorm, pre_feedforward_layernorm,
      post_feedforward_layernorm;  // [D]
};

struct Gemma4VisionWeights {
  Gemma4VisionConfig cfg;
  int64_t text_hidden = 0;
  Matrix input_proj;    // [D, patch²·3]
  Matrix pos_table[2];  // [pos_size, D]: 0 = x (column), 1 = y (row)
  std::vector<Gemma4VisionLayer> layers;
  std::vector<float> std_bias, std_scale;  // [D] (standardize only)
  Matrix embedding_projection;             // [text_hidden, D]
  LoadReport report;
  std::shared_ptr<SafetensorsCollection> files;  // keeps the storage mapped
};

// The declared table of the vision sub-model (names relative to the checkpoint root without
// `model.`: "vision_tower.encoder.layers.3.self_attn.k_proj.linear", "embed_vision....").
std::vector<WeightSlot> gemma4_vision_weight_table(const Gemma4VisionConfig& cfg, int64_t text_hidden);

// Binds the vision tower of a checkpoint; throws one kInvalidCheckpoint listing every problem.
Gemma4VisionWeights load_gemma4_vision(std::shared_ptr<SafetensorsCollection> files, const QuantConfig& quant,
                                       const Gemma4VisionConfig& cfg, int64_t text_hidden,
                                       const std::string& what);

struct VisionScratch;

// Named intermediate activations of one image (for tests): "patch_embed" [N, D],
// "layer.<i>" [N, D], "pooled" [n, D] (after ×√D and standardization), output [n, text_hidden].
class Gemma4VisionTower final : public MediaEncoder {
 public:
  Gemma4VisionTower(std::shared_ptr<const Gemma4VisionWeights> w, Backend& backend);
  // Decode + preprocess + encode (m.kind must be kImage).
  std::vector<float> encode(const Media& m) const override;
  // Soft tokens [grid_w·grid_h / k², text_hidden] of preprocessed patches (values in [0,1],
  // [n, patch²·3], row-major grid).
  std::vector<float> encode_patches(const float* patches, int grid_w, int grid_h,
                                    const ActivationHook* hook = nullptr) const;
  const Gemma4VisionConfig& config() const { return w_->cfg; }

 private:
  void clipped(const ClippedLinear& l, const float* x, int64_t T, float* tmp, float* y) const;
  void layer(size_t i, float* h, int64_t N, const std::vector<int32_t>& rope_pos, VisionScratch& s) const;

  std::shared_ptr<const Gemma4VisionWeights> w_;
  Backend& b_;
  std::vector<BackendBuffer> vec_bufs_;
  struct LayerNorms {
    const float *in = nullptr, *post_attn = nullptr, *pre_ff = nullptr, *post_ff = nullptr, *q = nullptr,
                *k = nullptr;
  };
  std::vector<LayerNorms> norms_;
  std::vector<float> inv_freq_;  // [head_dim/4]: axial RoPE over each half of head_dim
};

}  // namespace ember
