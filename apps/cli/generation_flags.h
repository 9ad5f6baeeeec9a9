// Flags shared by `ember run`, `ember chat` (and the server's request fields): model loading,
// sampling, stopping, thinking display and statistics.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ember/ember.hpp"

namespace CLI {
class App;
}

namespace ember::cli {

struct GenerationFlags {
  std::string model;
  int threads = 0;
  int64_t ctx = 8192;
  std::string backend = "cpu";
  bool no_yoco = false;
  std::optional<float> temperature, top_p, min_p, repeat_penalty, presence_penalty, frequency_penalty;
  std::optional<int> top_k;
  std::optional<int64_t> seed;
  int64_t max_tokens = 512;
  std::vector<std::string> stop;
  std::string system;
  bool think = false, show_thinking = false;
  bool ignore_eos = false;
  std::string stats = "text";  // text | json | none
  bool verbose = false;

  // Registers the flags on a subcommand.
  void add_to(CLI::App* sub);
  // Loads the model (a progress bar on stderr when it is a terminal).
  std::shared_ptr<Model> load_model() const;
  // Sampling defaults from the model, overridden by the flags.
  GenerateOptions generate_options(const Model& model) const;
};

// The loaded model and the effective generation settings (for --verbose), on stderr.
void print_settings(const Model& model, const GenerateOptions& g);
void print_stats(const Timings& t, const std::string& mode);

}  // namespace ember::cli
