// The server's pure parts: the OpenAI request parser (validation -> ApiError with 4xx), its view
// of Gemma 4 output (answer / thought channel / tool calls, whole and token by token, parsed by
// src/text/gemma4_output), and
// the step-wise Generation API the scheduler uses (same tokens, text and stop reason as
// Session::generate, also when several generations are interleaved).
#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

#include "../../apps/server/request.cc"
#include "../../apps/server/responses.cc"
#include "ember/ember.hpp"
#include "util/tiny_model.h"

namespace {

using ember::server::ApiError;
using ember::server::OutputEvent;
using ember::server::OutputParser;
using ember::server::parse_chat_request;
using ember::server::parse_completion_request;

int status_of(const std::string& body, bool chat = true) {
  try {
    chat ? parse_chat_request(body) : parse_completion_request(body);
  } catch (const ApiError& e) {
    return e.status;
  }
  return 200;
}

TEST(ServerRequest, ParsesChat) {
  auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"system","content":"s"},
    {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
    {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
      "function":{"name":"f","arguments":"{\"x\":1}"}}]},
    {"role":"tool","tool_call_id":"c1","content":"42"}],
    "max_completion_tokens":7,"temperature":0.5,"top_k":-1,"stop":"x","seed":3,"stream":true,
    "stream_options":{"include_usage":true},"reasoning_effort":"high"})");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[1].content, "ab");
  EXPECT_EQ(nlohmann::json::parse(r.messages[2].tool_calls_json)[0]["function"]["arguments"]["x"], 1);
  EXPECT_EQ(r.messages[3].name, "f");  // from the tool_call_id
  EXPECT_EQ(*r.max_tokens, 7);
  EXPECT_EQ(*r.top_k, 0);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_TRUE(r.stream && r.include_usage && r.enable_thinking);
  auto s = ember::server::sampling_for(r, {});
  EXPECT_EQ(s.temperature, 0.5f);
  EXPECT_EQ(s.seed, 3);
}

TEST(ServerRequest, RejectsBadInput) {
  for (const char* body :
       {"", "{", "[]", "3", R"({"messages":[]})", R"({"messages":"hi"})", R"({"messages":[1]})",
        R"({"messages":[{"role":"x","content":"a"}]})", R"({"messages":[{"content":"a"}]})",
        R"({"messages":[{"role":"user","content":1}]})",
        R"({"messages":[{"role":"user","content":"a"}],"temperature":3})",
        R"({"messages":[{"role":"user","content":"a"}],"temperature":"1"})",
        R"({"messages":[{"role":"user","content":"a"}],"top_p":0})",
        R"({"messages":[{"role":"user","content":"a"}],"n":2})",
        R"({"messages":[{"role":"user","content":"a"}],"max_tokens":0})",
        R"({"messages":[{"role":"user","content":"a"}],"stop":[1]})",
        R"({"messages":[{"role":"user","content":"a"}],"model":5})",
        R"({"messages":[{"role":"user","content":"a"}],"tools":[{"type":"function"}]})",
        R"({"messages":[{"role":"user","content":"a"}],"tool_choice":"sometimes"})"})
    EXPECT_EQ(status_of(body), 400) << body;
  EXPECT_EQ(status_of(R"({"messages":[{"role":"user","content":"a"}]})"), 200);
  EXPECT_EQ(status_of(R"({"prompt":"a"})", false), 200);
  EXPECT_EQ(status_of(R"({"prompt":[1,2,3]})", false), 200);
  for (const char* body : {R"({})", R"({"prompt":""})", R"({"prompt":["a","b"]})", R"({"prompt":[-1]})",
                           R"({"prompt":{"a":1}})", R"({"prompt":"a","echo":true})"})
    EXPECT_EQ(status_of(body, false), 400) << body;
  try {
    parse_chat_request(R"({"messages":[{"role":"user","content":"a"}],"temperature":9})");
  } catch (const ApiError& e) {
    auto j = nlohmann::json::parse(e.to_json());
    EXPECT_EQ(j["error"]["param"], "temperature");
    EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  }
}

std::vector<OutputEvent> parse_all(const std::string& text, size_t piece) {
  OutputParser p;
  std::vector<OutputEvent> out;
  auto add = [&](std::vector<OutputEvent> evs) {
    for (auto& e : evs) {
      if (!out.empty() && e.kind != OutputEvent::Kind::kToolCall && out.back().kind == e.kind)
        out.back().text += e.text;
      else
        out.push_back(std::move(e));
    }
  };
  for (size_t i = 0; i < text.size(); i += piece) add(p.feed(text.substr(i, piece)));
  add(p.finish());
  return out;
}

TEST(ServerOutput, SplitsThoughtAnswerAndToolCalls) {
  const std::string text =
      "<|channel>thought\nLet me check.<channel|>Sure. <|tool_call>call:get_weather{city:<|\"|>Paris, "
      "FR<|\"|>,"
      "days:3,opts:{metric:true,tags:[<|\"|>a<|\"|>,2.5]},x:None}<tool_call|>";
  for (size_t piece : {size_t(1), size_t(3), text.size()}) {
    auto evs = parse_all(text, piece);
    ASSERT_EQ(evs.size(), 3u) << piece;
    EXPECT_EQ(evs[0].kind, OutputEvent::Kind::kReasoning);
    EXPECT_EQ(evs[0].text, "Let me check.");
    EXPECT_EQ(evs[1].kind, OutputEvent::Kind::kContent);
    EXPECT_EQ(evs[1].text, "Sure. ");
    EXPECT_EQ(evs[2].kind, OutputEvent::Kind::kToolCall);
    EXPECT_EQ(evs[2].call.name, "get_weather");
    EXPECT_EQ(nlohmann::json::parse(evs[2].call.arguments),
              nlohmann::json::parse(
                  R"({"city":"Paris, FR","days":3,"opts":{"metric":true,"tags":["a",2.5]},"x":null})"));
  }
}

TEST(ServerOutput, MalformedAndPartialMarkupStaysText) {
  auto evs = parse_all("a <|tool_call>call:f{oops<tool_call|> b", 2);
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].text, "a <|tool_call>call:f{oops<tool_call|> b");
  evs = parse_all("x <|tool_ca", 1);  // a marker prefix at the end is text
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].text, "x <|tool_ca");
  evs = parse_all("<|channel><channel|>plain", 4);  // an empty channel
  ASSERT_EQ(evs.size(), 1u);
  EXPECT_EQ(evs[0].text, "plain");
}

// SSE chunks and the whole response for an answer with reasoning and a tool call, in OpenAI shape.
TEST(ServerResponses, ToolCallsAndReasoningInOpenAIShape) {
  using nlohmann::json;
  const std::string text =
      "<|channel>thought\nhmm<channel|><|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}<tool_call|>";
  ember::server::Job job;
  job.result.text = text;
  job.result.tokens = {5, 6, 7};
  job.result.stop_reason = ember::StopReason::kEos;
  ember::server::ResponseMeta meta{"chatcmpl-1", "tiny", 1, true, true, 10};
  json whole = ember::server::completion_json(meta, job);
  const json& msg = whole["choices"][0]["message"];
  EXPECT_TRUE(msg["content"].is_null());
  EXPECT_EQ(msg["reasoning_content"], "hmm");
  EXPECT_EQ(msg["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(msg["tool_calls"][0]["function"]["arguments"].get<std::string>()),
            json({{"city", "Paris"}}));
  EXPECT_EQ(whole["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(whole["usage"]["total_tokens"], 13);

  ember::server::StreamWriter w(meta);
  std::string sse = w.start();
  for (size_t i = 0; i < text.size(); i += 5) sse += w.text(text.substr(i, 5));
  sse += w.end(job);
  std::string reasoning, names;
  std::vector<json> chunks;
  for (size_t p = 0; (p = sse.find("data: ", p)) != std::string::npos;) {
    size_t e = sse.find("\n\n", p);
    std::string data = sse.substr(p + 6, e - p - 6);
    p = e;
    if (data == "[DONE]") break;
    chunks.push_back(json::parse(data));
  }
  ASSERT_GE(chunks.size(), 4u);
  for (const auto& c : chunks) {
    if (c["choices"].empty()) continue;
    const json& d = c["choices"][0]["delta"];
    if (d.contains("reasoning_content")) reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("tool_calls")) names += d["tool_calls"][0]["function"]["name"].get<std::string>();
  }
  EXPECT_EQ(reasoning, "hmm");
  EXPECT_EQ(names, "get_weather");
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(chunks.back()["usage"]["completion_tokens"], 3);
  EXPECT_EQ(sse.substr(sse.size() - 14), "data: [DONE]\n\n");
}

std::shared_ptr<ember::Model> tiny() {
  static std::shared_ptr<ember::Model> m = [] {
    ember::ModelOptions o;
    o.threads = 2;
    o.context_length = 256;
    return ember::Model::load(ember::testing::tiny_model_dir(), o);
  }();
  return m;
}

TEST(ServerGeneration, InterleavedStepsEqualGenerate) {
  auto model = tiny();
  std::vector<std::vector<int32_t>> prompts = {
      {2, 10, 20, 30}, {2, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50}, {2, 7}};
  std::vector<ember::GenerateOptions> opts(3);
  for (size_t i = 0; i < 3; ++i) {
    opts[i].max_tokens = 20 + int64_t(i) * 7;
    opts[i].sampling.temperature = i == 0 ? 0.0f : 0.9f;
    opts[i].sampling.seed = int64_t(i) + 5;
  }
  opts[2].stop = {"e"};
  std::vector<ember::GenerateResult> want;
  for (size_t i = 0; i < 3; ++i) {
    auto s = model->new_session();
    s->prefill(prompts[i]);
    want.push_back(s->generate(opts[i]));
  }
  // Round-robin steps over three sessions, as the scheduler does.
  std::vector<std::unique_ptr<ember::Session>> ss;
  std::vector<std::unique_ptr<ember::Generation>> gs;
  std::vector<std::string> streamed(3);
  for (size_t i = 0; i < 3; ++i) {
    ss.push_back(model->new_session());
    ss[i]->prefill(prompts[i]);
    gs.push_back(ss[i]->begin_generate(opts[i]));
  }
  for (bool any = true; any;) {
    any = false;
    for (size_t i = 0; i < 3; ++i)
      if (!gs[i]->done())
        any |= gs[i]->step([&, i](std::string_view t, int32_t) {
          streamed[i] += t;
          return true;
        });
  }
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(gs[i]->result().tokens, want[i].tokens) << i;
    EXPECT_EQ(gs[i]->result().text, want[i].text) << i;
    EXPECT_EQ(streamed[i], want[i].text) << i;
    EXPECT_EQ(gs[i]->result().stop_reason, want[i].stop_reason) << i;
  }
  auto s = model->new_session();
  s->prefill(prompts[0]);
  auto g = s->begin_generate(opts[0]);
  g->step();
  g->cancel();
  EXPECT_TRUE(g->done());
  EXPECT_FALSE(g->step());
  EXPECT_EQ(g->result().stop_reason, ember::StopReason::kCallback);
  EXPECT_EQ(g->result().tokens.size(), 1u);
}

}  // namespace

namespace {

// Continuous batching through the public API (ember::Batcher), as the scheduler uses it: prompts
// of different lengths (past the sliding window of 8) prefilled in chunks batched with the decode
// steps of sequences already generating give the same tokens, text, streamed text and stop reason
// as each request generated alone; a rejected item leaves the others running.
TEST(ServerGeneration, BatchedStepsEqualGenerate) {
  ember::ModelOptions o;
  o.threads = 2;
  o.context_length = 256;
  o.prefill_chunk = 8;
  auto model = ember::Model::load(ember::testing::tiny_model_dir(), o);
  std::vector<std::vector<int32_t>> prompts;
  for (int len : {3, 30, 11, 45}) {
    std::vector<int32_t> p{2};
    for (int t = 1; t < len; ++t) p.push_back(int32_t(3 + (t * 29 + len * 7) % 250));
    prompts.push_back(p);
  }
  const size_t n = prompts.size();
  std::vector<ember::GenerateOptions> opts(n);
  for (size_t i = 0; i < n; ++i) {
    opts[i].max_tokens = 18 + int64_t(i) * 5;
    opts[i].sampling.temperature = i % 2 ? 0.9f : 0.0f;
    opts[i].sampling.seed = int64_t(i) + 3;
  }
  opts[2].stop = {"e"};
  std::vector<ember::GenerateResult> want;
  for (size_t i = 0; i < n; ++i) {
    auto s = model->new_session();
    s->prefill(prompts[i]);
    want.push_back(s->generate(opts[i]));
  }

  ember::Batcher batcher(model);
  std::vector<std::unique_ptr<ember::Session>> ss;
  std::vector<std::unique_ptr<ember::Generation>> gs(n);
  std::vector<size_t> fed(n, 0);
  std::vector<std::string> streamed(n);
  for (size_t i = 0; i < n; ++i) ss.push_back(model->new_session());
  auto bad_session = model->new_session();
  const std::vector<int32_t> bad = {2, 100000};
  for (size_t step = 0;; ++step) {
    std::vector<ember::BatchItem> items;
    for (size_t i = 0; i < n && i <= step; ++i) {  // request i arrives at step i
      ember::BatchItem it;
      if (gs[i]) {
        if (gs[i]->done()) continue;
        it.generation = gs[i].get();
        it.on_token = [&streamed, i](std::string_view t, int32_t) {
          streamed[i] += t;
          return true;
        };
      } else {
        const size_t c = std::min<size_t>(3 + i, prompts[i].size() - fed[i]);
        it.session = ss[i].get();
        it.tokens = std::span<const int32_t>(prompts[i]).subspan(fed[i], c);
        it.last_chunk = fed[i] + c == prompts[i].size();
      }
      items.push_back(std::move(it));
    }
    if (items.empty()) break;
    if (step == 1) {  // a bad request in the same step
      ember::BatchItem it;
      it.session = bad_session.get();
      it.tokens = bad;
      items.push_back(std::move(it));
    }
    batcher.step(items);
    for (auto& it : items) {
      if (it.session == bad_session.get()) {
        EXPECT_NE(it.error.find("outside the vocabulary"), std::string::npos) << it.error;
        continue;
      }
      EXPECT_TRUE(it.error.empty()) << it.error;
      if (!it.session) continue;
      const size_t i = size_t(std::find_if(ss.begin(), ss.end(), [&](auto& s) { return s.get() == it.session; }) -
                              ss.begin());
      fed[i] += it.tokens.size();
      if (it.last_chunk) gs[i] = ss[i]->begin_generate(opts[i]);
    }
  }
  EXPECT_TRUE(bad_session->tokens().empty());
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(gs[i]) << i;
    EXPECT_EQ(gs[i]->result().tokens, want[i].tokens) << i;
    EXPECT_EQ(gs[i]->result().text, want[i].text) << i;
    EXPECT_EQ(streamed[i], want[i].text) << i;
    EXPECT_EQ(gs[i]->result().stop_reason, want[i].stop_reason) << i;
  }
}

// The server's output view is the library parser's (src/text/gemma4_output): text split into any
// pieces gives the same events as the whole text, including a channel header longer than the
// parser's header limit.
TEST(ServerOutput, PiecesEqualWhole) {
  const std::string long_header = "<|channel>" + std::string(40, 'x') + "\nthink<channel|>after";
  const std::string texts[] = {
      long_header,
      "<|channel>thought\nab<channel|>c<|tool_call>call:f{a:1}<tool_call|>d<|tool_call>call:g{",
      "<|tool_call>call:f{s:<|\"|>x<tool_call|>y<|\"|>}<tool_call|>z",
  };
  for (const auto& text : texts) {
    const auto whole = parse_all(text, text.size());
    for (size_t piece : {size_t(1), size_t(2), size_t(5)}) {
      const auto got = parse_all(text, piece);
      ASSERT_EQ(got.size(), whole.size()) << text << " / " << piece;
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_EQ(got[k].kind, whole[k].kind) << text;
        EXPECT_EQ(got[k].text, whole[k].text) << text;
        EXPECT_EQ(got[k].call.arguments, whole[k].call.arguments) << text;
      }
    }
  }
}

}  // namespace

namespace {
TEST(ServerAudio, InputAudioPartsBecomeAudioMedia) {
  // "UklGRg==" is base64 of "RIFF": decoding happens here, WAV validation in the audio encoder.
  auto r = parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":[
    {"type":"text","text":"What is said?"},
    {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}]}]})");
  ASSERT_EQ(r.media.size(), 1u);
  EXPECT_EQ(r.media[0].kind, ember::MediaKind::kAudio);
  EXPECT_EQ(r.media[0].bytes, "RIFF");
  EXPECT_EQ(r.messages[0].audios, 1);
  EXPECT_EQ(r.messages[0].content, "What is said?");
  EXPECT_THROW(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":[
    {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"mp3"}}]}]})"),
               ApiError);
  EXPECT_THROW(parse_chat_request(R"({"model":"m","messages":[{"role":"user","content":[
    {"type":"input_audio","input_audio":{}}]}]})"),
               ApiError);
}
}  // namespace
