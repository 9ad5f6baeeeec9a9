#include "core/threadpool.h"

#include <sched.h>

#include <algorithm>
#include <chrono>

namespace ember {

namespace {
// True while running a chunk: nested parallel_for runs inline instead of deadlocking or
// oversubscribing.
thread_local bool t_in_pool = false;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// Spins until pred() or about kSpinMicros passed; returns pred().
template <typename Pred>
bool spin_until(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(ThreadPool::kSpinMicros);
  for (int i = 0;; ++i) {
    if (pred()) return true;
    if (i < 64) {
      cpu_relax();
    } else {
      // Let a descheduled peer (the worker we wait for) run on this core: on an oversubscribed
      // machine pure spinning delays the hand-off by whole scheduler time slices.
      sched_yield();
      if (std::chrono::steady_clock::now() > deadline) return pred();
    }
  }
}
}  // namespace

int ThreadPool::hardware_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n ? int(n) : 1;
}

ThreadPool::ThreadPool(int n_threads) {
  n_threads_ = n_threads > 0 ? n_threads : hardware_cores();
  workers_.reserve(size_t(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  if (index >= n_chunks_) return;  // this job uses fewer threads
  // Static chunking: chunk i covers [n*i/k, n*(i+1)/k).
  int64_t b = n_ * index / n_chunks_, e = n_ * (index + 1) / n_chunks_;
  if (b >= e) return;
  t_in_pool = true;
  try {
    (*fn_)(b, e);
  } catch (...) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!error_) error_ = std::current_exception();
  }
  t_in_pool = false;
}

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  for (;;) {
    auto ready = [&] {
      return stop_.load(std::memory_order_acquire) || generation_.load(std::memory_order_acquire) != seen;
    };
    if (!spin_until(ready)) {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, ready);
    }
    if (stop_.load(std::memory_order_acquire)) return;
    seen = generation_.load(std::memory_order_acquire);
    run_chunk(index);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard<std::mutex> lk(mu_);  // the caller may be about to sleep on done_
      done_.notify_one();
    }
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t min_chunk) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(min_chunk, 1);
  int64_t chunks = std::min<int64_t>(n_threads_, (n + min_chunk - 1) / min_chunk);
  if (chunks <= 1 || t_in_pool) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lk(call_mu_);
  fn_ = &fn;
  n_ = n;
  n_chunks_ = int(chunks);
  error_ = nullptr;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lk(mu_);  // a worker checking `ready` under mu_ cannot miss this
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_chunk(0);
  auto finished = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  if (!spin_until(finished)) {
    std::unique_lock<std::mutex> lk(mu_);
    done_.wait(lk, finished);
  }
  std::exception_ptr err = error_;
  error_ = nullptr;
  fn_ = nullptr;
  if (err) std::rethrow_exception(err);
}

}  // namespace ember
