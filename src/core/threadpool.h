// A fixed pool of worker threads for data-parallel loops (matmul rows, attention heads).
//
// N threads in total *including the caller*: parallel_for splits [0, n) into at most N
// contiguous chunks (static chunking), runs chunk 0 on the calling thread and the rest on the
// N-1 workers, and returns when all are done. There is no work stealing and no nesting: a
// parallel_for issued from inside a chunk runs serially, so the pool never oversubscribes
// the cores. One pool per engine; parallel_for calls from different threads are serialized.
//
// Decode issues hundreds of small parallel_for calls per token, so hand-off latency matters:
// workers and the waiting caller spin briefly (kSpinMicros) before sleeping on a condition
// variable, which keeps a wake-up in the microsecond range without burning idle cores.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace ember {

class ThreadPool {
 public:
  using RangeFn = std::function<void(int64_t begin, int64_t end)>;
  static constexpr int kSpinMicros = 50;

  // n_threads <= 0: one thread per hardware core (hardware_cores()).
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(begin, end) on disjoint chunks covering [0, n). Chunks hold at least `min_chunk`
  // items (fewer threads are used for small n). Exceptions thrown by fn are rethrown here
  // (the first one) after all chunks have finished.
  void parallel_for(int64_t n, const RangeFn& fn, int64_t min_chunk = 1);

  // Number of usable cores (sched affinity, else std::thread::hardware_concurrency, >= 1).
  static int hardware_cores();

 private:
  void worker_loop(int index);
  void run_chunk(int index);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  std::mutex call_mu_;  // serializes parallel_for callers

  std::mutex mu_;  // guards sleeping (wake_/done_) and error_
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};  // bumped once per parallel_for; workers wait for a new value
  std::atomic<int> pending_{0};          // workers not yet finished with this generation
  std::atomic<bool> stop_{false};

  // The current job, written by the caller before the generation bump (release) and read by
  // workers after observing it (acquire). Every worker checks in each generation, even when it
  // has no chunk, so the caller never rewrites these while a worker may still read them.
  const RangeFn* fn_ = nullptr;
  int64_t n_ = 0;
  int n_chunks_ = 0;
  std::exception_ptr error_;
};

}  // namespace ember
