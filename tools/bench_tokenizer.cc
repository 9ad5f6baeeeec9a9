// Tokenizer benchmark: load time and single-thread encode throughput.
//
//   build/bin/bench_tokenizer TOKENIZER_JSON[.gz] [TEXT_FILE ...]
//
// TEXT_FILE may be plain text, gzip, or a .jsonl[.gz] corpus whose lines hold {"text": ...}.
// Without text files a synthetic English + code text (~8 MB) is used. Encode is reported for
// the first pass (empty word cache) and for later passes (warm cache), best of 3, in thread CPU time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/gzip.h"
#include "ember/error.hpp"
#include "text/tokenizer.h"

namespace {

// Thread CPU time: on the shared, oversubscribed dev machines wall time measures the neighbours.
double now_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::string> load_texts(const std::string& path) {
  std::string data = ember::read_file_maybe_gzip(path);
  bool jsonl = path.find(".jsonl") != std::string::npos;
  if (!jsonl) return {data};
  std::vector<std::string> out;
  std::istringstream in(data);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    if (j.contains("text") && j["text"].is_string()) out.push_back(j["text"].get<std::string>());
  }
  return out;
}

std::string synthetic_text() {
  const char* prose =
      "The quick brown fox jumps over the lazy dog. In 1905, Albert Einstein published four papers "
      "that changed physics; the theory of special relativity, the photoelectric effect, Brownian "
      "motion and mass-energy equivalence (E = mc^2). Researchers continue to study these ideas today.\n";
  const char* code =
      "def fibonacci(n: int) -> int:\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n    a, b = 0, 1\n"
      "    for _ in range(n):\n        a, b = b, a + b\n    return a\n\n"
      "for (size_t i = 0; i < v.size(); ++i) {\n  total += v[i] * weights[i];  // accumulate\n}\n";
  std::string s;
  unsigned seed = 12345;
  while (s.size() < (8u << 20)) {
    seed = seed * 1103515245u + 12345u;
    s += (seed >> 16) % 3 == 0 ? code : prose;
    s += "Item #" + std::to_string(seed % 100000) + " costs $" + std::to_string(seed % 997) + ".\n";
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER_JSON[.gz] [TEXT_FILE ...]\n", argv[0]);
    return 2;
  }
  try {
    double best_load = 1e9, best_load_wall = 1e9;
    for (int i = 0; i < 3; ++i) {
      double t0 = now_s(), w0 = wall_s();
      ember::Tokenizer t = ember::Tokenizer::from_file(argv[1]);
      best_load = std::min(best_load, now_s() - t0);
      best_load_wall = std::min(best_load_wall, wall_s() - w0);
    }
    std::vector<std::string> texts;
    for (int i = 2; i < argc; ++i) {
      auto t = load_texts(argv[i]);
      texts.insert(texts.end(), t.begin(), t.end());
    }
    if (texts.empty()) texts.push_back(synthetic_text());
    size_t bytes = 0;
    for (auto& t : texts) bytes += t.size();

    ember::Tokenizer tok = ember::Tokenizer::from_file(argv[1]);
    std::printf(
        "load: %.3f s CPU, %.3f s wall (best of 3, includes reading/inflating the file); vocab %zu, merges "
        "%zu\n",
        best_load, best_load_wall, tok.vocab_size(), tok.merge_count());
    std::printf("(throughput below is per CPU second of the one encoding thread)\n");
    size_t ntok = 0;
    double cold = 0, warm = 1e9;
    for (int pass = 0; pass < 4; ++pass) {
      double t0 = now_s();
      ntok = 0;
      for (auto& t : texts) ntok += tok.encode(t).size();
      double dt = now_s() - t0;
      if (pass == 0) {
        cold = dt;
      } else {
        warm = std::min(warm, dt);
      }
    }
    std::printf("encode: %.2f MB in %zu texts -> %zu tokens (%.2f bytes/token)\n", bytes / 1e6, texts.size(),
                ntok, double(bytes) / double(ntok));
    std::printf("encode (first pass, cold cache): %.2f MB/s\n", bytes / 1e6 / cold);
    std::printf("encode (warm cache, best of 3):  %.2f MB/s\n", bytes / 1e6 / warm);
    std::vector<std::vector<int32_t>> ids;
    for (auto& t : texts) ids.push_back(tok.encode(t));
    double t0 = now_s();
    size_t out_bytes = 0;
    for (auto& v : ids) out_bytes += tok.decode(v).size();
    std::printf("decode: %.2f MB/s\n", out_bytes / 1e6 / (now_s() - t0));
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "bench_tokenizer: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
