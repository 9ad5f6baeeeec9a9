// OpenAI request bodies (chat completions, completions) parsed and validated into plain structs.
// Everything here is untrusted input: every problem becomes an ApiError carrying the HTTP status
// and the OpenAI error fields, never a crash (fuzzed by tests/fuzz/fuzz_request.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ember/ember.hpp"

namespace ember::server {

// An OpenAI-style error: {"error": {"message", "type", "param", "code"}} with an HTTP status.
struct ApiError : std::runtime_error {
  ApiError(int status, std::string message, std::string param = {},
           std::string type = "invalid_request_error", std::string code = {})
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        param(std::move(param)),
        code(std::move(code)) {}
  int status;
  std::string type, param, code;
  std::string to_json() const;
};

struct ParsedRequest {
  bool chat = true;
  std::string model;  // as sent (empty if absent)
  // Chat: the conversation (OpenAI roles mapped onto ember::Message), tools for the template.
  std::vector<Message> messages;
  std::string tools_json;        // JSON array (OpenAI "tools" as sent), empty if none/none chosen
  // Images of the conversation (OpenAI image_url parts with data: URLs), in message order;
  // Message::images counts them per message.
  std::vector<Media> media;
  bool enable_thinking = false;  // chat_template_kwargs.enable_thinking or reasoning_effort
  // Completions: the raw prompt (text, or token ids).
  std::string prompt;
  std::vector<int32_t> prompt_ids;
  bool stream = false, include_usage = false;
  std::optional<int64_t> max_tokens;
  std::optional<float> temperature, top_p, min_p, repetition_penalty, presence_penalty, frequency_penalty;
  std::optional<int> top_k;
  std::optional<int64_t> seed;
  std::vector<std::string> stop;
};

// Both throw ApiError (status 400) naming the offending parameter.
ParsedRequest parse_chat_request(std::string_view body);
ParsedRequest parse_completion_request(std::string_view body);

// Sampling defaults of the model overridden by the request.
SamplingOptions sampling_for(const ParsedRequest& r, const SamplingOptions& defaults);

}  // namespace ember::server
