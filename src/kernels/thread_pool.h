// A fixed-size thread pool for data-parallel kernels.
//
// ParallelFor splits [0, n) into contiguous chunks, one per thread, and
// returns when all are done. The calling thread takes part. Chunking only
// decides *who* computes an output element, never *how*, so results are
// independent of the thread count.
//
// [0, n) is cut into size() fixed chunks. Threads claim chunks from a shared
// counter, so a chunk whose worker is late (descheduled, still waking up) is
// run by whoever is free, the caller included; the partition itself never
// changes. Workers spin briefly after each job before sleeping, so the
// back-to-back ParallelFor calls of a decode step do not pay a futex wake-up
// each. A ParallelFor issued from inside a job runs inline.
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

  // fn(begin, end, chunk_index) over a partition of [0, n) into size()
  // chunks, multiples of `grain` (except the last). chunk_index is in
  // [0, size()) and no two running calls share one, so it may select
  // per-thread scratch.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                   int64_t grain = 1);

  static int PhysicalCores();

 private:
  void Worker();
  // Claims and runs chunks of job `gen` until none is left.
  void RunChunks(uint32_t gen);

  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;                     // sleeping workers wait on start_cv_ under it
  std::condition_variable start_cv_;
  std::mutex call_mu_;                // one ParallelFor at a time from outside threads
  uint32_t last_gen_ = 0;             // guarded by call_mu_
  // Published by the release store of claim_; stable while any chunk of the
  // job is claimed and unfinished.
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t job_n_ = 0;
  int64_t job_grain_ = 1;
  std::atomic<uint64_t> claim_{0};    // (job generation << 32) | next chunk
  std::atomic<int> done_{0};          // chunks of the current job finished
  std::atomic<uint32_t> generation_{0};  // wakes workers
  std::atomic<int> sleepers_{0};      // workers blocked (or about to) on start_cv_
  std::atomic<bool> stop_{false};
};

}  // namespace r1
