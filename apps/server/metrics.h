// Server metrics in Prometheus text format: counters, gauges and latency histograms.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace ember::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}
  void observe(double v);
  // Appends the _bucket/_sum/_count lines of metric `name`.
  void write(std::string& out, const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t n_ = 0;
};

struct Metrics {
  std::atomic<uint64_t> requests_ok{0}, requests_client_error{0}, requests_rejected{0}, requests_cancelled{0};
  std::atomic<uint64_t> prompt_tokens{0}, prompt_tokens_cached{0}, generation_tokens{0};
  std::atomic<int64_t> queue_depth{0}, active_sequences{0}, last_batch_size{0};
  std::atomic<uint64_t> steps{0};
  Histogram ttft{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
  Histogram token_latency{{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}};
  Histogram request_latency{{0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120}};

  std::string prometheus() const;
};

}  // namespace ember::server
