#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "kernels/membw.h"

namespace r1 {
namespace {

TEST(ThreadPoolTest, CoversRangeExactlyOnceWithGrain) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 7, 16, 100, 1001}) {
      for (int64_t grain : {1, 4, 16}) {
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(n, [&](int64_t b, int64_t e, int tid) {
          EXPECT_GE(tid, 0);
          EXPECT_LT(tid, threads);
          if (e < n) {
            EXPECT_EQ(0, (e - b) % grain);
          }
          for (int64_t i = b; i < e; ++i) hits[i]++;
        }, grain);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(1, hits[i].load()) << n << " " << i;
      }
    }
  }
}

TEST(ThreadPoolTest, ManyBackToBackCalls) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  for (int it = 0; it < 20000; ++it)
    pool.ParallelFor(4, [&](int64_t b, int64_t e, int) { total += e - b; });
  EXPECT_EQ(80000, total.load());
}

TEST(ThreadPoolTest, EachChunkRunsOnceWithItsIndex) {
  // More threads than cores: chunks of late workers get run by others.
  ThreadPool pool(4);
  for (int it = 0; it < 5000; ++it) {
    std::atomic<int> seen[4] = {};
    std::atomic<int64_t> covered{0};
    pool.ParallelFor(103, [&](int64_t b, int64_t e, int idx) {
      ASSERT_GE(idx, 0);
      ASSERT_LT(idx, 4);
      seen[idx]++;
      covered += e - b;
    });
    ASSERT_EQ(103, covered.load());
    for (auto& s : seen) ASSERT_EQ(1, s.load());
  }
}

TEST(ThreadPoolTest, WakesSleepingWorkers) {
  ThreadPool pool(2);
  for (int it = 0; it < 3; ++it) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // workers go to sleep
    std::atomic<int> seen{0};
    pool.ParallelFor(2, [&](int64_t, int64_t, int tid) { seen |= 1 << tid; });
    EXPECT_EQ(3, seen.load());
  }
}

TEST(ThreadPoolTest, NestedCallRunsInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  pool.ParallelFor(2, [&](int64_t, int64_t, int) {
    pool.ParallelFor(10, [&](int64_t b, int64_t e, int) { total += e - b; });
  });
  EXPECT_EQ(20, total.load());
}

TEST(MemBwTest, MeasuresSomething) {
  ThreadPool pool(2);
  double gbs = kernels::MeasureReadBandwidthGBs(pool, size_t{64} << 20, 2);
  EXPECT_GT(gbs, 0.5);
  EXPECT_LT(gbs, 10000.0);
}

}  // namespace
}  // namespace r1
