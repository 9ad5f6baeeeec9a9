// ember::Session: one sequence (KV cache, tokens, last logits) and generation.
#include <algorithm>
#include <chrono>

#include "api/model_impl.h"
#include "core/status.h"
#include "text/detokenizer.h"

namespace ember {

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Holds back text that may be the start of a stop string; finds complete stop strings.
class StopMatcher {
 public:
  explicit StopMatcher(const std::vector<std::string>& stops) : stops_(stops) {}
  // Adds text; returns what may be emitted now. *hit is set when a stop string completed (the
  // returned text then ends just before it).
  std::string push(const std::string& text, bool* hit) {
    pending_ += text;
    *hit = false;
    size_t cut = std::string::npos;
    for (const auto& s : stops_) {
      if (s.empty()) continue;
      size_t p = pending_.find(s);
      if (p != std::string::npos) cut = std::min(cut, p);
    }
    if (cut != std::string::npos) {
      *hit = true;
      std::string out = pending_.substr(0, cut);
      pending_.clear();
      return out;
    }
    size_t keep = 0;  // longest suffix of pending_ that is a proper prefix of a stop string
    for (const auto& s : stops_)
      for (size_t k = std::min(s.size() - 1, pending_.size()); k > keep; --k)
        if (pending_.compare(pending_.size() - k, k, s, 0, k) == 0) {
          keep = k;
          break;
        }
    std::string out = pending_.substr(0, pending_.size() - keep);
    pending_.erase(0, pending_.size() - keep);
    return out;
  }
  std::string flush() { return std::exchange(pending_, std::string()); }

 private:
  const std::vector<std::string>& stops_;
  std::string pending_;
};

class SessionImpl final : public Session {
 public:
  explicit SessionImpl(std::shared_ptr<const ModelImpl> model)
      : model_(std::move(model)),
        state_(model_->lm().new_state(model_->context_length(), model_->options().prefill_chunk)) {}

  int64_t prefill(std::span<const int32_t> tokens) override {
    if (tokens.empty()) return 0;
    auto t0 = Clock::now();
    ForwardOptions fo;
    fo.logits = LogitsMode::kLast;
    model_->lm().forward(tokens.data(), int64_t(tokens.size()), *state_, fo, &logits_);
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    timings_.prompt_tokens += int64_t(tokens.size());
    timings_.prefill_tokens += int64_t(tokens.size());
    timings_.prefill_ms += ms_since(t0);
    return int64_t(tokens.size());
  }

  int64_t prefill_reuse(std::span<const int32_t> tokens) override {
    size_t common = 0;
    while (common < tokens_.size() && common < tokens.size() && tokens_[common] == tokens[common]) ++common;
    // Keep at least one token to recompute so the last logits are fresh.
    if (common == tokens.size() && common > 0) --common;
    if (!truncate(common)) common = 0;
    timings_.prompt_tokens += int64_t(common);
    return prefill(tokens.subspan(common));
  }

  std::span<const float> logits() const override {
    if (logits_.empty()) fail(ErrorCode::kInvalidArgument, "logits(): nothing has been computed yet");
    return logits_;
  }

  std::vector<float> logits_all(
      std::span<const int32_t> tokens,
      const std::function<void(const std::string&, const float*, int64_t, int64_t)>& dump) override {
    if (tokens.empty()) fail(ErrorCode::kInvalidArgument, "logits_all: no tokens");
    ForwardOptions fo;
    fo.logits = LogitsMode::kAll;
    ActivationHook hook = dump;
    if (dump) fo.hook = &hook;
    std::vector<float> all;
    model_->lm().forward(tokens.data(), int64_t(tokens.size()), *state_, fo, &all);
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    const size_t V = size_t(model_->info().vocab_size);
    logits_.assign(all.end() - long(V), all.end());
    return all;
  }

  GenerateResult generate(const GenerateOptions& options, const TokenCallback& on_token) override;

  const std::vector<int32_t>& tokens() const override { return tokens_; }

  bool truncate(size_t n) override {
    if (n >= tokens_.size()) return true;
    if (!state_->cache.truncate(int32_t(n))) {
      reset();
      return false;
    }
    tokens_.resize(n);
    logits_.clear();
    return true;
  }

  void reset() override {
    state_->cache.clear();
    tokens_.clear();
    logits_.clear();
  }

  std::unique_ptr<Session> fork() const override {
    auto s = std::make_unique<SessionImpl>(model_);
    s->state_->cache = state_->cache.clone();
    s->tokens_ = tokens_;
    s->logits_ = logits_;
    s->timings_ = timings_;
    return s;
  }

  const Timings& timings() const override { return timings_; }
  void reset_timings() override { timings_ = {}; }

 private:
  std::shared_ptr<const ModelImpl> model_;
  std::unique_ptr<SequenceState> state_;
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
  Timings timings_;
};

GenerateResult SessionImpl::generate(const GenerateOptions& options, const TokenCallback& on_token) {
  if (tokens_.empty() || logits_.empty())
    fail(ErrorCode::kInvalidArgument, "generate: prefill a prompt first");
  if (options.max_tokens < 0) fail(ErrorCode::kInvalidArgument, "max_tokens must be >= 0");
  SamplingParams sp;
  const auto& so = options.sampling;
  sp.temperature = so.temperature;
  sp.top_k = so.top_k;
  sp.top_p = so.top_p;
  sp.min_p = so.min_p;
  sp.repeat_penalty = so.repeat_penalty;
  sp.presence_penalty = so.presence_penalty;
  sp.frequency_penalty = so.frequency_penalty;
  sp.has_seed = so.seed >= 0;
  sp.seed = uint64_t(std::max<int64_t>(so.seed, 0));
  Sampler sampler(sp);

  const auto& stop_ids = model_->info().stop_ids;
  const Tokenizer& tok = model_->tokenizer();
  Detokenizer detok(tok);
  StopMatcher stops(options.stop);
  GenerateResult res;
  const size_t prompt_len = tokens_.size();
  auto emit = [&](const std::string& text, int32_t id) -> bool {
    if (text.empty()) return true;
    res.text += text;
    return !on_token || on_token(text, id);
  };
  ForwardOptions fo;
  fo.logits = LogitsMode::kLast;
  auto t_start = Clock::now();
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    std::span<const int32_t> history(tokens_.data() + (sp.repeat_penalty != 1.0f ? 0 : prompt_len),
                                     tokens_.size() - (sp.repeat_penalty != 1.0f ? 0 : prompt_len));
    const int32_t id = sampler.sample(logits_, history);
    if (i == 0) timings_.first_token_ms = ms_since(t_start);
    const bool is_stop = std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end();
    const auto& extra = options.extra_stop_ids;
    if ((options.stop_on_eos && is_stop) || std::find(extra.begin(), extra.end(), id) != extra.end()) {
      res.stop_reason = StopReason::kEos;
      break;
    }
    res.tokens.push_back(id);
    bool hit = false;
    std::string text = stops.push(detok.push(id), &hit);
    if (!emit(text, id)) {
      res.stop_reason = StopReason::kCallback;
      break;
    }
    if (hit) {
      res.stop_reason = StopReason::kStopString;
      break;
    }
    if (int64_t(tokens_.size()) + 1 > model_->context_length()) {
      res.stop_reason = StopReason::kContextFull;
      break;
    }
    auto t0 = Clock::now();
    model_->lm().forward(&id, 1, *state_, fo, &logits_);
    tokens_.push_back(id);
    timings_.decode_ms += ms_since(t0);
    timings_.generated_tokens += 1;
    if (i + 1 == options.max_tokens) res.stop_reason = StopReason::kMaxTokens;
  }
  if (res.stop_reason != StopReason::kStopString && res.stop_reason != StopReason::kCallback) {
    bool hit = false;
    std::string tail = stops.push(detok.finish(), &hit);
    if (!hit) tail += stops.flush();
    emit(tail, -1);
  }
  return res;
}

}  // namespace

std::unique_ptr<Session> ModelImpl::new_session() const {
  return std::make_unique<SessionImpl>(std::static_pointer_cast<const ModelImpl>(shared_from_this()));
}

}  // namespace ember
