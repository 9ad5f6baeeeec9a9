// Reference ops (ops/ops.h) against naive formulas and the Gemma 4 facts of
// gemma4-text.md §4 and §10.4-5.
#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cmath>
#include <vector>

#include "ember/error.hpp"
#include "ops/ops.h"
#include "ops_test_util.h"

namespace ember {
namespace {

using testing::expect_close;
using testing::random_floats;

TEST(OpsReference, RmsNormMatchesFormula) {
  const int64_t rows = 3, dim = 37;
  auto x = random_floats(size_t(rows * dim), 1, -3, 3);
  auto w = random_floats(size_t(dim), 2, -2, 2);
  std::vector<float> out(x.size()), out_ns(x.size()), want(x.size()), want_ns(x.size());
  ref::rmsnorm(x.data(), w.data(), rows, dim, 1e-6f, out.data());
  ref::rmsnorm(x.data(), nullptr, rows, dim, 1e-6f, out_ns.data());
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < dim; ++i) ss += double(x[size_t(r * dim + i)]) * x[size_t(r * dim + i)];
    double inv = 1.0 / std::sqrt(ss / dim + 1e-6);
    for (int64_t i = 0; i < dim; ++i) {
      want[size_t(r * dim + i)] = float(x[size_t(r * dim + i)] * inv * w[size_t(i)]);
      want_ns[size_t(r * dim + i)] = float(x[size_t(r * dim + i)] * inv);
    }
  }
  expect_close(out.data(), want.data(), out.size(), 1e-6, 1e-5, "rmsnorm");
  expect_close(out_ns.data(), want_ns.data(), out.size(), 1e-6, 1e-5, "rmsnorm no-scale");
  // In place is allowed.
  ref::rmsnorm(x.data(), w.data(), rows, dim, 1e-6f, x.data());
  expect_close(x.data(), want.data(), x.size(), 1e-6, 1e-5, "rmsnorm in place");
}

TEST(OpsReference, RopeInvFreqDefaultAndProportional) {
  auto d = ref::rope_inv_freq_default(256, 10000.0);
  ASSERT_EQ(d.size(), 128u);
  for (int j = 0; j < 128; ++j) EXPECT_FLOAT_EQ(d[size_t(j)], float(std::pow(10000.0, -2.0 * j / 256))) << j;
  auto p = ref::rope_inv_freq_proportional(512, 1e6, 0.25);
  ASSERT_EQ(p.size(), 256u);
  EXPECT_EQ(p[0], 1.0f);
  // §10.4: lane 63 uses 1e6^(-126/512) — the denominator is the full head_dim.
  EXPECT_FLOAT_EQ(p[63], float(std::pow(1e6, -126.0 / 512)));
  for (int j = 64; j < 256; ++j) EXPECT_EQ(p[size_t(j)], 0.0f) << j;
  EXPECT_THROW(ref::rope_inv_freq_default(7, 1e4), Error);
}

// §10.4: the full-layer rotation touches only lanes 0–63 and 256–319; lane 0's angle is p.
TEST(OpsReference, RopeProportionalTouchesOnlyRotatedLanes) {
  const int hd = 512, nh = 2;
  auto inv = ref::rope_inv_freq_proportional(hd, 1e6, 0.25);
  auto x = random_floats(size_t(nh * hd), 3);
  auto y = x;
  const int32_t pos = 600;
  ref::rope_apply(y.data(), 1, nh, hd, &pos, inv.data());
  for (int h = 0; h < nh; ++h) {
    const float* a = x.data() + h * hd;
    const float* b = y.data() + h * hd;
    for (int i = 0; i < hd; ++i) {
      bool rotated = i < 64 || (i >= 256 && i < 320);
      if (!rotated) EXPECT_EQ(a[i], b[i]) << "lane " << i << " must pass through";
      if (rotated) EXPECT_NE(a[i], b[i]) << "lane " << i << " must rotate";
    }
    EXPECT_NEAR(b[0], a[0] * std::cos(600.0) - a[256] * std::sin(600.0), 1e-4);
    EXPECT_NEAR(b[256], a[256] * std::cos(600.0) + a[0] * std::sin(600.0), 1e-4);
    double th = 600.0 * std::pow(1e6, -126.0 / 512);
    EXPECT_NEAR(b[63], a[63] * std::cos(th) - a[319] * std::sin(th), 1e-5);
  }
}

TEST(OpsReference, RopeDefaultRotatesPairsPreservingNorm) {
  const int hd = 256, nh = 3, T = 4;
  auto inv = ref::rope_inv_freq_default(hd, 10000.0);
  auto x = random_floats(size_t(T * nh * hd), 4);
  auto y = x;
  std::vector<int32_t> pos = {0, 1, 17, 4095};
  ref::rope_apply(y.data(), T, nh, hd, pos.data(), inv.data());
  for (int i = 0; i < nh * hd; ++i) EXPECT_EQ(x[size_t(i)], y[size_t(i)]) << "position 0 is the identity";
  for (int t = 0; t < T; ++t)
    for (int h = 0; h < nh; ++h)
      for (int j = 0; j < hd / 2; ++j) {
        size_t b = size_t((t * nh + h) * hd);
        float a0 = x[b + size_t(j)], a1 = x[b + size_t(j + hd / 2)];
        float th = float(pos[size_t(t)]) * inv[size_t(j)];
        EXPECT_NEAR(y[b + size_t(j)], a0 * std::cos(th) - a1 * std::sin(th), 1e-5);
        EXPECT_NEAR(y[b + size_t(j + hd / 2)], a1 * std::cos(th) + a0 * std::sin(th), 1e-5);
      }
}

TEST(OpsReference, ActivationsMatchFormulas) {
  auto x = random_floats(301, 5, -12, 12);
  auto up = random_floats(301, 6);
  std::vector<float> g = x, gm(x.size()), sc = x, sm = x;
  ref::gelu_tanh(g.data(), int64_t(g.size()));
  ref::gelu_tanh_mul(x.data(), up.data(), int64_t(x.size()), gm.data());
  ref::softcap(sc.data(), int64_t(sc.size()), 3.0f);
  for (size_t i = 0; i < x.size(); ++i) {
    double v = x[i];
    double want = 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(g[i], want, 1e-6 + 1e-5 * std::fabs(want)) << v;
    EXPECT_NEAR(gm[i], want * up[i], 1e-6 + 1e-5 * std::fabs(want)) << v;
    EXPECT_NEAR(sc[i], 3.0 * std::tanh(v / 3.0), 1e-6) << v;
  }
  ref::softmax(sm.data(), 3, 100);
  for (int r = 0; r < 3; ++r) {
    double s = 0, m = -1e30;
    for (int i = 0; i < 100; ++i) m = std::max(m, double(x[size_t(r * 100 + i)]));
    for (int i = 0; i < 100; ++i) s += std::exp(x[size_t(r * 100 + i)] - m);
    for (int i = 0; i < 100; ++i)
      EXPECT_NEAR(sm[size_t(r * 100 + i)], std::exp(x[size_t(r * 100 + i)] - m) / s, 1e-6);
  }
}

// §10.5: with window 512 the query at position 600 attends keys 89..600 (512 keys).
TEST(OpsReference, SlidingWindowQuery600SeesKeys89To600) {
  int count = 0, lo = -1, hi = -1;
  for (int32_t s = 0; s <= 700; ++s)
    if (ref::attention_visible(600, s, 512)) {
      ++count;
      if (lo < 0) lo = s;
      hi = s;
    }
  EXPECT_EQ(count, 512);
  EXPECT_EQ(lo, 89);
  EXPECT_EQ(hi, 600);
  // Through attention: q = 0 gives uniform weights, V[s] = s gives the mean visible position.
  ref::AttentionShape sh;
  sh.T = 1, sh.S = 701, sh.n_heads = 1, sh.n_kv_heads = 1, sh.head_dim = 1, sh.window = 512;
  std::vector<float> q(1, 0.0f), K(701, 1.0f), V(701), out(1);
  std::vector<int32_t> kp(701);
  for (int s = 0; s < 701; ++s) V[size_t(s)] = float(s), kp[size_t(s)] = s;
  int32_t qp = 600;
  ref::attention(sh, q.data(), K.data(), V.data(), &qp, kp.data(), out.data());
  EXPECT_NEAR(out[0], (89 + 600) / 2.0, 1e-3);
  sh.window = 0;  // full causal: keys 0..600
  ref::attention(sh, q.data(), K.data(), V.data(), &qp, kp.data(), out.data());
  EXPECT_NEAR(out[0], 300.0, 1e-3);
}

// Naive f64 attention with explicit GQA expansion, empty slots and a window.
TEST(OpsReference, AttentionMatchesNaiveGqa) {
  ref::AttentionShape sh;
  sh.T = 3, sh.S = 9, sh.n_heads = 4, sh.n_kv_heads = 2, sh.head_dim = 8, sh.window = 4, sh.scale = 0.7f;
  auto q = random_floats(size_t(sh.T * sh.n_heads * sh.head_dim), 7);
  auto K = random_floats(size_t(sh.S * sh.n_kv_heads * sh.head_dim), 8);
  auto V = random_floats(size_t(sh.S * sh.n_kv_heads * sh.head_dim), 9);
  std::vector<int32_t> qp = {5, 6, 7}, kp = {0, 1, 2, 3, 4, 5, -1, 6, 7};  // slot 6 empty
  std::vector<float> out(q.size()), want(q.size());
  ref::attention(sh, q.data(), K.data(), V.data(), qp.data(), kp.data(), out.data());
  const int hd = sh.head_dim;
  for (int t = 0; t < 3; ++t)
    for (int h = 0; h < 4; ++h) {
      int kvh = h / 2;
      std::vector<double> sc;
      std::vector<int> vis;
      for (int s = 0; s < 9; ++s) {
        if (kp[size_t(s)] < 0 || kp[size_t(s)] > qp[size_t(t)] || qp[size_t(t)] - kp[size_t(s)] >= 4)
          continue;
        double d = 0;
        for (int i = 0; i < hd; ++i)
          d += double(q[size_t((t * 4 + h) * hd + i)]) * K[size_t((s * 2 + kvh) * hd + i)];
        sc.push_back(d * 0.7), vis.push_back(s);
      }
      ASSERT_EQ(vis.size(), 4u);
      double m = *std::max_element(sc.begin(), sc.end()), z = 0;
      for (double& v : sc) z += (v = std::exp(v - m));
      for (int i = 0; i < hd; ++i) {
        double o = 0;
        for (size_t j = 0; j < vis.size(); ++j) o += sc[j] / z * V[size_t((vis[j] * 2 + kvh) * hd + i)];
        want[size_t((t * 4 + h) * hd + i)] = float(o);
      }
    }
  expect_close(out.data(), want.data(), out.size(), 1e-6, 1e-5, "attention");
}

TEST(OpsReference, MatmulDenseAndAffineMatchDequantizedFormula) {
  const int64_t rows = 5, cols = 128, T = 2;
  auto w = random_floats(size_t(rows * cols), 10);
  auto x = random_floats(size_t(T * cols), 11);
  auto dm = testing::make_dense(w, rows, cols, DType::BF16);
  auto am = testing::make_affine(w, rows, cols, 4, 64, DType::BF16);
  std::vector<float> y(size_t(T * rows)), want(y.size()), ya(y.size()), wanta(y.size());
  ref::matmul(dm.m, x.data(), T, y.data());
  ref::matmul(am.m, x.data(), T, ya.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t t = 0; t < T; ++t) {
      double s = 0, sa = 0;
      for (int64_t c = 0; c < cols; ++c) {
        s += double(bf16_to_f32(f32_to_bf16(w[size_t(r * cols + c)]))) * x[size_t(t * cols + c)];
        // §7.5 affine: w = scale·q + bias per group of 64, LSB-first nibbles.
        int64_t g = c / 64;
        uint16_t sb, bb;
        std::memcpy(&sb, am.m.scales + 2 * (r * 2 + g), 2);
        std::memcpy(&bb, am.m.biases + 2 * (r * 2 + g), 2);
        uint8_t byte = am.m.data[r * am.m.row_bytes + size_t(c / 2)];
        int q = (c % 2) ? byte >> 4 : byte & 15;
        sa += (double(bf16_to_f32(sb)) * q + bf16_to_f32(bb)) * x[size_t(t * cols + c)];
      }
      want[size_t(t * rows + r)] = float(s);
      wanta[size_t(t * rows + r)] = float(sa);
    }
  expect_close(y.data(), want.data(), y.size(), 1e-5, 1e-5, "dense bf16");
  expect_close(ya.data(), wanta.data(), ya.size(), 1e-5, 1e-5, "affine 4-bit");
}

TEST(OpsReference, EmbeddingRowsScalesAndRejectsBadIds) {
  const int64_t rows = 10, cols = 6;
  auto w = random_floats(size_t(rows * cols), 12);
  auto m = testing::make_dense(w, rows, cols, DType::F32);
  std::vector<int32_t> ids = {3, 0, 9};
  std::vector<float> out(3 * cols);
  ref::embedding_rows(m.m, ids.data(), 3, out.data(), 2.0f);
  for (int t = 0; t < 3; ++t)
    for (int c = 0; c < cols; ++c)
      EXPECT_EQ(out[size_t(t * cols + c)], 2.0f * w[size_t(ids[size_t(t)] * cols + c)]);
  int32_t bad = 10;
  EXPECT_THROW(ref::embedding_rows(m.m, &bad, 1, out.data(), 1.0f), Error);
  bad = -1;
  EXPECT_THROW(ref::embedding_rows(m.m, &bad, 1, out.data(), 1.0f), Error);
}

// Row offsets beyond 4 GiB (PLE tables): a sparse 6 GiB mapping, only one row touched.
TEST(OpsReference, EmbeddingRowsUses64BitOffsets) {
  const int64_t cols = 8960, rows = 262144;  // E2B PLE: [262144, 35·256] bf16 = 4.7 GB
  const size_t bytes = size_t(rows) * size_t(cols) * 2;
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) GTEST_SKIP() << "cannot reserve a sparse mapping";
  Matrix m;
  m.name = "ple";
  m.dtype = DType::BF16;
  m.rows = rows, m.cols = cols;
  m.data = static_cast<const uint8_t*>(p);
  m.row_bytes = size_t(cols) * 2;
  const int32_t id = 262000;  // offset 4.69e9 bytes > 2^32
  uint16_t* row = reinterpret_cast<uint16_t*>(static_cast<uint8_t*>(p) + size_t(id) * m.row_bytes);
  for (int64_t c = 0; c < cols; ++c) row[c] = f32_to_bf16(float(c % 97) - 48.0f);
  std::vector<float> out(static_cast<size_t>(cols));
  ref::embedding_rows(m, &id, 1, out.data(), 16.0f);
  for (int64_t c = 0; c < cols; ++c) ASSERT_EQ(out[size_t(c)], 16.0f * (float(c % 97) - 48.0f)) << c;
  munmap(p, bytes);
}

}  // namespace
}  // namespace ember
