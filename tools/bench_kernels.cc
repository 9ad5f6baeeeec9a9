// Throughput of the CPU matmul kernels on E2B-sized matrices vs the machine's streaming read
// bandwidth, measured in the same process.
//
//   build/bin/bench_kernels [--threads N] [--reps R] [--isa scalar|avx2|avx512[,..]] [--quick]
//                           [--only "head 262144x1536 q4"] [--describe]
// EMBER_ISA=scalar|avx2|avx512 caps the dispatch level (as for every ember binary).
//
// For each (matrix, format, T, ISA, activations): median / min / max wall time over R runs, effective GB/s
// (stored weight bytes incl. scales+biases ÷ time) and GFLOP/s (2·rows·cols·T ÷ time).
// Weights are random bytes (throughput does not depend on the values). cpu_ms is the median
// process CPU time of one call (all threads): on a shared, loaded machine it shows the kernel's
// own cost when wall time is inflated by waiting for a core. q4/q8/bf16 run twice:
// "/f32" = MatmulMode::kExact (f32 activations, FMA on unpacked weights), "/i8" or "/bf16" =
// kFast (activations rounded to int8 per group / to bf16, integer or bf16 dot products).
#include <emmintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/isa.h"
#include "backend/cpu/kernels.h"
#include "core/dtype.h"
#include "core/threadpool.h"
#include "ember/error.hpp"

using namespace ember;

namespace {

double cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Stats {
  double med, lo, hi;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

void fill_random(uint8_t* p, size_t n, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    std::memcpy(p + i, &s, 8);
  }
  for (; i < n; ++i) p[i] = uint8_t(i * 31);
}

// Scales/biases stored as bf16 of small magnitude so the sums stay finite.
void fill_bf16(std::vector<uint8_t>& v, size_t n, float base) {
  v.resize(n * 2);
  for (size_t i = 0; i < n; ++i) {
    uint16_t h = f32_to_bf16(base * float(1 + (i * 7) % 13) / 13.0f);
    std::memcpy(v.data() + 2 * i, &h, 2);
  }
}

struct BenchMatrix {
  std::vector<uint8_t> data, scales, biases;
  Matrix m;
};

BenchMatrix make(const std::string& fmt, int64_t rows, int64_t cols) {
  BenchMatrix b;
  Matrix& m = b.m;
  m.name = fmt;
  m.rows = rows, m.cols = cols;
  if (fmt == "f32" || fmt == "bf16") {
    m.format = WeightFormat::kDense;
    m.dtype = fmt == "f32" ? DType::F32 : DType::BF16;
    m.row_bytes = size_t(cols) * dtype_size(m.dtype);
    b.data.resize(m.row_bytes * size_t(rows));
    if (fmt == "bf16") {
      fill_bf16(b.data, size_t(rows * cols), 0.05f);
    } else {
      for (int64_t i = 0; i < rows * cols; ++i) {
        float v = float((i * 7) % 13) * 0.01f;
        std::memcpy(b.data.data() + 4 * i, &v, 4);
      }
    }
  } else {  // q4 / q8: MLX affine, group 64, bf16 scales and biases
    m.format = WeightFormat::kMlxAffine;
    m.bits = fmt == "q4" ? 4 : 8;
    m.group_size = 64;
    m.dtype = m.scale_dtype = DType::BF16;
    m.row_bytes = size_t(cols * m.bits / 8);
    b.data.resize(m.row_bytes * size_t(rows));
    fill_random(b.data.data(), b.data.size(), uint64_t(rows + cols));
    fill_bf16(b.scales, size_t(rows * cols / 64), 0.01f);
    fill_bf16(b.biases, size_t(rows * cols / 64), -0.05f);
    m.scales = b.scales.data();
    m.biases = b.biases.data();
  }
  m.data = b.data.data();
  return b;
}

// Streaming read: every thread XORs its share of a buffer far larger than the caches with
// SSE2 (baseline x86-64) loads, so the loop itself is not the bottleneck. Only the partial last
// block of a thread is read with one 16-byte load per 64 bytes (negligible).
struct StreamBuffer {
  std::vector<uint8_t> buf;
  explicit StreamBuffer(size_t n) : buf(n) { fill_random(buf.data(), n, 7); }
};

Stats read_bandwidth(ThreadPool& pool, const StreamBuffer& sb, int reps, double* gbs) {
  const std::vector<uint8_t>& buf = sb.buf;
  const size_t n = buf.size();
  std::vector<double> t;
  std::vector<uint64_t> part(size_t(pool.size()) * 8);
  const int64_t blocks = int64_t(n / 64);
  for (int r = 0; r < reps + 1; ++r) {
    double t0 = now_s();
    pool.parallel_for(blocks, [&](int64_t b, int64_t e) {
      // Four concurrent sequential streams per thread (like a 4-row matvec): one stream per
      // core leaves the memory system idle between prefetches.
      __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
      const __m128i* p = reinterpret_cast<const __m128i*>(buf.data());
      const int64_t q = (e - b) / 4;
      for (int64_t i = b; i < b + q; ++i) {
        for (int k = 0; k < 4; ++k) {
          a0 = _mm_xor_si128(a0, _mm_load_si128(p + 4 * (i + k * q)));
          a1 = _mm_xor_si128(a1, _mm_load_si128(p + 4 * (i + k * q) + 1));
          a2 = _mm_xor_si128(a2, _mm_load_si128(p + 4 * (i + k * q) + 2));
          a3 = _mm_xor_si128(a3, _mm_load_si128(p + 4 * (i + k * q) + 3));
        }
      }
      for (int64_t i = b + 4 * q; i < e; ++i) a0 = _mm_xor_si128(a0, _mm_load_si128(p + 4 * i));
      const __m128i x = _mm_xor_si128(_mm_xor_si128(a0, a1), _mm_xor_si128(a2, a3));
      part[size_t(b * pool.size() / blocks) * 8] = uint64_t(_mm_cvtsi128_si64(x));
    });
    double dt = now_s() - t0;
    if (r > 0) t.push_back(double(n) / dt / 1e9);  // first run warms the pages
  }
  uint64_t sink = 0;
  for (uint64_t v : part) sink ^= v;
  if (sink == 42) std::printf(" ");  // keep the loads observable
  Stats s = stats(t);
  *gbs = s.med;
  return s;
}

// Formats with a MatmulMode::kFast kernel (int8 activations for q4/q8, bf16 activations for bf16).
bool has_fast_mode(const char* fmt) { return std::string(fmt) != "f32"; }

// Attention at E2B shapes (8 query heads, 1 KV head): decode against a sliding (hd 256,
// 512 keys) and a full (hd 512, 4096 keys) cache, and a 512-token sliding prefill.
void bench_attention(CpuBackend& be, const std::vector<cpu::Isa>& isas, int reps) {
  struct Case {
    const char* name;
    int64_t T, S;
    int hd;
    int64_t window;
  };
  const Case cases[] = {{"decode slide 512", 1, 512, 256, 512},
                        {"decode full 4096", 1, 4096, 512, 0},
                        {"prefill slide 512", 512, 512, 256, 512}};
  std::printf("\n%-18s %5s %5s %4s %-7s %10s %10s %10s %8s\n", "attention", "T", "S", "hd", "isa", "med_ms",
              "min_ms", "max_ms", "cpu_ms");
  for (const Case& c : cases) {
    ref::AttentionShape sh;
    sh.T = c.T, sh.S = c.S, sh.n_heads = 8, sh.n_kv_heads = 1, sh.head_dim = c.hd, sh.window = c.window;
    std::vector<float> q(size_t(c.T * 8 * c.hd), 0.01f), K(size_t(c.S * c.hd), 0.02f), V(K.size(), 0.5f),
        out(q.size());
    std::vector<int32_t> qp(size_t(c.T)), kp(size_t(c.S));
    for (int64_t t = 0; t < c.T; ++t) qp[size_t(t)] = int32_t(c.S - c.T + t);
    for (int64_t s = 0; s < c.S; ++s) kp[size_t(s)] = int32_t(s);
    for (cpu::Isa isa : isas) {
      cpu::force_isa(isa);
      std::vector<double> t, tc;
      be.attention(sh, q.data(), K.data(), V.data(), qp.data(), kp.data(), out.data());
      for (int r = 0; r < reps; ++r) {
        double t0 = now_s(), c0 = cpu_s();
        be.attention(sh, q.data(), K.data(), V.data(), qp.data(), kp.data(), out.data());
        t.push_back(now_s() - t0);
        tc.push_back(cpu_s() - c0);
      }
      Stats s = stats(t), sc = stats(tc);
      std::printf("%-18s %5lld %5lld %4d %-7s %10.3f %10.3f %10.3f %8.3f\n", c.name, (long long)c.T,
                  (long long)c.S, c.hd, cpu::isa_name(isa), s.med * 1e3, s.lo * 1e3, s.hi * 1e3,
                  sc.med * 1e3);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, reps = 7;
  bool quick = false, describe = false;
  std::string only;  // substring filter on "<matrix> <fmt>"
  std::vector<cpu::Isa> isas;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::max(1, std::atoi(argv[++i]));
    else if (a == "--quick")
      quick = true;
    else if (a == "--describe")
      describe = true;
    else if (a == "--only" && i + 1 < argc)
      only = argv[++i];
    else if (a == "--isa" && i + 1 < argc) {
      std::string list = argv[++i];
      size_t p = 0;
      while (p <= list.size()) {
        size_t q = list.find(',', p);
        if (q == std::string::npos) q = list.size();
        isas.push_back(cpu::parse_isa(list.substr(p, q - p)));
        p = q + 1;
      }
    } else {
      std::fprintf(
          stderr,
          "usage: %s [--threads N] [--reps R] [--isa avx2,avx512] [--quick] [--only SUBSTR] [--describe]\n",
          argv[0]);
      return 2;
    }
  }
  if (isas.empty()) {
    if (cpu::detected_isa() >= cpu::Isa::kAvx2) isas.push_back(cpu::Isa::kAvx2);
    if (cpu::detected_isa() >= cpu::Isa::kAvx512) isas.push_back(cpu::Isa::kAvx512);
  }
  try {
    CpuBackend be(threads);
    if (describe) {  // just the backend line (used by tests/e2e/isa_env.sh)
      std::printf("%s\n", be.description().c_str());
      return 0;
    }
    std::printf("# %s; detected %s (vnni %d, bf16 %d); reps %d\n", be.description().c_str(),
                cpu::isa_name(cpu::detected_isa()), int(cpu::cpu_has_avx512_vnni()),
                int(cpu::cpu_has_avx512_bf16()), reps);
    // 256 MiB (8× the L3 of the development machine); measured once here and again right
    // before each matrix row ("%bw" uses the latest measurement: the machine is shared).
    StreamBuffer stream(size_t(256) << 20);
    double bw = 0;
    Stats sb = read_bandwidth(be.pool(), stream, reps, &bw);
    {  // hand-off latency of the pool: a parallel_for whose chunks do nothing
      std::vector<double> t;
      for (int r = 0; r < 5; ++r) {
        const int calls = 2000;
        double t0 = now_s();
        for (int i = 0; i < calls; ++i) be.pool().parallel_for(be.pool().size(), [](int64_t, int64_t) {});
        t.push_back((now_s() - t0) / calls);
      }
      Stats s = stats(t);
      std::printf("pool round trip: %.1f us (min %.1f, max %.1f)\n", s.med * 1e6, s.lo * 1e6, s.hi * 1e6);
    }
    std::printf("stream-read %d threads: %.1f GB/s (min %.1f, max %.1f)\n\n", be.pool().size(), sb.med, sb.lo,
                sb.hi);
    std::printf("%-16s %-5s %4s %-11s %10s %10s %10s %8s %8s %7s %8s\n", "matrix", "fmt", "T", "isa/acts",
                "med_ms", "min_ms", "max_ms", "GB/s", "GFLOP/s", "%bw", "cpu_ms");
    struct Shape {
      const char* name;
      int64_t rows, cols;
    };
    std::vector<Shape> shapes = {{"down 1536x6144", 1536, 6144}, {"gate 6144x1536", 6144, 1536}};
    if (!quick) shapes.push_back({"head 262144x1536", 262144, 1536});
    for (const Shape& sh : shapes) {
      for (const char* fmt : {"q4", "q8", "bf16", "f32"}) {
        if (sh.rows > 100000 && std::string(fmt) != "q4" && std::string(fmt) != "q8") continue;
        if (!only.empty() && (std::string(sh.name) + " " + fmt).find(only) == std::string::npos) continue;
        // Enough copies (>= 192 MB in all) that each timed call reads its weights from DRAM,
        // as decode does, not from the 32 MB L3 left warm by the previous call.
        BenchMatrix first = make(fmt, sh.rows, sh.cols);
        const double bytes = double(first.m.stored_row_bytes()) * double(sh.rows);
        const int copies = int(std::min<double>(16, std::ceil(192e6 / bytes)));
        std::vector<BenchMatrix> bms;
        bms.push_back(std::move(first));
        for (int c = 1; c < copies; ++c) bms.push_back(make(fmt, sh.rows, sh.cols));
        for (int64_t T : {int64_t(1), int64_t(16)}) {
          if (sh.rows > 100000 && T > 1) continue;
          std::vector<float> x(size_t(T * sh.cols)), y(size_t(T * sh.rows));
          for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 17) - 8) * 0.1f;
          const bool quant = has_fast_mode(fmt);
          for (cpu::Isa isa : isas)
            for (MatmulMode mode : {MatmulMode::kExact, MatmulMode::kFast}) {
              // kFast rows only where a different kernel runs (int8 / bf16 activations).
              const bool fast_kernel = fmt[0] == 'q'
                                           ? cpu::select_int8_kernel(bms[0].m, isa) != nullptr
                                           : (isa == cpu::Isa::kAvx512 && cpu::cpu_has_avx512_bf16() &&
                                              std::string(fmt) == "bf16");
              if (mode == MatmulMode::kFast && !fast_kernel) continue;
              cpu::force_isa(isa);
              be.set_matmul_mode(mode);
              std::vector<double> t, tc;
              for (auto& bm : bms) be.matmul(bm.m, x.data(), T, y.data());  // warm-up (page faults)
              for (int r = 0; r < reps; ++r) {
                const Matrix& m = bms[size_t(r) % bms.size()].m;
                double t0 = now_s(), c0 = cpu_s();
                be.matmul(m, x.data(), T, y.data());
                t.push_back(now_s() - t0);
                tc.push_back(cpu_s() - c0);
              }
              read_bandwidth(be.pool(), stream, 3, &bw);  // right after the timed calls
              Stats s = stats(t), sc = stats(tc);
              double gbs = bytes / s.med / 1e9;
              const std::string isa_mode =
                  std::string(cpu::isa_name(isa)) +
                  (quant ? (mode == MatmulMode::kFast ? (fmt[0] == 'q' ? "/i8" : "/bf16") : "/f32") : "");
              std::printf("%-16s %-5s %4lld %-11s %10.3f %10.3f %10.3f %8.1f %8.1f %6.0f%% %8.3f\n", sh.name,
                          fmt, (long long)T, isa_mode.c_str(), s.med * 1e3, s.lo * 1e3, s.hi * 1e3, gbs,
                          2.0 * double(sh.rows) * double(sh.cols) * double(T) / s.med / 1e9, 100.0 * gbs / bw,
                          sc.med * 1e3);
              std::fflush(stdout);
            }
        }
      }
    }
    if (only.empty() || only == "attention") bench_attention(be, isas, reps);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
