// Compute-side throughput of the dispatched dot kernels, with the weight in
// L2 (a 256-row slice, as a prefill tile) so that memory does not hide the
// instruction cost:
//
//   r1_microbench --benchmark_filter=BM_Kern
//
//   BM_KernDot/<type>    dot   over the tile against one activation row
//   BM_KernDot4/<type>   dot4  over the tile against one activation row
//   BM_KernDotX4/<type>  dotx4 over the tile against four activation rows
//   BM_KernPacked/<type>/<n>  the 8-row packed kernel (repack.h) over the
//                        packed tile against n activation rows
//
// bytes_per_second counts weight bytes; "macs" is multiply-adds per second
// (rows · k · tokens), the figure that bounds prefill.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "kernels/quant.h"
#include "kernels/repack.h"
#include "kernels/thread_pool.h"

namespace r1::kernels {
namespace {

constexpr int64_t kK = 1536, kRows = 256;

std::vector<uint8_t> Rows(GgmlType t, int64_t rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> f(k);
  const size_t rb = GgmlRowSize(t, k);
  std::vector<uint8_t> out(rb * rows);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : f) v = dist(rng);
    Quantize(t, f.data(), out.data() + r * rb, k);
  }
  return out;
}

void BM_Kern(benchmark::State& state, GgmlType t, int form) {
  const auto w = Rows(t, kRows, kK, 1);
  const auto x = Rows(VecDotType(t), 4, kK, 2);
  const size_t wrb = GgmlRowSize(t, kK), xrb = GgmlRowSize(VecDotType(t), kK);
  const DotKernels kn = PathKernels(FastPath(t), t);
  std::vector<float> y(4 * kRows);
  for (auto _ : state) {
    for (int64_t r = 0; r < kRows; r += (form == 1 ? 4 : 1)) {
      const uint8_t* wr = w.data() + r * wrb;
      if (form == 0) y[r] = kn.dot(kK, wr, x.data());
      if (form == 1) kn.dot4(kK, wr, wrb, x.data(), &y[r]);
      if (form == 2) kn.dotx4(kK, wr, x.data(), xrb, &y[4 * r]);
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const int64_t tokens = form == 2 ? 4 : 1;
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.counters["macs"] = benchmark::Counter(static_cast<double>(kRows * kK * tokens),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

void BM_KernPacked(benchmark::State& state, GgmlType t, int nt) {
  const PackedDotFn fn = FastPackedDot(t);
  if (fn == nullptr) {
    state.SkipWithError("no packed kernel for this type on this CPU");
    return;
  }
  const auto w = Rows(t, kRows, kK, 1);
  const auto x = Rows(VecDotType(t), nt, kK, 2);
  Matrix m{t, w.data(), kK, kRows, GgmlRowSize(t, kK)};
  ThreadPool pool(1);
  PackedWeights packed;
  if (!packed.Pack(&m, pool)) {
    state.SkipWithError("packing failed");
    return;
  }
  std::vector<float> y(static_cast<size_t>(nt) * kRows);
  for (auto _ : state) {
    fn(kK, m.packed, kRows / kPackRows, x.data(), GgmlRowSize(VecDotType(t), kK), nt, y.data(), kRows);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
  state.counters["macs"] = benchmark::Counter(static_cast<double>(kRows * kK * nt),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

const bool kRegistered = [] {
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K})
    for (int nt : {1, 2, 8, 16}) {
      const std::string name = "BM_KernPacked/" + GgmlTypeName(t) + "/" + std::to_string(nt);
      benchmark::RegisterBenchmark(name.c_str(), BM_KernPacked, t, nt);
    }
  for (GgmlType t : {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                     GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K}) {
    const std::string name = GgmlTypeName(t);
    benchmark::RegisterBenchmark(("BM_KernDot/" + name).c_str(), BM_Kern, t, 0);
    benchmark::RegisterBenchmark(("BM_KernDot4/" + name).c_str(), BM_Kern, t, 1);
    benchmark::RegisterBenchmark(("BM_KernDotX4/" + name).c_str(), BM_Kern, t, 2);
  }
  return true;
}();

}  // namespace
}  // namespace r1::kernels
