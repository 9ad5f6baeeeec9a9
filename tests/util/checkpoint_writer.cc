#include "util/checkpoint_writer.h"

#include <filesystem>
#include <random>

#include "quant/mlx_formats.h"

namespace ember::testing {

using nlohmann::json;
using D = TinyDims;

const char* ckpt_layout_name(CkptLayout l) {
  switch (l) {
    case CkptLayout::kHf:
      return "hf";
    case CkptLayout::kHfText:
      return "hf-text";
    case CkptLayout::kMlx:
      return "mlx";
    case CkptLayout::kMlxText:
      return "mlx-text";
  }
  return "?";
}

namespace {

bool is_full(int64_t i) { return i == 2 || i == 4; }  // layer types s, s, f, s, f

class Builder {
 public:
  explicit Builder(const TinyCheckpointSpec& s) : s_(s), rng_(s.seed) {
    const bool mm = s.layout == CkptLayout::kHf || s.layout == CkptLayout::kMlx;
    const bool mlx = s.layout == CkptLayout::kMlx || s.layout == CkptLayout::kMlxText;
    out_.text_prefix = s.layout == CkptLayout::kHf ? "model.language_model."
                       : mlx && mm                 ? "language_model.model."
                                                   : "model.";
    // The MLX module tree prefix (quantization entries) for text modules.
    module_prefix_ = mm ? "language_model.model." : "model.";
    if (s.layout == CkptLayout::kHf) module_prefix_ = "model.language_model.";
  }

  std::vector<float> randn(int64_t n, float scale, float offset = 0.0f) {
    std::normal_distribution<float> d(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = offset + scale * d(rng_);
    return v;
  }

  void vec(const std::string& local, int64_t n, bool suffix = true) {
    out_.tensors[key(local + (suffix ? ".weight" : ""))] = float_tensor({n}, randn(n, 0.1f, 1.0f), s_.dtype);
  }

  // A linear/embedding [rows, cols] (or stacked [n, rows, cols]); quantized when the spec says so.
  void matrix(const std::string& local, std::vector<int64_t> shape, bool quantize = true,
              bool suffix = true) {
    const int64_t cols = shape.back(), rows_total = shape.size() == 3 ? shape[0] * shape[1] : shape[0];
    std::vector<float> w = randn(rows_total * cols, 0.05f);
    int bits = s_.bits, group = s_.group_size;
    if (s_.mixed && local.find(".mlp.") != std::string::npos) bits = 8, group = 32, entry(local, bits, group);
    if (local.ends_with("router.proj") && bits)
      bits = 8, group = 64, entry(local, bits, group);  // mlx-lm predicate
    if (local == "per_layer_model_projection" && !s_.quantize_ple_projection) {
      quantize = false;
      if (s_.ple_projection_false_entry) out_.config_quant[module_prefix_ + local] = false;
    }
    const std::string base = key(local);
    // mlx-lm leaves a module float when its input width is not a multiple of the group size.
    if (bits && cols % group != 0) quantize = false;
    if (!quantize || bits == 0) {
      out_.tensors[suffix ? base + ".weight" : base] = float_tensor(shape, w, s_.dtype);
      return;
    }
    AffineQuantized q = mlx_affine_quantize(w.data(), rows_total, cols, bits, group);
    std::vector<int64_t> pshape = shape, sshape = shape;
    pshape.back() = cols * bits / 32;
    sshape.back() = cols / group;
    out_.tensors[base + ".weight"] = u32_tensor(pshape, q.packed);
    out_.tensors[base + ".scales"] = float_tensor(sshape, q.scales, s_.dtype);
    out_.tensors[base + ".biases"] = float_tensor(sshape, q.biases, s_.dtype);
  }

  void entry(const std::string& local, int bits, int group) {
    out_.config_quant[module_prefix_ + local] = {{"group_size", group}, {"bits", bits}};
  }

  std::string key(const std::string& local) const {
    if (local.starts_with("lm_head"))
      return s_.layout == CkptLayout::kMlx ? "language_model." + local : local;
    return out_.text_prefix + local;
  }

  void layer(int64_t i) {
    const std::string p = "layers." + std::to_string(i) + ".";
    const int64_t F = D::L - s_.kv_shared_layers;
    const bool shared = s_.kv_shared_layers > 0 && i >= F, full = is_full(i);
    const int64_t hd = full ? D::ghd : D::hd;
    const int64_t nkv = full && s_.k_eq_v ? D::nGlobalKV : D::nKV;
    const int64_t W = D::I * (s_.double_wide && shared ? 2 : 1);
    for (const char* n : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                          "post_feedforward_layernorm"})
      vec(p + n, D::H);
    matrix(p + "self_attn.q_proj", {D::nH * hd, D::H});
    matrix(p + "self_attn.o_proj", {D::H, D::nH * hd});
    vec(p + "self_attn.q_norm", hd);
    if (!shared || s_.shared_kv_present) {
      matrix(p + "self_attn.k_proj", {nkv * hd, D::H});
      if (!(full && s_.k_eq_v)) matrix(p + "self_attn.v_proj", {nkv * hd, D::H});
      vec(p + "self_attn.k_norm", hd);
    }
    matrix(p + "mlp.gate_proj", {W, D::H});
    matrix(p + "mlp.up_proj", {W, D::H});
    matrix(p + "mlp.down_proj", {D::H, W});
    if (s_.ple) {
      matrix(p + "per_layer_input_gate", {D::P, D::H});
      matrix(p + "per_layer_projection", {D::H, D::P});
      vec(p + "post_per_layer_input_norm", D::H);
    }
    out_.tensors[key(p + "layer_scalar")] = float_tensor({1}, {0.25f + 0.1f * float(i)}, s_.dtype);
    if (s_.moe) moe(p);
  }

  void moe(const std::string& p) {
    matrix(p + "router.proj", {D::E, D::H});
    out_.tensors[key(p + "router.scale")] = float_tensor({D::H}, randn(D::H, 0.1f, 1.0f), s_.dtype);
    out_.tensors[key(p + "router.per_expert_scale")] =
        float_tensor({D::E}, randn(D::E, 0.1f, 1.0f), s_.dtype);
    for (const char* n :
         {"pre_feedforward_layernorm_2", "post_feedforward_layernorm_1", "post_feedforward_layernorm_2"})
      vec(p + n, D::H);
    if (s_.layout == CkptLayout::kMlx || s_.layout == CkptLayout::kMlxText) {
      matrix(p + "experts.switch_glu.gate_proj", {D::E, D::moeI, D::H});
      matrix(p + "experts.switch_glu.up_proj", {D::E, D::moeI, D::H});
      matrix(p + "experts.switch_glu.down_proj", {D::E, D::H, D::moeI});
    } else {  // HF: fused [E, 2I, H] and [E, H, I], never quantized, no .weight suffix
      matrix(p + "experts.gate_up_proj", {D::E, 2 * D::moeI, D::H}, false, false);
      matrix(p + "experts.down_proj", {D::E, D::H, D::moeI}, false, false);
    }
  }

  void towers() {
    const std::string m = s_.layout == CkptLayout::kHf ? "model." : "";
    auto put = [&](const std::string& k, std::vector<int64_t> shape) {
      int64_t n = 1;
      for (auto d : shape) n *= d;
      out_.tensors[m + k] = float_tensor(shape, randn(n, 0.05f), s_.dtype);
    };
    // Names a careless text filter would match (mlp.gate_proj, self_attn.k_proj, layers.N.).
    put("vision_tower.encoder.layers.0.self_attn.k_proj.linear.weight", {16, 16});
    put("vision_tower.encoder.layers.0.mlp.gate_proj.linear.weight", {32, 16});
    put("vision_tower.encoder.layers.0.mlp.gate_proj.input_min", {});
    put("vision_tower.patch_embedder.position_embedding_table", {2, 8, 16});
    put("embed_vision.embedding_projection.weight", {D::H, 16});
    put("audio_tower.layers.0.self_attn.q_proj.linear.weight", {16, 16});
    put("embed_audio.embedding_projection.weight", {D::H, 16});
  }

  TinyCheckpoint build() {
    matrix("embed_tokens", {D::V, D::H});
    vec("norm", D::H);
    if (!s_.tied || s_.write_tied_lm_head) matrix("lm_head", {D::V, D::H});
    if (s_.ple) {
      matrix("embed_tokens_per_layer", {D::V, D::L * D::P});
      matrix("per_layer_model_projection", {D::L * D::P, D::H});
      vec("per_layer_projection_norm", D::P);
    }
    for (int64_t i = 0; i < D::L; ++i) layer(i);
    const bool mm = s_.layout == CkptLayout::kHf || s_.layout == CkptLayout::kMlx;
    if (mm && s_.towers) towers();
    out_.config = config(mm);
    out_.generation_config = {{"bos_token_id", 2}, {"eos_token_id", {1, 3}}, {"pad_token_id", 0},
                              {"do_sample", true}, {"temperature", 1.0},     {"top_k", 64},
                              {"top_p", 0.95}};
    return std::move(out_.ckpt());
  }

 private:
  json text_config() const {
    json lt = json::array();
    for (int64_t i = 0; i < D::L; ++i) lt.push_back(is_full(i) ? "full_attention" : "sliding_attention");
    json t = {{"model_type", "gemma4_text"},
              {"vocab_size", D::V},
              {"vocab_size_per_layer_input", D::V},
              {"hidden_size", D::H},
              {"hidden_size_per_layer_input", s_.ple ? D::P : 0},
              {"intermediate_size", D::I},
              {"num_hidden_layers", D::L},
              {"num_attention_heads", D::nH},
              {"num_key_value_heads", D::nKV},
              {"num_global_key_value_heads", s_.k_eq_v ? json(D::nGlobalKV) : json(nullptr)},
              {"head_dim", D::hd},
              {"global_head_dim", D::ghd},
              {"num_kv_shared_layers", s_.kv_shared_layers},
              {"use_double_wide_mlp", s_.double_wide},
              {"attention_k_eq_v", s_.k_eq_v},
              {"enable_moe_block", s_.moe},
              {"hidden_activation", "gelu_pytorch_tanh"},
              {"rms_norm_eps", 1e-6},
              {"sliding_window", 16},
              {"max_position_embeddings", 4096},
              {"final_logit_softcapping", 30.0},
              {"tie_word_embeddings", s_.tied},
              {"attention_bias", false},
              {"pad_token_id", 0},
              {"bos_token_id", 2},
              {"eos_token_id", 1},
              {"layer_types", lt},
              {"rope_parameters",
               {{"full_attention",
                 {{"rope_type", "proportional"}, {"partial_rotary_factor", 0.25}, {"rope_theta", 1000000.0}}},
                {"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}}}}};
    if (s_.moe) t["num_experts"] = D::E, t["top_k_experts"] = D::topK, t["moe_intermediate_size"] = D::moeI;
    return t;
  }

  json config(bool mm) {
    json c;
    if (mm) {
      c = {{"model_type", "gemma4"},
           {"architectures", {"Gemma4ForConditionalGeneration"}},
           {"text_config", text_config()},
           {"vision_config", {{"model_type", "gemma4_vision"}, {"hidden_size", 16}}},
           {"audio_config", {{"model_type", "gemma4_audio"}, {"hidden_size", 16}}},
           {"tie_word_embeddings", s_.tied},
           {"eos_token_id", {1, 3}},
           {"vocab_size", D::V}};
    } else {
      c = text_config();
      c["architectures"] = {"Gemma4ForCausalLM"};
    }
    if (s_.bits) {
      json q = {{"group_size", s_.group_size}, {"bits", s_.bits}, {"mode", "affine"}};
      for (auto& [k, v] : out_.config_quant.items()) q[k] = v;
      c["quantization"] = q;
      c["quantization_config"] = q;
    }
    return c;
  }

  struct Out {
    json config, generation_config, config_quant = json::object();
    std::map<std::string, RawTensor> tensors;
    std::string text_prefix;
    TinyCheckpoint ckpt() { return {config, generation_config, std::move(tensors), text_prefix}; }
  };
  const TinyCheckpointSpec& s_;
  std::mt19937 rng_;
  std::string module_prefix_;
  Out out_;
};

}  // namespace

TinyCheckpoint make_tiny_checkpoint(const TinyCheckpointSpec& spec) { return Builder(spec).build(); }

void write_checkpoint(const std::string& dir, const TinyCheckpoint& ckpt, bool sharded) {
  std::filesystem::create_directories(dir);
  write_text(dir + "/config.json", ckpt.config.dump(2));
  write_text(dir + "/generation_config.json", ckpt.generation_config.dump(2));
  if (!sharded) {
    SafetensorsWriter w;
    for (const auto& [k, t] : ckpt.tensors) w.add(k, t);
    w.set_metadata("format", "pt");
    w.write(dir + "/model.safetensors");
    return;
  }
  SafetensorsWriter shards[2];
  json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", json::object()}};
  int i = 0;
  uint64_t total = 0;
  for (const auto& [k, t] : ckpt.tensors) {
    const int s = (i++) % 2;
    shards[s].add(k, t);
    total += t.bytes.size();
    index["weight_map"][k] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  index["metadata"]["total_size"] = total;
  for (int s = 0; s < 2; ++s)
    shards[s].write(dir + "/model-0000" + std::to_string(s + 1) + "-of-00002.safetensors");
  write_text(dir + "/model.safetensors.index.json", index.dump(2));
}

}  // namespace ember::testing
