// Splits Gemma 4 output text (decoded with special tokens kept) into the answer, the thought
// channel and tool calls, incrementally as tokens arrive:
//   <|channel>thought\n ... <channel|>                 reasoning (channel name line, then text)
//   <|tool_call>call:NAME{key:value,...}<tool_call|>   a tool call; strings are <|"|>...<|"|>,
//                                                      values nest as {k:v} and [a,b]
// (A fuller parser may land in src/text/gemma4_output.h; the server can switch to it then.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ember::server {

struct ToolCall {
  std::string name;
  std::string arguments;  // JSON object text (OpenAI sends arguments as a string)
};

struct OutputEvent {
  enum class Kind { kContent, kReasoning, kToolCall } kind;
  std::string text;  // content / reasoning text
  ToolCall call;     // kToolCall
};

class OutputParser {
 public:
  // Feeds decoded text; returns the events it completes. Text that may be the start of a
  // marker is held back until the next piece decides it.
  std::vector<OutputEvent> feed(std::string_view text);
  // Flushes held-back text (an unterminated tool call comes back as content).
  std::vector<OutputEvent> finish();

 private:
  enum class State { kAnswer, kChannelName, kThought, kToolCall };
  void run(std::vector<OutputEvent>& out, bool at_end);
  State state_ = State::kAnswer;
  std::string buf_;
};

// Parses a tool-call body "call:NAME{...}"; returns false if it is malformed.
bool parse_tool_call(std::string_view body, ToolCall* call);

}  // namespace ember::server
