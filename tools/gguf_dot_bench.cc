// Times GGUF matrix-vector products on real weights, one matrix per ggml type of a file:
// the f32 reference (gguf_dot_row), the scalar integer kernel and the AVX2 integer kernel,
// all single-threaded, in one process. Prints the median of N runs and weight GB/s.
//   gguf_dot_bench FILE [runs]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "io/gguf.h"
#include "quant/gguf_quants.h"

namespace {

using Clock = std::chrono::steady_clock;

template <typename F>
double median_ms(int runs, F&& f) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    auto a = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: gguf_dot_bench FILE [runs]\n");
    return 2;
  }
  int runs = argc > 2 ? std::atoi(argv[2]) : 9;
  try {
    auto f = ember::GgufFile::open(argv[1]);
    std::map<int, const ember::GgufTensor*> pick;  // largest 2-D tensor per type, capped at 4096 rows
    for (const auto& t : f->tensors())
      if (t.ne.size() == 2 && (!pick.count(t.type) || t.nbytes > pick[t.type]->nbytes)) pick[t.type] = &t;
    std::printf("%-6s %-28s %14s %10s %10s %10s %8s\n", "type", "tensor", "rows x cols", "f32 ref",
                "scalar q8", "avx2 q8", "avx2 GB/s");
    for (auto [type, t] : pick) {
      ember::Matrix m = f->matrix(*t);
      m.rows = std::min<int64_t>(m.rows, 4096);
      std::vector<float> x(size_t(m.cols)), y(size_t(m.rows));
      for (int64_t i = 0; i < m.cols; ++i) x[size_t(i)] = std::sin(0.1f * float(i));
      double ref = median_ms(runs, [&] {
        for (int64_t r = 0; r < m.rows; ++r) y[size_t(r)] = ember::gguf::gguf_dot_row(m, r, x.data());
      });
      double sc = -1, avx = -1;
      if (m.format == ember::WeightFormat::kGguf && ember::gguf::has_q8_dot(type)) {
        sc = median_ms(
            runs, [&] { ember::gguf::gguf_matvec(m, x.data(), y.data(), ember::gguf::DotImpl::kScalar); });
        if (ember::gguf::cpu_has_avx2())
          avx = median_ms(
              runs, [&] { ember::gguf::gguf_matvec(m, x.data(), y.data(), ember::gguf::DotImpl::kAvx2); });
      }
      double gbs = avx > 0 ? double(m.rows) * double(m.row_bytes) / (avx * 1e6) : 0;
      std::printf("%-6s %-28s %6lld x %-6lld %8.3fms %8.3fms %8.3fms %8.2f\n", t->type_name().c_str(),
                  t->name.c_str(), (long long)m.rows, (long long)m.cols, ref, sc, avx, gbs);
    }
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "gguf_dot_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
