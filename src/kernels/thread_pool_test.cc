#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <utility>
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

// Regions of any alignment and length are read only within their bounds
// (ASan checks each heap block's edges); nothing to read gives 0.
TEST(MemBwTest, ReadsRegionsWithinTheirBounds) {
  ThreadPool pool(2);
  std::vector<std::unique_ptr<uint8_t[]>> blocks;
  std::vector<std::pair<const void*, size_t>> regions;
  for (size_t n : {size_t{1}, size_t{255}, size_t{4099}, (size_t{5} << 20) + 77}) {
    blocks.emplace_back(new uint8_t[n]());
    regions.emplace_back(blocks.back().get() + (n > 1 ? 1 : 0), n > 1 ? n - 1 : n);
  }
  EXPECT_GT(kernels::MeasureRegionsReadGBs(pool, regions, 2), 0.0);
  EXPECT_EQ(kernels::MeasureRegionsReadGBs(pool, {}, 2), 0.0);
  EXPECT_EQ(kernels::MeasureRegionsReadGBs(pool, {{blocks[0].get(), 1}}, 2), 0.0);
}

}  // namespace
}  // namespace r1
