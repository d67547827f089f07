// MatMul throughput: decode GEMV (1 token) and prefill GEMM (8..512 tokens).
//
//   r1_microbench --benchmark_filter=MatMul
//   R1_BENCH_THREADS=1 r1_microbench ...   (thread-scaling checks)
//
// bytes_per_second is weight bytes streamed per call (the decode roofline:
// compare with MeasureReadBandwidthGBs); "flops" is 2·rows·k·n_tokens per
// second. Activations are quantized once outside the timed loop, as the Q/K/V
// projections share them; BM_QuantizeActs times that step on its own.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/blocks.h"
#include "kernels/quant.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"

namespace r1::kernels {
namespace {

ThreadPool& Pool() {
  // One thread per physical core, or R1_BENCH_THREADS.
  static ThreadPool pool([] {
    const char* v = std::getenv("R1_BENCH_THREADS");
    return v != nullptr ? std::atoi(v) : 0;
  }());
  return pool;
}

// A rows × k weight of type t: 64 distinct quantized random rows, repeated.
// (Quantizing 14M values per type would dominate start-up; the bytes streamed
// are what matter here.)
const std::vector<uint8_t>& WeightBytes(GgmlType t, int64_t rows, int64_t k) {
  static std::map<std::tuple<int, int64_t, int64_t>, std::unique_ptr<std::vector<uint8_t>>> cache;
  auto& slot = cache[{static_cast<int>(t), rows, k}];
  if (!slot) {
    const size_t rb = GgmlRowSize(t, k);
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 0.05f);
    std::vector<float> f(k);
    std::vector<uint8_t> seed(64 * rb);
    for (int r = 0; r < 64; ++r) {
      if (t == GgmlType::F8_E4M3_B64) {  // made from checkpoints, not floats: random codes and scales
        auto* b = reinterpret_cast<BlockF8*>(seed.data() + r * rb);
        for (int64_t i = 0; i < k / kQKF8; ++i) {
          b[i].d = 1e-3f * static_cast<float>(1 + rng() % 100);
          for (auto& q : b[i].qs) q = static_cast<uint8_t>(rng() & 0xf7);  // no NaN codes
        }
        continue;
      }
      for (auto& v : f) v = d(rng);
      Quantize(t, f.data(), seed.data() + r * rb, k);
    }
    slot = std::make_unique<std::vector<uint8_t>>(rb * rows);
    for (int64_t r = 0; r < rows; ++r)
      std::copy(seed.begin() + (r % 64) * rb, seed.begin() + (r % 64 + 1) * rb,
                slot->begin() + r * rb);
  }
  return *slot;
}

std::vector<float> Acts(int64_t n) {
  std::mt19937 rng(2);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// Args: type, k, rows, n_tokens, packed (1: the load-time 8-row layout of repack.h).
void BM_MatMul(benchmark::State& state) {
  const auto t = static_cast<GgmlType>(state.range(0));
  const int64_t k = state.range(1), rows = state.range(2), n_tok = state.range(3);
  const std::vector<uint8_t>& bytes = WeightBytes(t, rows, k);
  Matrix w{t, bytes.data(), k, rows, GgmlRowSize(t, k)};
  PackedWeights packed;
  if (state.range(4) != 0 && !packed.Pack(&w, Pool())) {
    state.SkipWithError("no packed layout for this type on this CPU");
    return;
  }
  std::vector<float> x = Acts(n_tok * k), y(n_tok * rows);
  QuantizedActs xq;
  QuantizeActs(VecDotType(t), x.data(), k, n_tok, &xq, Pool());
  for (auto _ : state) {
    MatMul(w, xq, y.data(), Pool());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.counters["flops"] = benchmark::Counter(2.0 * rows * k * n_tok,
                                               benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(GgmlTypeName(t) + " " + std::to_string(rows) + "x" + std::to_string(k) +
                 (w.packed != nullptr ? " packed" : ""));
}

void MatMulArgs(benchmark::internal::Benchmark* b) {
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::F16,
                     GgmlType::BF16})
    for (auto [k, rows] : {std::pair<int64_t, int64_t>{1536, 8960}, {8960, 1536}, {1536, 1536}})
      for (int64_t n : {1, 8, 64, 512})
        for (int64_t packed : {0, 1})
          if (packed == 0 || (t != GgmlType::F16 && t != GgmlType::BF16))
            b->Args({static_cast<int64_t>(t), k, rows, n, packed});
  // The output head of the 1.5B shape (~130-190 MB): decode GEMV from DRAM.
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q8_0})
    for (int64_t packed : {0, 1}) b->Args({static_cast<int64_t>(t), 1536, 151936, 1, packed});
  // DeepSeek-V3's routed-expert shape, FP8 as DeepSeek publishes it against Q8_0.
  for (GgmlType t : {GgmlType::F8_E4M3_B64, GgmlType::Q8_0})
    for (int64_t n : {1, 8})
      for (auto [k, rows] : {std::pair<int64_t, int64_t>{7168, 2048}, {2048, 7168}})
        b->Args({static_cast<int64_t>(t), k, rows, n, 0});
  b->ArgNames({"type", "k", "rows", "tokens", "packed"});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_MatMul)->Apply(MatMulArgs);

// Args: activation type, k, n_tokens.
void BM_QuantizeActs(benchmark::State& state) {
  const auto t = static_cast<GgmlType>(state.range(0));
  const int64_t k = state.range(1), n_tok = state.range(2);
  std::vector<float> x = Acts(n_tok * k);
  QuantizedActs xq;
  for (auto _ : state) {
    QuantizeActs(t, x.data(), k, n_tok, &xq, Pool());
    benchmark::DoNotOptimize(xq.data.data());
  }
  state.SetBytesProcessed(state.iterations() * n_tok * k * 4);
  state.SetLabel(GgmlTypeName(t));
}
BENCHMARK(BM_QuantizeActs)
    ->ArgsProduct({{static_cast<int64_t>(GgmlType::Q8_K), static_cast<int64_t>(GgmlType::Q8_0),
                    static_cast<int64_t>(GgmlType::BF16)},
                   {1536, 8960},
                   {1, 512}})
    ->ArgNames({"type", "k", "tokens"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace r1::kernels
