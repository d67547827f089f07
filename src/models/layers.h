// Building blocks shared by model files (no SIMD here: that is in kernels/).
#pragma once

#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace r1 {

// Activations quantized once and reused by every projection of the same
// input (Q/K/V, gate/up), as long as the weights share a dot-product type.
class SharedActs {
 public:
  // Call whenever the input rows change.
  void Reset() { valid_ = false; }

  // y = x · Wᵀ for n rows of x (width w.k).
  void Project(const kernels::Matrix& w, const float* x, int64_t n, float* y, ThreadPool& pool) {
    GgmlType t = kernels::VecDotType(w.type);
    if (!valid_ || q_.type != t || q_.n_tokens != n || q_.k != w.k) {
      kernels::QuantizeActs(t, x, w.k, n, &q_, pool);
      valid_ = true;
    }
    kernels::MatMul(w, q_, y, pool);
  }

 private:
  kernels::QuantizedActs q_;
  bool valid_ = false;
};

}  // namespace r1
