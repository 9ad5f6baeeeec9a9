// OpenAI response bodies: whole completions and SSE stream chunks, built from a finished Job or
// from text as it arrives (the Gemma 4 output parser separates answer, reasoning, tool calls).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine.h"
#include "ember/output.hpp"

namespace ember::server {

// The server's view of Gemma 4 output, parsed by ember::OutputStream (include/ember/output.hpp):
// answer text, reasoning text and tool calls with their arguments as JSON text (OpenAI sends
// arguments as a string). A tool call that does not parse comes back as answer text, as the
// model wrote it (markers included); text after the end of the turn is dropped.
struct ToolCall {
  std::string name;
  std::string arguments;  // JSON object text
};

struct OutputEvent {
  enum class Kind { kContent, kReasoning, kToolCall } kind;
  std::string text;  // content / reasoning text
  ToolCall call;     // kToolCall
};

class OutputParser {
 public:
  // Feeds decoded text (special tokens kept); returns the events it completes. Text that may be
  // the start of a marker is held back until the next piece decides it.
  std::vector<OutputEvent> feed(std::string_view text);
  // Flushes held-back text (an unterminated tool call comes back as content).
  std::vector<OutputEvent> finish();

 private:
  static std::vector<OutputEvent> convert(std::vector<ember::OutputEvent> evs);
  OutputStream parser_;
};

struct ResponseMeta {
  std::string id;     // "chatcmpl-..." / "cmpl-..."
  std::string model;  // served model id
  int64_t created = 0;
  bool chat = true;
  bool include_usage = false;
  int64_t prompt_tokens = 0;
};

const char* finish_reason(const Job& job, bool tool_calls);
nlohmann::json usage_json(const ResponseMeta& m, const Job& job);

// The whole (non-streaming) response of a finished job.
nlohmann::json completion_json(const ResponseMeta& m, const Job& job);

// Turns generated text into SSE "data: {...}\n\n" chunks.
class StreamWriter {
 public:
  explicit StreamWriter(ResponseMeta meta) : m_(std::move(meta)) {}
  // The first chunk (the assistant role), chunks for new text, and the end (finish reason,
  // usage, [DONE]).
  std::string start();
  std::string text(const std::string& text);
  std::string end(const Job& job);

 private:
  nlohmann::json chunk(nlohmann::json delta, const char* finish) const;
  std::string events(const std::vector<OutputEvent>& evs);
  ResponseMeta m_;
  OutputParser parser_;
  int tool_calls_ = 0;
};

std::string sse(const nlohmann::json& j);

}  // namespace ember::server
