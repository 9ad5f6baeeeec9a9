// Streaming memory-read bandwidth of this machine: every thread sums its contiguous part of a
// large buffer (read-only, 64-bit adds, several independent streams per thread), R timed
// passes after one untimed pass that faults the pages in. The median GB/s is the "measured
// bandwidth" of docs/benchmarks.md (decode roofline = GB/s ÷ bytes touched per token).
//
//   build/bin/bench_bandwidth [--mib 1024] [--threads N] [--reps 9] [--json]
//
// The buffer must be much larger than the last-level cache (default 1 GiB).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/threadpool.h"

namespace {

struct Args {
  int64_t mib = 1024;
  int threads = 0, reps = 9;
  bool json = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "bench_bandwidth: %s\nusage: bench_bandwidth [--mib N] [--threads N] [--reps N] [--json]\n",
               why);
  std::exit(2);
}

int64_t parse_int(const char* flag, const char* v, int64_t lo, int64_t hi) {
  char* end = nullptr;
  const long long x = v ? std::strtoll(v, &end, 10) : 0;
  if (!v || *end != '\0' || x < lo || x > hi) usage((std::string(flag) + ": expects an integer in range").c_str());
  return x;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (f == "--mib") a.mib = parse_int("--mib", v, 16, 1 << 20), ++i;
    else if (f == "--threads") a.threads = int(parse_int("--threads", v, 0, 4096)), ++i;
    else if (f == "--reps") a.reps = int(parse_int("--reps", v, 1, 1000)), ++i;
    else if (f == "--json") a.json = true;
    else usage(("unknown argument " + f).c_str());
  }
  return a;
}

// Sum of the 64-bit words [b, e) with eight independent accumulators (four cache lines in
// flight per iteration), so the loop is limited by memory, not by the add latency.
uint64_t sum_words(const uint64_t* p, int64_t b, int64_t e) {
  uint64_t s[8] = {};
  int64_t i = b;
  for (; i + 32 <= e; i += 32)
    for (int k = 0; k < 32; ++k) s[k & 7] += p[i + k];
  for (; i < e; ++i) s[0] += p[i];
  uint64_t t = 0;
  for (uint64_t x : s) t += x;
  return t;
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  ember::ThreadPool pool(a.threads);
  const int64_t words = a.mib * (1 << 20) / 8;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[size_t(words)]);
  for (int64_t i = 0; i < words; ++i) buf[size_t(i)] = uint64_t(i) * 0x9E3779B97F4A7C15ull;

  std::vector<uint64_t> part(size_t(pool.size()) * 8);  // one cache line per chunk: no false sharing
  std::vector<double> gbs;
  uint64_t sink = 0;
  const int64_t per = (words + pool.size() - 1) / pool.size();
  for (int r = 0; r <= a.reps; ++r) {
    const double t0 = now_s();
    pool.parallel_for(pool.size(), [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; ++c)
        part[size_t(c) * 8] = sum_words(buf.get(), c * per, std::min(words, (c + 1) * per));
    });
    const double dt = now_s() - t0;
    for (int c = 0; c < pool.size(); ++c) sink += part[size_t(c) * 8];
    if (r > 0) gbs.push_back(double(words) * 8.0 / dt / 1e9);  // pass 0 only warms up
  }
  std::vector<double> s = gbs;
  std::sort(s.begin(), s.end());
  const double med = s.size() % 2 ? s[s.size() / 2] : 0.5 * (s[s.size() / 2 - 1] + s[s.size() / 2]);
  if (a.json) {
    std::printf("{\"threads\": %d, \"buffer_bytes\": %lld, \"reps\": %d, \"read_gb_s\": %.3f, \"min_gb_s\": %.3f, "
                "\"max_gb_s\": %.3f, \"checksum\": %llu}\n",
                pool.size(), (long long)(words * 8), a.reps, med, s.front(), s.back(), (unsigned long long)sink);
  } else {
    std::printf("stream read, %d threads, %lld MiB buffer, %d passes: median %.2f GB/s (min %.2f, max %.2f)"
                " [checksum %llx]\n",
                pool.size(), (long long)a.mib, a.reps, med, s.front(), s.back(), (unsigned long long)sink);
  }
  return 0;
}
