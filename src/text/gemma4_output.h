// Structure of Gemma 4 model output: the thought channel, the answer and tool calls.
//
//   <|channel>thought\n ... <channel|>                     reasoning (channel name, newline, text)
//   <|tool_call>call:NAME{key:value,...}<tool_call|>       a tool call; strings are <|"|>...<|"|>,
//                                                          values nest as {k:v} and [a,b]; numbers,
//                                                          true/false and null/None are bare
//   <turn|> / <|tool_response>                             end of the model's turn
//
// Gemma4StreamParser follows this as text arrives (token by token) and says which channel each
// piece of text belongs to, so the CLI and the server can show reasoning apart from the answer
// and hand out tool calls as soon as they close. parse_gemma4_output() does the same on a whole
// text.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ember {

struct Gemma4ToolCall {
  std::string name;
  nlohmann::ordered_json arguments = nlohmann::ordered_json::object();  // keys in output order
};

struct Gemma4Output {
  std::string content;   // the answer, trimmed; thought channels and tool calls removed
  std::string thinking;  // thought-channel text, trimmed (several channels are joined by "\n")
  std::vector<Gemma4ToolCall> tool_calls;
  std::vector<std::string> errors;  // malformed or unterminated tool calls / channels
};

// Parses a complete model output (text decoded with special tokens kept).
Gemma4Output parse_gemma4_output(std::string_view text);

// Parses the body of a tool call, "call:NAME{...}" (the text between <|tool_call> and
// <tool_call|>). Throws ember::Error(kInvalidArgument) naming the offset of a syntax error.
Gemma4ToolCall parse_gemma4_tool_call(std::string_view body);
// Parses one value in Gemma 4 tool syntax ("<|"|>x<|"|>", "{a:1}", "[1,true]", "3.5", ...).
nlohmann::ordered_json parse_gemma4_value(std::string_view text);
// Writes a JSON value in Gemma 4 tool syntax (keys unquoted), as the chat template does for
// tool-call arguments: the inverse of parse_gemma4_value for objects, lists, strings, numbers.
std::string format_gemma4_value(const nlohmann::ordered_json& value);

enum class Gemma4Channel { kAnswer, kThought, kToolCall };

struct Gemma4Event {
  enum class Kind {
    kText,      // `text` belongs to `channel` (raw tool-call text while a call is open)
    kToolCall,  // a tool call closed: `tool_call` holds it, or `error` says why it did not parse
    kEnd,       // the model ended its turn (<turn|> or <|tool_response>); later text is ignored
  };
  Kind kind = Kind::kText;
  Gemma4Channel channel = Gemma4Channel::kAnswer;
  std::string text;
  std::optional<Gemma4ToolCall> tool_call;
  std::string error;
};

class Gemma4StreamParser {
 public:
  // Feeds the next piece of decoded text; returns the events it completes. Text that might be
  // the start of a marker ("<|chan") is held back until the next piece decides it.
  std::vector<Gemma4Event> feed(std::string_view text);
  // Flushes held-back text at the end of generation; an open tool call is reported as an error.
  std::vector<Gemma4Event> finish();
  // The channel text fed now would belong to.
  Gemma4Channel channel() const { return channel_; }

 private:
  void step(std::vector<Gemma4Event>& out, bool at_end);
  void emit_text(std::vector<Gemma4Event>& out, std::string text);
  void close_tool_call(std::vector<Gemma4Event>& out);

  Gemma4Channel channel_ = Gemma4Channel::kAnswer;
  bool in_header_ = false;  // after <|channel>, before the newline ending the channel name
  bool ended_ = false;
  bool tool_in_string_ = false;  // inside <|"|>...<|"|> in an open tool call
  bool merge_ok_ = false;        // the last event may be extended (no marker since)
  std::string pending_;          // text not yet classified
  std::string tool_body_;        // the open tool call's text so far
};

}  // namespace ember
