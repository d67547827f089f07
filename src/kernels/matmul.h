// Matrix multiplication of a (possibly quantized) weight by float activations.
//
// Shapes: a weight is stored as in GGUF, ne = {k, rows}: `rows` rows of `k`
// contiguous elements (a PyTorch Linear (out=rows, in=k)). Activations are
// row-major [n_tokens, k]; outputs row-major [n_tokens, rows]:
//
//   y[t, r] = sum_i W[r, i] * x[t, i]
//
// Batch invariance: each y[t, r] is computed by the same sequence of
// operations whatever n_tokens is and however the work is split across
// threads, so results are bit-identical under any batching.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "gguf/ggml_types.h"
#include "kernels/thread_pool.h"

namespace r1::kernels {

struct Matrix {
  GgmlType type = GgmlType::F32;
  const void* data = nullptr;
  int64_t k = 0;        // row length (ne[0])
  int64_t rows = 0;     // number of rows (ne[1])
  size_t row_bytes = 0; // GgmlRowSize(type, k)
  // Optional load-time copy in the 8-row interleaved layout (repack.h):
  // group g (rows 8g .. 8g+7) at packed + g * packed_group_bytes. When set,
  // MatMul reads it instead of `data`; `data` stays valid (GetRows uses it).
  const uint8_t* packed = nullptr;
  size_t packed_group_bytes = 0;

  // Rows [first, first+count) as a matrix (e.g. one expert of a 3-D tensor).
  // Keeps the packed copy when both are multiples of 8.
  Matrix Slice(int64_t first, int64_t count) const;
};

// Activations converted once to the weight's VecDotType and reused by every
// matmul that reads them (e.g. Q, K and V projections of the same input).
struct QuantizedActs {
  GgmlType type = GgmlType::F32;
  int64_t k = 0;
  int64_t n_tokens = 0;
  size_t row_bytes = 0;
  std::vector<uint8_t> data;  // n_tokens × row_bytes
  const void* row(int64_t t) const { return data.data() + static_cast<size_t>(t) * row_bytes; }
};

// Converts x [n_tokens, k] into `type` (a VecDotType).
void QuantizeActs(GgmlType type, const float* x, int64_t k, int64_t n_tokens,
                  QuantizedActs* out, ThreadPool& pool);

// y = x · Wᵀ with pre-quantized activations (xq.type must be VecDotType(w.type)).
void MatMul(const Matrix& w, const QuantizedActs& xq, float* y, ThreadPool& pool);

// One matmul of a MatMulMany call.
struct MatMulJob {
  const Matrix* w;
  const QuantizedActs* x;  // VecDotType(w->type); the same n_tokens for every job
  float* y;
};

// Several matmuls in one parallel pass (one wake-up and one barrier instead
// of one each), split by weight bytes across all of them: e.g. the Q, K and
// V projections of the same input, whose K and V alone are too small to keep
// two cores busy. Each output is bit-identical to MatMul's.
void MatMulMany(std::span<const MatMulJob> jobs, ThreadPool& pool);

// out = silu(x·Gᵀ) ⊙ (x·Uᵀ), the gated feed-forward's first half, in one
// parallel pass: each task computes the same rows of gate and up and applies
// SiLU while they are in cache. up_scratch holds n_tokens × rows floats.
// gate and up have the same rows; xg and xu may be the same object.
void MatMulSiluGate(const Matrix& gate, const QuantizedActs& xg, const Matrix& up, const QuantizedActs& xu,
                    float* out, float* up_scratch, ThreadPool& pool);

// Fused RMSNorm and activation quantization: out = Quantize(type,
// RmsNorm(x)·w) row by row (each row normalised into a small buffer and
// quantized while in L1, no n × d float intermediate). Bit-identical to
// RmsNorm followed by QuantizeActs.
void RmsNormQuantize(const float* x, const float* w, int64_t n, int64_t d, float eps, GgmlType type,
                     QuantizedActs* out, ThreadPool& pool);

// Observes the input of every matmul (for r1 imatrix: the importance matrix
// is the mean square of each weight column's input): called on the calling
// thread, before the product, with the weight and its activation rows (in
// VecDotType(w.type); DequantizeActs gives them back as floats). One
// process-wide observer; an empty function removes it. It costs one test of
// an atomic flag per matmul when unset.
using MatMulObserver = std::function<void(const Matrix& w, const QuantizedActs& x)>;
void SetMatMulObserver(MatMulObserver observer);

// Row t of quantized activations as floats (k of them).
void DequantizeActs(const QuantizedActs& x, int64_t t, float* out);

// Convenience: quantizes x itself.
void MatMul(const Matrix& w, const float* x, int64_t n_tokens, float* y, ThreadPool& pool);

// Dequantizes the given rows of w (an embedding lookup): out [n, k].
void GetRows(const Matrix& w, const int32_t* ids, int64_t n, float* out);

}  // namespace r1::kernels
