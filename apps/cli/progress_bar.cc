#include "progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

namespace ember::cli {

std::string render_progress(const std::string& label, const LoadProgress& p, int width) {
  const double f = std::clamp(p.fraction(), 0.0, 1.0);
  // GB for big checkpoints, MB below 1 GB (so a small model does not read 0.00/0.00).
  const bool gb = p.bytes_total >= 1'000'000'000;
  const double unit = gb ? 1e9 : 1e6;
  char tail[64];
  std::snprintf(tail, sizeof tail, " %3d%%  %.2f/%.2f %s", int(f * 100.0), double(p.bytes_done) / unit,
                double(p.bytes_total) / unit, gb ? "GB" : "MB");
  std::string head = "loading " + label + " ";
  // The bar takes what is left of the line, between 10 and 40 cells.
  const int bar = std::clamp(width - int(head.size()) - int(std::string_view(tail).size()) - 2, 10, 40);
  const int full = int(f * bar);
  std::string s =
      head + "[" + std::string(size_t(full), '#') + std::string(size_t(bar - full), '.') + "]" + tail;
  if (int(s.size()) > width && width > 0) s = s.substr(s.size() - size_t(width));  // keep the numbers
  return s;
}

ProgressBar::ProgressBar(std::string label, FILE* out, int width)
    : label_(std::move(label)), out_(out), width_(width) {}

void ProgressBar::update(const LoadProgress& p) {
  const int percent = int(std::clamp(p.fraction(), 0.0, 1.0) * 100.0);
  if (percent == shown_percent_) return;
  shown_percent_ = percent;
  std::fprintf(out_, "\r%s\033[K", render_progress(label_, p, width_).c_str());
  std::fflush(out_);
}

void ProgressBar::clear() {
  if (shown_percent_ < 0) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  shown_percent_ = -1;
}

namespace {
int terminal_width() {
  winsize ws{};
  if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col - 1;
  return 79;
}
}  // namespace

std::shared_ptr<Model> load_with_progress(const std::string& path, ModelOptions options) {
  if (!isatty(2)) return Model::load(path, options);
  std::string label = std::filesystem::path(path).filename().string();
  if (label.empty()) label = std::filesystem::path(path).parent_path().filename().string();
  auto bar = std::make_shared<ProgressBar>(label, stderr, terminal_width());
  options.on_progress = [bar](const LoadProgress& p) { bar->update(p); };
  try {
    auto m = Model::load(path, options);
    bar->clear();
    return m;
  } catch (...) {
    bar->clear();
    throw;
  }
}

}  // namespace ember::cli
