// ember's Gemma 4 forward pass against logits computed by the reference implementations
// (transformers float32 eager for HF layouts, mlx-lm for MLX layouts) on the committed tiny
// fixtures (tests/fixtures/gemma4/README.md). Also: prefill vs token-by-token decode, chunked
// prefill, YOCO vs full computation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/npy.h"
#include "models/language_model.h"

namespace ember {
namespace {

const std::string kFixtures = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4/";

std::vector<int32_t> fixture_ids(const std::string& dir) {
  std::ifstream in(dir + "/inputs.json");
  auto j = nlohmann::json::parse(in);
  return j["ids"].get<std::vector<int32_t>>();
}

struct Diff {
  double max_abs = 0;
  int64_t top1_mismatch = 0;
};

Diff compare(const std::vector<float>& got, const std::vector<float>& want, int64_t rows, int64_t vocab) {
  Diff d;
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = got.data() + r * vocab;
    const float* w = want.data() + r * vocab;
    int64_t ag = 0, aw = 0;
    for (int64_t v = 0; v < vocab; ++v) {
      d.max_abs = std::max(d.max_abs, double(std::fabs(g[v] - w[v])));
      if (g[v] > g[ag]) ag = v;
      if (w[v] > w[aw]) aw = v;
    }
    d.top1_mismatch += ag != aw;
  }
  return d;
}

// Tolerance: the two references agree to <= 1.4e-4 (crosscheck.json); ember computes in f32 with
// f32 accumulation, so 1e-3 max-abs and identical argmax at every position.
constexpr double kTol = 1e-3;

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, AllPositionLogitsMatchReference) {
  const std::string dir = kFixtures + GetParam();
  ModelLoadOptions lo;
  lo.threads = 2;
  lo.f32_reference = true;
  auto model = load_language_model(dir, lo);
  auto ids = fixture_ids(dir);
  NpyArray ref = read_npy(dir + "/logits.npy");
  const int64_t T = int64_t(ids.size()), V = model->summary().vocab_size;
  ASSERT_EQ(ref.shape, (std::vector<int64_t>{T, V}));
  const auto want = ref.values<float>();

  // One prefill of the whole prompt, every position.
  auto st = model->new_state(4096, 512);
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  std::vector<float> got;
  model->forward(ids.data(), T, *st, fo, &got);
  ASSERT_EQ(int64_t(got.size()), T * V);
  Diff d = compare(got, want, T, V);
  std::printf("[ golden ] %-24s max_abs %.3g top1 mismatches %lld\n", GetParam().c_str(), d.max_abs, (long long)d.top1_mismatch);
  EXPECT_LE(d.max_abs, kTol) << GetParam();
  EXPECT_EQ(d.top1_mismatch, 0) << GetParam();

  // Token-by-token decode: each step's last logits equal the reference row.
  auto st2 = model->new_state(4096, 512);
  std::vector<float> step, all;
  fo.logits = LogitsMode::kLast;
  for (int64_t t = 0; t < T; ++t) {
    model->forward(ids.data() + t, 1, *st2, fo, &step);
    all.insert(all.end(), step.begin(), step.end());
  }
  d = compare(all, want, T, V);
  EXPECT_LE(d.max_abs, kTol) << GetParam() << " (token by token)";
  EXPECT_EQ(d.top1_mismatch, 0) << GetParam() << " (token by token)";

  // Chunked prefill (chunks of 3, smaller than the window) with YOCO on: last logits match.
  auto st3 = model->new_state(4096, 3);
  model->forward(ids.data(), T, *st3, fo, &step);
  std::vector<float> last(want.end() - V, want.end());
  d = compare(step, last, 1, V);
  EXPECT_LE(d.max_abs, kTol) << GetParam() << " (chunked + YOCO)";
  EXPECT_EQ(d.top1_mismatch, 0);

  // After a YOCO prefill, decoding continues correctly (the shared layers' skipped rows wrote
  // no cache, so nothing is missing).
  auto st4 = model->new_state(4096, 512);
  model->forward(ids.data(), T - 1, *st4, fo, &step);
  model->forward(ids.data() + T - 1, 1, *st4, fo, &step);
  d = compare(step, last, 1, V);
  EXPECT_LE(d.max_abs, kTol) << GetParam() << " (YOCO prefill then decode)";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Golden,
                         ::testing::Values("hf_text_e2b_bf16", "hf_mm_e2b_bf16", "hf_mm_e2b_f32",
                                           "hf_text_e4b_long_bf16", "hf_text_moe_keqv_bf16", "mlx_text_e2b_4bit",
                                           "mlx_text_e4b_8bit_gs32", "mlx_mm_e2b_4bit", "mlx_mm_e2b_mixed"));

}  // namespace
}  // namespace ember
