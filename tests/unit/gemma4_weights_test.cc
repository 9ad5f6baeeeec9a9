#include "models/gemma4_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ember/error.hpp"
#include "util/checkpoint_writer.h"
#include "util/test_paths.h"

namespace ember {
namespace {

using testing::CkptLayout;
using testing::TinyCheckpoint;
using testing::TinyCheckpointSpec;
using D = testing::TinyDims;

class Gemma4Load : public ::testing::Test {
 protected:
  void SetUp() override { root_ = testing::make_temp_dir("ember-g4"); }
  void TearDown() override { std::filesystem::remove_all(root_); }

  std::string write(const TinyCheckpoint& c, bool sharded = false) {
    std::string d = root_ + "/c" + std::to_string(n_++);
    testing::write_checkpoint(d, c, sharded);
    return d;
  }
  Gemma4Model load(const TinyCheckpointSpec& s) {
    return load_gemma4(write(testing::make_tiny_checkpoint(s), s.sharded));
  }

  // Loads and returns the error text; fails if the load succeeds.
  std::string load_error(const TinyCheckpoint& c, ErrorCode want = ErrorCode::kInvalidCheckpoint) {
    try {
      load_gemma4(write(c));
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), want) << e.what();
      return e.what();
    }
    ADD_FAILURE() << "checkpoint loaded";
    return "";
  }

  std::string root_;
  int n_ = 0;
};

const TensorReport* row(const Gemma4Model& m, const std::string& key) {
  for (const auto& t : m.report.tensors)
    if (t.key == key) return &t;
  return nullptr;
}

void expect_matrix(const Matrix& m, int64_t rows, int64_t cols, int bits, int group,
                   const std::string& what) {
  EXPECT_EQ(m.rows, rows) << what;
  EXPECT_EQ(m.cols, cols) << what;
  ASSERT_NE(m.data, nullptr) << what;
  EXPECT_EQ(m.bits, bits) << what;
  EXPECT_EQ(m.group_size, bits ? group : 0) << what;
  EXPECT_EQ(m.quantized(), bits != 0) << what;
  if (bits) {
    EXPECT_EQ(m.format, WeightFormat::kMlxAffine) << what;
    EXPECT_EQ(m.row_bytes, size_t(cols * bits / 8)) << what;
    EXPECT_NE(m.scales, nullptr) << what;
    EXPECT_NE(m.biases, nullptr) << what;
  }
}

struct Variant {
  CkptLayout layout;
  int bits, group;
  bool mixed;
};

class Gemma4Layouts : public Gemma4Load, public ::testing::WithParamInterface<Variant> {};

TEST_P(Gemma4Layouts, LoadsEveryLayoutAndQuantization) {
  const Variant v = GetParam();
  TinyCheckpointSpec s;
  s.layout = v.layout, s.bits = v.bits, s.group_size = v.group, s.mixed = v.mixed;
  Gemma4Model m = load(s);
  const bool mm = v.layout == CkptLayout::kHf || v.layout == CkptLayout::kMlx;
  EXPECT_EQ(m.cfg.multimodal, mm);
  EXPECT_EQ(m.report.layout, v.layout == CkptLayout::kHf    ? "hf-multimodal"
                             : v.layout == CkptLayout::kMlx ? "mlx-multimodal"
                                                            : "text-only");
  ASSERT_EQ(m.layers.size(), size_t(D::L));
  expect_matrix(m.embed_tokens, D::V, D::H, v.bits, v.group, "embed_tokens");
  expect_matrix(m.embed_tokens_per_layer, D::V, D::L * D::P, (D::L * D::P) % v.group == 0 ? v.bits : 0,
                v.group, "embed_tokens_per_layer");
  expect_matrix(m.per_layer_model_projection, D::L * D::P, D::H, v.bits, v.group,
                "per_layer_model_projection");
  EXPECT_EQ(m.lm_head.data, m.embed_tokens.data);  // tied
  for (const auto& l : m.layers) {
    const int64_t hd = l.info.type == LayerType::kFull ? D::ghd : D::hd;
    expect_matrix(l.q_proj, D::nH * hd, D::H, v.bits, v.group, l.q_proj.name);
    expect_matrix(l.o_proj, D::H, D::nH * hd, (D::nH * hd) % v.group == 0 ? v.bits : 0, v.group,
                  l.o_proj.name);
    const int mlp_bits = v.mixed ? 8 : v.bits, mlp_group = v.mixed ? 32 : v.group;
    expect_matrix(l.gate_proj, D::I, D::H, mlp_bits, mlp_group, l.gate_proj.name);
    expect_matrix(l.down_proj, D::H, D::I, mlp_bits, mlp_group, l.down_proj.name);
    expect_matrix(l.per_layer_input_gate, D::P, D::H, v.bits, v.group, "gate");
    // in_features 64 < group 128: such a module stays float (mlx-lm's rule).
    const int proj_bits = D::P % v.group == 0 ? v.bits : 0;
    expect_matrix(l.per_layer_projection, D::H, D::P, proj_bits, v.group, "proj");
    EXPECT_EQ(l.has_kv(), l.index < 3);
    if (l.has_kv()) {
      expect_matrix(l.k_proj, D::nKV * hd, D::H, v.bits, v.group, l.k_proj.name);
      expect_matrix(l.v_proj, D::nKV * hd, D::H, v.bits, v.group, l.v_proj.name);
      EXPECT_EQ(l.k_norm.size(), size_t(hd));
    } else {
      EXPECT_EQ(l.k_proj.data, nullptr);
      EXPECT_TRUE(l.k_norm.empty());
    }
    EXPECT_EQ(l.q_norm.size(), size_t(hd));
    EXPECT_EQ(l.input_layernorm.size(), size_t(D::H));
    EXPECT_NEAR(l.layer_scalar, 0.25f + 0.1f * float(l.index), 2e-3f);
  }
  // Shared layers' K/V are accepted and ignored; towers are skipped, never claimed by text rules.
  const std::string pfx = v.layout == CkptLayout::kHf ? "model.language_model."
                          : mm                        ? "language_model.model."
                                                      : "model.";
  const TensorReport* shared_k = row(m, pfx + "layers.4.self_attn.k_proj.weight");
  ASSERT_NE(shared_k, nullptr);
  EXPECT_EQ(shared_k->status, "ignored");
  if (mm) {
    const std::string t = std::string(v.layout == CkptLayout::kHf ? "model." : "") +
                          "vision_tower.encoder.layers.0.mlp.gate_proj.linear.weight";
    ASSERT_NE(row(m, t), nullptr) << t;
    EXPECT_EQ(row(m, t)->status, "skipped");
    EXPECT_EQ(row(m, t)->sub, SubModel::kVision);
  }
  EXPECT_EQ(m.report.tensors.size(), testing::make_tiny_checkpoint(s).tensors.size());
}

INSTANTIATE_TEST_SUITE_P(
    All, Gemma4Layouts,
    ::testing::Values(Variant{CkptLayout::kHf, 0, 64, false}, Variant{CkptLayout::kHfText, 0, 64, false},
                      Variant{CkptLayout::kMlx, 0, 64, false}, Variant{CkptLayout::kMlxText, 0, 64, false},
                      Variant{CkptLayout::kMlx, 4, 64, false}, Variant{CkptLayout::kMlx, 4, 32, false},
                      Variant{CkptLayout::kMlx, 8, 64, false}, Variant{CkptLayout::kMlxText, 8, 32, false},
                      Variant{CkptLayout::kMlxText, 4, 64, false}, Variant{CkptLayout::kMlx, 4, 64, true},
                      Variant{CkptLayout::kMlxText, 4, 32, true}, Variant{CkptLayout::kHf, 4, 64, false},
                      Variant{CkptLayout::kMlxText, 2, 128, false},
                      Variant{CkptLayout::kMlxText, 3, 32, false}, Variant{CkptLayout::kMlx, 5, 64, false},
                      Variant{CkptLayout::kMlx, 6, 64, false}, Variant{CkptLayout::kMlx, 8, 128, false}),
    [](const ::testing::TestParamInfo<Variant>& i) {
      std::string n = testing::ckpt_layout_name(i.param.layout);
      for (auto& ch : n)
        if (ch == '-') ch = '_';
      if (i.param.bits) n += "_q" + std::to_string(i.param.bits) + "_g" + std::to_string(i.param.group);
      return n + (i.param.mixed ? "_mixed" : "");
    });

// The same seed gives the same underlying weights in every storage, so a quantized load must
// dequantize to the dense load within the quantization step: this checks every pointer,
// row stride and scale slice the binder computes (including per-expert slices).
TEST_F(Gemma4Load, QuantizedMatchesDenseWithinStep) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kMlxText, s.dtype = DType::F32, s.moe = true;
  Gemma4Model dense = load(s);
  for (auto [bits, group] : {std::pair{8, 32}, std::pair{6, 64}}) {
    s.bits = bits, s.group_size = group;
    Gemma4Model q = load(s);
    // Half a quantization step of a group spanning <= 1.0 (weights ~ N(0, 0.05), plus the zero
    // nudge of the scale); a wrong row,
    // stride or scale slice gives errors of the weights' own size (~0.05-0.2).
    const float tol = 0.5f / float((1 << bits) - 1);
    std::vector<float> a(1024), b(1024);
    auto compare = [&](const Matrix& x, const Matrix& y) {
      ASSERT_EQ(x.rows, y.rows);
      ASSERT_TRUE(y.quantized()) << y.name;
      float worst = 0;
      for (int64_t r = 0; r < x.rows; ++r) {
        dequantize_row(x, r, a.data());
        dequantize_row(y, r, b.data());
        for (int64_t c = 0; c < x.cols; ++c) worst = std::max(worst, std::fabs(a[size_t(c)] - b[size_t(c)]));
      }
      EXPECT_LT(worst, tol) << x.name << " at " << bits << "-bit";
    };
    compare(dense.embed_tokens, q.embed_tokens);
    compare(dense.per_layer_model_projection, q.per_layer_model_projection);
    for (size_t i = 0; i < dense.layers.size(); ++i) {
      const auto &dl = dense.layers[i], &ql = q.layers[i];
      compare(dl.q_proj, ql.q_proj);
      compare(dl.down_proj, ql.down_proj);
      compare(dl.router_proj, ql.router_proj);
      ASSERT_EQ(ql.expert_gate.size(), size_t(D::E));
      for (size_t e = 0; e < size_t(D::E); ++e) {
        compare(dl.expert_gate[e], ql.expert_gate[e]);
        compare(dl.expert_up[e], ql.expert_up[e]);
        compare(dl.expert_down[e], ql.expert_down[e]);
      }
    }
  }
}

TEST_F(Gemma4Load, HfFusedExpertsSplitIntoGateAndUpRows) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kHfText, s.dtype = DType::F32, s.moe = true, s.k_eq_v = true, s.ple = false,
  s.kv_shared_layers = 0;
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  Gemma4Model m = load_gemma4(write(c));
  const auto& raw = c.tensors.at("model.layers.1.experts.gate_up_proj");  // f32 [E, 2I, H]
  const auto& down = c.tensors.at("model.layers.1.experts.down_proj");    // f32 [E, H, I]
  const Gemma4Layer& l = m.layers[1];
  ASSERT_EQ(l.expert_gate.size(), size_t(D::E));
  std::vector<float> out(D::H);
  auto at = [](const testing::RawTensor& t, size_t i) { return load_as_f32(DType::F32, t.bytes.data(), i); };
  for (int64_t e : {int64_t(0), D::E - 1}) {
    for (int64_t r : {int64_t(0), D::moeI - 1}) {
      dequantize_row(l.expert_gate[size_t(e)], r, out.data());
      EXPECT_EQ(out[5], at(raw, size_t((e * 2 * D::moeI + r) * D::H + 5)));
      dequantize_row(l.expert_up[size_t(e)], r, out.data());
      EXPECT_EQ(out[7], at(raw, size_t((e * 2 * D::moeI + D::moeI + r) * D::H + 7)));
    }
    std::vector<float> dout(D::moeI);
    dequantize_row(l.expert_down[size_t(e)], D::H - 1, dout.data());
    EXPECT_EQ(dout[3], at(down, size_t((e * D::H + D::H - 1) * D::moeI + 3)));
  }
  // K=V: full layers have no v_proj and use num_global_key_value_heads.
  EXPECT_TRUE(m.layers[2].info.k_eq_v);
  EXPECT_EQ(m.layers[2].v_proj.data, nullptr);
  EXPECT_EQ(m.layers[2].k_proj.rows, D::nGlobalKV * D::ghd);
  EXPECT_NE(m.layers[1].v_proj.data, nullptr);
  EXPECT_TRUE(m.embed_tokens_per_layer.data == nullptr);
  EXPECT_EQ(m.layers[0].router_per_expert_scale.size(), size_t(D::E));
}

TEST_F(Gemma4Load, PleProjectionDenseInQuantizedFileWithFalseEntry) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kMlx, s.bits = 4, s.quantize_ple_projection = false,
  s.ple_projection_false_entry = true;
  Gemma4Model m = load(s);
  EXPECT_FALSE(m.per_layer_model_projection.quantized());
  EXPECT_EQ(m.per_layer_model_projection.dtype, DType::BF16);
  EXPECT_TRUE(m.embed_tokens.quantized());
  s.ple_projection_false_entry = false;  // old ScaledLinear checkpoints: float, no entry
  EXPECT_FALSE(load(s).per_layer_model_projection.quantized());
}

TEST_F(Gemma4Load, KvSharedAbsentTiedAndUntiedHeadsShards) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kMlxText, s.bits = 4, s.shared_kv_present = false, s.sharded = true;
  Gemma4Model m = load(s);
  EXPECT_EQ(m.files->files().size(), 2u);
  EXPECT_EQ(m.report.ignored_bytes, 0u);
  s.write_tied_lm_head = true;
  Gemma4Model t = load(s);
  EXPECT_EQ(row(t, "lm_head.weight")->status, "ignored");
  EXPECT_EQ(t.lm_head.data, t.embed_tokens.data);
  s.tied = false, s.write_tied_lm_head = false;
  Gemma4Model u = load(s);
  EXPECT_FALSE(u.lm_head_tied);
  EXPECT_NE(u.lm_head.data, u.embed_tokens.data);
  expect_matrix(u.lm_head, D::V, D::H, 4, 64, "lm_head");
}

TEST_F(Gemma4Load, DoubleWideMlp) {
  TinyCheckpointSpec s;
  s.double_wide = true;
  Gemma4Model m = load(s);
  EXPECT_EQ(m.layers[2].gate_proj.rows, D::I);
  EXPECT_EQ(m.layers[3].gate_proj.rows, 2 * D::I);
  // Config contradicting the weights: the shape error carries the double-wide hint.
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  c.config["text_config"]["use_double_wide_mlp"] = false;
  std::string e = load_error(c);
  EXPECT_NE(e.find("layers.3.mlp.gate_proj.weight: wrong shape (expected [128, 128], got [256, 128])"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("means it should be true"), std::string::npos) << e;
}

// --- corrupt / inconsistent checkpoints: each gives its specific error -------------------

TinyCheckpoint quantized_mlx(int bits = 4) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kMlx, s.bits = bits;
  return testing::make_tiny_checkpoint(s);
}

TEST_F(Gemma4Load, QuantizedTensorMissingBiases) {
  TinyCheckpoint c = quantized_mlx();
  c.tensors.erase("language_model.model.layers.1.self_attn.q_proj.biases");
  std::string e = load_error(c);
  EXPECT_NE(
      e.find("language_model.model.layers.1.self_attn.q_proj.weight: quantized tensor is missing .biases"),
      std::string::npos)
      << e;
  EXPECT_NE(e.find("1 problem:"), std::string::npos) << e;
}

TEST_F(Gemma4Load, WrongBitsForPackedShapeGivesHint) {
  // An 8-bit g64 file whose config claims 4-bit: every quantized tensor is reported.
  TinyCheckpoint c = quantized_mlx(8);
  c.config["quantization"]["bits"] = 4;
  c.config["quantization_config"]["bits"] = 4;
  std::string e = load_error(c);
  EXPECT_NE(
      e.find(
          "language_model.model.embed_tokens.weight: packed shape does not fit 256x128 at affine 4-bit g64 "
          "(expected [256, 16], got [256, 32]); hint: looks 8-bit with group 64; config says affine 4-bit "
          "g64 "
          "(global entry of 'language_model.model.embed_tokens')"),
      std::string::npos)
      << e;
  EXPECT_NE(e.find("44 problems"), std::string::npos) << e.substr(0, 200);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos);
}

TEST_F(Gemma4Load, WrongGroupSize) {
  TinyCheckpoint c = quantized_mlx(4);
  c.config["quantization"]["language_model.model.layers.0.mlp.up_proj"] = {{"bits", 4}, {"group_size", 32}};
  std::string e = load_error(c);
  EXPECT_NE(e.find("layers.0.mlp.up_proj.scales: scales shape does not fit group size 32 (expected [128, 4], "
                   "got [128, 2]); "
                   "hint: looks 4-bit with group 64; config says affine 4-bit g32 (per-module entry"),
            std::string::npos)
      << e;
}

TEST_F(Gemma4Load, UnknownTensor) {
  TinyCheckpoint c = quantized_mlx();
  c.tensors["language_model.model.layers.0.self_attn.q_proj.bias"] =
      testing::float_tensor({64}, std::vector<float>(64), DType::BF16);
  c.tensors["language_model.model.layers.0.altup.router.weight"] =
      testing::float_tensor({4}, std::vector<float>(4), DType::BF16);
  std::string e = load_error(c);
  EXPECT_NE(e.find("layers.0.self_attn.q_proj.bias: unexpected tensor: not in the Gemma 4 text weight table; "
                   "hint: Gemma 4 linears have no bias"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("layers.0.altup.router.weight: unexpected tensor"), std::string::npos) << e;
  EXPECT_NE(e.find("2 problems"), std::string::npos) << e;
}

TEST_F(Gemma4Load, TextKeyOfAnotherLayoutIsUnclaimed) {
  TinyCheckpointSpec s;  // HF multimodal
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  c.tensors["model.norm.weight"] = testing::float_tensor({D::H}, std::vector<float>(D::H), DType::BF16);
  std::string e = load_error(c);
  EXPECT_NE(e.find("model.norm.weight: belongs to no sub-model of layout hf-multimodal"), std::string::npos)
      << e;
}

TEST_F(Gemma4Load, MissingRequiredTensors) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kHfText;
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  c.tensors.erase("model.layers.0.self_attn.v_proj.weight");
  c.tensors.erase("model.layers.2.layer_scalar");
  c.tensors.erase("model.per_layer_model_projection.weight");
  std::string e = load_error(c);
  EXPECT_NE(e.find("model.layers.0.self_attn.v_proj.weight: required tensor is missing (expected [32, 128], "
                   "got nothing)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("model.layers.2.layer_scalar: required tensor is missing"), std::string::npos) << e;
  EXPECT_NE(e.find("model.per_layer_model_projection.weight: required tensor is missing"), std::string::npos)
      << e;
  EXPECT_NE(e.find("3 problems"), std::string::npos) << e;
}

TEST_F(Gemma4Load, DtypeAndShapeMismatch) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kHfText;
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  c.tensors["model.layers.0.self_attn.q_proj.weight"] =
      testing::u32_tensor({64, 16}, std::vector<uint8_t>(64 * 16 * 4));
  c.tensors["model.layers.1.input_layernorm.weight"] =
      testing::float_tensor({64}, std::vector<float>(64), DType::BF16);
  c.tensors["model.layers.1.self_attn.q_norm.weight"] = {DType::I32, {32}, std::vector<uint8_t>(128)};
  std::string e = load_error(c);
  EXPECT_NE(e.find("q_proj.weight: dense matrix has dtype U32 (expected F32/F16/BF16, got U32); hint: looks "
                   "quantized"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("layers.1.input_layernorm.weight: wrong shape (expected [128], got [64])"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("layers.1.self_attn.q_norm.weight: wrong dtype (expected F32/F16/BF16, got I32)"),
            std::string::npos)
      << e;
}

TEST_F(Gemma4Load, ScalesWithoutQuantizationConfigOrWithFalseEntry) {
  TinyCheckpoint c = quantized_mlx();
  c.config.erase("quantization");
  c.config.erase("quantization_config");
  std::string e = load_error(c);
  EXPECT_NE(e.find("embed_tokens.scales: quantized (has .scales) but config.json has no \"quantization\" "
                   "section; hint: looks 4-bit with group 64"),
            std::string::npos)
      << e;
  c = quantized_mlx();
  c.config["quantization"]["language_model.model.layers.0.mlp.up_proj"] = false;
  e = load_error(c);
  EXPECT_NE(e.find("quantization entry for 'language_model.model.layers.0.mlp.up_proj' is false"),
            std::string::npos)
      << e;
  c = quantized_mlx();
  c.tensors.erase("language_model.model.norm.weight");
  c.tensors["language_model.model.layers.0.layer_scalar.scales"] =
      testing::float_tensor({1}, {1.0f}, DType::BF16);
  e = load_error(c);
  EXPECT_NE(e.find("language_model.model.norm.weight: required tensor is missing"), std::string::npos) << e;
  EXPECT_NE(e.find("layer_scalar.scales: unexpected tensor"), std::string::npos) << e;
}

TEST_F(Gemma4Load, TowerKeysInTextOnlyLayoutAreSkippedNotMatched) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kHfText;
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  c.tensors["model.vision_tower.encoder.layers.0.self_attn.k_proj.linear.weight"] =
      testing::float_tensor({4, 4}, std::vector<float>(16), DType::BF16);
  Gemma4Model m = load_gemma4(write(c));
  EXPECT_EQ(row(m, "model.vision_tower.encoder.layers.0.self_attn.k_proj.linear.weight")->status, "skipped");
  try {
    load_gemma4(write(c), LoadOptions{.skip_towers = false});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
  }
}

TEST_F(Gemma4Load, MixedLayoutsRejected) {
  TinyCheckpoint c = quantized_mlx();
  c.tensors["model.language_model.norm.weight"] =
      testing::float_tensor({D::H}, std::vector<float>(D::H), DType::BF16);
  std::string e = load_error(c);
  EXPECT_NE(e.find("holds both HF"), std::string::npos) << e;
}

TEST(Gemma4Table, DeclaresE2BShapes) {
  // The real E2B text config (gemma4-text.md §2.2) against the §3.1 shape table.
  Gemma4Config c =
      parse_gemma4_config(R"({"model_type": "gemma4_text", "vocab_size": 262144, "hidden_size": 1536,
    "intermediate_size": 6144, "num_hidden_layers": 35, "num_attention_heads": 8, "num_key_value_heads": 1,
    "head_dim": 256, "global_head_dim": 512, "num_kv_shared_layers": 20, "use_double_wide_mlp": true,
    "hidden_size_per_layer_input": 256, "vocab_size_per_layer_input": 262144,
    "layer_types": ["sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
    "sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
    "sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
    "sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
    "sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
    "sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
    "sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention"]})");
  std::map<std::string, std::vector<int64_t>> shapes;
  std::map<std::string, Need> need;
  for (const auto& s : gemma4_text_weight_table(c, MoeForm::kHf))
    shapes[s.name] = s.shape, need[s.name] = s.need;
  EXPECT_EQ(shapes["embed_tokens_per_layer"], (std::vector<int64_t>{262144, 8960}));
  EXPECT_EQ(shapes["per_layer_model_projection"], (std::vector<int64_t>{8960, 1536}));
  EXPECT_EQ(shapes["layers.0.self_attn.q_proj"], (std::vector<int64_t>{2048, 1536}));
  EXPECT_EQ(shapes["layers.4.self_attn.k_proj"], (std::vector<int64_t>{512, 1536}));
  EXPECT_EQ(shapes["layers.4.self_attn.o_proj"], (std::vector<int64_t>{1536, 4096}));
  EXPECT_EQ(shapes["layers.14.mlp.gate_proj"], (std::vector<int64_t>{6144, 1536}));
  EXPECT_EQ(shapes["layers.15.mlp.down_proj"], (std::vector<int64_t>{1536, 12288}));
  EXPECT_EQ(shapes["layers.0.per_layer_projection"], (std::vector<int64_t>{1536, 256}));
  EXPECT_EQ(need["layers.15.self_attn.k_proj"], Need::kIgnored);
  EXPECT_EQ(need["lm_head"], Need::kIgnored);
  EXPECT_EQ(need["layers.14.self_attn.v_proj"], Need::kRequired);
}

}  // namespace
}  // namespace ember

namespace ember {
namespace {

// Rewrites an affine checkpoint's companions into an MLX fp mode (mxfp4 / mxfp8 / nvfp4):
// no .biases, uint8 scales with the mode's group size. Codes keep their packed shape.
void to_fp_mode(TinyCheckpoint* c, const char* mode, int bits, int group) {
  for (auto it = c->tensors.begin(); it != c->tensors.end();) {
    if (it->first.ends_with(".biases")) {
      it = c->tensors.erase(it);
      continue;
    }
    if (it->first.ends_with(".scales")) {
      const auto& w = c->tensors.at(it->first.substr(0, it->first.size() - 7) + ".weight");
      const int64_t cols = w.shape.back() * 32 / bits;
      std::vector<int64_t> shape = it->second.shape;
      shape.back() = cols / group;
      int64_t n = 1;
      for (auto d : shape) n *= d;
      it->second = testing::RawTensor{DType::U8, shape, std::vector<uint8_t>(size_t(n), 127)};
    }
    ++it;
  }
  c->config["quantization"] = {{"mode", mode}, {"bits", bits}, {"group_size", group}};
  c->config.erase("quantization_config");
}

TEST_F(Gemma4Load, MlxFpModesLoadAsTheirFormats) {
  struct M {
    const char* mode;
    int bits, group;
    WeightFormat f;
  };
  for (M m : {M{"mxfp4", 4, 32, WeightFormat::kMlxFp4}, M{"mxfp8", 8, 32, WeightFormat::kMlxFp8},
              M{"nvfp4", 4, 16, WeightFormat::kNvFp4}}) {
    TinyCheckpointSpec s;
    s.layout = CkptLayout::kMlxText, s.bits = m.bits, s.group_size = 32;
    TinyCheckpoint c = testing::make_tiny_checkpoint(s);
    to_fp_mode(&c, m.mode, m.bits, m.group);
    Gemma4Model g = load_gemma4(write(c));
    EXPECT_EQ(g.layers[0].q_proj.format, m.f) << m.mode;
    EXPECT_EQ(g.layers[0].q_proj.group_size, m.group) << m.mode;
    EXPECT_EQ(g.layers[0].q_proj.biases, nullptr) << m.mode;
    EXPECT_EQ(g.layers[0].q_proj.scale_dtype, DType::U8) << m.mode;
    std::vector<float> row(size_t(g.layers[0].q_proj.cols));
    dequantize_row(g.layers[0].q_proj, 3, row.data());  // reachable through the reference path
    // A stray .biases in an fp-mode file is an error.
    c.tensors["model.norm.biases"] = testing::float_tensor({D::H}, std::vector<float>(D::H), DType::BF16);
    c.tensors["model.layers.0.self_attn.q_proj.biases"] =
        testing::float_tensor({64, 4}, std::vector<float>(256), DType::BF16);
    std::string e = load_error(c);
    EXPECT_NE(e.find("has no biases, but .biases is present"), std::string::npos) << e;
    EXPECT_NE(e.find("model.norm.biases: unexpected tensor"), std::string::npos) << e;
  }
}

TEST_F(Gemma4Load, Nvfp4ExpertGlobalScales) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kMlxText, s.bits = 4, s.group_size = 32, s.moe = true, s.ple = false,
  s.kv_shared_layers = 0;
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  to_fp_mode(&c, "nvfp4", 4, 16);
  for (int64_t i = 0; i < D::L; ++i) {  // the router was 8-bit affine (its own entry): make it float
    const std::string r = "model.layers." + std::to_string(i) + ".router.proj.";
    c.tensors.erase(r + "scales");
    c.tensors[r + "weight"] =
        testing::float_tensor({D::E, D::H}, std::vector<float>(D::E * D::H, 0.01f), DType::BF16);
  }
  const std::string gk = "model.layers.1.experts.switch_glu.up_proj.global_scale";
  c.tensors[gk] = testing::float_tensor({D::E}, {2688.0f, 5376.0f, 1.0f, 0.5f}, DType::F32);  // 448*6 = 2688
  Gemma4Model g = load_gemma4(write(c));
  EXPECT_FLOAT_EQ(g.layers[1].expert_up[0].global_scale, 1.0f);
  EXPECT_FLOAT_EQ(g.layers[1].expert_up[1].global_scale, 2.0f);
  EXPECT_FLOAT_EQ(g.layers[1].expert_gate[1].global_scale, 1.0f);  // none stored: identity
  c.tensors[gk] = testing::float_tensor({2}, {1.0f, 1.0f}, DType::F32);
  std::string e = load_error(c);
  EXPECT_NE(e.find("up_proj.global_scale: wrong global scale (expected F32 [4], got F32 [2])"),
            std::string::npos)
      << e;
}

TEST_F(Gemma4Load, SavedRopeBuffersIgnored) {
  TinyCheckpointSpec s;
  s.layout = CkptLayout::kHfText;
  TinyCheckpoint c = testing::make_tiny_checkpoint(s);
  c.tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] =
      testing::float_tensor({16}, std::vector<float>(16), DType::F32);
  Gemma4Model m = load_gemma4(write(c));
  EXPECT_EQ(row(m, "model.layers.0.self_attn.rotary_emb.inv_freq")->status, "ignored");
}

}  // namespace
}  // namespace ember
