// GGUF block dequantization vs the gguf Python package (committed fixtures), and the dot
// kernels vs dequantize-then-dot.
//
// Fixtures: tests/fixtures/gguf/<type>.{blocks,f32}, made by
//   python3 tools/gen_gguf_fixtures.py tests/fixtures/gguf
#include "quant/gguf_quants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/weights.h"
#include "ember/error.hpp"

namespace ember::gguf {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing fixture " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::string fixture(const std::string& name) {
  return std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gguf/" + name;
}

const int kAllTypes[] = {kF32,  kF16,  kBF16, kQ4_0, kQ4_1, kQ5_0, kQ5_1,
                         kQ8_0, kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K};

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(c));
  return s;
}

// Bit-exact: every value's bits equal the package's (NaN never occurs: scales are finite).
TEST(GgufQuants, DequantMatchesPythonPackageBitExact) {
  for (int type : kAllTypes) {
    std::string name = lower(ggml_type_name(type));
    std::vector<uint8_t> blocks = read_bytes(fixture(name + ".blocks"));
    std::vector<uint8_t> want_raw = read_bytes(fixture(name + ".f32"));
    GgmlTypeInfo ti = ggml_type_info(type);
    ASSERT_EQ(blocks.size() % ti.type_size, 0u) << name;
    int64_t n = int64_t(blocks.size() / ti.type_size) * ti.block_size;
    ASSERT_EQ(want_raw.size(), size_t(n) * 4) << name;
    std::vector<float> got(size_t(n), -1.0f);
    dequantize(type, blocks.data(), got.data(), n);
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t a, b;
      std::memcpy(&a, &got[i], 4);
      std::memcpy(&b, want_raw.data() + 4 * i, 4);
      if (a != b && mismatches++ < 5) {
        float w;
        std::memcpy(&w, &b, 4);
        ADD_FAILURE() << name << " element " << i << ": got " << got[i] << " want " << w;
      }
    }
    EXPECT_EQ(mismatches, 0) << name;
  }
}

TEST(GgufQuants, DequantizeRowHookUsesGguf) {
  std::vector<uint8_t> blocks = read_bytes(fixture("q4_k.blocks"));
  std::vector<uint8_t> want_raw = read_bytes(fixture("q4_k.f32"));
  Matrix m;
  m.name = "w";
  m.format = WeightFormat::kGguf;
  m.gguf_type = kQ4_K;
  m.rows = 2;
  m.cols = 512;
  m.row_bytes = 2 * kBlockQ4_K;
  m.data = blocks.data();
  std::vector<float> row(512);
  dequantize_row(m, 1, row.data());
  EXPECT_EQ(std::memcmp(row.data(), want_raw.data() + 512 * 4, 512 * 4), 0);
  m.gguf_type = kIQ2_XXS;
  try {
    dequantize_row(m, 0, row.data());
    FAIL() << "expected kUnsupported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("IQ2_XXS"), std::string::npos);
  }
}

TEST(GgufQuants, TypeTable) {
  EXPECT_EQ(ggml_type_info(kQ4_K).type_size, 144);
  EXPECT_EQ(ggml_type_info(kQ6_K).type_size, 210);
  EXPECT_EQ(ggml_type_info(kQ5_0).type_size, 22);
  EXPECT_EQ(ggml_type_from_name("Q8_0"), kQ8_0);
  EXPECT_EQ(ggml_type_name(99), "unknown type 99");
  EXPECT_EQ(ggml_type_name(4), "removed type Q4_2 (4)");
}

// Random valid rows of `type`: the fixture blocks tiled and perturbed (bytes are random, the
// fp16 scale fields come from the fixtures so they stay finite).
std::vector<uint8_t> random_rows(int type, int64_t rows, int64_t cols, std::mt19937& rng) {
  GgmlTypeInfo ti = ggml_type_info(type);
  std::vector<uint8_t> src = read_bytes(fixture(lower(ggml_type_name(type)) + ".blocks"));
  size_t nblk_src = src.size() / ti.type_size;
  int64_t nb = rows * cols / ti.block_size;
  std::vector<uint8_t> out(size_t(nb) * ti.type_size);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* s = src.data() + (rng() % nblk_src) * ti.type_size;
    std::memcpy(out.data() + b * ti.type_size, s, ti.type_size);
  }
  return out;
}

struct DotCase {
  int type;
  int64_t rows, cols;
};

// Integer path vs dequantize-then-dot in double. Tolerance is the bound the activation
// quantization allows: |x_i - d q_i| <= d/2 per element with d = max|x_block| / 127, so
// |err| <= sum_i |w_i| * d_block(i) / 2, plus f32 rounding (1e-5 relative to sum |w_i x_i|).
TEST(GgufQuants, Q8DotMatchesDequantDotWithinQuantizationBound) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd;
  const DotCase cases[] = {{kQ4_0, 3, 96},  {kQ4_1, 5, 64},  {kQ5_0, 7, 160}, {kQ5_1, 3, 32},
                           {kQ8_0, 9, 224}, {kQ2_K, 3, 512}, {kQ3_K, 5, 256}, {kQ4_K, 7, 768},
                           {kQ5_K, 3, 512}, {kQ6_K, 5, 512}};
  for (const DotCase& c : cases) {
    SCOPED_TRACE(ggml_type_name(c.type));
    std::vector<uint8_t> w = random_rows(c.type, c.rows, c.cols, rng);
    GgmlTypeInfo ti = ggml_type_info(c.type);
    // Misaligned activation pointer: x starts one float past an allocation boundary.
    std::vector<float> xbuf(static_cast<size_t>(c.cols) + 1);
    float* x = xbuf.data() + 1;
    for (int64_t i = 0; i < c.cols; ++i) x[i] = nd(rng) * (i % 7 == 0 ? 4.0f : 1.0f);
    QuantizedActivation xq;
    quantize_activation(c.type, x, c.cols, xq);
    std::vector<float> deq(static_cast<size_t>(c.cols));
    Matrix m;
    m.format = WeightFormat::kGguf;
    m.gguf_type = c.type;
    m.rows = c.rows;
    m.cols = c.cols;
    m.row_bytes = size_t(c.cols / ti.block_size) * ti.type_size;
    m.data = w.data();
    std::vector<float> y_auto(static_cast<size_t>(c.rows));
    gguf_matvec(m, x, y_auto.data());
    for (int64_t r = 0; r < c.rows; ++r) {
      const uint8_t* row = w.data() + size_t(r) * m.row_bytes;
      dequantize(c.type, row, deq.data(), c.cols);
      double ref = 0, mag = 0, bound = 0;
      for (int64_t i = 0; i < c.cols; ++i) {
        ref += double(deq[i]) * x[i];
        mag += std::fabs(double(deq[i]) * x[i]);
        int bsz = ti.block_size == kQK ? kQK : kQK_K;
        float d = bsz == kQK ? xq.q32[i / kQK].d : xq.q256[i / kQK_K].d;
        bound += std::fabs(double(deq[i])) * d * 0.5;
      }
      double tol = bound * 1.001 + 1e-5 * mag + 1e-6;
      float scalar = dot_q8(row, xq, DotImpl::kScalar);
      EXPECT_NEAR(scalar, ref, tol) << "row " << r << " scalar";
      EXPECT_NEAR(y_auto[r], ref, tol) << "row " << r << " auto";
      // f32 reference path: same math as dequantize-then-dot, only summation order differs.
      EXPECT_NEAR(gguf_dot_row(m, r, x), ref, 1e-5 * mag + 1e-6) << "row " << r << " f32 ref";
      if (cpu_has_avx2()) {
        // AVX2 and scalar share the integer sums exactly; only f32 combination order differs.
        float avx = dot_q8(row, xq, DotImpl::kAvx2);
        EXPECT_NEAR(avx, scalar, 1e-5 * mag + 1e-6) << "row " << r << " avx2 vs scalar";
      }
    }
  }
}

// Exact small-integer case: with x made of integers in [-127, 127] and a block max of 127,
// activation quantization is lossless, so the integer path must equal the f32 reference.
TEST(GgufQuants, Q8DotExactOnLosslessActivations) {
  std::mt19937 rng(11);
  for (int type : {kQ4_0, kQ5_0, kQ8_0, kQ4_1, kQ5_1, kQ2_K, kQ3_K, kQ4_K, kQ5_K, kQ6_K}) {
    SCOPED_TRACE(ggml_type_name(type));
    GgmlTypeInfo ti = ggml_type_info(type);
    int64_t cols = 2 * ti.block_size;
    std::vector<uint8_t> w = random_rows(type, 1, cols, rng);
    std::vector<float> x(static_cast<size_t>(cols));
    for (int64_t i = 0; i < cols; ++i) x[i] = float(int(rng() % 255) - 127);
    for (int64_t b = 0; b < cols; b += 32) x[size_t(b)] = 127;  // every block's max is 127
    QuantizedActivation xq;
    quantize_activation(type, x.data(), cols, xq);
    std::vector<float> deq(static_cast<size_t>(cols));
    dequantize(type, w.data(), deq.data(), cols);
    double ref = 0, mag = 0;
    for (int64_t i = 0; i < cols; ++i) {
      ref += double(deq[i]) * x[i];
      mag += std::fabs(double(deq[i]) * x[i]);
    }
    EXPECT_NEAR(dot_q8(w.data(), xq, DotImpl::kScalar), ref, 2e-6 * mag + 1e-6);
    if (cpu_has_avx2()) EXPECT_NEAR(dot_q8(w.data(), xq, DotImpl::kAvx2), ref, 2e-6 * mag + 1e-6);
  }
}

TEST(GgufQuants, ActivationLengthMustFitBlocks) {
  std::vector<float> x(100);
  QuantizedActivation xq;
  EXPECT_THROW(quantize_activation(kQ4_K, x.data(), 100, xq), Error);
  EXPECT_THROW(quantize_activation(kIQ2_XXS, x.data(), 256, xq), Error);
}

}  // namespace
}  // namespace ember::gguf

namespace ember::gguf {
namespace {

// gguf_matmul_rows (prefill: row tiles, weight blocks unpacked once per 4 tokens) equals the
// per-token dot of every row bit for bit, with both implementations, odd row counts, a row
// sub-range, T not a multiple of 4 and a misaligned weight pointer.
TEST(GgufQuants, MatmulRowsEqualsPerTokenDotBitExact) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd;
  const DotCase cases[] = {{kQ4_0, 37, 96}, {kQ5_0, 41, 160}, {kQ8_0, 33, 224}, {kQ4_1, 9, 64},
                           {kQ4_K, 13, 512}, {kQ6_K, 7, 256}};
  for (const DotCase& c : cases) {
    SCOPED_TRACE(ggml_type_name(c.type));
    std::vector<uint8_t> w0 = random_rows(c.type, c.rows, c.cols, rng);
    std::vector<uint8_t> wbuf(w0.size() + 1);
    std::memcpy(wbuf.data() + 1, w0.data(), w0.size());  // odd address
    const GgmlTypeInfo ti = ggml_type_info(c.type);
    Matrix m;
    m.format = WeightFormat::kGguf;
    m.gguf_type = c.type;
    m.rows = c.rows, m.cols = c.cols;
    m.row_bytes = size_t(c.cols / ti.block_size) * ti.type_size;
    m.data = wbuf.data() + 1;
    for (int64_t T : {1, 3, 6, 9}) {
      std::vector<QuantizedActivation> xq(static_cast<size_t>(T));
      std::vector<float> x(static_cast<size_t>(c.cols));
      for (auto& q : xq) {
        for (float& v : x) v = nd(rng);
        quantize_activation(c.type, x.data(), c.cols, q);
      }
      for (DotImpl impl : {DotImpl::kScalar, DotImpl::kAvx2}) {
        if (impl == DotImpl::kAvx2 && !cpu_has_avx2()) continue;
        const int64_t r0 = 2, r1 = c.rows - 1;
        std::vector<float> y(static_cast<size_t>(T * c.rows), -1.0f);
        gguf_matmul_rows(m, xq.data(), T, r0, r1, y.data(), c.rows, impl);
        for (int64_t t = 0; t < T; ++t)
          for (int64_t r = 0; r < c.rows; ++r) {
            const float want = r < r0 || r >= r1 ? -1.0f : dot_q8(m.data + size_t(r) * m.row_bytes, xq[size_t(t)], impl);
            EXPECT_EQ(y[size_t(t * c.rows + r)], want) << "T " << T << " t " << t << " r " << r;
          }
      }
    }
  }
}

}  // namespace
}  // namespace ember::gguf
