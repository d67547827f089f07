#include "kernels/membw.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace r1::kernels {
namespace {

// Sums [p, p+n) as 64-bit integers with four independent accumulators; n is a
// multiple of 32 elements. The sum is returned so the loads cannot be dropped.
uint64_t SumPortable(const uint64_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i < n; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  return a + b + c + d;
}

#if defined(__x86_64__)
// Two cache lines per iteration, four independent vector adds.
__attribute__((target("avx2"))) uint64_t SumAvx2(const uint64_t* p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 16) {
    a = _mm256_add_epi64(a, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
    c = _mm256_add_epi64(c, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
    d = _mm256_add_epi64(d, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
  }
  a = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), a);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

__attribute__((target("avx512f"))) uint64_t SumAvx512(const uint64_t* p, size_t n) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 32) {
    a = _mm512_add_epi64(a, _mm512_load_si512(p + i));
    b = _mm512_add_epi64(b, _mm512_load_si512(p + i + 8));
    c = _mm512_add_epi64(c, _mm512_load_si512(p + i + 16));
    d = _mm512_add_epi64(d, _mm512_load_si512(p + i + 24));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
  uint64_t s = 0;
  for (uint64_t v : lanes) s += v;
  return s;
}
#endif

using SumFn = uint64_t (*)(const uint64_t*, size_t);

SumFn BestSum() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx512f")) return SumAvx512;
  if (__builtin_cpu_supports("avx2")) return SumAvx2;
#endif
  return SumPortable;
}

}  // namespace

double MeasureReadBandwidthGBs(ThreadPool& pool) {
  return MeasureReadBandwidthGBs(pool, size_t{1} << 30, 6);
}

double MeasureReadBandwidthGBs(ThreadPool& pool, size_t bytes, int passes) {
  constexpr size_t kAlign = size_t{2} << 20;  // 2 MiB: lets THP back the buffer
  bytes = std::max(kAlign, bytes / kAlign * kAlign);
  void* mem = mmap(nullptr, bytes + kAlign, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
  if (mem == MAP_FAILED) return 0.0;
  auto* base = reinterpret_cast<uint64_t*>(
      (reinterpret_cast<uintptr_t>(mem) + kAlign - 1) / kAlign * kAlign);
  madvise(base, bytes, MADV_HUGEPAGE);
  const int64_t n_chunks = static_cast<int64_t>(bytes / kAlign);
  const size_t per_chunk = kAlign / sizeof(uint64_t);
  // First touch from the threads that will read, chunk by chunk.
  pool.ParallelFor(n_chunks, [&](int64_t b, int64_t e, int) {
    for (int64_t c = b; c < e; ++c) {
      uint64_t* p = base + c * per_chunk;
      for (size_t i = 0; i < per_chunk; ++i) p[i] = i ^ static_cast<uint64_t>(c);
    }
  });
  const double best = MeasureRegionsReadGBs(pool, {{base, bytes}}, passes);
  munmap(mem, bytes + kAlign);
  return best;
}

double MeasureRegionsReadGBs(ThreadPool& pool, const std::vector<std::pair<const void*, size_t>>& regions,
                             int passes) {
  // Pieces of up to 2 MiB, each 64-byte aligned and a multiple of 256 bytes
  // (what the sum kernels take), shared out over the threads.
  constexpr size_t kPiece = size_t{2} << 20;
  std::vector<std::pair<const uint64_t*, size_t>> pieces;  // (start, uint64 count)
  size_t total = 0;
  for (const auto& [p, n] : regions) {
    const auto b = (reinterpret_cast<uintptr_t>(p) + 63) & ~uintptr_t{63};
    const auto e = reinterpret_cast<uintptr_t>(p) + n;
    for (uintptr_t o = b; o + 256 <= e; o += kPiece) {
      const size_t len = std::min<size_t>(kPiece, (e - o) & ~size_t{255});
      pieces.emplace_back(reinterpret_cast<const uint64_t*>(o), len / sizeof(uint64_t));
      total += len;
    }
  }
  if (total == 0) return 0.0;
  const SumFn sum = BestSum();
  std::vector<uint64_t> sinks(pool.size() * 8, 0);  // one cache line per thread
  double best = 0.0;
  for (int pass = 0; pass < std::max(1, passes); ++pass) {
    auto t0 = std::chrono::steady_clock::now();
    pool.ParallelFor(static_cast<int64_t>(pieces.size()), [&](int64_t b, int64_t e, int tid) {
      for (int64_t i = b; i < e; ++i) sinks[tid * 8] += sum(pieces[i].first, pieces[i].second);
    });
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s > 0) best = std::max(best, static_cast<double>(total) / s / 1e9);
  }
  volatile uint64_t keep = 0;
  for (uint64_t v : sinks) keep = keep + v;
  (void)keep;
  return best;
}

}  // namespace r1::kernels
