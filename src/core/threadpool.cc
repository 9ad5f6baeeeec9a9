#include "core/threadpool.h"

#include <sched.h>

#include <algorithm>

namespace ember {

namespace {
// True on pool worker threads: nested parallel_for runs inline instead of deadlocking or
// oversubscribing.
thread_local bool t_in_worker = false;
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
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::run_chunk(int index) {
  // Static chunking: chunk i covers [n*i/k, n*(i+1)/k).
  int64_t b = n_ * index / n_chunks_, e = n_ * (index + 1) / n_chunks_;
  if (b >= e) return;
  try {
    (*fn_)(b, e);
  } catch (...) {
    std::lock_guard<std::mutex> lk(mu_);
    if (!error_) error_ = std::current_exception();
  }
}

void ThreadPool::worker_loop(int index) {
  t_in_worker = true;
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      wake_.wait(lk, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (index >= n_chunks_) continue;  // this job uses fewer threads
    }
    run_chunk(index);
    std::lock_guard<std::mutex> lk(mu_);
    if (--pending_ == 0) done_.notify_one();
  }
}

void ThreadPool::parallel_for(int64_t n, const RangeFn& fn, int64_t min_chunk) {
  if (n <= 0) return;
  min_chunk = std::max<int64_t>(min_chunk, 1);
  int64_t chunks = std::min<int64_t>(n_threads_, (n + min_chunk - 1) / min_chunk);
  if (chunks <= 1 || t_in_worker) {
    fn(0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lk(call_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    fn_ = &fn;
    n_ = n;
    n_chunks_ = int(chunks);
    pending_ = int(chunks) - 1;
    error_ = nullptr;
    ++generation_;
  }
  wake_.notify_all();
  // The caller takes chunk 0; while doing so it counts as a worker (no nested fan-out).
  t_in_worker = true;
  run_chunk(0);
  t_in_worker = false;
  std::exception_ptr err;
  {
    std::unique_lock<std::mutex> lk(mu_);
    done_.wait(lk, [&] { return pending_ == 0; });
    err = error_;
    error_ = nullptr;
    fn_ = nullptr;
  }
  if (err) std::rethrow_exception(err);
}

}  // namespace ember
