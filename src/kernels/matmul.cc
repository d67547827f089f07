// Matrix × activations on top of the quant.h dot kernels.
//
// Every output y[t, r] is one call of the path's dot, dot4 (4 weight rows × 1
// token) or dotx4 (1 weight row × 4 tokens) kernel, which quant.h guarantees
// are bit-identical to each other on the same two rows. Which one runs, and
// on which thread, depends on n_tokens and the split, but the value never
// does: matmul is batch- and thread-invariant.
//
// Decode (n_tokens < 4) is a memory-bound GEMV: each thread streams one
// contiguous slice of rows with dot4, so the activation row is loaded once for
// four weight rows and the hardware prefetchers see a few long streams.
//
// Prefill tiles the weight by rows (a tile of a few hundred KB stays in L2)
// and streams all tokens over it four at a time with dotx4, which decodes each
// weight block once for four tokens: the weight is read from memory once per
// call instead of once per token.
#include "kernels/matmul.h"

#include <algorithm>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant.h"
#include "kernels/repack.h"

namespace r1::kernels {
namespace {

constexpr int64_t kDecodeMaxTokens = 3;    // below 4 tokens dotx4 cannot be used
constexpr size_t kTileBytes = 384 << 10;   // weight tile kept in L2 during prefill
constexpr size_t kMinSliceBytes = 48 << 10; // less weight per thread is not worth a wake-up
constexpr int64_t kSmallBatch = 16;        // packed GEMM: up to this many tokens per weight pass

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "r1::kernels::MatMul: %s\n", what);
  std::abort();
}

struct Kernels {
  VecDotFn dot;
  VecDot4Fn dot4;
  VecDotX4Fn dotx4;
};

using QuantizeFn = void (*)(const float* x, void* dst, int64_t n);

// The activation quantizer for `type`: AVX2 for the hot formats (bit-identical
// to the scalar one), else quant.h's Quantize.
QuantizeFn ActQuantizer(GgmlType type) {
  static const bool avx2 = GetCpuFeatures().avx2 && !ForceScalar();
  if (avx2) {
    switch (type) {
      case GgmlType::Q8_0: return internal::QuantizeQ8_0Avx2;
      case GgmlType::Q8_K: return internal::QuantizeQ8KAvx2;
      case GgmlType::BF16: return internal::QuantizeBF16Avx2;
      default: break;
    }
  }
  return nullptr;
}

Kernels KernelsFor(GgmlType t) {
  return Kernels{FastVecDot(t), FastVecDot4(t), FastVecDotX4(t)};
}

// GEMV software prefetch. dot4 walks four adjacent rows in parallel; when the
// rows are short, those four interleaved streams sit inside one or two pages
// and the hardware prefetcher does not run ahead of them (measured: Q4_K
// 1536-wide rows ran at under half speed). Longer rows are left to it.
constexpr size_t kPrefetchMaxRowBytes = 2048;
constexpr size_t kPrefetchMinDistance = 8192;

// Prefetches [p, p + n) into L2.
inline void PrefetchBytes(const uint8_t* p, size_t n) {
  for (size_t o = 0; o < n; o += 64) __builtin_prefetch(p + o, 0, 2);
}

// y[t, r0..r1) for tokens [t0, t1) with dot4 over groups of four rows.
void RowsByDot4(const Kernels& kn, const Matrix& w, const QuantizedActs& xq, int64_t r0,
                int64_t r1, int64_t t0, int64_t t1, float* y) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  const uint8_t* end = base + static_cast<size_t>(r1) * w.row_bytes;
  const size_t group_bytes = 4 * w.row_bytes;
  const size_t pf_dist = w.row_bytes <= kPrefetchMaxRowBytes
                             ? std::max(kPrefetchMinDistance, 2 * group_bytes)
                             : 0;
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const uint8_t* wr = base + static_cast<size_t>(r) * w.row_bytes;
    if (pf_dist != 0 && t0 == 0 && end - wr > static_cast<ptrdiff_t>(pf_dist))
      PrefetchBytes(wr + pf_dist, std::min<size_t>(group_bytes, end - wr - pf_dist));
    for (int64_t t = t0; t < t1; ++t) {
      float out4[4];
      kn.dot4(w.k, wr, w.row_bytes, xq.row(t), out4);
      std::memcpy(y + t * w.rows + r, out4, sizeof(out4));
    }
  }
  for (; r < r1; ++r)
    for (int64_t t = t0; t < t1; ++t)
      y[t * w.rows + r] = kn.dot(w.k, base + static_cast<size_t>(r) * w.row_bytes, xq.row(t));
}

void Gemv(const Kernels& kn, const Matrix& w, const QuantizedActs& xq, float* y,
          ThreadPool& pool) {
  // One contiguous, 4-row-aligned slice per thread (each streams its own part
  // of the weight); small matrices use fewer threads than a wake-up costs.
  const size_t bytes = w.row_bytes * static_cast<size_t>(w.rows);
  const int64_t parts = std::clamp<int64_t>(static_cast<int64_t>(bytes / kMinSliceBytes), 1,
                                            std::min<int64_t>(pool.size(), (w.rows + 3) / 4));
  const int64_t groups = (w.rows + 3) / 4;
  pool.ParallelFor(parts, [&](int64_t pb, int64_t pe, int) {
    for (int64_t part = pb; part < pe; ++part) {
      const int64_t b = std::min(w.rows, groups * part / parts * 4);
      const int64_t e = std::min(w.rows, groups * (part + 1) / parts * 4);
      RowsByDot4(kn, w, xq, b, e, 0, xq.n_tokens, y);
    }
  });
}

void Gemm(const Kernels& kn, const Matrix& w, const QuantizedActs& xq, float* y,
          ThreadPool& pool) {
  const int64_t rows = w.rows, n_tok = xq.n_tokens;
  // Rows per tile: fits kTileBytes, a multiple of 4, and leaves at least ~4
  // tiles per thread so uneven tiles balance out.
  int64_t tile = static_cast<int64_t>(kTileBytes / std::max<size_t>(1, w.row_bytes));
  const int64_t balance = (rows + pool.size() * 4 - 1) / (pool.size() * 4);
  tile = std::max<int64_t>(4, std::min(tile, balance) & ~int64_t{3});
  const int64_t n_tiles = (rows + tile - 1) / tile;
  const int64_t tok4 = n_tok & ~int64_t{3};
  const auto* base = static_cast<const uint8_t*>(w.data);
  const size_t xrb = xq.row_bytes;

  pool.ParallelFor(n_tiles, [&](int64_t tb, int64_t te, int) {
    for (int64_t ti = tb; ti < te; ++ti) {
      const int64_t r0 = ti * tile, r1 = std::min(rows, r0 + tile);
      for (int64_t t = 0; t < tok4; t += 4) {
        const void* x4 = xq.row(t);
        for (int64_t r = r0; r < r1; ++r) {
          float out4[4];
          kn.dotx4(w.k, base + static_cast<size_t>(r) * w.row_bytes, x4, xrb, out4);
          y[(t + 0) * rows + r] = out4[0];
          y[(t + 1) * rows + r] = out4[1];
          y[(t + 2) * rows + r] = out4[2];
          y[(t + 3) * rows + r] = out4[3];
        }
      }
      if (tok4 < n_tok) RowsByDot4(kn, w, xq, r0, r1, tok4, n_tok, y);
    }
  });
}

// Packed weights (repack.h): the same two shapes on 8-row groups. Every
// output is the packed kernel's, whatever the token grouping, so packed
// matmuls are batch- and thread-invariant too.
void PackedGemv(PackedDotFn fn, const Matrix& w, const QuantizedActs& xq, float* y, ThreadPool& pool) {
  const int64_t groups = w.rows / kPackRows;
  const size_t bytes = w.packed_group_bytes * static_cast<size_t>(groups);
  const int64_t parts = std::clamp<int64_t>(static_cast<int64_t>(bytes / kMinSliceBytes), 1,
                                            std::min<int64_t>(pool.size(), groups));
  const int nt = static_cast<int>(xq.n_tokens);
  pool.ParallelFor(parts, [&](int64_t pb, int64_t pe, int) {
    for (int64_t part = pb; part < pe; ++part) {
      const int64_t g0 = groups * part / parts, g1 = groups * (part + 1) / parts;
      fn(w.k, w.packed + static_cast<size_t>(g0) * w.packed_group_bytes, g1 - g0,
         static_cast<const uint8_t*>(xq.row(0)), xq.row_bytes, nt, y + g0 * kPackRows, static_cast<size_t>(w.rows));
    }
  });
}

void PackedGemm(PackedDotFn fn, const Matrix& w, const QuantizedActs& xq, float* y, ThreadPool& pool) {
  const int64_t groups = w.rows / kPackRows, n_tok = xq.n_tokens;
  // Tiles of an even number of groups where possible (kernels pair groups).
  int64_t tile = static_cast<int64_t>(kTileBytes / std::max<size_t>(1, w.packed_group_bytes));
  const int64_t balance = (groups + pool.size() * 4 - 1) / (pool.size() * 4);
  tile = std::max<int64_t>(1, std::min(tile, balance));
  if (tile > 1 || groups > 2 * pool.size()) tile = (tile + 1) & ~int64_t{1};
  const int64_t n_tiles = (groups + tile - 1) / tile;
  // Few tokens (batched decode): each group's weights are read from memory
  // once and used for every token while in L1. Many tokens (prefill): tokens
  // in fours (Q6_K: eights, its codes cost more to rebuild) over an
  // L2-resident tile, so activations stay in L1.
  const int64_t tok_step = n_tok <= kSmallBatch ? n_tok : w.type == GgmlType::Q6_K ? 8 : 4;
  pool.ParallelFor(n_tiles, [&](int64_t tb, int64_t te, int) {
    for (int64_t ti = tb; ti < te; ++ti) {
      const int64_t g0 = ti * tile, g1 = std::min(groups, g0 + tile);
      for (int64_t t = 0; t < n_tok; t += tok_step) {
        const int nt = static_cast<int>(std::min<int64_t>(tok_step, n_tok - t));
        fn(w.k, w.packed + static_cast<size_t>(g0) * w.packed_group_bytes, g1 - g0,
           static_cast<const uint8_t*>(xq.row(t)), xq.row_bytes, nt, y + t * w.rows + g0 * kPackRows,
           static_cast<size_t>(w.rows));
      }
    }
  });
}

}  // namespace

Matrix Matrix::Slice(int64_t first, int64_t count) const {
  Matrix m = *this;
  m.data = static_cast<const uint8_t*>(data) + static_cast<size_t>(first) * row_bytes;
  m.rows = count;
  if (packed != nullptr && first % 8 == 0 && count % 8 == 0) {
    m.packed = packed + static_cast<size_t>(first / 8) * packed_group_bytes;
  } else {
    m.packed = nullptr;
    m.packed_group_bytes = 0;
  }
  return m;
}

void QuantizeActs(GgmlType type, const float* x, int64_t k, int64_t n_tokens, QuantizedActs* out,
                  ThreadPool& pool) {
  out->type = type;
  out->k = k;
  out->n_tokens = n_tokens;
  out->row_bytes = GgmlRowSize(type, k);
  const size_t need = out->row_bytes * static_cast<size_t>(n_tokens);
  out->data.resize(need);
  if (type == GgmlType::F32) {  // plain copy, no per-row dispatch
    std::memcpy(out->data.data(), x, need);
    return;
  }
  const QuantizeFn fast = ActQuantizer(type);
  // A token row takes ~1 us with the SIMD quantizers: split only big batches.
  const int64_t grain = std::max<int64_t>(1, (fast ? 65536 : 8192) / std::max<int64_t>(1, k));
  pool.ParallelFor(n_tokens, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) {
      uint8_t* dst = out->data.data() + t * out->row_bytes;
      if (fast != nullptr) {
        fast(x + t * k, dst, k);
      } else {
        Quantize(type, x + t * k, dst, k);
      }
    }
  }, grain);
}

void MatMul(const Matrix& w, const QuantizedActs& xq, float* y, ThreadPool& pool) {
  if (xq.type != VecDotType(w.type)) Fail("activation type is not VecDotType(weight type)");
  if (xq.k != w.k) Fail("activation length differs from the weight's row length");
  if (w.rows <= 0 || xq.n_tokens <= 0) return;
  const bool packed = w.packed != nullptr;
  if (packed) {
    const PackedDotFn fn = FastPackedDot(w.type);
    if (fn == nullptr || w.rows % kPackRows != 0) Fail("packed matrix without a packed kernel");
    if (xq.n_tokens <= kDecodeMaxTokens) {
      PackedGemv(fn, w, xq, y, pool);
    } else {
      PackedGemm(fn, w, xq, y, pool);
    }
    return;
  }
  const Kernels kn = KernelsFor(w.type);
  if (xq.n_tokens <= kDecodeMaxTokens || kn.dotx4 == nullptr) {
    Gemv(kn, w, xq, y, pool);
  } else {
    Gemm(kn, w, xq, y, pool);
  }
}

void MatMul(const Matrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool) {
  QuantizedActs xq;
  QuantizeActs(VecDotType(w.type), x, w.k, n_tokens, &xq, pool);
  MatMul(w, xq, y, pool);
}

void GetRows(const Matrix& w, const int32_t* ids, int64_t n, float* out) {
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t i = 0; i < n; ++i)
    Dequantize(w.type, base + static_cast<size_t>(ids[i]) * w.row_bytes, out + i * w.k, w.k);
}

}  // namespace r1::kernels
