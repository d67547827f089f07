// Building blocks shared by model files (no SIMD here: that is in kernels/).
#pragma once

#include <deque>

#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace r1 {

// The input rows of a group of projections (Q/K/V, gate/up), quantized once
// per dot-product type and reused by every projection that reads them. The
// rows are either x itself or RMSNorm(x)·norm_w; the latter is fused with
// the quantization, so the normalised rows never exist as floats.
class SharedActs {
 public:
  // New input rows: n rows of k floats, normalised first when norm_w is set.
  // x and norm_w must stay valid until the next Set.
  void Set(const float* x, int64_t n, int64_t k, const float* norm_w = nullptr, float eps = 0.0f) {
    x_ = x;
    n_ = n;
    k_ = k;
    norm_w_ = norm_w;
    eps_ = eps;
    used_ = 0;
  }

  // The rows quantized for w (VecDotType(w.type)). References stay valid
  // until the next Set.
  const kernels::QuantizedActs& For(const kernels::Matrix& w, ThreadPool& pool) {
    const GgmlType t = kernels::VecDotType(w.type);
    for (size_t i = 0; i < used_; ++i)
      if (slots_[i].type == t) return slots_[i];
    if (used_ == slots_.size()) slots_.emplace_back();
    kernels::QuantizedActs& q = slots_[used_++];
    if (norm_w_ != nullptr) {
      kernels::RmsNormQuantize(x_, norm_w_, n_, k_, eps_, t, &q, pool);
    } else {
      kernels::QuantizeActs(t, x_, k_, n_, &q, pool);
    }
    return q;
  }

  // y = rows · Wᵀ.
  void Project(const kernels::Matrix& w, float* y, ThreadPool& pool) { kernels::MatMul(w, For(w, pool), y, pool); }

  // out = silu(rows · Gᵀ) ⊙ (rows · Uᵀ), fused (kernels::MatMulSiluGate).
  void SiluGate(const kernels::Matrix& gate, const kernels::Matrix& up, float* out, float* up_scratch,
                ThreadPool& pool) {
    const kernels::QuantizedActs& xg = For(gate, pool);
    const kernels::QuantizedActs& xu = For(up, pool);
    kernels::MatMulSiluGate(gate, xg, up, xu, out, up_scratch, pool);
  }

 private:
  const float* x_ = nullptr;
  const float* norm_w_ = nullptr;
  int64_t n_ = 0, k_ = 0;
  float eps_ = 0.0f;
  std::deque<kernels::QuantizedActs> slots_;  // deque: growing keeps references valid
  size_t used_ = 0;
};

}  // namespace r1
