#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/status.h"

namespace ember {

void SamplingParams::validate() const {
  auto bad = [](const char* field, auto v, const char* rule) {
    fail(ErrorCode::kInvalidArgument, "invalid sampling parameter ", field, " = ", v, ": ", rule);
  };
  if (!(temperature >= 0.0f) || !std::isfinite(temperature)) bad("temperature", temperature, "must be >= 0");
  if (top_k < 0) bad("top_k", top_k, "must be >= 0");
  if (!(top_p > 0.0f && top_p <= 1.0f)) bad("top_p", top_p, "must be in (0, 1]");
  if (!(min_p >= 0.0f && min_p <= 1.0f)) bad("min_p", min_p, "must be in [0, 1]");
  if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty)) bad("repeat_penalty", repeat_penalty, "must be > 0");
  if (!(presence_penalty >= -2.0f && presence_penalty <= 2.0f))
    bad("presence_penalty", presence_penalty, "must be in [-2, 2]");
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f))
    bad("frequency_penalty", frequency_penalty, "must be in [-2, 2]");
}

Sampler::Sampler(const SamplingParams& params) : params_(params) {
  params_.validate();
  rng_.seed(params_.has_seed ? params_.seed : std::random_device{}());
}

int32_t argmax(std::span<const float> logits) {
  EMBER_CHECK(!logits.empty());
  return int32_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const int32_t n = int32_t(logits.size());
  work_.assign(logits.begin(), logits.end());

  // Penalties over the history (HF repetition_penalty; OpenAI presence/frequency).
  const bool penalize = params_.repeat_penalty != 1.0f || params_.presence_penalty != 0.0f ||
                        params_.frequency_penalty != 0.0f;
  if (penalize) {
    counts_.clear();
    for (int32_t t : history)
      if (t >= 0 && t < n) ++counts_[t];
    for (auto [t, c] : counts_) {
      float& l = work_[size_t(t)];
      if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
      l -= params_.presence_penalty + params_.frequency_penalty * float(c);
    }
  }
  if (params_.temperature == 0.0f) return argmax(work_);

  for (float& l : work_) l /= params_.temperature;

  // Candidates sorted by logit (descending); stable so equal logits keep index order.
  idx_.resize(size_t(n));
  std::iota(idx_.begin(), idx_.end(), 0);
  size_t keep = size_t(n);
  if (params_.top_k > 0 && size_t(params_.top_k) < keep) {
    keep = size_t(params_.top_k);
    std::partial_sort(idx_.begin(), idx_.begin() + long(keep), idx_.end(), [&](int32_t a, int32_t b) {
      return work_[size_t(a)] > work_[size_t(b)] || (work_[size_t(a)] == work_[size_t(b)] && a < b);
    });
  } else {
    std::stable_sort(idx_.begin(), idx_.end(), [&](int32_t a, int32_t b) { return work_[size_t(a)] > work_[size_t(b)]; });
  }
  idx_.resize(keep);

  // Softmax over the kept candidates (f64 for a stable cumulative sum).
  const double mx = work_[size_t(idx_[0])];
  std::vector<double> p(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) sum += p[i] = std::exp(double(work_[size_t(idx_[i])]) - mx);
  for (double& v : p) v /= sum;

  if (params_.top_p < 1.0f) {  // smallest prefix with cumulative mass >= top_p (at least one)
    double cum = 0;
    size_t k = 0;
    while (k < keep) {
      cum += p[k++];
      if (cum >= double(params_.top_p)) break;
    }
    keep = std::max<size_t>(k, 1);
  }
  if (params_.min_p > 0.0f) {  // drop candidates below min_p * max probability
    const double thresh = double(params_.min_p) * p[0];
    size_t k = 1;
    while (k < keep && p[k] >= thresh) ++k;
    keep = k;
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i];
  std::uniform_real_distribution<double> dist(0.0, total);
  double r = dist(rng_), cum = 0;
  for (size_t i = 0; i < keep; ++i) {
    cum += p[i];
    if (r < cum) return idx_[i];
  }
  return idx_[keep - 1];
}

}  // namespace ember
