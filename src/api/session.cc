// ember::Session: one sequence (KV cache, tokens, last logits) and generation.
#include <algorithm>
#include <chrono>
#include <optional>

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

class GenerationImpl;
struct BatchRunner;

class SessionImpl final : public Session {
 public:
  explicit SessionImpl(std::shared_ptr<const ModelImpl> model)
      : model_(std::move(model)),
        state_(model_->lm().new_state(model_->context_length(), model_->options().prefill_chunk)),
        kv_reserved_(state_->cache.max_bytes()) {
    model_->reserve_kv(kv_reserved_);  // throws (before the session exists) when over the limit
  }
  ~SessionImpl() override { model_->release_kv(kv_reserved_); }
  size_t kv_bytes() const override { return kv_reserved_; }

  int64_t prefill(std::span<const int32_t> tokens) override { return prefill_soft(tokens, nullptr); }

  int64_t prefill(const Prompt& prompt) override {
    const int64_t H = model_->info().hidden_size;
    if (int64_t(prompt.soft_tokens.size()) % H != 0)
      fail(ErrorCode::kInvalidArgument, "prefill: soft_tokens holds ", prompt.soft_tokens.size(),
           " floats, not a multiple of the hidden size ", H);
    SoftTokens soft{prompt.soft_tokens.data(), int64_t(prompt.soft_tokens.size()) / H};
    const size_t before = tokens_.size();
    const int64_t n = prefill_soft(prompt.tokens, soft.n > 0 ? &soft : nullptr);
    if (soft.n > 0) {  // the first placeholder position: the cache before it stays reusable
      const auto& ph = model_->lm().summary().soft_token_ids;
      size_t i = 0;
      while (i < prompt.tokens.size() && std::find(ph.begin(), ph.end(), prompt.tokens[i]) == ph.end()) ++i;
      soft_from_ = std::min(soft_from_, before + i);
    }
    return n;
  }

  int64_t prefill_soft(std::span<const int32_t> tokens, const SoftTokens* soft) {
    if (tokens.empty()) return 0;
    auto t0 = Clock::now();
    ForwardOptions fo;
    fo.logits = LogitsMode::kLast;
    fo.yoco = model_->options().yoco;
    fo.soft = soft;
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
    common = std::min(common, soft_from_);  // the same placeholder ids may hold another image
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
  std::unique_ptr<Generation> begin_generate(const GenerateOptions& options) override;

  const std::vector<int32_t>& tokens() const override { return tokens_; }

  bool truncate(size_t n) override {
    if (n >= tokens_.size()) return true;
    if (!state_->cache.truncate(int32_t(n))) {
      reset();
      return false;
    }
    tokens_.resize(n);
    logits_.clear();
    if (n <= soft_from_) soft_from_ = kNoSoft;
    return true;
  }

  void reset() override {
    state_->cache.clear();
    tokens_.clear();
    logits_.clear();
    soft_from_ = kNoSoft;
  }

  std::unique_ptr<Session> fork() const override {
    auto s = std::make_unique<SessionImpl>(model_);
    s->state_->cache = state_->cache.clone();
    s->tokens_ = tokens_;
    s->logits_ = logits_;
    s->timings_ = timings_;
    s->soft_from_ = soft_from_;
    return s;
  }

  const Timings& timings() const override { return timings_; }
  void reset_timings() override { timings_ = {}; }

 private:
  friend class GenerationImpl;
  friend struct BatchRunner;
  std::shared_ptr<const ModelImpl> model_;
  std::unique_ptr<SequenceState> state_;
  size_t kv_reserved_ = 0;  // ModelOptions::kv_memory_limit share, released in the destructor
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
  Timings timings_;
  static constexpr size_t kNoSoft = SIZE_MAX;
  size_t soft_from_ = kNoSoft;  // position of the first soft token in the cache
};

// One generation over a SessionImpl, advanced a token at a time (Session::generate steps it to
// the end; the server's scheduler steps many of them in turn).
class GenerationImpl final : public Generation {
 public:
  GenerationImpl(SessionImpl& s, const GenerateOptions& options)
      : s_(s),
        options_(options),
        sampler_(sampling_params(options.sampling)),
        detok_(s.model_->tokenizer()),
        stops_(options_.stop),
        prompt_len_(s.tokens_.size()),
        t_start_(Clock::now()) {
    if (s.tokens_.empty() || s.logits_.empty())
      fail(ErrorCode::kInvalidArgument, "generate: prefill a prompt first");
    if (options.max_tokens < 0) fail(ErrorCode::kInvalidArgument, "max_tokens must be >= 0");
    if (options.max_tokens == 0) finish(StopReason::kMaxTokens, {});
  }

  bool step(const TokenCallback& on_token) override;
  // step() in two halves around the forward, so a Batcher can run many forwards as one:
  // advance() samples and streams the next token and returns it when it must be fed to the
  // model (nothing when generation ended); commit() records it once its logits are in place.
  std::optional<int32_t> advance(const TokenCallback& on_token);
  void commit(int32_t id, double forward_ms, const TokenCallback& on_token);
  SessionImpl& session() { return s_; }
  void cancel() override {
    if (!done_) res_.stop_reason = StopReason::kCallback;
    done_ = true;
  }
  bool done() const override { return done_; }
  const GenerateResult& result() const override { return res_; }

 private:
  static SamplingParams sampling_params(const SamplingOptions& so) {
    SamplingParams sp;
    sp.temperature = so.temperature;
    sp.top_k = so.top_k;
    sp.top_p = so.top_p;
    sp.min_p = so.min_p;
    sp.repeat_penalty = so.repeat_penalty;
    sp.presence_penalty = so.presence_penalty;
    sp.frequency_penalty = so.frequency_penalty;
    sp.has_seed = so.seed >= 0;
    sp.seed = uint64_t(std::max<int64_t>(so.seed, 0));
    return sp;
  }
  bool emit(const std::string& text, int32_t id, const TokenCallback& on_token) {
    if (text.empty()) return true;
    res_.text += text;
    return !on_token || on_token(text, id);
  }
  // Ends generation; held-back text is flushed unless a stop string or the caller ended it.
  void finish(StopReason why, const TokenCallback& on_token) {
    res_.stop_reason = why;
    done_ = true;
    if (why == StopReason::kStopString || why == StopReason::kCallback) return;
    bool hit = false;
    std::string tail = stops_.push(detok_.finish(), &hit);
    if (!hit) tail += stops_.flush();
    emit(tail, -1, on_token);
  }

  SessionImpl& s_;
  GenerateOptions options_;
  Sampler sampler_;
  Detokenizer detok_;
  StopMatcher stops_;
  size_t prompt_len_;
  Clock::time_point t_start_;
  int64_t i_ = 0;
  bool done_ = false;
  GenerateResult res_;
};

std::optional<int32_t> GenerationImpl::advance(const TokenCallback& on_token) {
  if (done_) return std::nullopt;
  const bool full_history = options_.sampling.repeat_penalty != 1.0f;
  const size_t from = full_history ? 0 : prompt_len_;
  std::span<const int32_t> history(s_.tokens_.data() + from, s_.tokens_.size() - from);
  const int32_t id = sampler_.sample(s_.logits_, history);
  if (i_ == 0) s_.timings_.first_token_ms = ms_since(t_start_);
  const auto& stop_ids = s_.model_->info().stop_ids;
  const auto& extra = options_.extra_stop_ids;
  const bool is_stop = std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end();
  if ((options_.stop_on_eos && is_stop) || std::find(extra.begin(), extra.end(), id) != extra.end()) {
    finish(StopReason::kEos, on_token);
    return std::nullopt;
  }
  res_.tokens.push_back(id);
  bool hit = false;
  std::string text = stops_.push(detok_.push(id), &hit);
  if (!emit(text, id, on_token)) {
    finish(StopReason::kCallback, on_token);
    return std::nullopt;
  }
  if (hit) {
    finish(StopReason::kStopString, on_token);
    return std::nullopt;
  }
  if (int64_t(s_.tokens_.size()) + 1 > s_.model_->context_length()) {
    finish(StopReason::kContextFull, on_token);
    return std::nullopt;
  }
  return id;
}

void GenerationImpl::commit(int32_t id, double forward_ms, const TokenCallback& on_token) {
  s_.tokens_.push_back(id);
  s_.timings_.decode_ms += forward_ms;
  s_.timings_.generated_tokens += 1;
  if (++i_ == options_.max_tokens) finish(StopReason::kMaxTokens, on_token);
}

bool GenerationImpl::step(const TokenCallback& on_token) {
  const std::optional<int32_t> id = advance(on_token);
  if (!id) return false;
  auto t0 = Clock::now();
  ForwardOptions fo;
  fo.logits = LogitsMode::kLast;
  s_.model_->lm().forward(&*id, 1, *s_.state_, fo, &s_.logits_);
  commit(*id, ms_since(t0), on_token);
  return !done_;
}

GenerateResult SessionImpl::generate(const GenerateOptions& options, const TokenCallback& on_token) {
  GenerationImpl g(*this, options);
  while (g.step(on_token)) {
  }
  return g.result();
}

std::unique_ptr<Generation> SessionImpl::begin_generate(const GenerateOptions& options) {
  return std::make_unique<GenerationImpl>(*this, options);
}

// Batcher::step: sample every decode item, then one forward_batch over all new tokens, then
// record the results. Rejected items keep their error and are left out of the forward.
struct BatchRunner {
  const ModelImpl& model;
  std::vector<BackendBuffer>& scratch;

  // An item's session, checked to belong to this model.
  SessionImpl& session_of(BatchItem& it, GenerationImpl** gen) const {
    *gen = nullptr;
    SessionImpl* impl = nullptr;
    if (it.generation) {
      *gen = dynamic_cast<GenerationImpl*>(it.generation);
      if (*gen) impl = &(*gen)->session();
    } else {
      impl = dynamic_cast<SessionImpl*>(it.session);
    }
    if (!impl || impl->model_.get() != &model)
      fail(ErrorCode::kInvalidArgument, "Batcher: an item without a session or generation of this model");
    return *impl;
  }

  std::string check_prefill(const SessionImpl& s, std::span<const int32_t> t) const {
    const int64_t vocab = model.info().vocab_size;
    if (t.empty() || int64_t(t.size()) > s.state_->cache.max_chunk())
      return "prefill chunk of " + std::to_string(t.size()) + " tokens (allowed: 1.." +
             std::to_string(s.state_->cache.max_chunk()) + ")";
    for (size_t i = 0; i < t.size(); ++i)
      if (t[i] < 0 || t[i] >= vocab)
        return "token id " + std::to_string(t[i]) + " at index " + std::to_string(i) +
               " is outside the vocabulary";
    if (int64_t(s.tokens_.size() + t.size()) > model.context_length())
      return "sequence of " + std::to_string(s.tokens_.size() + t.size()) +
             " tokens exceeds the context limit of " + std::to_string(model.context_length());
    return {};
  }

  void run(std::span<BatchItem> items) {
    std::vector<BatchSeq> seqs;
    std::vector<size_t> which;                  // item of each seq
    std::vector<int32_t> ids(items.size(), 0);  // decode tokens (stable storage)
    std::vector<SessionImpl*> sess(items.size(), nullptr);
    std::vector<GenerationImpl*> gens(items.size(), nullptr);
    for (size_t i = 0; i < items.size(); ++i) {
      BatchItem& it = items[i];
      it.error.clear();
      it.more = false;
      SessionImpl& s = session_of(it, &gens[i]);
      sess[i] = &s;
      for (size_t j = 0; j < i; ++j)
        if (sess[j] == &s)
          fail(ErrorCode::kInvalidArgument, "Batcher: items ", j, " and ", i, " share a session");
      BatchSeq q;
      q.state = s.state_.get();
      q.logits = &s.logits_;
      if (gens[i]) {
        const std::optional<int32_t> id = gens[i]->advance(it.on_token);
        if (!id) continue;
        ids[i] = *id;
        q.ids = &ids[i];
        q.n = 1;
      } else {
        it.error = check_prefill(s, it.tokens);
        if (!it.error.empty()) continue;
        q.ids = it.tokens.data();
        q.n = int64_t(it.tokens.size());
        q.want_logits = it.last_chunk;
      }
      seqs.push_back(q);
      which.push_back(i);
    }
    if (seqs.empty()) return;
    const auto t0 = Clock::now();
    ForwardOptions fo;
    model.lm().forward_batch(seqs, &scratch, fo);
    const double ms = ms_since(t0);
    for (size_t i : which) {
      BatchItem& it = items[i];
      if (gens[i]) {
        gens[i]->commit(ids[i], ms, it.on_token);
        it.more = !gens[i]->done();
        continue;
      }
      SessionImpl& s = *sess[i];
      s.tokens_.insert(s.tokens_.end(), it.tokens.begin(), it.tokens.end());
      if (!it.last_chunk) s.logits_.clear();
      s.timings_.prompt_tokens += int64_t(it.tokens.size());
      s.timings_.prefill_tokens += int64_t(it.tokens.size());
      s.timings_.prefill_ms += ms;
    }
  }
};

}  // namespace

std::unique_ptr<Session> ModelImpl::new_session() const {
  return std::make_unique<SessionImpl>(std::static_pointer_cast<const ModelImpl>(shared_from_this()));
}

struct Batcher::State {
  std::shared_ptr<const ModelImpl> model;
  std::vector<BackendBuffer> scratch;  // activations of the batch, reused across steps
};

Batcher::Batcher(std::shared_ptr<const Model> model) : s_(std::make_unique<State>()) {
  s_->model = std::dynamic_pointer_cast<const ModelImpl>(model);
  if (!s_->model) fail(ErrorCode::kInvalidArgument, "Batcher: not an ember model");
}

Batcher::~Batcher() = default;

void Batcher::step(std::span<BatchItem> items) {
  BatchRunner r{*s_->model, s_->scratch};
  r.run(items);
}

}  // namespace ember
