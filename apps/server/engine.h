// The scheduler: one thread owns every active sequence (one ember::Session each) and advances
// them together (continuous batching). Each step is ONE batched forward (ember::Batcher): the
// next token of every generating sequence plus prefill chunks of newly admitted prompts, within
// a budget of step_tokens rows, so a long prompt is prefilled a chunk per step while the others
// keep decoding. Requests join and leave the running set between steps.
//
// Prefix cache: finished sessions are kept in a small pool keyed by their token sequence; a new
// request forks the one sharing the longest prefix, rewinds it to the common prefix (exact, or
// from scratch when a sliding ring cannot rewind) and prefills only the rest.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ember/ember.hpp"
#include "metrics.h"

namespace ember::server {

using Clock = std::chrono::steady_clock;

// One request's generation. The HTTP thread fills the inputs, submits it and then waits for
// text; the scheduler thread appends text and finishes it.
struct Job {
  // Inputs (immutable after submit).
  std::vector<int32_t> prompt;
  GenerateOptions options;
  // Images (chat image_url parts): `prompt` is then the unexpanded rendering, and the scheduler
  // thread encodes media_text + media (the tower uses the model's backend) into a fresh session.
  std::vector<Media> media;
  std::string media_text;
  Clock::time_point arrival = Clock::now(), deadline = Clock::time_point::max();

  // Set by the HTTP thread when its client went away; the scheduler then drops the sequence.
  std::atomic<bool> cancelled{false};

  // Outputs, guarded by mu.
  std::mutex mu;
  std::condition_variable cv;
  std::string pending;  // generated text not yet taken by the HTTP thread
  bool finished = false, timed_out = false;
  std::string error;  // generation failed (ember::Error message) or the server stopped
  int error_status = 500;
  GenerateResult result;
  int64_t cached_tokens = 0;  // prompt tokens reused from the prefix cache

  // Waits up to `wait` for text or the end; moves new text into *text. Returns finished.
  bool take(std::string* text, std::chrono::milliseconds wait);
};

struct EngineOptions {
  int max_seqs = 4;       // sequences generated concurrently
  int max_queue = 64;     // requests waiting for a slot (beyond: rejected)
  int prefix_pool = 8;    // finished sessions kept for prefix reuse
  int step_delay_ms = 0;  // testing aid: sleep per scheduler step (to make queues observable)
  // Rows of one batched step: a decode token per generating sequence, the rest (at least
  // kMinPrefillRows) prefill chunks. Also the largest prefill chunk (ModelOptions::prefill_chunk
  // must be at least this; a prefill item beyond it fails).
  int step_tokens = 256;
  // false: the pre-batching scheduler, for comparisons — one forward per sequence per step and a
  // new prompt prefilled whole when it is admitted.
  bool batch = true;
};

// Prefill rows a step gets even when the decode tokens use up step_tokens (no starvation).
constexpr int kMinPrefillRows = 16;

class Engine {
 public:
  Engine(std::shared_ptr<Model> model, EngineOptions options, Metrics& metrics);
  ~Engine();
  // Queues a job; false when the queue is full (the caller answers 429) or after shutdown().
  bool submit(std::shared_ptr<Job> job);
  // Stops the scheduler and ends every queued and running job with an error (status 503), so
  // no HTTP thread is left waiting. Idempotent.
  void shutdown();
  bool stopped();

 private:
  struct Active {
    std::shared_ptr<Job> job;
    std::unique_ptr<Session> session;
    std::unique_ptr<Generation> gen;  // after session: destroyed first; null while prefilling
    size_t fed = 0;                   // prompt tokens in the session so far
    Clock::time_point last_token;
    int64_t steps = 0;
  };
  void loop();
  void admit();
  void start(std::shared_ptr<Job> job);
  std::unique_ptr<Session> session_for(const std::vector<int32_t>& prompt, size_t* kept);
  void step_active();
  void expire();
  // Runs items (of active_[owner[i]]) as one batched forward and records the results.
  void run_items(std::vector<BatchItem>& items, const std::vector<size_t>& owner);
  void after_decode(Active& a, const BatchItem& it);
  void after_prefill(Active& a, const BatchItem& it);
  void fail(Active& a, const std::string& message, int status);
  void finish(Active& a, bool cancelled);
  void pool_put(std::unique_ptr<Session> s);

  std::shared_ptr<Model> model_;
  EngineOptions opt_;
  Metrics& metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // guarded by mu_
  bool stop_ = false;                       // guarded by mu_
  // Owned by the scheduler thread only.
  std::vector<Active> active_;
  std::vector<std::unique_ptr<Session>> pool_;  // most recently used last
  Batcher batcher_;
  std::thread thread_;
};

}  // namespace ember::server
