// Baseline matmul: one VecDot per output element. Owned by the kernels work;
// to be replaced by the register-blocked GEMM.
#include "kernels/matmul.h"

#include <cstring>

#include "kernels/quant.h"

namespace r1::kernels {

Matrix Matrix::Slice(int64_t first, int64_t count) const {
  Matrix m = *this;
  m.data = static_cast<const uint8_t*>(data) + static_cast<size_t>(first) * row_bytes;
  m.rows = count;
  return m;
}

void QuantizeActs(GgmlType type, const float* x, int64_t k, int64_t n_tokens, QuantizedActs* out,
                  ThreadPool& pool) {
  out->type = type;
  out->k = k;
  out->n_tokens = n_tokens;
  out->row_bytes = GgmlRowSize(type, k);
  out->data.resize(out->row_bytes * static_cast<size_t>(n_tokens));
  pool.ParallelFor(n_tokens, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t)
      Quantize(type, x + t * k, out->data.data() + t * out->row_bytes, k);
  });
}

void MatMul(const Matrix& w, const QuantizedActs& xq, float* y, ThreadPool& pool) {
  VecDotFn dot = FastVecDot(w.type);
  const auto* base = static_cast<const uint8_t*>(w.data);
  pool.ParallelFor(w.rows, [&](int64_t b, int64_t e, int) {
    for (int64_t t = 0; t < xq.n_tokens; ++t)
      for (int64_t r = b; r < e; ++r)
        y[t * w.rows + r] = dot(w.k, base + r * w.row_bytes, xq.row(t));
  }, 16);
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
