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
    : model_(std::move(model)), opt_(options), metrics_(metrics) {
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
    // Prefill runs here, between decode steps of the others (chunked prefill is future work).
    if (job->media.empty()) {
      a.session = session_for(job->prompt, &job->cached_tokens);
    } else {  // no prefix reuse: the same placeholder ids may stand for other images
      a.session = model_->new_session();
      a.session->prefill(model_->encode_prompt(job->media_text, job->media));
    }
    a.gen = a.session->begin_generate(job->options);
  } catch (const Error& e) {  // e.g. a corrupt image: the client's fault
    std::lock_guard<std::mutex> lock(job->mu);
    job->finished = true;
    job->error = e.what();
    const bool client = e.code() == ErrorCode::kInvalidArgument || e.code() == ErrorCode::kUnsupported;
    job->error_status = client ? 400 : 500;
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

// A session holding `prompt`: a fork of the pooled session with the longest common prefix (only
// the new suffix is computed), or a fresh one.
std::unique_ptr<Session> Engine::session_for(const std::vector<int32_t>& prompt, int64_t* reused) {
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
  const int64_t computed = s->prefill_reuse(prompt);
  *reused = int64_t(prompt.size()) - computed;
  return s;
}

void Engine::step_active() {
  metrics_.last_batch_size = int64_t(active_.size());
  if (active_.empty()) return;
  metrics_.steps++;
  const auto now = Clock::now();
  for (auto& a : active_) {
    Job& job = *a.job;
    if (job.cancelled) {
      finish(a, true);
      continue;
    }
    if (now >= job.deadline) {
      job.timed_out = true;
      a.gen->cancel();
      finish(a, false);
      continue;
    }
    bool more = true;
    try {
      more = a.gen->step([&](std::string_view text, int32_t) {
        std::lock_guard<std::mutex> lock(job.mu);
        job.pending.append(text);
        job.cv.notify_all();
        return true;
      });
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(job.mu);
      job.error = e.what();
      more = false;
    }
    const auto t = Clock::now();
    if (a.steps++ == 0)
      metrics_.ttft.observe(std::chrono::duration<double>(t - job.arrival).count());
    else
      metrics_.token_latency.observe(std::chrono::duration<double>(t - a.last_token).count());
    a.last_token = t;
    if (!more) finish(a, false);
  }
  std::erase_if(active_, [](const Active& a) { return !a.job; });
  metrics_.active_sequences = int64_t(active_.size());
}

// Ends a sequence: publishes the result, returns the session to the prefix pool.
void Engine::finish(Active& a, bool cancelled) {
  auto job = std::move(a.job);
  if (!job) return;
  const auto& res = a.gen->result();
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
  if (!cancelled && job->error.empty()) pool_put(std::move(a.session));
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
