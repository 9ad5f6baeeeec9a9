// Tiny random Gemma 4 checkpoints in every layout the loader must accept, for tests, the demo
// and `tools/make_tiny_checkpoint`. Shapes here are written from gemma4-text.md §3 directly
// (not from the loader's table), so the loader is checked against an independent statement.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/dtype.h"
#include "util/safetensors_writer.h"

namespace ember::testing {

enum class CkptLayout { kHf, kHfText, kMlx, kMlxText };
const char* ckpt_layout_name(CkptLayout l);  // "hf", "hf-text", "mlx", "mlx-text"

struct TinyCheckpointSpec {
  CkptLayout layout = CkptLayout::kHf;
  DType dtype = DType::BF16;  // float tensors (and MLX scales/biases)
  int bits = 0;               // 0: dense; else MLX affine for every linear and embedding
  int group_size = 64;
  bool mixed = false;                   // MLPs at 8-bit g32 via per-module entries (mlx-vlm 2026-04 style)
  bool quantize_ple_projection = true;  // false: per_layer_model_projection stays float
  bool ple_projection_false_entry = false;  // write `"...per_layer_model_projection": false`
  bool shared_kv_present = true;            // KV-shared layers ship (unused) k_proj/v_proj/k_norm
  bool ple = true;                          // per-layer embeddings (E-series)
  int kv_shared_layers = 2;                 // of 5 layers (types s, s, f, s, f)
  bool double_wide = false;                 // use_double_wide_mlp
  bool moe = false;                         // 26B-style MoE block
  bool k_eq_v = false;                      // 31B/26B-style K=V full layers
  bool tied = true;
  bool write_tied_lm_head = false;  // a redundant lm_head.weight although tied
  bool towers = true;               // fake vision/audio tensors in multimodal layouts
  bool sharded = false;             // two shards + model.safetensors.index.json
  uint32_t seed = 1;
};

// Tiny dimensions (all multiples of 64 so every group size 32/64 applies).
struct TinyDims {
  static constexpr int64_t V = 256, H = 128, I = 128, L = 5, nH = 2, nKV = 1, hd = 32, ghd = 64, P = 64;
  static constexpr int64_t E = 4, topK = 2, moeI = 64, nGlobalKV = 2;
};

struct TinyCheckpoint {
  nlohmann::json config, generation_config;
  std::map<std::string, RawTensor> tensors;  // full checkpoint keys
  std::string text_prefix;                   // e.g. "model.language_model."
};

TinyCheckpoint make_tiny_checkpoint(const TinyCheckpointSpec& spec);
// Writes config.json, generation_config.json and the safetensors file(s) into `dir` (created).
void write_checkpoint(const std::string& dir, const TinyCheckpoint& ckpt, bool sharded = false);

}  // namespace ember::testing
