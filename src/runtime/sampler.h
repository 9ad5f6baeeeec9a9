// Token sampling: greedy, temperature, top-k, top-p, min-p, repetition / presence /
// frequency penalties, seeded RNG. Order follows transformers' generate(): penalties, then
// temperature, then top-k, top-p, min-p, then a draw from the renormalized distribution.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

namespace ember {

struct SamplingParams {
  float temperature = 1.0f;       // 0 = greedy
  int top_k = 0;                  // 0 = off
  float top_p = 1.0f;             // 1 = off
  float min_p = 0.0f;             // 0 = off
  float repeat_penalty = 1.0f;    // 1 = off (HF repetition_penalty)
  float presence_penalty = 0.0f;  // OpenAI: subtract once if the token appeared
  float frequency_penalty = 0.0f; // OpenAI: subtract per occurrence
  uint64_t seed = 0;              // used when has_seed
  bool has_seed = false;

  // Throws ember::Error(kInvalidArgument) naming the field when a value is out of range.
  void validate() const;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);

  // Picks the next token from logits[vocab] given the tokens generated so far (and the prompt,
  // for the penalties: pass whatever history the penalties should see). Modifies nothing
  // outside the sampler.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<float> work_;
  std::vector<int32_t> idx_;
  std::unordered_map<int32_t, int> counts_;
};

// Index of the largest logit (lowest index on ties) — greedy decoding.
int32_t argmax(std::span<const float> logits);

}  // namespace ember
