// The model-loading progress bar of `ember run`, `chat` and `serve`: one line on stderr,
// redrawn in place as ModelOptions::on_progress reports tensors bound, erased when loading
// ends. Drawn only when stderr is a terminal (nothing at all otherwise).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "ember/ember.hpp"

namespace ember::cli {

// "loading NAME [#########.......]  57%  1.48/2.60 GB" padded/cut to `width` columns.
std::string render_progress(const std::string& label, const LoadProgress& p, int width);

class ProgressBar {
 public:
  ProgressBar(std::string label, FILE* out, int width = 80);
  void update(const LoadProgress& p);  // redraws when the shown percentage changes
  void clear();                        // erases the line (if anything was drawn)

 private:
  std::string label_;
  FILE* out_;
  int width_;
  int shown_percent_ = -1;
};

// Model::load with a progress bar on stderr when it is a terminal (labelled with the file or
// directory name).
std::shared_ptr<Model> load_with_progress(const std::string& path, ModelOptions options);

}  // namespace ember::cli
