// The Gemma 4 forward pass on the CUDA backend against the reference logits of the committed
// fixtures (same checks and tolerance as gemma4_golden_test.cc: max-abs <= 1e-3 and identical
// argmax at every position; prefill of all positions, token-by-token decode, chunked
// prefill with YOCO). Prefill runs the f32 cuBLAS path (T > 8), decode the GEMV kernels.
// Compiled only in CUDA builds; skipped without a GPU.
#ifdef EMBER_HAVE_CUDA
#include <gtest/gtest.h>

#include "util/golden.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cuda/cuda_backend.h"
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


constexpr double kTol = 1e-3;

// (fixture, backend name): "cuda" launches every op, "cuda:graph" records each step as a CUDA
// graph (exec-updated between steps); both must match.
class CudaGolden : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(CudaGolden, LogitsMatchReference) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  const std::string fixture = std::get<0>(GetParam()), be = std::get<1>(GetParam());
  const std::string dir = kFixtures + fixture;
  ModelLoadOptions lo;
  lo.backend = be;
  lo.f32_reference = true;
  auto model = load_language_model(dir, lo);
  auto ids = fixture_ids(dir);
  const auto want = read_npy(dir + "/logits.npy").values<float>();
  const int64_t T = int64_t(ids.size()), V = model->summary().vocab_size;
  ASSERT_EQ(int64_t(want.size()), T * V);

  auto st = model->new_state(4096, 512);
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  std::vector<float> got;
  model->forward(ids.data(), T, *st, fo, &got);
  testing::LogitsDiff d = testing::compare_logits(got.data(), want.data(), T, V);
  std::printf("[ cuda golden ] %-24s prefill max_abs %.3g top1 mismatches %lld\n", (fixture + " " + be).c_str(), d.max_abs,
              (long long)d.argmax_mismatches);
  EXPECT_LE(d.max_abs, kTol) << fixture << " " << be;
  EXPECT_EQ(d.argmax_mismatches, 0) << fixture << " " << be;

  auto st2 = model->new_state(4096, 512);
  std::vector<float> step, all;
  fo.logits = LogitsMode::kLast;
  for (int64_t t = 0; t < T; ++t) {
    model->forward(ids.data() + t, 1, *st2, fo, &step);
    all.insert(all.end(), step.begin(), step.end());
  }
  d = testing::compare_logits(all.data(), want.data(), T, V);
  std::printf("[ cuda golden ] %-24s decode  max_abs %.3g top1 mismatches %lld\n", (fixture + " " + be).c_str(), d.max_abs,
              (long long)d.argmax_mismatches);
  EXPECT_LE(d.max_abs, kTol) << fixture << " " << be << " (token by token)";
  EXPECT_EQ(d.argmax_mismatches, 0) << fixture << " " << be << " (token by token)";

  auto st3 = model->new_state(4096, 3);  // chunks of 3 (GEMV path) with YOCO
  model->forward(ids.data(), T, *st3, fo, &step);
  std::vector<float> last(want.end() - V, want.end());
  d = testing::compare_logits(step.data(), last.data(), 1, V);
  EXPECT_LE(d.max_abs, kTol) << fixture << " " << be << " (chunked + YOCO)";
  EXPECT_EQ(d.argmax_mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaGolden,
                         ::testing::Combine(::testing::Values("hf_text_e2b_bf16", "hf_mm_e2b_bf16", "hf_mm_e2b_f32",
                                                              "hf_text_e4b_long_bf16", "hf_text_moe_keqv_bf16",
                                                              "mlx_text_e2b_4bit", "mlx_text_e4b_8bit_gs32",
                                                              "mlx_mm_e2b_4bit", "mlx_mm_e2b_mixed"),
                                            ::testing::Values("cuda", "cuda:graph")));

TEST(CudaBackendName, UnknownVariantIsAnError) {
  EXPECT_THROW(make_backend("cuda:int3"), Error);
  EXPECT_THROW(make_backend("cudax"), Error);
  EXPECT_THROW(make_backend("cuda:bf16:"), Error);
}

}  // namespace
}  // namespace ember
#endif  // EMBER_HAVE_CUDA
