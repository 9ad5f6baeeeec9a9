// Gemma 4 E-series audio tower (USM-style conformer) and its projector into the text width,
// as transformers' Gemma4AudioModel + Gemma4MultimodalEmbedder (gemma4-multimodal.md §4):
//   log-mel [T, 128] -> SSCP (2x Conv2d 3x3 stride 2 + channel LayerNorm + ReLU, Linear)
//   -> conformer blocks (FFN half-step, chunked local attention with relative positions and a
//   logit soft-cap, light conv, FFN half-step, clamp + RMSNorm) -> output_proj (+bias)
//   -> embed_audio: scale-free RMSNorm -> Linear to the text hidden size.
// Weights: gemma4_audio_weights.cc (config, declared table, HF and MLX layouts); forward pass:
// gemma4_audio.cc.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/weights.h"
#include "io/safetensors.h"
#include "media/audio_features.h"
#include "models/gemma4_config.h"
#include "models/language_model.h"
#include "models/weight_table.h"

namespace ember {

// `audio_config` of config.json (transformers Gemma4AudioConfig defaults).
struct Gemma4AudioConfig {
  int64_t hidden_size = 1024;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t subsampling_channels[2] = {128, 32};
  int64_t conv_kernel_size = 5;
  double residual_weight = 0.5;
  int64_t attention_chunk_size = 12;
  int64_t attention_context_left = 13;
  int64_t attention_context_right = 0;
  double attention_logit_cap = 50.0;
  bool use_clipped_linears = true;
  double rms_norm_eps = 1e-6;
  double gradient_clipping = 1e10;
  int64_t output_proj_dims = 1536;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  // Width of the SSCP flatten: frequency bins after two stride-2 convs times the last channels.
  int64_t sscp_freq() const { return ((Gemma4AudioFrontEnd::kMelBins + 1) / 2 + 1) / 2; }
  int64_t sscp_out_dim() const { return sscp_freq() * subsampling_channels[1]; }
};

// Parses the `audio_config` JSON object text; `source` labels errors.
Gemma4AudioConfig parse_gemma4_audio_config(const std::string& json_text, const std::string& source);

// y = clamp(W · clamp(x, in_min, in_max), out_min, out_max) (bounds ±inf when not clipped).
struct AudioClippedLinear {
  Matrix w;
  float in_min = -std::numeric_limits<float>::infinity(), in_max = std::numeric_limits<float>::infinity();
  float out_min = -std::numeric_limits<float>::infinity(), out_max = std::numeric_limits<float>::infinity();
};

struct Gemma4AudioFfn {
  std::vector<float> pre_norm, post_norm;  // [H]
  AudioClippedLinear up;                   // ffw_layer_1 [4H, H]
  AudioClippedLinear down;                 // ffw_layer_2 [H, 4H]
};

struct Gemma4AudioLayer {
  Gemma4AudioFfn ffn1, ffn2;
  std::vector<float> norm_pre_attn, norm_post_attn, norm_out;  // [H]
  AudioClippedLinear q, k, v, post;                            // [H, H]
  Matrix relative_k_proj;                                      // [H, H], not clipped
  std::vector<float> per_dim_scale;                            // [head_dim] (softplus applied at use)
  std::vector<float> conv_pre_norm, conv_norm;                 // [H]
  AudioClippedLinear linear_start;                             // [2H, H]
  AudioClippedLinear linear_end;                               // [H, H]
  std::vector<float> depthwise;                                // f32 [H, K] (HF [H, 1, K])
};

struct Gemma4AudioTower {
  Gemma4AudioConfig cfg;
  int64_t text_hidden = 0;
  std::vector<float> conv0;         // f32 [C0, 1, 3, 3]
  std::vector<float> conv1;         // f32 [C1, C0, 3, 3]
  std::vector<float> norm0, norm1;  // [C0], [C1] LayerNorm weights (no bias)
  Matrix input_proj;                // [H, 32·C1]
  std::vector<Gemma4AudioLayer> layers;
  Matrix output_proj;                            // [P, H]
  std::vector<float> output_bias;                // [P]
  Matrix embed_proj;                             // embed_audio.embedding_projection [H_text, P]
  LoadReport report;                             // the audio tensors: used / ignored
  std::shared_ptr<SafetensorsCollection> files;  // keeps the storage mapped
};

// The declared table of the audio tower + embed_audio (local names "audio_tower.*",
// "embed_audio.*": a checkpoint's `model.` prefix (HF) or none (MLX) is stripped first).
std::vector<WeightSlot> gemma4_audio_weight_table(const Gemma4AudioConfig& cfg, int64_t text_hidden);

// Binds the audio tower of a checkpoint (dense or MLX-quantized linears, HF or MLX conv
// layouts). Throws ember::Error: kUnsupported when `cfg` has no audio tower, kInvalidCheckpoint
// listing every problem otherwise.
Gemma4AudioTower load_gemma4_audio(std::shared_ptr<SafetensorsCollection> files, const Gemma4Config& cfg);
Gemma4AudioTower load_gemma4_audio_dir(const std::string& dir);

// Optional intermediate outputs (for tests and dumps).
struct AudioTowerTrace {
  std::vector<float> sscp;   // [n, H] after input_proj_linear
  std::vector<float> tower;  // [n, P] after output_proj
};

// Soft tokens of one clip: f32 [n, text_hidden] with n = ceil(ceil(T/2)/2) (the encoder's valid
// frames, == gemma4_audio_tokens(samples)). `b` must be a host-memory (CPU) backend.
std::vector<float> gemma4_audio_embed(const Gemma4AudioTower& tower, Backend& b, const MelFeatures& mel,
                                      AudioTowerTrace* trace = nullptr);

// A WAV file's bytes -> soft tokens: decode (any PCM/float WAV), down-mix, keep the first 30 s
// (transformers truncates there), resample to 16 kHz, log-mel, tower, embedder. `source` names
// the input in errors. Returns f32 [n, text_hidden].
std::vector<float> gemma4_audio_soft_tokens(const Gemma4AudioTower& tower, Backend& b, const uint8_t* wav,
                                            size_t size, const std::string& source);

// The model's audio encoder (MediaEncoder): WAV bytes of a Media -> soft tokens. The tower runs on
// host memory: with a host (CPU) backend it uses that backend (and its matmul mode), otherwise a
// private CPU backend.
class Gemma4AudioEncoder final : public MediaEncoder {
 public:
  Gemma4AudioEncoder(std::shared_ptr<const Gemma4AudioTower> tower, Backend& backend, bool exact);
  std::vector<float> encode(const Media& m) const override;

 private:
  std::shared_ptr<const Gemma4AudioTower> tower_;
  std::unique_ptr<Backend> own_;
  Backend* b_ = nullptr;
};

}  // namespace ember
