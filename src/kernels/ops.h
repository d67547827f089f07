// Element-wise and row-wise operators used by the model files.
//
// All operate on row-major float rows and are pure per row, so they are
// batch-invariant by construction. They are plain C++ written for the
// auto-vectoriser; each is its own scalar reference (ops_test.cc checks them
// against float64 formulas).
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/thread_pool.h"

namespace r1::kernels {

// out[t] = x[t] / sqrt(mean(x[t]²) + eps) * w, for n rows of length d.
// out may alias x.
void RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, float* out);

// Rotary position embedding, in place, on n rows of `n_head` heads of
// `head_dim` values (row stride `row_stride` floats, head stride head_dim).
// Only the first `n_rot` values of each head rotate; `inv_freq` has n_rot/2
// entries (theta_i = pos · inv_freq[i]); cos/sin are multiplied by `mscale`.
//
//   kNormal (llama, deepseek2), pairs are adjacent:   (x0,x1) (x2,x3) ...
//   kNeox   (qwen2, qwen3), first half vs second half: (x0,x_{n/2}) (x1,x_{n/2+1}) ...
enum class RopeStyle { kNormal, kNeox };
struct RopeParams {
  RopeStyle style = RopeStyle::kNeox;
  int n_rot = 0;
  const float* inv_freq = nullptr;  // n_rot / 2 entries
  float mscale = 1.0f;
};
void Rope(const RopeParams& p, float* x, const int32_t* pos, int64_t n, int n_head, int head_dim,
          int64_t row_stride);

// Inverse frequencies base^(-2i/n_rot) / factors[i] (factors may be null: llama3 rope_freqs).
std::vector<float> RopeInvFreq(int n_rot, double base, const float* factors = nullptr);

// YaRN (Peng et al. 2023) as in DeepSeek-V3's DeepseekV3YarnRotaryEmbedding: each
// frequency blends interpolated (÷factor) and extrapolated values with a linear
// ramp between the correction dims of beta_fast and beta_slow.
std::vector<float> RopeInvFreqYarn(int n_rot, double base, double factor, int64_t original_ctx,
                                   double beta_fast, double beta_slow);

// In-place softmax over n values.
void Softmax(float* x, int64_t n);

// out[i] = silu(gate[i]) * up[i] over n values; out may alias gate. AVX2
// where available (relative error < 1e-6 against SiluMulRef), split over
// `pool` when one is given and n is large; element-wise, so the result never
// depends on the split.
void SiluMul(const float* gate, const float* up, int64_t n, float* out, ThreadPool* pool = nullptr);
// The portable scalar loop (std::exp), the reference for the above.
void SiluMulRef(const float* gate, const float* up, int64_t n, float* out);

// out[i] = exp((x[i] - shift) · scale) (out may be null) and their sum, in
// double; for softmax normalizers over a vocabulary (sampling, logprobs).
// AVX2 where available (each value within 1e-6 relative of expf); x[i] may
// be -inf (gives 0). ExpShiftSumRef is the scalar loop.
double ExpShiftSum(const float* x, int64_t n, float shift, float scale, float* out);
double ExpShiftSumRef(const float* x, int64_t n, float shift, float scale, float* out);

// y[t, :] += b for n rows of length d.
void AddBias(float* y, const float* b, int64_t n, int64_t d);

// y[i] += x[i].
void Add(float* y, const float* x, int64_t n);

// Float to F16 (round to nearest even) for the KV cache; F16C where
// available, bit-identical to ToF16Ref (the scalar F32ToF16 loop), NaNs included.
void ToF16(const float* x, uint16_t* out, int64_t n);
void ToF16Ref(const float* x, uint16_t* out, int64_t n);

}  // namespace r1::kernels
