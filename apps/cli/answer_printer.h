// Streams generated text to the terminal through the Gemma 4 output parser
// (ember::OutputStream, include/ember/output.hpp): the answer as it arrives, the thought channel hidden (or dimmed
// with --show-thinking), and each tool call once it closes, as "[tool call] NAME {json}".
#pragma once

#include <cstdio>
#include <string_view>

#include "ember/output.hpp"

namespace ember::cli {

class AnswerPrinter {
 public:
  // `dim`: wrap thought text in the terminal's dim style (only meaningful on a TTY).
  // `past_end`: keep printing after the model ends its turn (--ignore-eos).
  AnswerPrinter(bool show_thinking, bool dim, FILE* out = stdout, bool past_end = false);
  // Feeds the next piece of generated text (decoded with special tokens kept). Returns false
  // once the model ended its turn (<turn|>): generation should stop even if the checkpoint's
  // stop ids miss that token (always true with `past_end`).
  bool write(std::string_view text);
  // End of the answer: flushes text held back as a possible marker.
  void finish();

 private:
  void print(const OutputEvent& e);
  OutputStream parser_;
  bool show_thinking_, dim_, past_end_;
  FILE* out_;
  bool ended_ = false;
};

}  // namespace ember::cli
