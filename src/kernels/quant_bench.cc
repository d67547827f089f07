// Dot-kernel throughput, reference vs the dispatched fast path.
//
//   r1_microbench --benchmark_filter=VecDot
//
// bytes_per_second counts weight bytes only (decode is bound by streaming the
// weights). Benchmarks:
//   BM_VecDot/<type>/<path>        one 4096-element row, over and over (in cache)
//   BM_VecDotMatrix/<type>/<path>  a 8960 × 1536 weight (rows × k, e.g. an FFN
//                                  gate of a 1.5B model) against one activation
//                                  row, single thread; copies of the matrix are
//                                  cycled through so that >= 128 MiB is streamed
//                                  from memory rather than from cache
//   BM_VecDot4Matrix/...           the same with the 4-row kernel
#include <benchmark/benchmark.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/quant.h"

namespace r1::kernels {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                               GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                               GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                               GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS,
                               GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S,
                               GgmlType::IQ3_XXS, GgmlType::IQ3_S, GgmlType::IQ1_S,
                               GgmlType::IQ1_M};

// Rows of a type r1 cannot quantize (the IQ1/IQ2/IQ3 codebooks): random bytes,
// each block's fp16 d set to a sane value (first two bytes; IQ1_M keeps it in
// the top nibbles of bytes 49, 51, 53, 55).
std::vector<uint8_t> RandomCodebookRows(GgmlType t, int64_t rows, int64_t k, std::mt19937& rng) {
  std::vector<uint8_t> out(GgmlRowSize(t, k) * rows);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  const uint16_t d = F32ToF16(0.01f);
  for (size_t i = 0; i < out.size(); i += GgmlTypeInfo(t).type_size) {
    uint8_t* b = out.data() + i;
    if (t == GgmlType::IQ1_M) {
      for (int j = 0; j < 4; ++j) b[49 + 2 * j] = static_cast<uint8_t>((b[49 + 2 * j] & 15) | ((d >> (4 * j)) & 15) << 4);
    } else {
      std::memcpy(b, &d, 2);
    }
  }
  return out;
}

std::vector<uint8_t> QuantizedRows(GgmlType t, int64_t rows, int64_t k, uint32_t seed) {
  std::mt19937 rng(seed);
  if (!CanQuantize(t)) return RandomCodebookRows(t, rows, k, rng);
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

DotKernels Kernels(GgmlType t, bool fast) {
  return PathKernels(fast ? FastPath(t) : KernelPath::kRef, t);
}

void BM_VecDot(benchmark::State& state, GgmlType t, bool fast) {
  constexpr int64_t k = 4096;
  const auto w = QuantizedRows(t, 1, k, 1);
  const auto x = QuantizedRows(VecDotType(t), 1, k, 2);
  const VecDotFn dot = Kernels(t, fast).dot;
  for (auto _ : state) benchmark::DoNotOptimize(dot(k, w.data(), x.data()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.size()));
}

// 64 distinct rows repeated to fill the matrix (quantizing all of it would
// dominate start-up; only the bytes streamed matter), then copied until the
// buffer exceeds any cache.
struct Matrix {
  int64_t rows, k;
  size_t row_bytes, bytes;  // bytes of one matrix
  std::vector<uint8_t> data;  // `copies` matrices back to back
  int copies;
};

Matrix MakeMatrix(GgmlType t, int64_t rows, int64_t k) {
  Matrix m{rows, k, GgmlRowSize(t, k), GgmlRowSize(t, k) * rows, {}, 0};
  const auto seed = QuantizedRows(t, 64, k, 3);
  m.copies = static_cast<int>((size_t{128} << 20) / m.bytes + 1);
  m.data.resize(m.bytes * m.copies);
  for (int64_t r = 0; r < rows * m.copies; ++r)
    std::memcpy(m.data.data() + r * m.row_bytes, seed.data() + (r % 64) * m.row_bytes, m.row_bytes);
  return m;
}

void BM_VecDotMatrix(benchmark::State& state, GgmlType t, bool fast, bool four) {
  const Matrix m = MakeMatrix(t, 8960, 1536);
  const auto x = QuantizedRows(VecDotType(t), 1, m.k, 2);
  const DotKernels kern = Kernels(t, fast);
  std::vector<float> y(m.rows);
  int copy = 0;
  for (auto _ : state) {
    const uint8_t* w = m.data.data() + m.bytes * copy;
    copy = (copy + 1) % m.copies;
    if (four) {
      for (int64_t r = 0; r < m.rows; r += 4) kern.dot4(m.k, w + r * m.row_bytes, m.row_bytes, x.data(), &y[r]);
    } else {
      for (int64_t r = 0; r < m.rows; ++r) y[r] = kern.dot(m.k, w + r * m.row_bytes, x.data());
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * m.bytes));
}

const bool kRegistered = [] {
  for (GgmlType t : kTypes) {
    const std::string name = GgmlTypeName(t);
    for (bool fast : {false, true}) {
      const std::string path = fast ? KernelPathName(FastPath(t)) : "ref";
      benchmark::RegisterBenchmark(("BM_VecDot/" + name + "/" + path).c_str(), BM_VecDot, t, fast);
      benchmark::RegisterBenchmark(("BM_VecDotMatrix/" + name + "/" + path).c_str(), BM_VecDotMatrix, t, fast,
                                   false)
          ->Unit(benchmark::kMillisecond);
      if (fast)
        benchmark::RegisterBenchmark(("BM_VecDot4Matrix/" + name + "/" + path).c_str(), BM_VecDotMatrix, t, fast,
                                     true)
            ->Unit(benchmark::kMillisecond);
    }
  }
  return true;
}();

}  // namespace
}  // namespace r1::kernels
