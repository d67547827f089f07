#include "kernels/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <utility>

namespace r1 {

int ThreadPool::PhysicalCores() {
  // Count distinct (physical id, core id) pairs; fall back to the logical count.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int phys = 0;
  while (std::getline(in, line)) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    int value = std::atoi(line.c_str() + colon + 1);
    if (key == "physical id") phys = value;
    if (key == "core id") cores.insert({phys, value});
  }
  int logical = static_cast<int>(std::thread::hardware_concurrency());
  int n = cores.empty() ? logical : static_cast<int>(cores.size());
  return std::max(1, std::min(n, std::max(1, logical)));
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads > 0 ? n_threads : PhysicalCores()) {
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this] { Worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
    generation_.store(++last_gen_);
  }
  start_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

namespace {

// The pool whose job this thread is running (nested calls run inline).
thread_local const ThreadPool* tls_running = nullptr;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// How long an idle worker spins before sleeping. Decode issues a ParallelFor
// every few tens of microseconds, so this keeps workers hot through a step.
constexpr auto kSpinFor = std::chrono::microseconds(500);

// The chunk of [0, n) that thread `index` of `count` owns, rounded to `grain`.
std::pair<int64_t, int64_t> Chunk(int64_t n, int64_t grain, int index, int count) {
  int64_t units = (n + grain - 1) / grain;
  int64_t per = units / count, extra = units % count;
  int64_t begin = index * per + std::min<int64_t>(index, extra);
  int64_t end = begin + per + (index < extra ? 1 : 0);
  return {std::min(n, begin * grain), std::min(n, end * grain)};
}

}  // namespace

void ThreadPool::RunChunks(uint32_t gen) {
  const ThreadPool* outer = tls_running;
  tls_running = this;
  for (;;) {
    uint64_t v = claim_.load(std::memory_order_acquire);
    uint32_t idx;
    for (;;) {
      if (static_cast<uint32_t>(v >> 32) != gen) {
        tls_running = outer;
        return;
      }
      idx = static_cast<uint32_t>(v);
      if (idx >= static_cast<uint32_t>(n_threads_)) {
        tls_running = outer;
        return;
      }
      if (claim_.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        break;
    }
    // The job cannot change while this claimed chunk is unfinished.
    auto [b, e] = Chunk(job_n_, job_grain_, static_cast<int>(idx), n_threads_);
    if (b < e) (*job_)(b, e, static_cast<int>(idx));
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::Worker() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    if (gen == seen) {
      auto deadline = std::chrono::steady_clock::now() + kSpinFor;
      for (int spins = 1;; ++spins) {
        CpuRelax();
        gen = generation_.load(std::memory_order_acquire);
        if (gen != seen) break;
        if ((spins & 255) == 0 && std::chrono::steady_clock::now() > deadline) {
          std::unique_lock<std::mutex> lock(mu_);
          sleepers_.fetch_add(1);  // seq_cst: pairs with ParallelFor's check
          start_cv_.wait(lock, [&] { return generation_.load() != seen; });
          sleepers_.fetch_sub(1);
          gen = generation_.load(std::memory_order_acquire);
          break;
        }
      }
    }
    if (stop_.load()) return;
    seen = gen;
    RunChunks(gen);
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                             int64_t grain) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (n_threads_ == 1 || n <= grain || tls_running == this) {
    fn(0, n, 0);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mu_);
  const uint32_t gen = ++last_gen_;
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  done_.store(0, std::memory_order_relaxed);
  claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
  generation_.store(gen);  // seq_cst: wakes workers
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    start_cv_.notify_all();
  }
  RunChunks(gen);
  for (int spins = 1; done_.load(std::memory_order_acquire) != n_threads_; ++spins) {
    if (spins < 4096) {
      CpuRelax();
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace r1
