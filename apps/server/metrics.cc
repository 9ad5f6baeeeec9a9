#include "metrics.h"

#include <cstdio>

namespace ember::server {

void Histogram::observe(double v) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++n_;
}

void Histogram::write(std::string& out, const std::string& name, const std::string& help) const {
  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cum = 0;
  char buf[64];
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    std::snprintf(buf, sizeof buf, "%g", bounds_[i]);
    out += name + "_bucket{le=\"" + buf + "\"} " + std::to_string(cum) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(n_) + "\n";
  std::snprintf(buf, sizeof buf, "%.6f", sum_);
  out += name + "_sum " + buf + "\n" + name + "_count " + std::to_string(n_) + "\n";
}

namespace {
void line(std::string& out, const char* name, const char* type, const char* help, const std::string& value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " +
         value + "\n";
}
}  // namespace

std::string Metrics::prometheus() const {
  std::string out;
  out += "# HELP ember_requests_total Finished requests by outcome.\n# TYPE ember_requests_total counter\n";
  out += "ember_requests_total{outcome=\"ok\"} " + std::to_string(requests_ok.load()) + "\n";
  out +=
      "ember_requests_total{outcome=\"client_error\"} " + std::to_string(requests_client_error.load()) + "\n";
  out += "ember_requests_total{outcome=\"rejected\"} " + std::to_string(requests_rejected.load()) + "\n";
  out += "ember_requests_total{outcome=\"cancelled\"} " + std::to_string(requests_cancelled.load()) + "\n";
  line(out, "ember_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.",
       std::to_string(prompt_tokens.load()));
  line(out, "ember_prompt_tokens_cached_total", "counter", "Prompt tokens reused from the prefix cache.",
       std::to_string(prompt_tokens_cached.load()));
  line(out, "ember_generation_tokens_total", "counter", "Generated tokens.",
       std::to_string(generation_tokens.load()));
  line(out, "ember_queue_depth", "gauge", "Requests waiting for a sequence slot.",
       std::to_string(queue_depth.load()));
  line(out, "ember_active_sequences", "gauge", "Sequences being generated.",
       std::to_string(active_sequences.load()));
  line(out, "ember_batch_size", "gauge", "Sequences advanced by the last scheduler step.",
       std::to_string(last_batch_size.load()));
  line(out, "ember_scheduler_steps_total", "counter", "Scheduler steps.", std::to_string(steps.load()));
  ttft.write(out, "ember_time_to_first_token_seconds", "Time from arrival to the first generated token.");
  token_latency.write(out, "ember_time_per_output_token_seconds",
                      "Time between consecutive tokens of a request.");
  request_latency.write(out, "ember_request_duration_seconds", "Time from arrival to the end of generation.");
  return out;
}

}  // namespace ember::server
