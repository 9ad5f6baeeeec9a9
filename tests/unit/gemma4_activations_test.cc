// The named intermediate activations ember dumps (ForwardOptions::hook; `ember logits --dump`)
// equal the reference's on the HF text fixtures (act_*.npy, transformers float32 eager), so a
// divergence can be pinned to the first op that differs; and the YOCO switch: with it on, the
// KV-shared layers see only the last prompt row, with it off every row, and the last logits and
// the decode that follows agree.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/npy.h"
#include "models/language_model.h"

namespace ember {
namespace {

const std::string kFixtures = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4/";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

struct Dump {
  int64_t rows = 0, cols = 0;
  std::vector<float> data;
};

std::unique_ptr<LanguageModel> load(const std::string& dir) {
  ModelLoadOptions lo;
  lo.threads = 2;
  lo.f32_reference = true;
  return load_language_model(dir, lo);
}

// Runs `ids` through a fresh state and records every dumped activation.
std::map<std::string, Dump> run_dumped(const LanguageModel& m, const std::vector<int32_t>& ids,
                                       LogitsMode mode, bool yoco, std::vector<float>* logits) {
  std::map<std::string, Dump> dumps;
  ActivationHook hook = [&](const std::string& name, const float* x, int64_t rows, int64_t cols) {
    dumps[name] = Dump{rows, cols, std::vector<float>(x, x + rows * cols)};
  };
  auto st = m.new_state(4096, 512);
  ForwardOptions fo;
  fo.logits = mode;
  fo.yoco = yoco;
  fo.hook = &hook;
  m.forward(ids.data(), int64_t(ids.size()), *st, fo, logits);
  return dumps;
}

// max |got - want| / (1 + |want|) over the elements.
double rel_err(const float* got, const float* want, size_t n) {
  double e = 0;
  for (size_t i = 0; i < n; ++i)
    e = std::max(e, double(std::fabs(got[i] - want[i])) / (1.0 + std::fabs(want[i])));
  return e;
}

// Tolerance: the logits of these runs match to 1e-3 (gemma4_golden_test); activations are
// compared relative to their magnitude at the same level.
constexpr double kTol = 1e-3;

class Activations : public ::testing::TestWithParam<std::string> {};

TEST_P(Activations, DumpsMatchTheReference) {
  const std::string dir = kFixtures + GetParam();
  auto m = load(dir);
  const auto ids = read_json(dir + "/inputs.json")["ids"].get<std::vector<int32_t>>();
  const int64_t T = int64_t(ids.size()), H = m->summary().hidden_size, L = m->summary().n_layers;
  std::vector<float> logits;
  auto d = run_dumped(*m, ids, LogitsMode::kAll, true, &logits);

  auto check = [&](const std::string& name, const float* want, int64_t rows, int64_t cols) -> double {
    auto it = d.find(name);
    if (it == d.end()) {
      ADD_FAILURE() << GetParam() << ": no activation " << name;
      return 1e30;
    }
    const Dump& got = it->second;
    if (got.rows != rows || got.cols != cols) {
      ADD_FAILURE() << GetParam() << " " << name << ": [" << got.rows << ", " << got.cols << "], expected ["
                    << rows << ", " << cols << "]";
      return 1e30;
    }
    const double e = rel_err(got.data.data(), want, size_t(rows * cols));
    EXPECT_LE(e, kTol) << GetParam() << " " << name;
    return e;
  };
  NpyArray embed = read_npy(dir + "/act_embed.npy");
  check("embed", embed.values<float>().data(), T, H);
  if (std::ifstream(dir + "/act_ple.npy")) {
    NpyArray ple = read_npy(dir + "/act_ple.npy");  // [T, L, P]
    check("ple", ple.values<float>().data(), T, ple.shape[1] * ple.shape[2]);
  }
  NpyArray layers = read_npy(dir + "/act_layers.npy");  // [L, T, H]
  ASSERT_EQ(layers.shape, (std::vector<int64_t>{L, T, H}));
  const auto lv = layers.values<float>();
  double worst = 0;
  for (int64_t l = 0; l < L; ++l)
    worst = std::max(worst, check("layer." + std::to_string(l) + ".out", lv.data() + l * T * H, T, H));
  NpyArray fn = read_npy(dir + "/act_final_norm.npy");
  check("final_norm", fn.values<float>().data(), T, H);
  std::printf("[ acts ] %-24s worst layer output rel err %.3g\n", GetParam().c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(HfText, Activations,
                         ::testing::Values("hf_text_e2b_bf16", "hf_text_e4b_long_bf16",
                                           "hf_text_moe_keqv_bf16"));

TEST(Yoco, SwitchSkipsSharedLayersAndKeepsTheLogits) {
  for (const std::string fixture : {"hf_text_e2b_bf16", "hf_text_e4b_long_bf16"}) {
    const std::string dir = kFixtures + fixture;
    auto m = load(dir);
    const auto cfg = read_json(dir + "/config.json");
    const int64_t L = m->summary().n_layers, first_shared = L - cfg["num_kv_shared_layers"].get<int64_t>();
    ASSERT_GT(first_shared, 0);
    ASSERT_LT(first_shared, L);
    const auto ids = read_json(dir + "/inputs.json")["ids"].get<std::vector<int32_t>>();
    const int64_t T = int64_t(ids.size());
    std::vector<float> on, off;
    auto d_on = run_dumped(*m, ids, LogitsMode::kLast, true, &on);
    auto d_off = run_dumped(*m, ids, LogitsMode::kLast, false, &off);
    for (int64_t l = 0; l < L; ++l) {
      const std::string name = "layer." + std::to_string(l) + ".out";
      EXPECT_EQ(d_off[name].rows, T) << fixture << " " << name << " (YOCO off: every row)";
      EXPECT_EQ(d_on[name].rows, l < first_shared ? T : 1) << fixture << " " << name << " (YOCO on)";
    }
    ASSERT_EQ(on.size(), off.size());
    EXPECT_LE(rel_err(on.data(), off.data(), on.size()), 1e-5) << fixture;
    // The reference's last row, too.
    NpyArray ref = read_npy(dir + "/logits.npy");
    const auto want = ref.values<float>();
    double e = 0;
    for (size_t v = 0; v < on.size(); ++v)
      e = std::max(e, double(std::fabs(off[v] - want[want.size() - on.size() + v])));
    EXPECT_LE(e, 1e-3) << fixture;
  }
}

}  // namespace
}  // namespace ember
