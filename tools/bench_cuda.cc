// CUDA backend benchmarks (docs/benchmarks-cuda.md).
//
//   bench_cuda gemv  [--reps 50]
//       GEMV (T = 1) GB/s for the Gemma 4 E2B/E4B matrix shapes in MLX affine 4/8-bit (gs 64)
//       and bf16, against a device-to-device copy (bytes read + written). Each shape is
//       instantiated as enough distinct matrices (>= 1 GB in all) that L2 cannot hold them;
//       one rep runs all of them, captured in a CUDA graph (no launch gaps) and, for
//       comparison, launched one by one.
//   bench_cuda model DIR [--backend cuda] [--prompt 128] [--decode 128] [--ctx 4096] [--warmup 1]
//       Load, prefill `prompt` random tokens, then `decode` greedy steps of one token;
//       prints prefill tok/s and decode ms/token (median) and tok/s. Works with any backend.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/dtype.h"
#include "core/weights.h"
#include "ember/error.hpp"
#include "models/language_model.h"
#ifdef EMBER_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#endif

namespace ember {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int bench_model(int argc, char** argv) {
  if (argc < 3) throw Error(ErrorCode::kInvalidArgument, "usage: bench_cuda model DIR [options]");
  std::string dir = argv[2], backend = "cuda";
  int64_t prompt = 128, decode = 128, ctx = 4096, warmup = 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--backend") backend = v;
    else if (k == "--prompt") prompt = std::stoll(v);
    else if (k == "--decode") decode = std::stoll(v);
    else if (k == "--ctx") ctx = std::stoll(v);
    else if (k == "--warmup") warmup = std::stoll(v);
    else throw Error(ErrorCode::kInvalidArgument, "unknown option " + k);
  }
  ModelLoadOptions lo;
  lo.backend = backend;
  double t0 = now_s();
  auto model = load_language_model(dir, lo);
  const double t_load = now_s() - t0;
  const auto& sm = model->summary();
  std::printf("model %s: %lld layers, hidden %lld, vocab %lld; backend %s; load %.2f s\n", dir.c_str(),
              (long long)sm.n_layers, (long long)sm.hidden_size, (long long)sm.vocab_size,
              model->backend().description().c_str(), t_load);
  std::mt19937 rng(7);
  std::vector<int32_t> ids(static_cast<size_t>(prompt));
  for (auto& x : ids) x = int32_t(3 + rng() % uint32_t(sm.vocab_size - 3));
  ForwardOptions fo;
  fo.logits = LogitsMode::kLast;
  std::vector<float> logits;
  auto argmax = [&] { return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin()); };
  // Warm-up pass (uploads the weights, sizes the workspaces), not timed.
  if (warmup) {
    auto st = model->new_state(ctx, 512);
    model->forward(ids.data(), std::min<int64_t>(prompt, 16), *st, fo, &logits);
    int32_t tok = argmax();
    for (int i = 0; i < 4; ++i) model->forward(&tok, 1, *st, fo, &logits);
  }
  auto st = model->new_state(ctx, 512);
  t0 = now_s();
  model->forward(ids.data(), prompt, *st, fo, &logits);
  const double t_prefill = now_s() - t0;
  std::printf("prefill %lld tokens: %.1f ms, %.0f tok/s\n", (long long)prompt, t_prefill * 1e3,
              double(prompt) / t_prefill);
  int32_t tok = argmax();
  std::vector<double> step;
  t0 = now_s();
  for (int64_t i = 0; i < decode; ++i) {
    const double a = now_s();
    model->forward(&tok, 1, *st, fo, &logits);  // includes the logits download (sync)
    tok = argmax();
    step.push_back(now_s() - a);
  }
  const double total = now_s() - t0;
  std::sort(step.begin(), step.end());
  const double med = step.empty() ? 0 : step[step.size() / 2];
  std::printf("decode %lld tokens after a %lld-token prompt: median %.3f ms/token (%.1f tok/s), mean %.1f tok/s\n",
              (long long)decode, (long long)prompt, med * 1e3, med > 0 ? 1.0 / med : 0.0,
              total > 0 ? double(decode) / total : 0.0);
#ifdef EMBER_HAVE_CUDA
  const std::string gs = cuda_graph_stats(model->backend());
  if (!gs.empty()) std::printf("  %s\n", gs.c_str());
#endif
  return 0;
}

#ifdef EMBER_HAVE_CUDA
struct Shape {
  const char* what;
  int64_t rows, cols;
  int bits;  // 0 = bf16
};

// One host buffer of random bytes; matrices are views at distinct offsets (so each is a
// distinct device mirror).
int bench_gemv(int argc, char** argv) {
  int reps = 50;
  for (int i = 2; i + 1 < argc; i += 2)
    if (std::string(argv[i]) == "--reps") reps = std::stoi(argv[i + 1]);
  auto be = make_backend("cuda");
  std::printf("%s\n", be->description().c_str());
  {  // roofline: device-to-device copy of 1 GiB
    const size_t n = size_t(1) << 28;
    BackendBuffer a(*be, n), b(*be, n);
    const double ms = cuda_time_ms(*be, [&] { be->copy(b.data(), a.data(), n); }, 20, false);
    std::printf("d2d copy 1 GiB: %.3f ms, %.0f GB/s (read + write)\n", ms, 2.0 * double(n) * 4 / ms / 1e6);
  }
  const Shape shapes[] = {
      {"E2B q_proj (sliding)", 2048, 1536, 4}, {"E2B mlp gate/up", 6144, 1536, 4},
      {"E2B mlp down", 1536, 6144, 4},         {"E2B mlp gate (double wide)", 12288, 1536, 4},
      {"E2B mlp down (double wide)", 1536, 12288, 4}, {"E2B ple projection", 8960, 1536, 4},
      {"E2B lm_head", 262144, 1536, 4},        {"E4B mlp gate/up", 10240, 2560, 4},
      {"E4B mlp down", 2560, 10240, 4},        {"E4B lm_head", 262144, 2560, 4},
      {"E2B mlp gate/up q8", 6144, 1536, 8},   {"E2B lm_head q8", 262144, 1536, 8},
      {"E2B mlp gate/up bf16", 6144, 1536, 0}, {"E2B mlp down bf16", 1536, 6144, 0},
      {"E2B lm_head bf16", 262144, 1536, 0},
  };
  const size_t pool_bytes = size_t(1200) << 20;
  std::vector<uint8_t> pool(pool_bytes);
  std::mt19937_64 rng(1);
  for (size_t i = 0; i + 8 <= pool.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(pool.data() + i, &v, 8);
  }
  std::vector<uint16_t> sb(size_t(64) << 20);  // bf16 scales/biases/dense values: small, finite
  for (size_t i = 0; i < sb.size(); ++i) sb[i] = f32_to_bf16(0.001f * float(int(i % 97) - 48));
  std::printf("%-30s %8s %8s %5s %9s %7s %10s %11s %8s %8s %8s\n", "shape", "rows", "cols", "fmt", "MB/matrix",
              "copies", "GB/s graph", "GB/s launch", "R=1", "R=2", "R=4");
  for (const Shape& s : shapes) {
    Matrix m;
    m.rows = s.rows, m.cols = s.cols;
    size_t mat_bytes;
    if (s.bits) {
      m.format = WeightFormat::kMlxAffine, m.bits = s.bits, m.group_size = 64, m.dtype = m.scale_dtype = DType::BF16;
      m.row_bytes = size_t(s.cols * s.bits / 8);
      mat_bytes = size_t(s.rows) * m.row_bytes + 2 * size_t(s.rows * s.cols / 64) * 2;
    } else {
      m.format = WeightFormat::kDense, m.dtype = DType::BF16;
      m.row_bytes = size_t(s.cols) * 2;
      mat_bytes = size_t(s.rows) * m.row_bytes;
    }
    const size_t code_bytes = size_t(s.rows) * m.row_bytes;
    const size_t sc_elems = s.bits ? size_t(s.rows * s.cols / 64) : 0;
    int copies = int(std::max<size_t>(1, std::min<size_t>((size_t(1) << 30) / mat_bytes + 1, 512)));
    while (copies > 1 && size_t(copies) * 256 + code_bytes > pool_bytes) --copies;
    if (code_bytes > pool_bytes) continue;
    std::vector<Matrix> ms;
    for (int c = 0; c < copies; ++c) {
      Matrix v = m;
      v.name = std::string(s.what) + "#" + std::to_string(c);
      if (s.bits) {
        v.data = pool.data() + size_t(c) * 256;  // distinct pointers; contents need not differ
        if (sc_elems > sb.size()) continue;
        v.scales = reinterpret_cast<const uint8_t*>(sb.data());
        v.biases = reinterpret_cast<const uint8_t*>(sb.data());
      } else {
        // bf16 values from the random pool may be NaN/inf: harmless for timing.
        v.data = pool.data() + size_t(c) * 256;
      }
      ms.push_back(v);
    }
    {
    BackendBuffer x(*be, size_t(s.cols)), y(*be, size_t(s.rows));
    std::vector<float> xh(size_t(s.cols), 0.5f);
    be->upload(x.data(), xh.data(), xh.size());
    auto run = [&] {
      for (const Matrix& v : ms) be->matmul(v, x.data(), 1, y.data());
    };
    const double ms_graph = cuda_time_ms(*be, run, reps, true);
    const double ms_launch = cuda_time_ms(*be, run, std::max(3, reps / 5), false);
    const double bytes = double(mat_bytes) * double(ms.size());
    double forced[3];
    for (int i = 0; i < 3; ++i) {  // rows per warp forced to 1, 2, 4 (graph timing)
      cuda_set_gemv_rows_per_warp(1 << i);
      forced[i] = bytes / cuda_time_ms(*be, run, std::max(3, reps / 3), true) / 1e6;
    }
    cuda_set_gemv_rows_per_warp(0);
    std::printf("%-30s %8lld %8lld %5s %9.2f %7zu %10.0f %11.0f %8.0f %8.0f %8.0f\n", s.what, (long long)s.rows,
                (long long)s.cols, s.bits == 4 ? "q4" : s.bits == 8 ? "q8" : "bf16", double(mat_bytes) / 1e6,
                ms.size(), bytes / ms_graph / 1e6, bytes / ms_launch / 1e6, forced[0], forced[1], forced[2]);
    }
    be.reset();  // free the mirrors of this shape before the next one
    be = make_backend("cuda");
  }
  return 0;
}
#endif

}  // namespace
}  // namespace ember

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "model") return ember::bench_model(argc, argv);
#ifdef EMBER_HAVE_CUDA
    if (cmd == "gemv") return ember::bench_gemv(argc, argv);
#else
    if (cmd == "gemv") {
      std::fprintf(stderr, "bench_cuda: built without CUDA\n");
      return 1;
    }
#endif
    std::fprintf(stderr, "usage: bench_cuda gemv [--reps N] | model DIR [--backend B] [--prompt N] [--decode N]\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda: %s\n", e.what());
    return 1;
  }
}
