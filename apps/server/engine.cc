#include "engine.h"

#include <malloc.h>

#include <algorithm>

namespace ember::server {

bool Job::take(std::string* text, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, wait, [&] { return finished || !pending.empty(); });
  text->append(pending);
  pending.clear();
  return finished;
}

Engine::Engine(std::shared_ptr<Model> model, EngineOptions options, Metrics& metrics)
    : model_(std::move(model)), opt_(options), metrics_(metrics), batcher_(model_) {
  thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() { shutdown(); }

void Engine::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  // The scheduler has exited: its state is ours now.
  auto fail_job = [](Job& j) {
    std::lock_guard<std::mutex> lock(j.mu);
    j.error = "server shutting down";
    j.error_status = 503;
  };
  for (auto& a : active_) {
    fail_job(*a.job);
    finish(a, true);
  }
  active_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& j : queue_) {
    fail_job(*j);
    std::lock_guard<std::mutex> jl(j->mu);
    j->finished = true;
    j->cv.notify_all();
  }
  queue_.clear();
}

bool Engine::stopped() {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

bool Engine::submit(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || int(queue_.size()) >= opt_.max_queue) return false;
    queue_.push_back(std::move(job));
    metrics_.queue_depth = int64_t(queue_.size());
  }
  cv_.notify_all();
  return true;
}

void Engine::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (queue_.empty() && active_.empty()) {
        // Going idle: hand freed memory (per-thread malloc arenas, finished sessions) back to
        // the OS so the resident size returns to its baseline between bursts.
        lock.unlock();
        malloc_trim(0);
        lock.lock();
      }
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || !active_.empty(); });
      if (stop_) return;
    }
    admit();
    step_active();
    if (opt_.step_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(opt_.step_delay_ms));
  }
}

// Moves queued jobs into free slots (between steps: the running set changes only here).
void Engine::admit() {
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty() || int(active_.size()) >= opt_.max_seqs) break;
      job = std::move(queue_.front());
      queue_.pop_front();
      metrics_.queue_depth = int64_t(queue_.size());
    }
    start(std::move(job));
  }
  metrics_.active_sequences = int64_t(active_.size());
}

void Engine::start(std::shared_ptr<Job> job) {
  const bool expired = Clock::now() >= job->deadline;
  if (job->cancelled || expired) {  // gave up while queued
    std::lock_guard<std::mutex> lock(job->mu);
    job->finished = true;
    job->timed_out = expired && !job->cancelled;
    job->result.stop_reason = StopReason::kCallback;
    job->cv.notify_all();
    metrics_.requests_cancelled++;
    return;
  }
  Active a;
  a.job = job;
  try {
    if (!job->media.empty()) {
      // No prefix reuse (the same placeholder ids may stand for other images), and the tower
      // plus the prompt run here, between steps of the others, not in the batched forward.
      a.session = model_->new_session();
      a.session->prefill(model_->encode_prompt(job->media_text, job->media));
      a.fed = job->prompt.size();
      a.gen = a.session->begin_generate(job->options);
    } else {
      a.session = session_for(job->prompt, &a.fed);
      job->cached_tokens = int64_t(a.fed);
      if (!opt_.batch) {  // pre-batching behaviour: the whole prompt now, between decode steps
        a.session->prefill(std::span<const int32_t>(job->prompt).subspan(a.fed));
        a.fed = job->prompt.size();
        a.gen = a.session->begin_generate(job->options);
      }
    }
  } catch (const Error& e) {  // e.g. a corrupt image: the client's fault
    std::lock_guard<std::mutex> lock(job->mu);
    job->finished = true;
    job->error = e.what();
    const bool client = e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kUnsupported;
    job->error_status = client ? 400 : e.code() == ErrorCode::kResourceExhausted ? 503 : 500;
    job->cv.notify_all();
    return;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(job->mu);
    job->finished = true;
    job->error = e.what();
    job->cv.notify_all();
    return;
  }
  metrics_.prompt_tokens += job->prompt.size();
  metrics_.prompt_tokens_cached += uint64_t(job->cached_tokens);
  a.last_token = Clock::now();
  active_.push_back(std::move(a));
}

// A session holding a prefix of `prompt` (*kept tokens): a fork of the pooled session with the
// longest common prefix, rewound to it, or a fresh one. At least the last prompt token is left
// to compute, so its logits are fresh.
std::unique_ptr<Session> Engine::session_for(const std::vector<int32_t>& prompt, size_t* kept) {
  size_t best = 0, best_i = 0;
  for (size_t i = 0; i < pool_.size(); ++i) {
    const auto& t = pool_[i]->tokens();
    size_t n = 0;
    while (n < t.size() && n < prompt.size() && t[n] == prompt[n]) ++n;
    if (n > best) best = n, best_i = i;
  }
  std::unique_ptr<Session> s;
  if (best > 0) {
    s = pool_[best_i]->fork();
    std::rotate(pool_.begin() + long(best_i), pool_.begin() + long(best_i) + 1, pool_.end());  // now MRU
  } else {
    s = model_->new_session();
  }
  s->reset_timings();
  if (best == prompt.size() && best > 0) --best;
  if (!s->truncate(best)) best = 0;  // a sliding ring could not rewind: the session is now empty
  *kept = best;
  return s;
}

// Drops cancelled sequences and ends timed-out ones.
void Engine::expire() {
  const auto now = Clock::now();
  for (auto& a : active_) {
    Job& job = *a.job;
    if (job.cancelled) {
      finish(a, true);
    } else if (now >= job.deadline) {
      job.timed_out = true;
      if (a.gen) a.gen->cancel();
      finish(a, false);
    }
  }
  std::erase_if(active_, [](const Active& a) { return !a.job; });
}

void Engine::step_active() {
  expire();
  metrics_.active_sequences = int64_t(active_.size());
  if (active_.empty()) return;
  metrics_.steps++;
  std::vector<BatchItem> items;
  std::vector<size_t> owner;
  for (size_t i = 0; i < active_.size(); ++i) {
    Active& a = active_[i];
    if (!a.gen) continue;
    Job* job = a.job.get();
    BatchItem it;
    it.generation = a.gen.get();
    it.on_token = [job](std::string_view text, int32_t) {
      std::lock_guard<std::mutex> lock(job->mu);
      job->pending.append(text);
      job->cv.notify_all();
      return true;
    };
    items.push_back(std::move(it));
    owner.push_back(i);
  }
  if (!opt_.batch) {  // one forward per sequence
    for (size_t k = 0; k < items.size(); ++k) {
      std::vector<BatchItem> one{std::move(items[k])};
      run_items(one, {owner[k]});
    }
  } else {
    // Prefill chunks fill the rest of the step's rows, oldest request first.
    int64_t budget = std::max<int64_t>(opt_.step_tokens - int64_t(items.size()), kMinPrefillRows);
    for (size_t i = 0; i < active_.size() && budget > 0; ++i) {
      Active& a = active_[i];
      if (a.gen) continue;
      const auto& p = a.job->prompt;
      const size_t n =
          size_t(std::min<int64_t>({budget, int64_t(opt_.step_tokens), int64_t(p.size() - a.fed)}));
      BatchItem it;
      it.session = a.session.get();
      it.tokens = std::span<const int32_t>(p).subspan(a.fed, n);
      it.last_chunk = a.fed + n == p.size();
      items.push_back(std::move(it));
      owner.push_back(i);
      budget -= int64_t(n);
    }
    run_items(items, owner);
  }
  std::erase_if(active_, [](const Active& a) { return !a.job; });
  metrics_.active_sequences = int64_t(active_.size());
}

void Engine::run_items(std::vector<BatchItem>& items, const std::vector<size_t>& owner) {
  if (items.empty()) return;
  metrics_.last_batch_size = int64_t(items.size());
  try {
    batcher_.step(items);
  } catch (const std::exception& e) {  // not expected: the items were valid; fail them all
    for (size_t i : owner) fail(active_[i], e.what(), 500);
    return;
  }
  for (size_t k = 0; k < items.size(); ++k) {
    Active& a = active_[owner[k]];
    if (!a.job) continue;
    if (items[k].generation)
      after_decode(a, items[k]);
    else
      after_prefill(a, items[k]);
  }
}

void Engine::after_decode(Active& a, const BatchItem& it) {
  const auto t = Clock::now();
  if (a.steps++ == 0)
    metrics_.ttft.observe(std::chrono::duration<double>(t - a.job->arrival).count());
  else
    metrics_.token_latency.observe(std::chrono::duration<double>(t - a.last_token).count());
  a.last_token = t;
  if (!it.more) finish(a, false);
}

void Engine::after_prefill(Active& a, const BatchItem& it) {
  if (!it.error.empty()) return fail(a, it.error, 400);
  a.fed += it.tokens.size();
  if (!it.last_chunk) return;
  try {
    a.gen = a.session->begin_generate(a.job->options);
  } catch (const std::exception& e) {
    fail(a, e.what(), 400);
  }
}

void Engine::fail(Active& a, const std::string& message, int status) {
  {
    std::lock_guard<std::mutex> lock(a.job->mu);
    a.job->error = message;
    a.job->error_status = status;
  }
  finish(a, false);
}

// Ends a sequence: publishes the result, returns the session to the prefix pool.
void Engine::finish(Active& a, bool cancelled) {
  auto job = std::move(a.job);
  if (!job) return;
  const bool generated = a.gen != nullptr;  // else it ended while prefilling: nothing to pool
  const GenerateResult res = generated ? a.gen->result() : GenerateResult{{}, {}, StopReason::kCallback};
  metrics_.generation_tokens += res.tokens.size();
  metrics_.request_latency.observe(std::chrono::duration<double>(Clock::now() - job->arrival).count());
  if (cancelled) metrics_.requests_cancelled++;
  {
    std::lock_guard<std::mutex> lock(job->mu);
    job->result = res;
    job->finished = true;
    job->cv.notify_all();
  }
  a.gen.reset();
  if (!cancelled && job->error.empty() && generated) pool_put(std::move(a.session));
  a.session.reset();
}

void Engine::pool_put(std::unique_ptr<Session> s) {
  if (opt_.prefix_pool <= 0 || s->tokens().empty()) return;
  // A pooled sequence that is a prefix of the new one is subsumed by it.
  const auto& t = s->tokens();
  std::erase_if(pool_, [&](const std::unique_ptr<Session>& p) {
    const auto& q = p->tokens();
    return q.size() <= t.size() && std::equal(q.begin(), q.end(), t.begin());
  });
  if (int(pool_.size()) >= opt_.prefix_pool) pool_.erase(pool_.begin());
  pool_.push_back(std::move(s));
}

}  // namespace ember::server
