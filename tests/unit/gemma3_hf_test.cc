// Gemma 3 from Hugging Face safetensors (tests/fixtures/gemma3_hf, made by
// tools/gen_gemma3_hf_fixture.py): ember's logits against transformers float32 eager, with the
// tolerance of the Gemma 4 golden tests (tests/util/golden.h), prefill and token by token.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "models/language_model.h"
#include "util/golden.h"
#include "util/test_paths.h"

namespace ember {
namespace {

const std::string kDir = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma3_hf/tiny_text_bf16";

TEST(Gemma3Hf, LogitsMatchTransformers) {
  ModelLoadOptions lo;
  lo.threads = 2;
  lo.f32_reference = true;
  auto m = load_language_model(kDir, lo);
  EXPECT_EQ(m->summary().architecture, "gemma3");
  testing::GoldenCase g = testing::load_golden(kDir);
  ASSERT_EQ(m->summary().vocab_size, g.vocab);
  const int64_t T = int64_t(g.ids.size());
  auto st = m->new_state(4096, 512);
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  std::vector<float> got;
  m->forward(g.ids.data(), T, *st, fo, &got);
  testing::LogitsDiff d = testing::compare_logits(got.data(), g.logits.data(), T, g.vocab);
  std::printf("[ gemma3 hf ] prefill %s\n", d.summary().c_str());
  EXPECT_TRUE(d.within(testing::kGoldenMaxAbsF32)) << d.summary();

  auto st2 = m->new_state(4096, 512);
  fo.logits = LogitsMode::kLast;
  std::vector<float> step, all;
  for (int64_t t = 0; t < T; ++t) {
    m->forward(g.ids.data() + t, 1, *st2, fo, &step);
    all.insert(all.end(), step.begin(), step.end());
  }
  d = testing::compare_logits(all.data(), g.logits.data(), T, g.vocab);
  EXPECT_TRUE(d.within(testing::kGoldenMaxAbsF32)) << "token by token: " << d.summary();
}

TEST(Gemma3Hf, DescribesTheCheckpoint) {
  ModelLoadOptions lo;
  lo.threads = 1;
  auto m = load_language_model(kDir, lo);
  const std::string d = m->describe(true);
  EXPECT_NE(d.find("layout text-only"), std::string::npos) << d;
  EXPECT_NE(d.find("model.layers.5.self_attn.q_norm.weight"), std::string::npos) << d;
}

// A config that does not fit the weights: every mismatch is reported at once, naming the tensor.
TEST(Gemma3Hf, MismatchedConfigListsEveryProblem) {
  namespace fs = std::filesystem;
  const std::string dir = testing::make_temp_dir("gemma3_hf");
  fs::copy_file(kDir + "/model.safetensors", dir + "/model.safetensors");
  std::ifstream in(kDir + "/config.json");
  auto cfg = nlohmann::json::parse(in);
  cfg["intermediate_size"] = 128;  // the checkpoint has 96
  std::ofstream(dir + "/config.json") << cfg.dump();
  std::string err;
  try {
    load_language_model(dir, ModelLoadOptions{});
  } catch (const Error& e) {
    err = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kInvalidCheckpoint);
  }
  fs::remove_all(dir);
  EXPECT_NE(err.find("18 problems"), std::string::npos) << err;  // gate, up, down x 6 layers
  EXPECT_NE(err.find("model.layers.0.mlp.down_proj.weight: wrong shape (expected [64, 128], got [64, 96])"),
            std::string::npos)
      << err;
}

}  // namespace
}  // namespace ember
