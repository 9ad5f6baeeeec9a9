#include "responses.h"

#include <atomic>
#include <cstdio>

namespace ember::server {

using json = nlohmann::json;

namespace {
std::string call_id() {
  static std::atomic<uint64_t> n{0};
  char buf[32];
  std::snprintf(buf, sizeof buf, "call_%016llx", (unsigned long long)(0x9e3779b97f4a7c15ull * ++n));
  return buf;
}
json tool_call_json(const ToolCall& c, int index, bool stream) {
  json j = {
      {"id", call_id()}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}};
  if (stream) j["index"] = index;
  return j;
}
void add(std::vector<OutputEvent>& out, OutputEvent::Kind kind, std::string text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == kind && kind != OutputEvent::Kind::kToolCall) {
    out.back().text += text;
    return;
  }
  out.push_back({kind, std::move(text), {}});
}

}  // namespace

std::vector<OutputEvent> OutputParser::feed(std::string_view text) { return convert(parser_.feed(text)); }

std::vector<OutputEvent> OutputParser::finish() { return convert(parser_.finish()); }

std::vector<OutputEvent> OutputParser::convert(std::vector<ember::OutputEvent> evs) {
  using K = OutputEvent::Kind;
  std::vector<OutputEvent> out;
  for (auto& e : evs) {
    if (e.kind == ember::OutputEvent::Kind::kText) {
      // Raw text of an open tool call is not shown: the call comes whole when it closes.
      if (e.channel != OutputChannel::kToolCall)
        add(out, e.channel == OutputChannel::kThought ? K::kReasoning : K::kContent, std::move(e.text));
    } else if (e.kind == ember::OutputEvent::Kind::kToolCall) {
      if (e.tool_call) {
        ToolCall c{e.tool_call->name, e.tool_call->arguments_json};
        out.push_back({K::kToolCall, {}, std::move(c)});
      } else {
        add(out, K::kContent, "<|tool_call>" + e.text + (e.closed ? "<tool_call|>" : ""));
      }
    }
  }
  return out;
}

std::string sse(const json& j) {
  return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
}

const char* finish_reason(const Job& job, bool tool_calls) {
  if (tool_calls) return "tool_calls";
  if (job.timed_out) return "length";
  switch (job.result.stop_reason) {
    case StopReason::kMaxTokens:
    case StopReason::kContextFull:
      return "length";
    default:
      return "stop";
  }
}

json usage_json(const ResponseMeta& m, const Job& job) {
  const int64_t completion = int64_t(job.result.tokens.size());
  return {{"prompt_tokens", m.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", m.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", job.cached_tokens}}}};
}

json completion_json(const ResponseMeta& m, const Job& job) {
  json choice;
  if (m.chat) {
    OutputParser p;
    auto evs = p.feed(job.result.text);
    auto tail = p.finish();
    evs.insert(evs.end(), tail.begin(), tail.end());
    std::string content, reasoning;
    json calls = json::array();
    for (const auto& e : evs) {
      if (e.kind == OutputEvent::Kind::kContent)
        content += e.text;
      else if (e.kind == OutputEvent::Kind::kReasoning)
        reasoning += e.text;
      else
        calls.push_back(tool_call_json(e.call, int(calls.size()), false));
    }
    json msg = {{"role", "assistant"},
                {"content", content.empty() && !calls.empty() ? json() : json(content)}};
    if (!reasoning.empty()) msg["reasoning_content"] = reasoning;
    if (!calls.empty()) msg["tool_calls"] = calls;
    choice = {{"index", 0},
              {"message", msg},
              {"logprobs", nullptr},
              {"finish_reason", finish_reason(job, !calls.empty())}};
  } else {
    choice = {{"index", 0},
              {"text", job.result.text},
              {"logprobs", nullptr},
              {"finish_reason", finish_reason(job, false)}};
  }
  return {{"id", m.id},
          {"object", m.chat ? "chat.completion" : "text_completion"},
          {"created", m.created},
          {"model", m.model},
          {"choices", json::array({choice})},
          {"usage", usage_json(m, job)}};
}

json StreamWriter::chunk(json delta, const char* finish) const {
  json choice = {{"index", 0}, {"logprobs", nullptr}, {"finish_reason", finish ? json(finish) : json()}};
  if (m_.chat)
    choice["delta"] = std::move(delta);
  else
    choice["text"] = delta.is_string() ? delta : json("");
  json j = {{"id", m_.id},
            {"object", m_.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", m_.created},
            {"model", m_.model},
            {"choices", json::array({choice})}};
  if (m_.include_usage) j["usage"] = nullptr;
  return j;
}

std::string StreamWriter::start() {
  if (!m_.chat) return {};
  return sse(chunk({{"role", "assistant"}, {"content", ""}}, nullptr));
}

std::string StreamWriter::events(const std::vector<OutputEvent>& evs) {
  std::string out;
  for (const auto& e : evs) {
    if (e.kind == OutputEvent::Kind::kContent)
      out += sse(chunk({{"content", e.text}}, nullptr));
    else if (e.kind == OutputEvent::Kind::kReasoning)
      out += sse(chunk({{"reasoning_content", e.text}}, nullptr));
    else
      out +=
          sse(chunk({{"tool_calls", json::array({tool_call_json(e.call, tool_calls_++, true)})}}, nullptr));
  }
  return out;
}

std::string StreamWriter::text(const std::string& text) {
  if (text.empty()) return {};
  if (!m_.chat) return sse(chunk(json(text), nullptr));
  return events(parser_.feed(text));
}

std::string StreamWriter::end(const Job& job) {
  std::string out;
  if (!job.error.empty()) {
    out += sse({{"error",
                 {{"message", job.error}, {"type", "server_error"}, {"param", nullptr}, {"code", nullptr}}}});
    return out + "data: [DONE]\n\n";
  }
  if (m_.chat) out += events(parser_.finish());
  out += sse(chunk(m_.chat ? json::object() : json(""), finish_reason(job, tool_calls_ > 0)));
  if (m_.include_usage) {
    json u = {{"id", m_.id},
              {"object", m_.chat ? "chat.completion.chunk" : "text_completion"},
              {"created", m_.created},
              {"model", m_.model},
              {"choices", json::array()},
              {"usage", usage_json(m_, job)}};
    out += sse(u);
  }
  return out + "data: [DONE]\n\n";
}

}  // namespace ember::server
