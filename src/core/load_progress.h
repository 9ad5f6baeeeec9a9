// Loading progress for ModelOptions::on_progress, shared by every loader (safetensors weight
// binder, GGUF architectures): each distinct tensor counts once, when it is validated and bound,
// so bytes_done only grows; finish() reports bytes_done == bytes_total.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "ember/ember.hpp"

namespace ember {

using LoadProgressFn = std::function<void(const LoadProgress&)>;

class LoadProgressReporter {
 public:
  // `fn` may be empty (then nothing is reported). Reports the start (0 of total).
  LoadProgressReporter(LoadProgressFn fn, uint64_t bytes_total, int64_t tensors_total);
  // A tensor of `bytes` bytes is validated and bound; a name seen before is not counted again.
  void tensor_done(std::string_view name, uint64_t bytes);
  // Everything is loaded: reports done == total (once).
  void finish();

 private:
  void report(std::string_view name);
  LoadProgressFn fn_;
  LoadProgress p_;
  std::unordered_set<std::string> seen_;
  bool finished_ = false;
};

}  // namespace ember
