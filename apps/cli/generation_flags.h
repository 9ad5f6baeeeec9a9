// Flags shared by `ember run`, `ember chat` (and the server's request fields): model loading,
// sampling, stopping, thinking display and statistics.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/ember.hpp"

namespace CLI { class App; }

namespace ember::cli {

struct GenerationFlags {
  std::string model;
  int threads = 0;
  int64_t ctx = 8192;
  std::string backend = "cpu";
  std::optional<float> temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
  std::optional<int> top_k;
  std::optional<int64_t> seed;
  int64_t max_tokens = 512;
  std::vector<std::string> stop;
  std::string system;
  bool think = false, show_thinking = false;
  std::string stats = "text";  // text | json | none

  // Registers the flags on a subcommand.
  void add_to(CLI::App* sub);
  // Loads the model (a progress line on a TTY).
  std::shared_ptr<Model> load_model() const;
  // Sampling defaults from the model, overridden by the flags.
  GenerateOptions generate_options(const Model& model) const;
};

// Streams generated text to stdout, hiding (or dimming) Gemma 4's thought channel
// (<|channel>thought ... <channel|>).
class ThoughtFilter {
 public:
  explicit ThoughtFilter(bool show_thinking);
  void write(std::string_view text);
  void finish();

 private:
  void out(std::string_view s, bool thought);
  bool show_, tty_;
  bool in_thought_ = false;
  std::string pending_;  // a possible partial marker
};

void print_stats(const Timings& t, const std::string& mode);

}  // namespace ember::cli
