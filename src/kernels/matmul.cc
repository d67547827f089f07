// Matrix × activations on top of the quant.h dot kernels and the packed
// kernels of repack.h.
//
// Every output y[t, r] is one call of the path's dot, dot4 (4 weight rows × 1
// token) or dotx4 (1 weight row × 4 tokens) kernel, which quant.h guarantees
// are bit-identical to each other on the same two rows (packed kernels: to
// the scalar reference). Which one runs, and on which thread, depends on
// n_tokens and the split, but the value never does: matmul is batch- and
// thread-invariant.
//
// Work is planned over row ranges (MakePlan), for one matrix or several that
// read the same activations (MatMulMany, MatMulSiluGate), and each range is
// computed by RowRange on one thread:
//  - decode (n_tokens < 4) is a memory-bound GEMV: the rows of all the
//    matrices are cut into one contiguous run of equal bytes per thread, so
//    the hardware prefetchers see a few long streams;
//  - prefill tiles the rows (a tile of a few hundred KB stays in L2) and
//    streams the tokens over each tile a few at a time, decoding each weight
//    block once for several tokens: the weight is read from memory once per
//    call instead of once per token.
#include "kernels/matmul.h"

#include <atomic>

#include <algorithm>
#include <cstdio>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <vector>

#include "kernels/cpu.h"
#include "kernels/ops.h"
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

// Rows [r0, r1) of w for every token of xq, on the calling thread. For a
// packed matrix r0 is a multiple of kPackRows and r1 is too, or w.rows.
//
// Few tokens (decode, batched decode): the rows are read from memory once
// and every token is applied to each weight block while it is in L1. Many
// tokens (prefill, rows an L2-sized tile): tokens in fours (packed Q6_K:
// eights, its codes cost more to rebuild) over the tile, so the activations
// stay in L1.
void RowRange(const Matrix& w, const QuantizedActs& xq, int64_t r0, int64_t r1, float* y) {
  const int64_t n_tok = xq.n_tokens;
  if (w.packed != nullptr) {
    const PackedDotFn fn = FastPackedDot(w.type);
    const int64_t tok_step = n_tok <= kSmallBatch ? n_tok : w.type == GgmlType::Q6_K ? 8 : 4;
    for (int64_t t = 0; t < n_tok; t += tok_step) {
      const int nt = static_cast<int>(std::min<int64_t>(tok_step, n_tok - t));
      fn(w.k, w.packed + static_cast<size_t>(r0 / kPackRows) * w.packed_group_bytes, (r1 - r0) / kPackRows,
         static_cast<const uint8_t*>(xq.row(t)), xq.row_bytes, nt, y + t * w.rows + r0,
         static_cast<size_t>(w.rows));
    }
    return;
  }
  const Kernels kn = KernelsFor(w.type);
  if (n_tok <= kDecodeMaxTokens || kn.dotx4 == nullptr) {
    RowsByDot4(kn, w, xq, r0, r1, 0, n_tok, y);
    return;
  }
  // dotx4 decodes each weight block once for four tokens.
  const int64_t tok4 = n_tok & ~int64_t{3};
  const auto* base = static_cast<const uint8_t*>(w.data);
  for (int64_t t = 0; t < tok4; t += 4) {
    const void* x4 = xq.row(t);
    for (int64_t r = r0; r < r1; ++r) {
      float out4[4];
      kn.dotx4(w.k, base + static_cast<size_t>(r) * w.row_bytes, x4, xq.row_bytes, out4);
      for (int i = 0; i < 4; ++i) y[(t + i) * w.rows + r] = out4[i];
    }
  }
  if (tok4 < n_tok) RowsByDot4(kn, w, xq, r0, r1, tok4, n_tok, y);
}

// Streams the matrix (each row read once per call, GEMV-like) rather than
// tiling it for reuse across tokens.
bool Streams(const Matrix& w, int64_t n_tok) {
  return n_tok <= kDecodeMaxTokens || (w.packed == nullptr && FastVecDotX4(w.type) == nullptr);
}

// Work planning for one parallel pass over the rows of several row spaces
// ("items": a matrix, or gate and up together).
struct PlanItem {
  int64_t rows;
  size_t row_bytes;  // weight bytes read per row (both matrices of a pair)
  int64_t gran;      // row ranges start at multiples of this
};
struct Segment {
  int item;
  int64_t r0, r1;
};
struct Plan {
  std::vector<Segment> segs;
  std::vector<size_t> part_begin;  // part p is segs[part_begin[p], part_begin[p+1])
  int64_t parts() const { return static_cast<int64_t>(part_begin.size()) - 1; }
};

// Streaming: the concatenated rows cut into at most pool-size parts of equal
// bytes (each thread streams one contiguous run; less than kMinSliceBytes a
// part is not worth a wake-up). Tiling: tiles of at most kTileBytes (about 4
// per thread), dealt out as one contiguous run of about equal bytes per
// thread.
Plan MakePlan(const std::vector<PlanItem>& items, bool stream, int threads) {
  Plan plan;
  size_t total = 0;
  for (const PlanItem& it : items) total += it.row_bytes * static_cast<size_t>(it.rows);
  plan.part_begin.push_back(0);
  if (stream) {
    const int64_t parts = std::clamp<int64_t>(static_cast<int64_t>(total / kMinSliceBytes), 1, threads);
    // Cut c of parts sits at byte total*c/parts, rounded down to a row
    // boundary of the item it falls in: monotonic, so parts never overlap.
    auto cut = [&](int64_t c) -> std::pair<int, int64_t> {
      size_t at = total / static_cast<size_t>(parts) * static_cast<size_t>(c) +
                  total % static_cast<size_t>(parts) * static_cast<size_t>(c) / static_cast<size_t>(parts);
      for (int i = 0; i < static_cast<int>(items.size()); ++i) {
        const size_t bytes = items[i].row_bytes * static_cast<size_t>(items[i].rows);
        if (at < bytes) {
          const int64_t r = static_cast<int64_t>(at / std::max<size_t>(1, items[i].row_bytes));
          return {i, r / items[i].gran * items[i].gran};
        }
        at -= bytes;
      }
      return {static_cast<int>(items.size()), 0};
    };
    auto prev = cut(0);
    for (int64_t p = 1; p <= parts; ++p) {
      const auto next = p == parts ? std::pair<int, int64_t>{static_cast<int>(items.size()), 0} : cut(p);
      for (int i = prev.first; i <= next.first && i < static_cast<int>(items.size()); ++i) {
        const int64_t r0 = i == prev.first ? prev.second : 0;
        const int64_t r1 = i == next.first ? next.second : items[i].rows;
        if (r0 < r1) plan.segs.push_back({i, r0, r1});
      }
      plan.part_begin.push_back(plan.segs.size());
      prev = next;
    }
    return plan;
  }
  const size_t tile_bytes = std::max<size_t>(1, std::min(kTileBytes, total / (static_cast<size_t>(threads) * 4)));
  std::vector<size_t> ends;  // cumulative bytes at the end of each tile
  size_t done = 0;
  for (int i = 0; i < static_cast<int>(items.size()); ++i) {
    const PlanItem& it = items[i];
    int64_t tile = static_cast<int64_t>(tile_bytes / std::max<size_t>(1, it.row_bytes));
    tile = std::max(it.gran, tile / it.gran * it.gran);
    // Packed kernels pair groups: an even number of groups per tile.
    if (it.gran == kPackRows && tile > kPackRows) tile = (tile + 2 * kPackRows - 1) / (2 * kPackRows) * (2 * kPackRows);
    for (int64_t r0 = 0; r0 < it.rows; r0 += tile) {
      const int64_t r1 = std::min(it.rows, r0 + tile);
      plan.segs.push_back({i, r0, r1});
      done += it.row_bytes * static_cast<size_t>(r1 - r0);
      ends.push_back(done);
    }
  }
  // One part per thread, contiguous runs of tiles of about equal bytes (a
  // tile goes where its middle falls): tiles of a small matrix weigh less.
  const size_t n_parts = static_cast<size_t>(std::min<int64_t>(threads, static_cast<int64_t>(plan.segs.size())));
  size_t s = 0;
  for (size_t p = 1; p <= n_parts; ++p) {
    const size_t limit = total / n_parts * p + total % n_parts * p / n_parts;
    while (s < plan.segs.size() && (p == n_parts || ends[s] - (ends[s] - (s ? ends[s - 1] : 0)) / 2 < limit)) ++s;
    plan.part_begin.push_back(s);
  }
  return plan;
}

void RunPlan(const Plan& plan, ThreadPool& pool, const std::function<void(const Segment&)>& fn) {
  pool.ParallelFor(plan.parts(), [&](int64_t pb, int64_t pe, int) {
    for (size_t s = plan.part_begin[static_cast<size_t>(pb)]; s < plan.part_begin[static_cast<size_t>(pe)]; ++s)
      fn(plan.segs[s]);
  });
}

void Check(const Matrix& w, const QuantizedActs& xq) {
  if (xq.type != VecDotType(w.type)) Fail("activation type is not VecDotType(weight type)");
  if (xq.k != w.k) Fail("activation length differs from the weight's row length");
  if (w.packed != nullptr && (FastPackedDot(w.type) == nullptr || w.rows % kPackRows != 0))
    Fail("packed matrix without a packed kernel");
}

PlanItem ItemOf(const Matrix& w) {
  return PlanItem{w.rows, w.packed != nullptr ? w.packed_group_bytes / kPackRows : w.row_bytes,
                  w.packed != nullptr ? kPackRows : 4};
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

namespace {

// Runs row(t, dst) for every token, dst being token t's quantized row;
// split over the pool only for big batches (a row takes ~1 us).
void ForEachActRow(GgmlType type, int64_t k, int64_t n_tokens, QuantizedActs* out, ThreadPool& pool,
                   const std::function<void(int64_t, uint8_t*)>& row) {
  out->type = type;
  out->k = k;
  out->n_tokens = n_tokens;
  out->row_bytes = GgmlRowSize(type, k);
  out->data.resize(out->row_bytes * static_cast<size_t>(n_tokens));
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, k));
  pool.ParallelFor(n_tokens, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) row(t, out->data.data() + t * out->row_bytes);
  }, grain);
}

void QuantizeRow(GgmlType type, QuantizeFn fast, const float* x, uint8_t* dst, int64_t k) {
  if (type == GgmlType::F32) {
    std::memcpy(dst, x, static_cast<size_t>(k) * sizeof(float));
  } else if (fast != nullptr) {
    fast(x, dst, k);
  } else {
    Quantize(type, x, dst, k);
  }
}

}  // namespace

void QuantizeActs(GgmlType type, const float* x, int64_t k, int64_t n_tokens, QuantizedActs* out,
                  ThreadPool& pool) {
  const QuantizeFn fast = ActQuantizer(type);
  ForEachActRow(type, k, n_tokens, out, pool,
                [&](int64_t t, uint8_t* dst) { QuantizeRow(type, fast, x + t * k, dst, k); });
}

void RmsNormQuantize(const float* x, const float* w, int64_t n, int64_t d, float eps, GgmlType type,
                     QuantizedActs* out, ThreadPool& pool) {
  const QuantizeFn fast = ActQuantizer(type);
  ForEachActRow(type, d, n, out, pool, [&](int64_t t, uint8_t* dst) {
    if (type == GgmlType::F32) {  // the normalised row is the activation row
      RmsNorm(x + t * d, w, 1, d, eps, reinterpret_cast<float*>(dst));
      return;
    }
    thread_local std::vector<float> row;
    row.resize(static_cast<size_t>(d));
    RmsNorm(x + t * d, w, 1, d, eps, row.data());
    QuantizeRow(type, fast, row.data(), dst, d);
  });
}

namespace {
std::atomic<bool> g_observed{false};
MatMulObserver& Observer() {
  static MatMulObserver o;
  return o;
}
void Observe(const Matrix& w, const QuantizedActs& x) {
  if (g_observed.load(std::memory_order_relaxed)) Observer()(w, x);
}
void MatMulManyUnobserved(std::span<const MatMulJob> jobs, ThreadPool& pool);
}  // namespace

void SetMatMulObserver(MatMulObserver observer) {
  g_observed.store(false);
  Observer() = std::move(observer);
  g_observed.store(static_cast<bool>(Observer()));
}

void DequantizeActs(const QuantizedActs& x, int64_t t, float* out) {
  if (x.type == GgmlType::F32) {
    std::memcpy(out, x.row(t), static_cast<size_t>(x.k) * sizeof(float));
    return;
  }
  Dequantize(x.type, x.row(t), out, x.k);
}

void MatMul(const Matrix& w, const QuantizedActs& xq, float* y, ThreadPool& pool) {
  const MatMulJob job{&w, &xq, y};
  MatMulMany(std::span<const MatMulJob>(&job, 1), pool);
}

void MatMulMany(std::span<const MatMulJob> jobs, ThreadPool& pool) {
  for (const MatMulJob& j : jobs)
    if (j.x->n_tokens > 0) Observe(*j.w, *j.x);
  MatMulManyUnobserved(jobs, pool);
}

namespace {
void MatMulManyUnobserved(std::span<const MatMulJob> jobs, ThreadPool& pool) {
  int64_t n_tok = -1;
  for (const MatMulJob& j : jobs) {
    Check(*j.w, *j.x);
    if (n_tok >= 0 && j.x->n_tokens != n_tok) Fail("MatMulMany jobs differ in token count");
    n_tok = j.x->n_tokens;
  }
  if (n_tok <= 0) return;
  // One pass needs one kind of split; a mix (rare) runs as two.
  const bool stream = Streams(*jobs[0].w, n_tok);
  std::vector<MatMulJob> same, other;
  for (const MatMulJob& j : jobs) {
    if (j.w->rows <= 0) continue;
    (Streams(*j.w, n_tok) == stream ? same : other).push_back(j);
  }
  std::vector<PlanItem> items;
  for (const MatMulJob& j : same) items.push_back(ItemOf(*j.w));
  const Plan plan = MakePlan(items, stream, pool.size());
  RunPlan(plan, pool, [&](const Segment& s) {
    const MatMulJob& j = same[static_cast<size_t>(s.item)];
    RowRange(*j.w, *j.x, s.r0, s.r1, j.y);
  });
  if (!other.empty()) MatMulManyUnobserved(other, pool);
}
}  // namespace

void MatMulSiluGate(const Matrix& gate, const QuantizedActs& xg, const Matrix& up, const QuantizedActs& xu,
                    float* out, float* up_scratch, ThreadPool& pool) {
  Check(gate, xg);
  Check(up, xu);
  if (gate.rows != up.rows || xg.n_tokens != xu.n_tokens) Fail("gate and up differ in shape");
  const int64_t n_tok = xg.n_tokens, rows = gate.rows;
  if (n_tok <= 0 || rows <= 0) return;
  Observe(gate, xg);
  Observe(up, xu);
  // Row ranges start at multiples of 8 (both packed layouts, and SiluMul's
  // vector width), so the same elements take the same SiluMul path whatever
  // the split.
  const PlanItem g = ItemOf(gate), u = ItemOf(up);
  const Plan plan = MakePlan({PlanItem{rows, g.row_bytes + u.row_bytes, kPackRows}},
                             Streams(gate, n_tok) && Streams(up, n_tok), pool.size());
  RunPlan(plan, pool, [&](const Segment& s) {
    RowRange(gate, xg, s.r0, s.r1, out);
    RowRange(up, xu, s.r0, s.r1, up_scratch);
    for (int64_t t = 0; t < n_tok; ++t) {
      float* o = out + t * rows + s.r0;
      SiluMul(o, up_scratch + t * rows + s.r0, s.r1 - s.r0, o);
    }
  });
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
