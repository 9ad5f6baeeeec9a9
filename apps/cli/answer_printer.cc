#include "answer_printer.h"

namespace ember::cli {

AnswerPrinter::AnswerPrinter(bool show_thinking, bool dim, FILE* out, bool past_end)
    : show_thinking_(show_thinking), dim_(dim), past_end_(past_end), out_(out) {}

void AnswerPrinter::print(const OutputEvent& e) {
  switch (e.kind) {
    case OutputEvent::Kind::kText:
      if (e.channel == OutputChannel::kAnswer) {
        std::fwrite(e.text.data(), 1, e.text.size(), out_);
      } else if (e.channel == OutputChannel::kThought && show_thinking_) {
        if (dim_) std::fputs("\033[2m", out_);
        std::fwrite(e.text.data(), 1, e.text.size(), out_);
        if (dim_) std::fputs("\033[0m", out_);
      }
      // Tool-call text is shown once the call closes (below).
      break;
    case OutputEvent::Kind::kToolCall:
      if (e.tool_call)
        std::fprintf(out_, "[tool call] %s %s", e.tool_call->name.c_str(),
                     e.tool_call->arguments_json.c_str());
      else
        std::fprintf(out_, "[malformed tool call: %s] %s", e.error.c_str(), e.text.c_str());
      break;
    case OutputEvent::Kind::kEnd:
      ended_ = true;
      break;
  }
}

bool AnswerPrinter::write(std::string_view text) {
  for (const auto& e : parser_.feed(text)) print(e);
  if (ended_ && past_end_) {  // what follows is parsed as a new turn
    parser_ = OutputStream();
    ended_ = false;
  }
  std::fflush(out_);
  return !ended_;
}

void AnswerPrinter::finish() {
  for (const auto& e : parser_.finish()) print(e);
  std::fflush(out_);
}

}  // namespace ember::cli
