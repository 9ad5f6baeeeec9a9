// Gemma 4 output parsing: thought channel, answer and tool calls, whole-text and streamed
// (every split of the text into pieces must give the same result), and tool calls rendered by
// the real chat template parsed back into the same arguments.
#include "text/gemma4_output.h"

#include <gtest/gtest.h>

#include "ember/error.hpp"
#include "text/chat_template.h"

namespace ember {
namespace {

using ojson = nlohmann::ordered_json;

// Streams `text` in pieces of `piece` bytes and collects the same fields parse_gemma4_output gives.
Gemma4Output stream_parse(const std::string& text, size_t piece) {
  Gemma4StreamParser p;
  std::vector<Gemma4Event> events;
  for (size_t i = 0; i < text.size(); i += piece)
    for (auto& e : p.feed(std::string_view(text).substr(i, piece))) events.push_back(std::move(e));
  for (auto& e : p.finish()) events.push_back(std::move(e));
  Gemma4Output out;
  for (auto& e : events) {
    if (e.kind == Gemma4Event::Kind::kText && e.channel == Gemma4Channel::kAnswer) out.content += e.text;
    if (e.kind == Gemma4Event::Kind::kText && e.channel == Gemma4Channel::kThought) out.thinking += e.text;
    if (e.kind == Gemma4Event::Kind::kToolCall) {
      if (e.tool_call)
        out.tool_calls.push_back(*e.tool_call);
      else
        out.errors.push_back(e.error);
    }
  }
  return out;
}

TEST(Gemma4Output, ThoughtAndAnswer) {
  const std::string text =
      "<|channel>thought\nThe user says hi.\nBe nice.<channel|>Hello there!<turn|>ignored";
  Gemma4Output o = parse_gemma4_output(text);
  EXPECT_EQ(o.thinking, "The user says hi.\nBe nice.");
  EXPECT_EQ(o.content, "Hello there!");
  EXPECT_TRUE(o.tool_calls.empty());
  for (size_t piece = 1; piece <= text.size(); ++piece) {
    Gemma4Output s = stream_parse(text, piece);
    ASSERT_EQ(s.thinking, "The user says hi.\nBe nice.") << piece;
    ASSERT_EQ(s.content, "Hello there!") << piece;
  }
}

TEST(Gemma4Output, PlainAnswerAndEmptyThought) {
  EXPECT_EQ(parse_gemma4_output("Just an answer with <b>tags</b> and <|x").content,
            "Just an answer with <b>tags</b> and <|x");
  Gemma4Output o = parse_gemma4_output("<|channel>thought\n<channel|>Answer");
  EXPECT_EQ(o.thinking, "");
  EXPECT_EQ(o.content, "Answer");
}

TEST(Gemma4Output, ToolCalls) {
  const std::string text =
      "<|channel>thought\nNeed weather.<channel|>"
      "<|tool_call>call:get_weather{city:<|\"|>Paris, \"France\" "
      "{x}<tool_call|><|\"|>,days:3,ratio:-0.5,ok:true,"
      "none:None,opts:{deep:[1,<|\"|>two<|\"|>,false,{}]},empty:[]}<tool_call|>"
      "<|tool_call>call:now{}<tool_call|><|tool_response>";
  for (size_t piece : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{1000}}) {
    Gemma4Output o = piece == 1000 ? parse_gemma4_output(text) : stream_parse(text, piece);
    ASSERT_EQ(o.tool_calls.size(), 2u) << piece;
    EXPECT_EQ(o.tool_calls[0].name, "get_weather");
    EXPECT_EQ(o.tool_calls[0].arguments.dump(),
              R"({"city":"Paris, \"France\" {x}<tool_call|>","days":3,"ratio":-0.5,"ok":true,"none":null,)"
              R"("opts":{"deep":[1,"two",false,{}]},"empty":[]})");
    EXPECT_EQ(o.tool_calls[1].name, "now");
    EXPECT_TRUE(o.tool_calls[1].arguments.empty());
    EXPECT_TRUE(o.errors.empty());
  }
}

TEST(Gemma4Output, StreamChannelsAsTheyArrive) {
  Gemma4StreamParser p;
  EXPECT_TRUE(p.feed("<|chan").empty());  // might be a marker: held back
  EXPECT_EQ(p.channel(), Gemma4Channel::kAnswer);
  auto ev = p.feed("nel>thought\nhm");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].channel, Gemma4Channel::kThought);
  EXPECT_EQ(ev[0].text, "hm");
  ev = p.feed("m<channel|>Hi <|tool_call>call:f{a:1}");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].text, "m");
  EXPECT_EQ(ev[1].channel, Gemma4Channel::kAnswer);
  EXPECT_EQ(ev[1].text, "Hi ");
  EXPECT_EQ(ev[2].channel, Gemma4Channel::kToolCall);
  EXPECT_EQ(p.channel(), Gemma4Channel::kToolCall);
  ev = p.feed("<tool_call|>");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Gemma4Event::Kind::kToolCall);
  ASSERT_TRUE(ev[0].tool_call);
  EXPECT_EQ(ev[0].tool_call->arguments.dump(), R"({"a":1})");
  ev = p.feed("<turn|>more");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, Gemma4Event::Kind::kEnd);
  EXPECT_TRUE(p.feed("text after the end").empty());
}

TEST(Gemma4Output, MalformedToolCallsAreReportedNotThrown) {
  Gemma4Output o = parse_gemma4_output("A<|tool_call>call:f{a:<|\"|>open string}<tool_call|>B");
  EXPECT_TRUE(o.tool_calls.empty());
  EXPECT_EQ(o.errors.size(), 1u);
  o = parse_gemma4_output("<|tool_call>call:f{a:1,");
  EXPECT_EQ(o.errors.size(), 1u);
  o = parse_gemma4_output("<|tool_call>nonsense<tool_call|>after");
  EXPECT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.content, "after");
  EXPECT_THROW(parse_gemma4_tool_call("call:f{a:{b:{c:1}"), Error);
  EXPECT_THROW(parse_gemma4_value(std::string(1000, '[')), Error);
}

TEST(Gemma4Output, TurnEndInsideOpenChannelOrCall) {
  Gemma4Output o = parse_gemma4_output("<|channel>thought\nunfinished<turn|>after");
  EXPECT_EQ(o.thinking, "unfinished");
  EXPECT_EQ(o.content, "");
  o = parse_gemma4_output("ok<|tool_call>call:f{a:<|\"|>x<turn|>y<|\"|><turn|>z");
  ASSERT_EQ(o.errors.size(), 1u);  // <turn|> inside the string is text; the second one ends the call
  EXPECT_EQ(o.content, "ok");
  for (size_t piece = 1; piece < 8; ++piece) {
    Gemma4Output s = stream_parse("<|channel>thought\nunfinished<turn|>after", piece);
    EXPECT_EQ(s.thinking, "unfinished") << piece;
    EXPECT_EQ(s.content, "") << piece;
  }
}

TEST(Gemma4Output, ValuesRoundTrip) {
  const ojson v =
      ojson::parse(R"({"s":"x y","n":-12,"f":2.5,"b":false,"z":null,"l":[1,[2],{"k":"v"}],"o":{}})");
  EXPECT_EQ(parse_gemma4_value(format_gemma4_value(v)), v);
  EXPECT_EQ(parse_gemma4_value("1e-05"), ojson(1e-05));
  EXPECT_EQ(parse_gemma4_value("  unquoted words "), ojson("unquoted words"));
}

// Tool calls rendered by the real Gemma 4 template parse back to the same arguments (the template
// sorts keys, so compare as sorted JSON).
TEST(Gemma4Output, TemplateRenderedToolCallsParseBack) {
  const ojson args = ojson::parse(
      R"({"city":"São Paulo","days":3,"ratio":0.25,"flags":[true,false],"nested":{"b":[1,"two"],"a":null},"empty":""})");
  ChatInput in;
  in.messages = ojson::array();
  in.messages.push_back({{"role", "user"}, {"content", "weather?"}});
  ojson call = {{"type", "function"}, {"function", {{"name", "get_weather"}, {"arguments", args}}}};
  ojson call2 = {{"type", "function"}, {"function", {{"name", "noop"}, {"arguments", ojson::object()}}}};
  in.messages.push_back({{"role", "assistant"}, {"tool_calls", ojson::array({call, call2})}});
  in.add_generation_prompt = false;
  const std::string prompt = ChatTemplate::builtin_gemma4().render(in);
  const size_t start = prompt.find("<|turn>model\n");
  ASSERT_NE(start, std::string::npos) << prompt;
  const std::string model_turn = prompt.substr(start + std::string("<|turn>model\n").size());
  Gemma4Output o = parse_gemma4_output(model_turn);
  ASSERT_EQ(o.tool_calls.size(), 2u) << model_turn;
  EXPECT_EQ(o.tool_calls[0].name, "get_weather");
  EXPECT_EQ(nlohmann::json(o.tool_calls[0].arguments), nlohmann::json(args)) << model_turn;
  EXPECT_EQ(o.tool_calls[1].name, "noop");
  EXPECT_TRUE(o.content.empty());
}

}  // namespace
}  // namespace ember
