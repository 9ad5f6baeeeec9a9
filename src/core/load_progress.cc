#include "core/load_progress.h"

#include <algorithm>

namespace ember {

LoadProgressReporter::LoadProgressReporter(LoadProgressFn fn, uint64_t bytes_total, int64_t tensors_total)
    : fn_(std::move(fn)) {
  p_.bytes_total = bytes_total;
  p_.tensors_total = tensors_total;
  report("");
}

void LoadProgressReporter::tensor_done(std::string_view name, uint64_t bytes) {
  if (!fn_ || finished_ || !seen_.emplace(name).second) return;
  // Clamped so a caller that counts a tensor the total left out cannot overshoot.
  p_.bytes_done = std::min(p_.bytes_total, p_.bytes_done + bytes);
  p_.tensors_done = std::min(p_.tensors_total, p_.tensors_done + 1);
  report(name);
}

void LoadProgressReporter::finish() {
  if (finished_) return;
  p_.bytes_done = p_.bytes_total;
  p_.tensors_done = p_.tensors_total;
  report("");
  finished_ = true;
}

void LoadProgressReporter::report(std::string_view name) {
  if (!fn_) return;
  p_.tensor = name;
  fn_(p_);
}

}  // namespace ember
