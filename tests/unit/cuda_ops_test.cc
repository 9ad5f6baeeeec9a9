// Every CUDA backend op against the scalar reference ops (ops/ops.h) on random inputs, odd
// sizes, misaligned activations, every stored weight format. Compiled only in CUDA builds
// (EMBER_HAVE_CUDA) and skipped when no GPU is present.
//
// Tolerances (inputs in [-1, 1]): matmuls on the f32 paths (GEMV T <= 8, and the f32 cuBLAS
// GEMM of MatmulMode::kExact) 1e-4 + 1e-4·|ref| against the f64 oracle on dequantized
// weights (f32 accumulation in another order); tf32 GEMM 1e-2 relative to the output's RMS;
// bf16 GEMM 2e-2 of RMS (bf16 operands, ~3 significant digits). Elementwise, norms, RoPE and attention
// 2e-5 + 1e-5·|ref| (precise tanhf/expf/sincosf, different summation order).
// Outputs are poisoned with NaN first, so an unwritten element fails.
#ifdef EMBER_HAVE_CUDA
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "ember/error.hpp"
#include "ops/ops.h"
#include "ops_test_util.h"

namespace ember {
namespace {

using testing::expect_close;
using testing::random_floats;

class CudaOps : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
    be_ = make_backend("cuda");
    be_->set_matmul_mode(MatmulMode::kExact);  // f32 prefill GEMM: compared at f32 tolerances
  }
  // A device buffer holding v (plus `extra` leading floats, to misalign on purpose).
  float* dev(const std::vector<float>& v, size_t extra = 0) {
    bufs_.emplace_back(*be_, v.size() + extra + 1);
    float* p = bufs_.back().data() + extra;
    be_->upload(p, v.data(), v.size());
    return p;
  }
  float* poisoned(size_t n, size_t extra = 0) {
    return dev(std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()), extra);
  }
  std::vector<float> host(const float* p, size_t n) {
    std::vector<float> v(n);
    be_->download(v.data(), p, n);
    return v;
  }
  std::unique_ptr<Backend> be_;
  std::vector<BackendBuffer> bufs_;
};

double rms(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  return std::sqrt(s / double(std::max<size_t>(v.size(), 1)));
}

void check_matmul(Backend& be, CudaOps* t, const Matrix& m, int64_t T, size_t misalign, double tol_rms,
                  const std::string& what) {
  (void)t;
  auto x = random_floats(size_t(T * m.cols), uint32_t(m.rows * 31 + m.cols * 7 + T));
  std::vector<float> want(size_t(T * m.rows));
  ref::matmul(m, x.data(), T, want.data());
  BackendBuffer xb(be, x.size() + 8), yb(be, want.size() + 8);
  be.upload(xb.data() + misalign, x.data(), x.size());
  std::vector<float> nan(want.size(), std::numeric_limits<float>::quiet_NaN());
  be.upload(yb.data(), nan.data(), nan.size());
  be.matmul(m, xb.data() + misalign, T, yb.data());
  std::vector<float> got(want.size());
  be.download(got.data(), yb.data(), got.size());
  if (tol_rms > 0) expect_close(got.data(), want.data(), got.size(), tol_rms * rms(want), 0.0, what);
  else expect_close(got.data(), want.data(), got.size(), 1e-4, 1e-4, what);
}

std::string name(const char* kind, int64_t rows, int64_t cols, int64_t T, size_t mis) {
  return std::string(kind) + " " + std::to_string(rows) + "x" + std::to_string(cols) + " T=" + std::to_string(T) +
         (mis ? " misaligned x" : "");
}

TEST_F(CudaOps, DescriptionAndBuffers) {
  EXPECT_NE(be_->description().find("cuda"), std::string::npos);
  BackendBuffer b(*be_, 1000);
  EXPECT_EQ(host(b.data(), 1000), std::vector<float>(1000, 0.0f));  // alloc is zeroed
  auto v = random_floats(999, 1);
  BackendBuffer c(*be_, 1000);
  be_->upload(b.data(), v.data(), v.size());
  be_->copy(c.data() + 1, b.data(), v.size());
  auto back = host(c.data() + 1, v.size());
  EXPECT_EQ(back, v);
  EXPECT_THROW(make_backend("cuda:fp64"), Error);
}

TEST_F(CudaOps, DenseMatmulAllDtypes) {
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (int64_t rows : {1, 13, 67, 300})
      for (int64_t cols : {7, 64, 100, 256, 1536}) {
        auto w = random_floats(size_t(rows * cols), uint32_t(rows + cols));
        auto m = testing::make_dense(w, rows, cols, dt);
        for (int64_t T : {1, 2, 3, 5, 8, 9, 33})
          for (size_t mis : {size_t(0), size_t(1)}) {
            check_matmul(*be_, this, m.m, T, mis, 0, std::string(dtype_name(dt)) + " " + name("dense", rows, cols, T, mis));
          }
      }
}

TEST_F(CudaOps, AffineMatmulAllWidths) {
  struct Cfg {
    int bits, gs;
    DType st;
  };
  for (Cfg c : {Cfg{4, 64, DType::BF16}, Cfg{4, 32, DType::F16}, Cfg{4, 128, DType::F32}, Cfg{8, 64, DType::BF16},
                Cfg{8, 32, DType::BF16}, Cfg{3, 64, DType::BF16}, Cfg{2, 32, DType::BF16}, Cfg{6, 64, DType::F16},
                Cfg{5, 32, DType::BF16}})
    for (int64_t rows : {1, 7, 130, 1029})
      for (int64_t cols : {128, 384, 1536}) {
        if (cols % c.gs) continue;
        auto w = random_floats(size_t(rows * cols), uint32_t(rows * 3 + cols + c.bits));
        auto m = testing::make_affine(w, rows, cols, c.bits, c.gs, c.st);
        for (int64_t T : {1, 2, 4, 7, 8, 17})
          for (size_t mis : {size_t(0), size_t(2)})
            check_matmul(*be_, this, m.m, T, mis, 0,
                         "affine" + std::to_string(c.bits) + "/gs" + std::to_string(c.gs) + " " +
                             name("", rows, cols, T, mis));
      }
}

TEST_F(CudaOps, LargeMatmulSpansSeveralWarpsAndRowGroups) {
  // Rows enough for the 2- and 4-rows-per-warp variants of the GEMV.
  for (int64_t rows : {4096 + 3, 16384 + 1, 40000})
    for (int bits : {4, 8}) {
      const int64_t cols = 512;
      auto w = random_floats(size_t(rows * cols), uint32_t(rows + bits));
      auto m = testing::make_affine(w, rows, cols, bits, 64, DType::BF16);
      check_matmul(*be_, this, m.m, 1, 0, 0, "affine" + std::to_string(bits) + " " + name("", rows, cols, 1, 0));
      auto d = testing::make_dense(w, rows, cols, DType::BF16);
      check_matmul(*be_, this, d.m, 1, 0, 0, name("bf16", rows, cols, 1, 0));
    }
}

TEST(CudaGemmPrecision, Tf32AndBf16PathsAreClose) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  for (const char* be_name : {"cuda:tf32", "cuda:bf16"}) {
    auto be = make_backend(be_name);
    const double tol = std::string(be_name) == "cuda:tf32" ? 1e-2 : 2e-2;
    for (int64_t T : {9, 64}) {
      auto w = random_floats(size_t(300 * 1536), 5);
      auto q = testing::make_affine(w, 300, 1536, 4, 64, DType::BF16);
      check_matmul(*be, nullptr, q.m, T, 0, tol, std::string(be_name) + " affine4 T=" + std::to_string(T));
      auto d = testing::make_dense(w, 300, 1536, DType::BF16);
      check_matmul(*be, nullptr, d.m, T, 0, tol, std::string(be_name) + " bf16 T=" + std::to_string(T));
    }
    // A precision named in the backend name wins over the matmul mode.
    be->set_matmul_mode(MatmulMode::kExact);
    {
      auto w = random_floats(size_t(300 * 1536), 5);
      auto q = testing::make_affine(w, 300, 1536, 4, 64, DType::BF16);
      check_matmul(*be, nullptr, q.m, 33, 0, tol, std::string(be_name) + " pinned under kExact");
    }
    // Decode sizes stay on the exact GEMV path whatever the GEMM precision.
    auto w = random_floats(size_t(77 * 256), 6);
    auto d = testing::make_dense(w, 77, 256, DType::F32);
    check_matmul(*be, nullptr, d.m, 1, 0, 0, std::string(be_name) + " f32 T=1");
  }
}

TEST(CudaMatmulMode, FastModeUsesBf16PrefillExactModeF32) {
  if (!cuda_device_available()) GTEST_SKIP() << "no CUDA device";
  auto be = make_backend("cuda");
  EXPECT_EQ(be->matmul_mode(), MatmulMode::kFast);  // the default, as on the CPU backend
  EXPECT_NE(be->description().find("prefill gemm bf16"), std::string::npos) << be->description();
  auto w = random_floats(size_t(200 * 768), 8);
  auto q = testing::make_affine(w, 200, 768, 4, 64, DType::BF16);
  check_matmul(*be, nullptr, q.m, 20, 0, 2e-2, "fast mode T=20");  // bf16 GEMM tolerance
  check_matmul(*be, nullptr, q.m, 1, 0, 0, "fast mode T=1");      // GEMV: exact in both modes
  be->set_matmul_mode(MatmulMode::kExact);
  EXPECT_EQ(be->matmul_mode(), MatmulMode::kExact);
  EXPECT_NE(be->description().find("prefill gemm f32"), std::string::npos) << be->description();
  check_matmul(*be, nullptr, q.m, 20, 0, 0, "exact mode T=20");
}

TEST_F(CudaOps, EmbeddingRows) {
  const int64_t rows = 301, cols = 384;
  auto w = random_floats(size_t(rows * cols), 9);
  auto q = testing::make_affine(w, rows, cols, 4, 64, DType::BF16);
  auto d = testing::make_dense(w, rows, cols, DType::BF16);
  std::vector<int32_t> ids = {0, 300, 17, 17, 255};
  for (const Matrix* m : {&q.m, &d.m}) {
    std::vector<float> want(ids.size() * cols);
    ref::embedding_rows(*m, ids.data(), int64_t(ids.size()), want.data(), 39.25f);
    float* out = poisoned(want.size());
    be_->embedding_rows(*m, ids.data(), int64_t(ids.size()), out, 39.25f);
    expect_close(host(out, want.size()).data(), want.data(), want.size(), 1e-6, 1e-6, "embedding");
  }
  std::vector<int32_t> bad = {3, 301};
  float* out = poisoned(2 * cols);
  EXPECT_THROW(be_->embedding_rows(q.m, bad.data(), 2, out, 1.0f), Error);
}

TEST_F(CudaOps, RmsNorm) {
  for (int64_t dim : {7, 64, 256, 1536, 12288})
    for (bool with_w : {true, false}) {
      const int64_t n = 5;
      auto x = random_floats(size_t(n * dim), uint32_t(dim), -3, 3);
      auto w = random_floats(size_t(dim), uint32_t(dim + 1));
      std::vector<float> want(x.size());
      ref::rmsnorm(x.data(), with_w ? w.data() : nullptr, n, dim, 1e-6f, want.data());
      float* xd = dev(x);
      float* wd = with_w ? dev(w) : nullptr;
      float* out = poisoned(x.size());
      be_->rmsnorm(xd, wd, n, dim, 1e-6f, out);
      expect_close(host(out, x.size()).data(), want.data(), x.size(), 2e-5, 1e-5, "rmsnorm " + std::to_string(dim));
      be_->rmsnorm(xd, wd, n, dim, 1e-6f, xd);  // in place
      expect_close(host(xd, x.size()).data(), want.data(), x.size(), 2e-5, 1e-5, "rmsnorm in place");
    }
}

TEST_F(CudaOps, Rope) {
  for (int hd : {32, 256, 512})
    for (bool prop : {false, true}) {
      const int64_t T = 3;
      const int nh = 3;
      auto inv = prop ? ref::rope_inv_freq_proportional(hd, 1e6, 0.25) : ref::rope_inv_freq_default(hd, 1e4);
      std::vector<int32_t> pos = {0, 511, 100000};
      auto x = random_floats(size_t(T * nh * hd), uint32_t(hd));
      auto want = x;
      ref::rope_apply(want.data(), T, nh, hd, pos.data(), inv.data());
      float* xd = dev(x);
      be_->rope(xd, T, nh, hd, pos.data(), inv.data());
      expect_close(host(xd, x.size()).data(), want.data(), x.size(), 2e-5, 1e-5, "rope hd " + std::to_string(hd));
    }
}

TEST_F(CudaOps, Elementwise) {
  const int64_t n = 100003;
  auto a = random_floats(size_t(n), 1, -4, 4), b = random_floats(size_t(n), 2, -4, 4);
  auto check = [&](const std::vector<float>& want, const float* got, const char* what) {
    expect_close(host(got, size_t(n)).data(), want.data(), size_t(n), 2e-5, 1e-5, what);
  };
  {
    std::vector<float> want(a.size());
    ref::gelu_tanh_mul(a.data(), b.data(), n, want.data());
    float* out = poisoned(size_t(n));
    be_->gelu_tanh_mul(dev(a), dev(b), n, out);
    check(want, out, "gelu_tanh_mul");
    float* g = dev(a);
    be_->gelu_tanh_mul(g, dev(b), n, g);  // aliasing gate
    check(want, g, "gelu_tanh_mul in place");
  }
  {
    auto want = a;
    ref::gelu_tanh(want.data(), n);
    float* x = dev(a);
    be_->gelu_tanh(x, n);
    check(want, x, "gelu_tanh");
  }
  {
    auto want = a;
    ref::softcap(want.data(), n, 3.0f);
    float* x = dev(a);
    be_->softcap(x, n, 3.0f);
    check(want, x, "softcap");
  }
  std::vector<float> want(a.size());
  float* y = dev(a);
  be_->add(y, dev(b), n);
  for (int64_t i = 0; i < n; ++i) want[size_t(i)] = a[size_t(i)] + b[size_t(i)];
  check(want, y, "add");
  y = dev(a);
  be_->mul(y, dev(b), n);
  for (int64_t i = 0; i < n; ++i) want[size_t(i)] = a[size_t(i)] * b[size_t(i)];
  check(want, y, "mul");
  y = dev(a);
  be_->scale(y, 0.7f, n);
  for (int64_t i = 0; i < n; ++i) want[size_t(i)] = a[size_t(i)] * 0.7f;
  check(want, y, "scale");
  y = dev(a);
  be_->add_scaled(y, dev(b), 0.70710678f, n);
  for (int64_t i = 0; i < n; ++i) want[size_t(i)] = (a[size_t(i)] + b[size_t(i)]) * 0.70710678f;
  check(want, y, "add_scaled");
}

struct AttnCase {
  int64_t T, S;
  int nh, nkv, hd;
  int64_t window;
  int32_t pos0;     // first query position
  bool holes;       // some empty (-1) slots, storage order shuffled (ring)
};

TEST_F(CudaOps, Attention) {
  const AttnCase cases[] = {
      {1, 1000, 8, 1, 256, 512, 999, true},    // E2B sliding decode over a ring
      {1, 700, 8, 1, 512, 0, 699, false},      // E2B full-attention decode
      {1, 5000, 8, 2, 256, 0, 4999, false},    // long context, many splits
      {5, 40, 8, 2, 256, 8, 35, true},         // small prefill chunk with window
      {40, 40, 2, 1, 32, 0, 0, false},         // tiny head dim (fixtures), causal prefill
      {17, 80, 4, 4, 64, 16, 63, true},        // MHA, window
      {3, 10, 2, 1, 512, 0, -5, false},        // queries before every key: output 0
      {300, 300, 8, 1, 512, 0, 0, false},      // prefill: one split per (token, head)
  };
  for (const AttnCase& c : cases) {
    ref::AttentionShape sh;
    sh.T = c.T, sh.S = c.S, sh.n_heads = c.nh, sh.n_kv_heads = c.nkv, sh.head_dim = c.hd, sh.window = c.window;
    sh.scale = 1.0f;
    auto q = random_floats(size_t(c.T * c.nh * c.hd), uint32_t(c.S + 1), -0.5f, 0.5f);
    auto K = random_floats(size_t(c.S * c.nkv * c.hd), uint32_t(c.S + 2), -0.5f, 0.5f);
    auto V = random_floats(size_t(c.S * c.nkv * c.hd), uint32_t(c.S + 3));
    std::vector<int32_t> qp(size_t(c.T)), kp(size_t(c.S));
    for (int64_t t = 0; t < c.T; ++t) qp[size_t(t)] = c.pos0 + int32_t(t);
    const int32_t last = std::max<int32_t>(c.pos0 + int32_t(c.T) - 1, int32_t(c.S) - 1);
    for (int64_t s = 0; s < c.S; ++s) {
      // Ring-like: slot s holds position (s + rot) % S counted back from `last`; every 7th empty.
      const int64_t rot = c.holes ? c.S / 3 : 0;
      kp[size_t(s)] = last - int32_t((s + rot) % c.S);
      if (c.holes && s % 7 == 3) kp[size_t(s)] = -1;
    }
    std::vector<float> want(q.size());
    ref::attention(sh, q.data(), K.data(), V.data(), qp.data(), kp.data(), want.data());
    float* out = poisoned(q.size());
    be_->attention(sh, dev(q), dev(K), dev(V), qp.data(), kp.data(), out);
    expect_close(host(out, q.size()).data(), want.data(), q.size(), 2e-5, 1e-4,
                 "attention T=" + std::to_string(c.T) + " S=" + std::to_string(c.S) + " hd=" + std::to_string(c.hd));
  }
}

}  // namespace
}  // namespace ember
#endif  // EMBER_HAVE_CUDA
