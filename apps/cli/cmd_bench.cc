// ember bench MODEL [-p 512] [-n 128] [-r 5] [-t THREADS] [--json]
// Prompt processing (pp: one prefill of -p tokens from an empty cache) and text generation
// (tg: -n single-token decode steps after BOS) throughput, measured like llama-bench: random
// token ids, one untimed warm-up (a full pp, 2 tg steps: every weight page touched), then -r
// timed repetitions, each from a fresh cache. Reports the median with min/max/stddev, and the process's peak RSS.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "command.h"
#include "ember/ember.hpp"

namespace {

struct BenchArgs {
  std::string model;
  int64_t n_prompt = 512, n_gen = 128;
  int reps = 5, threads = 0;
  std::string backend = "cpu";
  bool json = false;
  uint64_t seed = 1234;
};

struct Stats {
  std::vector<double> samples;  // tok/s of each repetition
  double median = 0, min = 0, max = 0, stddev = 0;
};

Stats summarize(std::vector<double> v) {
  Stats s;
  s.samples = v;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
  s.min = v.front();
  s.max = v.back();
  double mean = 0;
  for (double x : v) mean += x;
  mean /= double(n);
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  s.stddev = n > 1 ? std::sqrt(var / double(n - 1)) : 0.0;
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// BOS then uniform random ids (as llama-bench: speed must not depend on the text).
std::vector<int32_t> random_tokens(const ember::ModelInfo& info, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> dist(3, int32_t(info.vocab_size - 1));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[size_t(i)] = i == 0 ? info.bos_id : dist(rng);
  return ids;
}

// One prefill of `ids` from an empty cache; tok/s.
double run_pp(ember::Session& s, const std::vector<int32_t>& ids) {
  s.reset();
  const auto t0 = std::chrono::steady_clock::now();
  s.prefill(ids);
  return double(ids.size()) / seconds_since(t0);
}

// n_gen greedy decode steps after BOS (each step: sample, one forward of one token); tok/s.
double run_tg(ember::Session& s, int32_t bos, int64_t n_gen) {
  s.reset();
  const int32_t first[1] = {bos};
  s.prefill(first);
  ember::GenerateOptions g;
  g.sampling.temperature = 0.0f;
  g.max_tokens = n_gen;
  g.stop_on_eos = false;
  const auto t0 = std::chrono::steady_clock::now();
  const auto res = s.generate(g);
  const double dt = seconds_since(t0);
  if (int64_t(res.tokens.size()) != n_gen)
    throw ember::Error(ember::ErrorCode::kInternal, "bench: generation stopped after " +
                                                        std::to_string(res.tokens.size()) + " of " +
                                                        std::to_string(n_gen) + " tokens");
  return double(n_gen) / dt;
}

int64_t peak_rss_bytes() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return int64_t(ru.ru_maxrss) * 1024;  // Linux: kilobytes
}

// Bytes of the model on disk: the .gguf file, or every regular file of the directory.
int64_t model_file_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return int64_t(fs::file_size(path, ec));
  int64_t total = 0;
  for (const auto& e : fs::directory_iterator(path, ec))
    if (e.is_regular_file(ec)) total += int64_t(e.file_size(ec));
  return total;
}

nlohmann::json stats_json(const Stats& s) {
  return {{"median", s.median}, {"min", s.min}, {"max", s.max}, {"stddev", s.stddev}, {"samples", s.samples}};
}

void print_text(const BenchArgs& a, const ember::ModelInfo& info, const Stats& pp, const Stats& tg) {
  std::printf("model: %s (%s), backend: %s\n", a.model.c_str(), info.architecture.c_str(), info.backend.c_str());
  std::printf("| %-8s | %5s | %12s | %22s |\n", "test", "reps", "median t/s", "min .. max (stddev)");
  auto row = [&](const char* name, int64_t n, const Stats& s) {
    char test[32];
    std::snprintf(test, sizeof test, "%s%lld", name, (long long)n);
    char spread[64];
    std::snprintf(spread, sizeof spread, "%.2f .. %.2f (%.2f)", s.min, s.max, s.stddev);
    std::printf("| %-8s | %5d | %12.2f | %22s |\n", test, a.reps, s.median, spread);
  };
  if (a.n_prompt > 0) row("pp", a.n_prompt, pp);
  if (a.n_gen > 0) row("tg", a.n_gen, tg);
  std::printf("peak RSS: %.1f MiB (model files %.1f MiB)\n", double(peak_rss_bytes()) / 1048576.0,
              double(model_file_bytes(a.model)) / 1048576.0);
}

int run_bench(const BenchArgs& a) {
  if (a.n_prompt == 0 && a.n_gen == 0)
    throw ember::Error(ember::ErrorCode::kInvalidArgument, "bench: -p and -n are both 0, nothing to measure");
  ember::ModelOptions mo;
  mo.threads = a.threads;
  mo.backend = a.backend;
  mo.context_length = std::max<int64_t>(a.n_prompt, a.n_gen + 1) + 1;
  auto model = ember::Model::load(a.model, mo);
  const auto& info = model->info();
  auto session = model->new_session();
  const auto ids = random_tokens(info, a.n_prompt, a.seed);

  std::vector<double> pp, tg;
  for (int r = -1; r < a.reps; ++r) {  // r = -1: warm-up, not recorded
    // Interleaved like llama-bench's repetitions: each repetition runs pp, then tg.
    if (a.n_prompt > 0) {
      const double v = run_pp(*session, ids);
      if (r >= 0) pp.push_back(v);
    }
    if (a.n_gen > 0) {
      const double v = run_tg(*session, info.bos_id, r < 0 ? std::min<int64_t>(a.n_gen, 2) : a.n_gen);
      if (r >= 0) tg.push_back(v);
    }
  }
  const Stats pps = summarize(pp), tgs = summarize(tg);
  if (!a.json) {
    print_text(a, info, pps, tgs);
    return 0;
  }
  nlohmann::json j = {{"model", a.model},
                      {"architecture", info.architecture},
                      {"backend", info.backend},
                      {"threads", a.threads},
                      {"n_prompt", a.n_prompt},
                      {"n_gen", a.n_gen},
                      {"repetitions", a.reps},
                      {"pp_tok_s", pps.median},
                      {"tg_tok_s", tgs.median},
                      {"pp", stats_json(pps)},
                      {"tg", stats_json(tgs)},
                      {"peak_rss_bytes", peak_rss_bytes()},
                      {"model_file_bytes", model_file_bytes(a.model)}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

ember::cli::Command bench_cmd("bench", [](CLI::App& app) {
  auto a = std::make_shared<BenchArgs>();
  auto* sub = app.add_subcommand("bench", "Measure prompt-processing and generation speed (tok/s) and peak RSS");
  sub->add_option("model", a->model, "Model directory or .gguf file")->required();
  sub->add_option("-p,--n-prompt", a->n_prompt, "Prompt tokens of the pp test (0 = skip)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  sub->add_option("-n,--n-gen", a->n_gen, "Generated tokens of the tg test (0 = skip)")
      ->check(CLI::Range(int64_t(0), int64_t(1) << 20));
  sub->add_option("-r,--repetitions", a->reps, "Timed repetitions of each test (after one warm-up)")
      ->check(CLI::Range(1, 1000));
  sub->add_option("-t,--threads", a->threads, "CPU threads (0 = one per core)")->check(CLI::Range(0, 4096));
  sub->add_option("--backend", a->backend, "cpu or cuda");
  sub->add_option("--seed", a->seed, "Seed of the random prompt tokens");
  sub->add_flag("--json", a->json, "Print one JSON object instead of the table");
  return [a] { return run_bench(*a); };
});

}  // namespace
