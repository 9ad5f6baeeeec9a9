// Every CPU backend op, at every ISA level this CPU supports (forced), against the scalar
// reference ops: odd sizes, T = 1/3/17, misaligned activation and weight pointers.
//
// Tolerances: matmuls |got − ref| ≤ 1e-4 + 1e-4·|ref| (inputs in [−1, 1], cols ≤ 1536:
// f32 accumulation in a different order vs the f64 oracle); quantized matmuls are compared
// with dequantize-then-matmul in f64 (ref::matmul), i.e. without quantization error.
// Elementwise ops: 1e-6 + 1e-5·|ref| (vector exp is accurate to a few ulp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/backend.h"
#include "backend/cpu/cpu_backend.h"
#include "backend/cpu/isa.h"
#include "backend/cpu/kernels.h"
#include "ember/error.hpp"
#include "ops/ops.h"
#include "ops_test_util.h"

namespace ember {
namespace {

using testing::expect_close;
using testing::random_floats;
using testing::ScopedIsa;

// x [T, cols] at a float offset of 1 from a 64-byte boundary (misaligned for every vector width).
struct MisalignedActs {
  std::vector<float> buf;
  float* x;
  MisalignedActs(int64_t T, int64_t cols, uint32_t seed) {
    auto v = random_floats(size_t(T * cols), seed);
    buf.resize(v.size() + 32);
    size_t off = 1;
    while ((reinterpret_cast<uintptr_t>(buf.data() + off) & 63) == 0) ++off;
    x = buf.data() + off;
    std::copy(v.begin(), v.end(), x);
  }
};

void check_matmul(CpuBackend& be, const Matrix& m, int64_t T, const std::string& what) {
  MisalignedActs a(T, m.cols, uint32_t(m.rows * 131 + m.cols * 7 + T));
  std::vector<float> want(size_t(T * m.rows)), got(size_t(T * m.rows) + 1, -7.0f);
  ref::matmul(m, a.x, T, want.data());
  be.matmul(m, a.x, T, got.data() + 1);  // misaligned output as well
  expect_close(got.data() + 1, want.data(), want.size(), 1e-4, 1e-4, what);
  EXPECT_EQ(got[0], -7.0f) << what << ": wrote before y";
}

std::string tag(cpu::Isa isa, const std::string& s) { return std::string(cpu::isa_name(isa)) + " " + s; }

TEST(OpsKernels, DenseMatmulAllDtypesOddSizes) {
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kExact);
    for (DType dt : {DType::F32, DType::BF16, DType::F16})
      for (int64_t rows : {1, 5, 13, 67})
        for (int64_t cols : {1, 7, 16, 33, 100, 257})
          for (int64_t T : {1, 3, 17}) {
            auto w = random_floats(size_t(rows * cols), uint32_t(rows * cols));
            auto m = testing::make_dense(w, rows, cols, dt, /*pad=*/2);
            check_matmul(be, m.m, T,
                         tag(isa, std::string(dtype_name(dt)) + " " + std::to_string(rows) + "x" +
                                      std::to_string(cols) + " T=" + std::to_string(T)));
          }
  }
}

TEST(OpsKernels, AffineMatmulVsDequantizeThenMatmul) {
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kExact);
    for (int bits : {4, 8})
      for (int gs : {32, 64, 128})
        for (DType st : {DType::BF16, DType::F16, DType::F32})
          for (int64_t rows : {1, 3, 7, 9})
            for (int64_t ngroups : {1, 3})
              for (int64_t T : {1, 3, 17}) {
                const int64_t cols = gs * ngroups;
                auto w = random_floats(size_t(rows * cols), uint32_t(bits * 1000 + gs + rows * 7 + cols));
                auto m = testing::make_affine(w, rows, cols, bits, gs, st, /*pad=*/1);
                check_matmul(be, m.m, T,
                             tag(isa, "affine" + std::to_string(bits) + " gs" + std::to_string(gs) + " " +
                                          std::string(dtype_name(st)) + " " + std::to_string(rows) + "x" +
                                          std::to_string(cols) + " T=" + std::to_string(T)));
              }
  }
}

// E2B-like shapes, once per ISA (exercises the row tiling and the thread split).
TEST(OpsKernels, AffineAndBf16MatmulModelShapes) {
  for (cpu::Isa isa : testing::supported_isas()) {
    if (isa == cpu::Isa::kScalar) continue;  // the scalar path *is* the reference
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kExact);
    const int64_t rows = 300, cols = 1536;
    auto w = random_floats(size_t(rows * cols), 77);
    for (int64_t T : {1, 5, 40}) {  // T = 40: activation preparation split over threads
      check_matmul(be, testing::make_affine(w, rows, cols, 4, 64, DType::BF16).m, T,
                   tag(isa, "affine4 300x1536"));
      check_matmul(be, testing::make_affine(w, rows, cols, 8, 64, DType::BF16).m, T,
                   tag(isa, "affine8 300x1536"));
      check_matmul(be, testing::make_dense(w, rows, cols, DType::BF16).m, T, tag(isa, "bf16 300x1536"));
    }
    // kFast at a model shape with threaded int8 preparation: close to exact (relative RMS).
    be.set_matmul_mode(MatmulMode::kFast);
    for (int bits : {4, 8}) {
      auto m = testing::make_affine(w, rows, cols, bits, 64, DType::BF16);
      MisalignedActs a(40, cols, 5);
      std::vector<float> got(size_t(40 * rows)), want(got.size());
      be.matmul(m.m, a.x, 40, got.data());
      ref::matmul(m.m, a.x, 40, want.data());
      double se = 0, ss = 0;
      for (size_t i = 0; i < got.size(); ++i)
        se += (got[i] - want[i]) * (got[i] - want[i]), ss += want[i] * want[i];
      EXPECT_LE(std::sqrt(se / ss), 2e-2)
          << tag(isa, "fast affine" + std::to_string(bits) + " 300x1536 T=40");
    }
  }
}

// Independent per-group int8 quantization of x (the kFast contract of MatmulMode).
std::vector<float> int8_roundtrip(const float* x, int64_t T, int64_t cols, int gs) {
  std::vector<float> xh(size_t(T * cols));
  for (int64_t i = 0; i < T * cols; i += gs) {
    float amax = 0;
    for (int k = 0; k < gs; ++k) amax = std::max(amax, std::fabs(x[i + k]));
    for (int k = 0; k < gs; ++k)
      xh[size_t(i + k)] = amax > 0 ? std::nearbyint(x[i + k] * (127.0f / amax)) * (amax / 127.0f) : 0.0f;
  }
  return xh;
}

// kFast on MLX affine weights: (1) exactly the int8 algebra — f64 oracle of
// Σ_g s_g·Σ q·x̂ + b_g·Σ x with x̂ the int8 round trip of x — to 1e-4 + 1e-4·|ref|;
// (2) close to the exact product: relative RMS error over the outputs ≤ 5e-2 (measured 0.3-3.3%
// on these uniform random inputs: the rounding error multiplies s·q = w − b, which spans the
// whole group range, not |w|).
TEST(OpsKernels, AffineMatmulFastModeInt8Activations) {
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kFast);
    for (int bits : {4, 8})
      for (int gs : {32, 64, 128})
        for (int64_t rows : {1, 5, 9})
          for (int64_t T : {1, 3, 17}) {
            const int64_t cols = gs * 3;
            auto w = random_floats(size_t(rows * cols), uint32_t(bits * 100 + gs + rows));
            auto m = testing::make_affine(w, rows, cols, bits, gs, DType::BF16, 1);
            MisalignedActs a(T, cols, uint32_t(T + rows));
            std::vector<float> got(size_t(T * rows)), exact(got.size()), oracle(got.size());
            be.matmul(m.m, a.x, T, got.data());
            ref::matmul(m.m, a.x, T, exact.data());
            const std::string what = tag(isa, be.description() + " affine" + std::to_string(bits) + " gs" +
                                                  std::to_string(gs) + " T=" + std::to_string(T));
            const bool int8 = cpu::select_int8_kernel(m.m, isa) != nullptr;
            if (isa == cpu::Isa::kAvx2 && bits == 4 && gs % 64 == 0) EXPECT_TRUE(int8) << what;
            if (int8) {
              auto xh = int8_roundtrip(a.x, T, cols, gs);
              std::vector<float> row(static_cast<size_t>(cols));
              for (int64_t r = 0; r < rows; ++r) {
                dequantize_row(m.m, r, row.data());
                for (int64_t t = 0; t < T; ++t) {
                  double acc = 0;
                  for (int64_t c = 0; c < cols; ++c) {
                    const int64_t g = c / gs;
                    uint16_t bb;  // biases are deliberately misaligned (pad 1): memcpy
                    std::memcpy(&bb, m.m.biases + 2 * (r * (cols / gs) + g), 2);
                    const double b = bf16_to_f32(bb);
                    // dequantized weight minus its bias multiplies x̂; the bias multiplies x
                    acc += (double(row[size_t(c)]) - b) * xh[size_t(t * cols + c)] + b * a.x[t * cols + c];
                  }
                  oracle[size_t(t * rows + r)] = float(acc);
                }
              }
              expect_close(got.data(), oracle.data(), got.size(), 1e-4, 1e-4, what + " vs int8 oracle");
            } else {
              expect_close(got.data(), exact.data(), got.size(), 1e-4, 1e-4, what + " (exact path)");
            }
            double se = 0, ss = 0;
            for (size_t i = 0; i < got.size(); ++i)
              se += (double(got[i]) - exact[i]) * (double(got[i]) - exact[i]),
                  ss += double(exact[i]) * exact[i];
            EXPECT_LE(std::sqrt(se / std::max(ss, 1e-30)), 5e-2) << what << " relative RMS error vs exact";
          }
  }
}

// kFast on dense bf16 weights: on AVX-512 BF16 CPUs the activations are rounded to bf16 (RNE)
// and multiplied with vdpbf16ps. Oracle: f64 products of the bf16 weights and the bf16-rounded
// activations, 1e-4 + 1e-4·|ref|; elsewhere the exact path (same tolerance against ref).
TEST(OpsKernels, Bf16MatmulFastMode) {
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kFast);
    const bool rounded = isa == cpu::Isa::kAvx512 && cpu::cpu_has_avx512_bf16();
    for (int64_t rows : {1, 5, 13})
      for (int64_t cols : {1, 7, 33, 100, 257})
        for (int64_t T : {1, 3, 17}) {
          auto w = random_floats(size_t(rows * cols), uint32_t(rows + cols));
          auto m = testing::make_dense(w, rows, cols, DType::BF16, /*pad=*/2);
          MisalignedActs a(T, cols, uint32_t(T * 3 + cols));
          std::vector<float> xr(a.x, a.x + T * cols);
          if (rounded)
            for (float& v : xr) v = bf16_to_f32(f32_to_bf16(v));
          std::vector<float> got(size_t(T * rows)), want(got.size());
          be.matmul(m.m, a.x, T, got.data());
          ref::matmul(m.m, xr.data(), T, want.data());
          expect_close(got.data(), want.data(), got.size(), 1e-4, 1e-4,
                       tag(isa, "fast bf16 " + std::to_string(rows) + "x" + std::to_string(cols) +
                                    " T=" + std::to_string(T)));
        }
  }
}

// Formats without a dedicated kernel go through dequantize-row + vector dot.
TEST(OpsKernels, OtherAffineBitsUseGenericPath) {
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kExact);
    for (int bits : {2, 3, 5, 6}) {
      auto w = random_floats(size_t(7 * 128), uint32_t(bits));
      auto m = testing::make_affine(w, 7, 128, bits, 64, DType::BF16);
      for (int64_t T : {1, 3}) check_matmul(be, m.m, T, tag(isa, "affine" + std::to_string(bits)));
    }
  }
}

TEST(OpsKernels, ElementwiseOpsMatchReference) {
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kExact);
    for (int64_t n : {1, 15, 17, 1000, 40000}) {
      auto g = random_floats(size_t(n), 21, -12, 12);
      auto u = random_floats(size_t(n), 22);
      std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
      ref::gelu_tanh_mul(g.data(), u.data(), n, want.data());
      be.gelu_tanh_mul(g.data(), u.data(), n, got.data());
      expect_close(got.data(), want.data(), size_t(n), 1e-6, 1e-5, tag(isa, "gelu_tanh_mul"));
      want = g, got = g;
      ref::gelu_tanh(want.data(), n);
      be.gelu_tanh(got.data(), n);
      expect_close(got.data(), want.data(), size_t(n), 1e-6, 1e-5, tag(isa, "gelu_tanh"));
      want = g, got = g;
      ref::softcap(want.data(), n, 30.0f);
      be.softcap(got.data(), n, 30.0f);
      // abs 2e-7·cap: the vector tanh is exp-based (absolute, not relative, accuracy near 0).
      expect_close(got.data(), want.data(), size_t(n), 2e-7 * 30 + 1e-6, 1e-5, tag(isa, "softcap"));
    }
    for (int64_t dim : {1, 7, 256, 512, 1536}) {
      const int64_t rows = 5;
      MisalignedActs a(rows, dim, uint32_t(dim));
      auto w = random_floats(size_t(dim), 23, -3, 3);
      std::vector<float> want(size_t(rows * dim)), got(want.size());
      ref::rmsnorm(a.x, w.data(), rows, dim, 1e-6f, want.data());
      be.rmsnorm(a.x, w.data(), rows, dim, 1e-6f, got.data());
      expect_close(got.data(), want.data(), want.size(), 1e-6, 1e-5, tag(isa, "rmsnorm"));
      ref::rmsnorm(a.x, nullptr, rows, dim, 1e-6f, want.data());
      be.rmsnorm(a.x, nullptr, rows, dim, 1e-6f, got.data());
      expect_close(got.data(), want.data(), want.size(), 1e-6, 1e-5, tag(isa, "rmsnorm no-scale"));
    }
    // RoPE (both kinds) through the backend.
    for (int hd : {256, 512}) {
      auto inv =
          hd == 256 ? ref::rope_inv_freq_default(hd, 1e4) : ref::rope_inv_freq_proportional(hd, 1e6, 0.25);
      const int64_t T = 3;
      auto x = random_floats(size_t(T * 2 * hd), 24);
      auto want = x, got = x;
      std::vector<int32_t> pos = {5, 511, 9000};
      ref::rope_apply(want.data(), T, 2, hd, pos.data(), inv.data());
      be.rope(got.data(), T, 2, hd, pos.data(), inv.data());
      expect_close(got.data(), want.data(), got.size(), 0, 0, tag(isa, "rope"));
    }
  }
}

TEST(OpsKernels, AttentionHeadDims256And512WithWindows) {
  struct Case {
    int64_t T, S;
    int nh, nkv, hd;
    int64_t window;
  };
  const Case cases[] = {{1, 40, 8, 1, 256, 16},
                        {3, 40, 8, 1, 512, 0},
                        {17, 60, 4, 2, 256, 7},
                        {17, 17, 2, 2, 512, 5},
                        {3, 9, 8, 4, 33, 0},
                        // decode over long caches: key-range splits + merge (full and sliding)
                        {1, 1100, 8, 1, 512, 0},
                        {1, 1100, 8, 1, 256, 512},
                        {2, 700, 4, 2, 256, 0}};
  for (cpu::Isa isa : testing::supported_isas()) {
    ScopedIsa scope(isa);
    CpuBackend be(2);
    be.set_matmul_mode(MatmulMode::kExact);
    for (const Case& c : cases) {
      ref::AttentionShape sh;
      sh.T = c.T, sh.S = c.S, sh.n_heads = c.nh, sh.n_kv_heads = c.nkv, sh.head_dim = c.hd,
      sh.window = c.window;
      MisalignedActs q(c.T, int64_t(c.nh) * c.hd, 31), K(c.S, int64_t(c.nkv) * c.hd, 32),
          V(c.S, int64_t(c.nkv) * c.hd, 33);
      // Queries are the last T positions; slots in ring order with one empty slot.
      std::vector<int32_t> qp(size_t(c.T)), kp(size_t(c.S));
      for (int64_t t = 0; t < c.T; ++t) qp[size_t(t)] = int32_t(c.S - c.T + t);
      for (int64_t s = 0; s < c.S; ++s) kp[size_t(s)] = int32_t((s + 5) % c.S);
      if (c.S > 20) kp[3] = -1;
      std::vector<float> want(size_t(c.T * c.nh * c.hd)), got(want.size());
      ref::attention(sh, q.x, K.x, V.x, qp.data(), kp.data(), want.data());
      be.attention(sh, q.x, K.x, V.x, qp.data(), kp.data(), got.data());
      expect_close(got.data(), want.data(), want.size(), 1e-5, 1e-4,
                   tag(isa, "attention hd" + std::to_string(c.hd) + " T=" + std::to_string(c.T)));
    }
  }
}

TEST(OpsKernels, EmbeddingRowsThroughBackend) {
  CpuBackend be(2);
  auto w = random_floats(size_t(50 * 64), 41);
  auto m = testing::make_affine(w, 50, 64, 4, 32, DType::BF16);
  std::vector<int32_t> ids = {49, 0, 7, 7, 23};
  std::vector<float> want(5 * 64), got(5 * 64);
  ref::embedding_rows(m.m, ids.data(), 5, want.data(), 39.25f);
  be.embedding_rows(m.m, ids.data(), 5, got.data(), 39.25f);
  expect_close(got.data(), want.data(), got.size(), 0, 0, "embedding");
  ids[2] = 50;
  EXPECT_THROW(be.embedding_rows(m.m, ids.data(), 5, got.data(), 1.0f), Error);
}

TEST(OpsKernels, IsaControlAndFactory) {
  EXPECT_EQ(cpu::parse_isa("avx2"), cpu::Isa::kAvx2);
  EXPECT_THROW(cpu::parse_isa("sse9"), Error);
  EXPECT_THROW(make_backend("tpu"), Error);
  auto be = make_backend("cpu", 2);
  EXPECT_NE(be->description().find("2 threads"), std::string::npos) << be->description();
  EXPECT_EQ(be->matmul_mode(), MatmulMode::kFast);
  be->set_matmul_mode(MatmulMode::kExact);
  EXPECT_EQ(be->matmul_mode(), MatmulMode::kExact);
  BackendBuffer buf(*be, 100);
  ASSERT_NE(buf.data(), nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.data()) % 64, 0u);
  EXPECT_EQ(buf.data()[99], 0.0f);
}

}  // namespace
}  // namespace ember
