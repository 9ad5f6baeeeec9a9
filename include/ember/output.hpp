// Gemma 4 model output, structured: the answer, the thought channel and tool calls.
//
// Generated text (decoded with special tokens kept) interleaves channels with markers:
//   <|channel>thought\n ... <channel|>          reasoning
//   <|tool_call>call:NAME{key:value,...}<tool_call|>   a tool call
//   <turn|>                                     end of the model's turn
// parse_output() splits a whole text; OutputStream follows text as it is generated, so a UI can
// show reasoning apart from the answer and act on a tool call as soon as it closes.
// Thread-safety: an OutputStream is a plain value (one per generation); parse_output is pure.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

struct ParsedToolCall {
  std::string name;
  std::string arguments_json;  // a JSON object, keys in the order the model wrote them
};

struct ParsedOutput {
  std::string content;   // the answer, trimmed; thought channels and tool calls removed
  std::string thinking;  // thought-channel text, trimmed (several channels joined by "\n")
  std::vector<ParsedToolCall> tool_calls;
  std::vector<std::string> errors;  // malformed or unterminated tool calls / channels
};

// Parses a complete model output. Never throws on malformed text: problems land in `errors`.
ParsedOutput parse_output(std::string_view text);

enum class OutputChannel { kAnswer, kThought, kToolCall };

struct OutputEvent {
  enum class Kind {
    kText,      // `text` belongs to `channel` (raw tool-call text while a call is open)
    kToolCall,  // a tool call closed: `tool_call` holds it, or `error` says why it did not parse
    kEnd,       // the model ended its turn; later text is ignored
  };
  Kind kind = Kind::kText;
  OutputChannel channel = OutputChannel::kAnswer;
  std::string text;  // kText: the text; kToolCall without tool_call: the call's raw body
  std::optional<ParsedToolCall> tool_call;
  std::string error;
  bool closed = false;  // kToolCall: the call ended with its closing marker
};

class OutputStream {
 public:
  OutputStream();
  ~OutputStream();
  OutputStream(OutputStream&&) noexcept;
  OutputStream& operator=(OutputStream&&) noexcept;

  // Feeds the next piece of decoded text; returns the events it completes. Text that might be
  // the start of a marker is held back until the next piece decides it.
  std::vector<OutputEvent> feed(std::string_view text);
  // Flushes held-back text at the end of generation; an open tool call is reported as an error.
  std::vector<OutputEvent> finish();
  // The channel text fed now would belong to.
  OutputChannel channel() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember
