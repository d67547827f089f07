// Attention throughput over a paged F16 or Q8_0 KV cache.
//
//   r1_microbench --benchmark_filter=Attention
//
// Decode: one query at the end of a context of 256 or 8192 tokens; type 0 is
// an F16 cache, 1 a Q8_0 cache.
// bytes_per_second counts the K and V bytes read once (KV heads × rows);
// "flops" counts 2·(head_dim_k + head_dim_v) per head and key.
#include <benchmark/benchmark.h>

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "kernels/attention.h"
#include "kernels/thread_pool.h"

namespace r1::kernels {
namespace {

ThreadPool& Pool() {
  static ThreadPool pool;
  return pool;
}

struct Shape {
  int n_head, n_head_kv, dk, dv;
  bool mla;  // V aliases the first dv of the K row
};

// shape 0: R1-Distill-Qwen-1.5B (12 heads, 2 KV heads, d 128).
// shape 1: absorbed MLA like DeepSeek-V2-Lite (16 heads, one 576-wide latent).
const Shape kShapes[] = {{12, 2, 128, 128, false}, {16, 1, 576, 512, true}};

// Anonymous mapping with transparent huge pages, as the real KV cache uses:
// with 4 KiB pages the hardware prefetchers stop at every page boundary.
struct Buffer {
  uint8_t* p = nullptr;
  size_t n = 0;
  Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Buffer(Buffer&& o) noexcept : p(o.p), n(o.n) { o.p = nullptr; o.n = 0; }
  ~Buffer() { if (p != nullptr) ::munmap(p, n); }
  void resize(size_t bytes) {
    n = bytes;
    void* m = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) std::abort();
    ::madvise(m, n, MADV_HUGEPAGE);
    p = static_cast<uint8_t*>(m);
  }
  size_t size() const { return n; }
  uint8_t* data() { return p; }
  uint8_t& operator[](size_t i) { return p[i]; }
};

struct Cache {
  Buffer k, v;
  std::vector<const void*> kp, vp;
  KvView view;
};

Cache MakeCache(const Shape& s, KvType type, int64_t n_kv, int64_t block) {
  Cache c;
  const int64_t n_blocks = (n_kv + block - 1) / block;
  const int64_t ks = static_cast<int64_t>(s.n_head_kv) * s.dk;
  const int64_t vs = s.mla ? ks : static_cast<int64_t>(s.n_head_kv) * s.dv;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> mant(0, 1023);
  auto half = [&] { return static_cast<uint16_t>((mant(rng) & 1 ? 0x8000 : 0) | (13 << 10) | mant(rng)); };
  auto fill = [&](Buffer& v) {
    const size_t step = type == KvType::kF16 ? 2 : static_cast<size_t>(kKvQ8Bytes);
    for (size_t i = 0; i < v.size(); i += step) {
      const uint16_t h = half();
      std::memcpy(&v[i], &h, 2);
      for (size_t j = 2; j < step; ++j) v[i + j] = static_cast<uint8_t>(mant(rng));
    }
  };
  c.k.resize(KvBytes(type, n_blocks * block * ks));
  fill(c.k);
  if (!s.mla) {
    c.v.resize(KvBytes(type, n_blocks * block * vs));
    fill(c.v);
  }
  for (int64_t b = 0; b < n_blocks; ++b) {
    c.kp.push_back(c.k.data() + KvBytes(type, b * block * ks));
    c.vp.push_back(s.mla ? c.kp.back() : c.v.data() + KvBytes(type, b * block * vs));
  }
  // Head-major blocks, as the paged cache stores them: one KV head's rows
  // are contiguous within a block.
  c.view = KvView{type, c.kp.data(), c.vp.data(), block, n_kv, ks, vs};
  if (!s.mla && s.n_head_kv > 1) {
    c.view.k_row_stride = s.dk;
    c.view.v_row_stride = s.dv;
    c.view.k_head_stride = block * s.dk;
    c.view.v_head_stride = block * s.dv;
  }
  return c;
}

// Args: shape, context, n_queries (the last n_queries positions), KV type,
// layers: one cache per layer, visited in turn, so that with 28 layers at 8k
// the K/V come from DRAM as in a real decode (one layer's 8 MiB fits in L3).
void BM_Attention(benchmark::State& state) {
  const Shape& s = kShapes[state.range(0)];
  const int64_t n_kv = state.range(1), n_q = state.range(2);
  const KvType type = state.range(3) ? KvType::kQ8_0 : KvType::kF16;
  std::vector<Cache> caches;
  for (int64_t l = 0; l < state.range(4); ++l) caches.push_back(MakeCache(s, type, n_kv, 64));
  size_t layer = 0;
  AttentionParams p{s.n_head, s.n_head_kv, s.dk, s.dv, 1.0f / 24.0f};
  std::mt19937 rng(4);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> q(n_q * s.n_head * s.dk), out(n_q * s.n_head * s.dv);
  for (auto& x : q) x = d(rng);
  std::vector<int32_t> pos(n_q);
  double keys = 0;
  for (int64_t i = 0; i < n_q; ++i) {
    pos[i] = static_cast<int32_t>(n_kv - n_q + i);
    keys += pos[i] + 1;
  }
  for (auto _ : state) {
    Attention(p, q.data(), pos.data(), n_q, caches[layer].view, out.data(), Pool());
    layer = (layer + 1) % caches.size();
    benchmark::DoNotOptimize(out.data());
  }
  const int64_t kv_bytes = KvBytes(type, n_kv * (s.n_head_kv * s.dk + (s.mla ? 0 : s.n_head_kv * s.dv)));
  state.SetBytesProcessed(state.iterations() * kv_bytes);
  state.counters["flops"] = benchmark::Counter(2.0 * keys * s.n_head * (s.dk + s.dv),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Attention)
    ->ArgNames({"shape", "ctx", "queries", "q8", "layers"})
    ->Args({0, 256, 1, 0, 1})
    ->Args({0, 8192, 1, 0, 1})
    ->Args({0, 8192, 1, 0, 28})  // Qwen-1.5B decode at 8k: 28 layers, 235 MB of KV
    ->Args({0, 8192, 1, 1, 28})
    ->Args({1, 256, 1, 0, 1})
    ->Args({1, 8192, 1, 0, 1})
    ->Args({1, 8192, 1, 1, 1})
    ->Args({0, 512, 512, 0, 1})  // prefill of a 512-token prompt
    ->Args({0, 512, 512, 1, 1})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace r1::kernels
