#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "ember/error.hpp"
#include "runtime/sampler.h"

namespace ember {

TEST(Sampler, GreedyPicksArgmaxAndFirstOnTies) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p);
  std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(s.sample(l, {}), 1);
}

TEST(Sampler, SameSeedSameSequence) {
  SamplingParams p;
  p.temperature = 1.0f;
  p.seed = 42;
  p.has_seed = true;
  std::vector<float> l(100);
  for (int i = 0; i < 100; ++i) l[size_t(i)] = float(i % 7) * 0.3f;
  Sampler a(p), b(p);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.sample(l, {}), b.sample(l, {}));
  p.seed = 43;
  Sampler c(p);
  int differ = 0;
  Sampler a2(SamplingParams{p.temperature, 0, 1, 0, 1, 0, 0, 42, true});
  for (int i = 0; i < 50; ++i) differ += a2.sample(l, {}) != c.sample(l, {});
  EXPECT_GT(differ, 0);
}

TEST(Sampler, TopKRestrictsSupport) {
  SamplingParams p;
  p.top_k = 2;
  p.seed = 1;
  p.has_seed = true;
  Sampler s(p);
  std::vector<float> l = {1.0f, 5.0f, 4.9f, 0.0f, 4.8f};
  for (int i = 0; i < 200; ++i) {
    int t = s.sample(l, {});
    EXPECT_TRUE(t == 1 || t == 2) << t;
  }
}

TEST(Sampler, TopPKeepsSmallestPrefix) {
  SamplingParams p;
  p.top_p = 0.5f;
  p.seed = 3;
  p.has_seed = true;
  Sampler s(p);
  // probabilities ~ 0.6, 0.3, 0.1: top_p 0.5 keeps only the first.
  std::vector<float> l = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.sample(l, {}), 0);
}

TEST(Sampler, MinPDropsUnlikely) {
  SamplingParams p;
  p.min_p = 0.4f;
  p.seed = 5;
  p.has_seed = true;
  Sampler s(p);
  std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};  // 0.2 < 0.4*0.5
  std::map<int, int> seen;
  for (int i = 0; i < 300; ++i) ++seen[s.sample(l, {})];
  EXPECT_EQ(seen.count(2), 0u);
  EXPECT_GT(seen[1], 0);
}

TEST(Sampler, RepetitionPenaltyChangesGreedyChoice) {
  SamplingParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {3.0f, 2.0f};
  std::vector<int32_t> hist = {0};
  EXPECT_EQ(s.sample(l, hist), 1);  // 3/2 = 1.5 < 2
  SamplingParams q;
  q.temperature = 0;
  q.frequency_penalty = 0.6f;
  Sampler f(q);
  std::vector<int32_t> hist2 = {0, 0};
  EXPECT_EQ(f.sample(l, hist2), 1);  // 3 - 1.2 = 1.8 < 2
}

TEST(Sampler, InvalidParamsAreErrors) {
  SamplingParams p;
  p.top_p = 0.0f;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.temperature = -1;
  EXPECT_THROW(Sampler{p}, Error);
  p = {};
  p.presence_penalty = 3;
  EXPECT_THROW(Sampler{p}, Error);
}

}  // namespace ember
