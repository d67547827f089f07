// A fixed-size thread pool for data-parallel kernels.
//
// ParallelFor splits [0, n) into contiguous chunks, one per thread, and
// returns when all are done. The calling thread takes part. Chunking only
// decides *who* computes an output element, never *how*, so results are
// independent of the thread count.
//
// Workers spin briefly after each job before sleeping, so the back-to-back
// ParallelFor calls of a decode step do not pay a futex wake-up each. A
// ParallelFor issued from inside a job runs inline on the calling thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace r1 {

class ThreadPool {
 public:
  // n_threads <= 0 means the number of physical cores.
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // fn(begin, end, thread_index) over a partition of [0, n). Chunks are
  // multiples of `grain` (except the last).
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                   int64_t grain = 1);

  static int PhysicalCores();

 private:
  void Worker(int index);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;                     // sleeping workers wait on start_cv_ under it
  std::condition_variable start_cv_;
  std::mutex call_mu_;                // one ParallelFor at a time from outside threads
  // Published by a release increment of generation_.
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};       // workers still running the current job
  std::atomic<int> sleepers_{0};      // workers blocked (or about to) on start_cv_
  std::atomic<bool> stop_{false};
};

}  // namespace r1
