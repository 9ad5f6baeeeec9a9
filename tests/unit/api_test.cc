// The public API (include/ember/ember.hpp only) on a tiny fixture model: greedy generation
// equals transformers' generate(), seeded sampling is reproducible, sessions on two threads
// match sequential runs, fork, prefix reuse and the incremental chat prefill.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "ember/ember.hpp"
#include "util/tiny_model.h"

namespace {

using ember::GenerateOptions;
using ember::Model;

std::shared_ptr<Model> tiny() {
  static std::shared_ptr<Model> m = [] {
    ember::ModelOptions o;
    o.threads = 2;
    o.f32_reference = true;
    return Model::load(ember::testing::tiny_model_dir(), o);
  }();
  return m;
}

GenerateOptions greedy(int64_t n) {
  GenerateOptions g;
  g.sampling.temperature = 0;
  g.max_tokens = n;
  return g;
}

TEST(Api, GreedyGenerationMatchesTransformersGenerate) {
  std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4/hf_text_e2b_bf16/generation.json");
  auto j = nlohmann::json::parse(in);
  auto prompt = j["prompt_ids"].get<std::vector<int32_t>>();
  for (const auto& run : j["runs"]) {
    auto want = run["generated_ids"].get<std::vector<int32_t>>();
    auto s = tiny()->new_session();
    s->prefill(prompt);
    GenerateOptions g = greedy(j["max_new_tokens"].get<int64_t>());
    g.stop_on_eos = false;  // the reference run decides its own stop ids
    g.extra_stop_ids = run["eos_token_id"].get<std::vector<int32_t>>();
    auto res = s->generate(g);
    // transformers includes the eos token it stopped on; ember does not emit stop tokens.
    std::vector<int32_t> got = res.tokens;
    if (res.stop_reason == ember::StopReason::kEos) got.push_back(want.back());
    EXPECT_EQ(got, want);
  }
}

TEST(Api, SeededSamplingIsReproducible) {
  auto run = [](int64_t seed) {
    auto s = tiny()->new_session();
    s->prefill(std::vector<int32_t>{2, 105, 97, 95, 116, 5});
    GenerateOptions g;
    g.sampling.temperature = 1.0f;
    g.sampling.top_k = 50;
    g.sampling.seed = seed;
    g.max_tokens = 16;
    g.stop_on_eos = false;
    return s->generate(g).tokens;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Api, TwoThreadsMatchSequential) {
  std::vector<int32_t> p1 = {2, 105, 97, 95, 116, 5, 67}, p2 = {2, 50, 60, 70, 80};
  auto gen = [](const std::vector<int32_t>& p) {
    auto s = tiny()->new_session();
    s->prefill(p);
    GenerateOptions g = greedy(12);
    g.stop_on_eos = false;
    return s->generate(g).tokens;
  };
  auto a = gen(p1), b = gen(p2);
  std::vector<int32_t> ta, tb;
  std::thread t1([&] { ta = gen(p1); }), t2([&] { tb = gen(p2); });
  t1.join();
  t2.join();
  EXPECT_EQ(a, ta);
  EXPECT_EQ(b, tb);
}

TEST(Api, ForkAndPrefixReuse) {
  auto s = tiny()->new_session();
  std::vector<int32_t> p = {2, 105, 97, 95, 116, 5, 67, 84, 121, 4, 126, 119};
  s->prefill(p);
  auto f = s->fork();
  GenerateOptions g = greedy(8);
  g.stop_on_eos = false;
  EXPECT_EQ(s->generate(g).tokens, f->generate(g).tokens);

  // Prefix reuse: same prompt plus 2 tokens computes only the 2 new ones.
  auto r = tiny()->new_session();
  r->prefill(p);
  auto longer = p;
  longer.push_back(60);
  longer.push_back(61);
  EXPECT_EQ(r->prefill_reuse(longer), 2);
  auto fresh = tiny()->new_session();
  fresh->prefill(longer);
  auto a = r->logits(), b = fresh->logits();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4);
}

TEST(Api, ChatSecondTurnPrefillsOnlyTheNewTokens) {
  ember::Chat chat(tiny());
  GenerateOptions g = greedy(6);
  chat.send("What is the capital of France?", g);
  const std::vector<int32_t> after_first = chat.session().tokens();
  auto res = chat.send("And of Italy?", g);
  const int64_t second = chat.last_prefill_tokens();
  const auto& all = chat.session().tokens();
  // Turn 1 stays cached (a prefix of the sequence) and turn 2 computed only what it appended.
  ASSERT_GE(all.size(), after_first.size());
  EXPECT_TRUE(std::equal(after_first.begin(), after_first.end(), all.begin()));
  EXPECT_EQ(int64_t(all.size()) - int64_t(after_first.size()) - int64_t(res.tokens.size()), second);
  // ... which is exactly the closing of the answer plus the new user turn and the generation
  // prompt as the Gemma 4 template renders them (empty thought channel: thinking off).
  const std::string turn =
      "<turn|>\n<|turn>user\nAnd of Italy?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>";
  EXPECT_EQ(second, int64_t(tiny()->tokenize(turn).size()));
  EXPECT_LT(second, int64_t(after_first.size()));
}

// ModelOptions::kv_memory_limit: sessions reserve their full-context KV bytes; one that does
// not fit is refused (kResourceExhausted) and destroyed sessions give their share back.
TEST(Api, KvMemoryLimitRefusesSessionsThatDoNotFit) {
  ember::ModelOptions o;
  o.context_length = 64;
  const size_t per = Model::load(ember::testing::tiny_model_dir(), o)->new_session()->kv_bytes();
  ASSERT_GT(per, 0u);
  o.kv_memory_limit = int64_t(per * 2 + per / 2);
  auto m = Model::load(ember::testing::tiny_model_dir(), o);
  auto a = m->new_session();
  auto b = m->new_session();
  try {
    auto c = m->new_session();
    ADD_FAILURE() << "a third session fit in a limit of 2.5 sessions";
  } catch (const ember::Error& e) {
    EXPECT_EQ(e.code(), ember::ErrorCode::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("kv_memory_limit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(b->fork(), ember::Error);  // a fork reserves too
  a.reset();
  auto c = m->new_session();  // a's share was released
  c->prefill(std::vector<int32_t>{2, 17, 33});
  EXPECT_FALSE(c->logits().empty());
}

TEST(Api, BadInputIsAnError) {
  EXPECT_THROW(Model::load("/nonexistent/model"), ember::Error);
  auto s = tiny()->new_session();
  EXPECT_THROW(s->generate(greedy(1)), ember::Error);  // nothing prefilled
  EXPECT_THROW(s->prefill(std::vector<int32_t>{2, 100000}), ember::Error);
  GenerateOptions g = greedy(1);
  g.sampling.top_p = 2.0f;
  s->prefill(std::vector<int32_t>{2, 3});
  EXPECT_THROW(s->generate(g), ember::Error);
}

}  // namespace
