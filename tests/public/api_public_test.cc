// The public API from a translation unit that sees ONLY include/ember/ (this target has no
// src/ include path): tokenizer/template/inspect objects agree with the Model, sessions on
// several threads over one model match sequential runs, and bad input is an ember::Error
// (never an abort), after which objects stay usable.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "ember/ember.hpp"
#include "ember/inspect.hpp"
#include "ember/text.hpp"

namespace {

const std::string kModel = EMBER_TINY_MODEL_DIR;
const std::string kSource = EMBER_SOURCE_DIR;

std::shared_ptr<ember::Model> model() {
  static std::shared_ptr<ember::Model> m = [] {
    ember::ModelOptions o;
    o.threads = 2;
    o.context_length = 256;
    return ember::Model::load(kModel, o);
  }();
  return m;
}

ember::GenerateOptions greedy(int64_t n) {
  ember::GenerateOptions g;
  g.sampling.temperature = 0;
  g.max_tokens = n;
  g.stop_on_eos = false;
  return g;
}

std::vector<int32_t> generate(const std::vector<int32_t>& prompt) {
  auto s = model()->new_session();
  s->prefill(prompt);
  s->generate(greedy(10));
  return s->tokens();
}

template <typename F>
ember::ErrorCode error_code(F&& f) {
  try {
    f();
  } catch (const ember::Error& e) {
    EXPECT_GT(std::string(e.what()).size(), 0u);
    return e.code();
  }
  ADD_FAILURE() << "no ember::Error thrown";
  return ember::ErrorCode::kInternal;
}

TEST(PublicApi, TokenizerAndTemplateMatchTheModel) {
  const auto tok = ember::TextTokenizer::load(kModel);
  const std::string text = "What is the capital of France? <start_of_turn>";
  EXPECT_EQ(tok.encode(text, true), model()->tokenize(text, true));
  const auto ids = tok.encode("Hello world");
  EXPECT_EQ(tok.decode(ids), "Hello world");
  EXPECT_EQ(tok.piece(ids[0]), model()->token_piece(ids[0]));

  std::vector<ember::Message> msgs = {{"system", "Be brief."}, {"user", "Hi!"}};
  ember::ChatOptions co;
  co.enable_thinking = true;
  const auto tpl = ember::PromptTemplate::from_model(kModel);
  const std::string prompt = tpl.render(msgs, co);
  EXPECT_EQ(prompt, model()->render_chat(msgs, co));
  EXPECT_EQ(prompt, tpl.render_json(R"({"messages":[{"role":"system","content":"Be brief."},)"
                                    R"({"role":"user","content":"Hi!"}],"enable_thinking":true})"));
  EXPECT_NE(prompt.find("Hi!"), std::string::npos);
}

TEST(PublicApi, ReportsWithoutLoadingABackend) {
  const auto r = ember::inspect_checkpoint(kModel, true);
  EXPECT_EQ(r.architecture, "gemma4");
  EXPECT_EQ(int64_t(r.layers.size()), model()->info().n_layers);
  EXPECT_FALSE(r.tensors.empty());
  EXPECT_GT(r.used_bytes, 0u);
  const auto g = ember::read_gguf_report(kSource + "/tests/fixtures/gguf/tiny.gguf");
  EXPECT_EQ(g.version, 3u);
  EXPECT_EQ(g.tensors.size(), 7u);
  EXPECT_EQ(g.metadata.size(), 31u);
  const auto c = ember::inspect_checkpoint(kSource + "/tests/fixtures/gguf/tiny.gguf", true);
  EXPECT_EQ(c.tensors.size(), 7u);
  EXPECT_EQ(c.n_files, 1u);
  uint64_t bytes = 0;
  for (const auto& t : g.tensors) bytes += t.bytes;
  EXPECT_EQ(c.total_bytes, bytes);
}

TEST(PublicApi, SessionsOnFourThreadsMatchSequentialRuns) {
  const std::vector<std::vector<int32_t>> prompts = {
      {2, 105, 97, 95, 116, 5, 67}, {2, 50, 60, 70, 80}, {2, 33, 34}, {2, 105, 97, 95, 116, 5, 67, 90}};
  std::vector<std::vector<int32_t>> want;
  for (const auto& p : prompts) want.push_back(generate(p));
  std::vector<std::vector<int32_t>> got(prompts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < prompts.size(); ++i) threads.emplace_back([&, i] { got[i] = generate(prompts[i]); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(got, want);
}

TEST(PublicApi, BadInputIsAnErrorNotAnAbort) {
  using ember::ErrorCode;
  EXPECT_EQ(error_code([] { ember::Model::load(kSource + "/does/not/exist"); }), ErrorCode::kNotFound);
  ember::ModelOptions o;
  o.prefill_chunk = 0;
  EXPECT_EQ(error_code([&] { ember::Model::load(kModel, o); }), ErrorCode::kInvalidArgument);
  EXPECT_NE(error_code([] { ember::TextTokenizer::load(kSource + "/nope.json"); }), ErrorCode::kInternal);
  const auto tok = ember::TextTokenizer::load(kModel);
  EXPECT_EQ(error_code([&] { tok.decode(std::vector<int32_t>{1, -5}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code([&] { tok.piece(1 << 30); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code([] { ember::PromptTemplate::from_source("{% for x in %}", "t.jinja"); }),
            ErrorCode::kTemplate);
  const auto tpl = ember::PromptTemplate::from_model(kModel);
  EXPECT_EQ(error_code([&] { tpl.render_json("{\"messages\": [", "conv.json"); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code([&] {
              tpl.render(std::vector<ember::Message>{{"", "no role"}});
            }),
            ErrorCode::kInvalidArgument);
  ember::ChatOptions co;
  co.tools_json = "{not json";
  EXPECT_EQ(error_code([&] {
              model()->render_chat(std::vector<ember::Message>{{"user", "x"}}, co);
            }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code([&] { model()->detokenize(std::vector<int32_t>{1 << 30}); }),
            ErrorCode::kInvalidArgument);
  EXPECT_NE(error_code([] { ember::inspect_checkpoint(kSource + "/does/not/exist"); }), ErrorCode::kInternal);
  EXPECT_EQ(
      error_code([] { ember::read_gguf_report(kSource + "/tests/fixtures/tiny_tokenizer/tokenizer.json"); }),
      ErrorCode::kCorruptFile);

  // A session stays usable after rejected input.
  auto s = model()->new_session();
  EXPECT_EQ(error_code([&] { s->generate(greedy(1)); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(error_code([&] { s->prefill(std::vector<int32_t>{2, 1 << 30}); }), ErrorCode::kInvalidArgument);
  auto g = greedy(1);
  g.max_tokens = -1;
  s->prefill(std::vector<int32_t>{2, 50, 60, 70, 80});
  EXPECT_EQ(error_code([&] { s->generate(g); }), ErrorCode::kInvalidArgument);
  g = greedy(10);
  g.sampling.temperature = -1;
  EXPECT_EQ(error_code([&] { s->generate(g); }), ErrorCode::kInvalidArgument);
  s->generate(greedy(10));
  EXPECT_EQ(s->tokens(), generate({2, 50, 60, 70, 80}));
}

}  // namespace
