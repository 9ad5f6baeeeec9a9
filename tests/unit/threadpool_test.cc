#include "core/threadpool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

namespace ember {
namespace {

TEST(ThreadPool, CoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> calls{0};
      pool.parallel_for(n, [&](int64_t b, int64_t e) {
        ++calls;
        for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << threads << " " << n << " " << i;
      EXPECT_LE(calls.load(), threads);
    }
  }
}

TEST(ThreadPool, MinChunkLimitsThreadsAndNestedCallsRunInline) {
  ThreadPool pool(4);
  std::atomic<int> calls{0};
  pool.parallel_for(
      10, [&](int64_t, int64_t) { ++calls; }, 8);
  EXPECT_EQ(calls.load(), 2);
  std::atomic<int64_t> total{0};
  pool.parallel_for(4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) pool.parallel_for(10, [&](int64_t bb, int64_t ee) { total += ee - bb; });
  });
  EXPECT_EQ(total.load(), 40);
  EXPECT_GE(ThreadPool::hardware_cores(), 1);
  ThreadPool dflt;
  EXPECT_EQ(dflt.size(), ThreadPool::hardware_cores());
}

TEST(ThreadPool, ExceptionsPropagateAndPoolStaysUsable) {
  ThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(9,
                                 [&](int64_t b, int64_t) {
                                   if (b > 0) throw std::runtime_error("boom");
                                 }),
               std::runtime_error);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(1000, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) sum += i;
  });
  EXPECT_EQ(sum.load(), 999 * 1000 / 2);
}

// Many back-to-back small jobs (the decode pattern): every index exactly once, every time.
TEST(ThreadPool, RapidSmallJobsStress) {
  ThreadPool pool(3);
  std::vector<int> hits(64);
  int64_t expected = 0;
  std::atomic<int64_t> total{0};
  for (int iter = 0; iter < 5000; ++iter) {
    const int64_t n = 1 + iter % 64;
    expected += n;
    pool.parallel_for(n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;  // disjoint ranges: no race
      total += e - b;
    });
  }
  EXPECT_EQ(total.load(), expected);
  int64_t sum = 0;
  for (int h : hits) sum += h;
  EXPECT_EQ(sum, expected);
}

}  // namespace
}  // namespace ember
