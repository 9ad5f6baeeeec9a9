// OpenAI response bodies: whole completions and SSE stream chunks, built from a finished Job or
// from text as it arrives (the Gemma 4 output parser separates answer, reasoning, tool calls).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "engine.h"
#include "output_parser.h"

namespace ember::server {

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
