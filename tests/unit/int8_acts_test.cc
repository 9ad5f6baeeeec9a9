// quantize_acts_int8 (int8_acts.cc) against a plain reference written with std::nearbyint and
// std::fmax: bit-exact codes, scales and group sums (the fast version only avoids libm calls per
// element), for 4-bit (permuted chunks) and 8-bit order, group sizes 64/128, odd group counts,
// several token ranges, misaligned inputs and exact rounding ties.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/kernels.h"

namespace ember {
namespace {

void reference(const Matrix& W, const float* x, int64_t T, std::vector<int8_t>* q, std::vector<float>* d,
               std::vector<float>* gsum) {
  const int64_t cols = W.cols, gs = W.group_size, groups = cols / gs;
  q->assign(size_t(T * cols), 0), d->assign(size_t(T * groups), 0), gsum->assign(size_t(T * groups), 0);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t g = 0; g < groups; ++g) {
      const float* xg = x + t * cols + g * gs;
      float amax = 0, sum = 0;
      for (int64_t k = 0; k < gs; ++k) amax = std::fmax(amax, std::fabs(xg[k])), sum += xg[k];
      const float inv = amax > 0 ? 127.0f / amax : 0.0f;
      (*d)[size_t(t * groups + g)] = amax / 127.0f;
      (*gsum)[size_t(t * groups + g)] = sum;
      for (int64_t k = 0; k < gs; ++k) {
        const int64_t dst = W.bits == 4 ? (k & ~int64_t(63)) + ((k & 1) ? 32 : 0) + ((k & 63) >> 1) : k;
        (*q)[size_t(t * cols + g * gs + dst)] = int8_t(std::nearbyint(xg[k] * inv));
      }
    }
}

TEST(Int8Acts, MatchesNearbyintReferenceBitExact) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  for (int bits : {4, 8})
    for (int gs : {64, 128})
      for (int64_t groups : {1, 3, 7}) {
        Matrix W;
        W.format = WeightFormat::kMlxAffine;
        W.bits = bits, W.group_size = gs, W.cols = gs * groups, W.rows = 1;
        const int64_t T = 5, cols = W.cols;
        std::vector<float> buf(size_t(T * cols) + 1);
        float* x = buf.data() + 1;  // misaligned
        for (int64_t i = 0; i < T * cols; ++i) x[i] = u(rng);
        // Ties: with max 127 in the group, inv = 1 and these are exactly k + 0.5.
        x[0] = 127.0f, x[1] = 2.5f, x[2] = -3.5f, x[3] = 0.5f, x[4] = -0.5f;
        for (int64_t k = 0; k < gs; ++k) x[cols + k] = 0.0f;  // an all-zero group (token 1)
        std::vector<int8_t> rq;
        std::vector<float> rd, rs;
        reference(W, x, T, &rq, &rd, &rs);
        cpu::Int8Acts a;
        cpu::size_acts_int8(W, T, &a);
        cpu::quantize_acts_int8(W, x, 0, 2, &a);  // two ranges, as two threads would
        cpu::quantize_acts_int8(W, x, 2, T, &a);
        SCOPED_TRACE(testing::Message() << "bits " << bits << " gs " << gs << " groups " << groups);
        EXPECT_EQ(0, std::memcmp(rq.data(), a.q.data(), rq.size()));
        EXPECT_EQ(0, std::memcmp(rd.data(), a.d.data(), rd.size() * 4));
        EXPECT_EQ(0, std::memcmp(rs.data(), a.gsum.data(), rs.size() * 4));
      }
}

}  // namespace
}  // namespace ember
