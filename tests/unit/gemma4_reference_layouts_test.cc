// Checkpoints written by the reference tools themselves (transformers save_pretrained and
// mlx-lm quantize/save; tools/make_reference_layout_checkpoints.py), not by ember's writer.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "models/gemma4_weights.h"

namespace ember {
namespace {

std::string ref_dir(const char* name) {
  return std::string(EMBER_SOURCE_DIR) + "/tests/data/ref_checkpoints/" + name;
}

TEST(Gemma4ReferenceLayouts, TransformersMultimodal) {
  Gemma4Model m = load_gemma4(ref_dir("hf_multimodal"));
  EXPECT_EQ(m.report.layout, "hf-multimodal");
  EXPECT_TRUE(m.cfg.multimodal);
  ASSERT_EQ(m.layers.size(), 5u);
  // transformers omits the KV-shared layers' K/V on save; towers are set aside, not matched.
  EXPECT_EQ(m.report.ignored_bytes, 0u);
  int vision = 0, audio = 0;
  for (const auto& t : m.report.tensors) {
    vision += t.sub == SubModel::kVision;
    audio += t.sub == SubModel::kAudio;
    if (t.sub != SubModel::kText)
      EXPECT_EQ(t.status, "skipped") << t.key;
    else
      EXPECT_EQ(t.status, "used") << t.key;
  }
  EXPECT_GT(vision, 0);
  EXPECT_GT(audio, 0);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(m.layers[size_t(i)].layer_scalar, 0.5f + 0.125f * float(i));
    EXPECT_EQ(m.layers[size_t(i)].gate_proj.rows, i >= 3 ? 128 : 64);  // double-wide on shared layers
  }
  EXPECT_EQ(m.layers[4].info.kv_source, 2);
  EXPECT_EQ(m.layers[3].info.kv_source, 1);
  EXPECT_EQ(m.layers[2].q_proj.rows, 2 * 64);
  EXPECT_EQ(m.lm_head.data, m.embed_tokens.data);
}

// mlx-lm converted the transformers checkpoint: its 4/8-bit matrices must dequantize to the
// bf16 originals within half a quantization step.
TEST(Gemma4ReferenceLayouts, MlxMixedMatchesTransformersWeights) {
  Gemma4Model hf = load_gemma4(ref_dir("hf_multimodal"));
  Gemma4Model q = load_gemma4(ref_dir("mlx_mixed"));
  EXPECT_EQ(q.report.layout, "mlx-multimodal");
  EXPECT_EQ(q.files->files().size(), 1u);
  std::vector<float> a(512), b(512);
  auto compare = [&](const Matrix& x, const Matrix& y, int bits, int group) {
    ASSERT_EQ(y.bits, bits) << y.name;
    ASSERT_EQ(y.group_size, group) << y.name;
    ASSERT_EQ(x.rows, y.rows);
    ASSERT_EQ(x.cols, y.cols);
    float worst = 0, amax = 0;
    for (int64_t r = 0; r < x.rows; ++r) {
      dequantize_row(x, r, a.data());
      dequantize_row(y, r, b.data());
      for (int64_t c = 0; c < x.cols; ++c) {
        worst = std::max(worst, std::fabs(a[size_t(c)] - b[size_t(c)]));
        amax = std::max(amax, std::fabs(a[size_t(c)]));
      }
    }
    // Half a step of a group spanning at most 2*amax, widened for the zero nudge of the scale
    // and bf16 scale/bias rounding; a wrong row or slice errs by ~amax.
    EXPECT_LT(worst, 1.5f * amax / float((1 << bits) - 1) + amax / 128.0f) << y.name;
  };
  compare(hf.embed_tokens, q.embed_tokens, 4, 32);
  compare(hf.embed_tokens_per_layer, q.embed_tokens_per_layer, 4, 32);
  compare(hf.per_layer_model_projection, q.per_layer_model_projection, 4, 32);
  for (size_t i = 0; i < hf.layers.size(); ++i) {
    compare(hf.layers[i].q_proj, q.layers[i].q_proj, 4, 32);
    compare(hf.layers[i].o_proj, q.layers[i].o_proj, 4, 32);
    compare(hf.layers[i].gate_proj, q.layers[i].gate_proj, 8, 64);
    compare(hf.layers[i].down_proj, q.layers[i].down_proj, 8, 64);
    compare(hf.layers[i].per_layer_projection, q.layers[i].per_layer_projection, 4, 32);
    EXPECT_EQ(hf.layers[i].layer_scalar, q.layers[i].layer_scalar);
    EXPECT_EQ(hf.layers[i].q_norm, q.layers[i].q_norm);
  }
}

}  // namespace
}  // namespace ember

namespace ember {
namespace {

// mlx-lm's mxfp4 / nvfp4 / mxfp8 quantization of the same weights: bound as their formats and,
// through the reference dequantization, close to the originals on average (fp4 keeps ~3
// significant bits; a wrong row or scale slice gives a mean error of the weights' own size).
TEST(Gemma4ReferenceLayouts, MlxFpModesMatchTransformersWeights) {
  Gemma4Model hf = load_gemma4(ref_dir("hf_multimodal"));
  struct Case {
    const char* dir;
    WeightFormat f;
    int group;
    float max_rel;
  };
  for (Case c : {Case{"mlx_mxfp4", WeightFormat::kMlxFp4, 32, 0.16f},
                 Case{"mlx_nvfp4", WeightFormat::kNvFp4, 16, 0.14f},
                 Case{"mlx_mxfp8", WeightFormat::kMlxFp8, 32, 0.04f}}) {
    Gemma4Model q = load_gemma4(ref_dir(c.dir));
    auto compare = [&](const Matrix& x, const Matrix& y) {
      ASSERT_EQ(y.format, c.f) << c.dir << " " << y.name;
      ASSERT_EQ(y.group_size, c.group) << y.name;
      ASSERT_EQ(y.biases, nullptr);
      std::vector<float> a(size_t(x.cols)), b(size_t(x.cols));
      double err = 0, mag = 0;
      for (int64_t r = 0; r < x.rows; ++r) {
        dequantize_row(x, r, a.data());
        dequantize_row(y, r, b.data());
        for (int64_t k = 0; k < x.cols; ++k)
          err += std::fabs(a[size_t(k)] - b[size_t(k)]), mag += std::fabs(a[size_t(k)]);
      }
      EXPECT_LT(err / mag, c.max_rel) << c.dir << " " << y.name;
    };
    compare(hf.embed_tokens, q.embed_tokens);
    compare(hf.per_layer_model_projection, q.per_layer_model_projection);
    for (size_t i = 0; i < hf.layers.size(); ++i) {
      compare(hf.layers[i].q_proj, q.layers[i].q_proj);
      compare(hf.layers[i].down_proj, q.layers[i].down_proj);
    }
  }
}

}  // namespace
}  // namespace ember
