#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu.h"
#include "kernels/quant.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels {

void RmsNorm(const float* x, const float* w, int64_t n, int64_t d, float eps, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const float* xr = x + t * d;
    float* o = out + t * d;
    // Sum of squares in double: cheap next to the matmuls, and the result no
    // longer depends on how the compiler vectorises the loop.
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    float scale = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(d) + eps));
    for (int64_t i = 0; i < d; ++i) o[i] = xr[i] * scale * w[i];
  }
}

std::vector<float> RopeInvFreq(int n_rot, double base, const float* factors) {
  std::vector<float> f(n_rot / 2);
  for (int i = 0; i < n_rot / 2; ++i) {
    double v = std::pow(base, -2.0 * i / n_rot);
    if (factors) v /= factors[i];
    f[i] = static_cast<float>(v);
  }
  return f;
}

std::vector<float> RopeInvFreqYarn(int n_rot, double base, double factor, int64_t original_ctx,
                                   double beta_fast, double beta_slow) {
  // yarn_find_correction_dim: the dimension whose wavelength fits `rot` turns
  // in the original context.
  auto correction_dim = [&](double rot) {
    return n_rot * std::log(static_cast<double>(original_ctx) / (rot * 2 * M_PI)) / (2 * std::log(base));
  };
  double low = std::max(0.0, std::floor(correction_dim(beta_fast)));
  double high = std::min(n_rot - 1.0, std::ceil(correction_dim(beta_slow)));
  if (low == high) high += 0.001;  // yarn_linear_ramp_mask avoids a zero range
  std::vector<float> f(n_rot / 2);
  for (int i = 0; i < n_rot / 2; ++i) {
    double extra = std::pow(base, -2.0 * i / n_rot);
    double inter = extra / factor;
    double ramp = std::clamp((i - low) / (high - low), 0.0, 1.0);
    double mask = 1.0 - ramp;  // 1 → extrapolate (high frequency), 0 → interpolate
    f[i] = static_cast<float>(inter * (1 - mask) + extra * mask);
  }
  return f;
}

void Rope(const RopeParams& p, float* x, const int32_t* pos, int64_t n, int n_head, int head_dim,
          int64_t row_stride) {
  const int half = p.n_rot / 2;
  std::vector<float> cs(half), sn(half);
  for (int64_t t = 0; t < n; ++t) {
    for (int i = 0; i < half; ++i) {
      double theta = static_cast<double>(pos[t]) * p.inv_freq[i];
      cs[i] = static_cast<float>(std::cos(theta)) * p.mscale;
      sn[i] = static_cast<float>(std::sin(theta)) * p.mscale;
    }
    for (int h = 0; h < n_head; ++h) {
      float* v = x + t * row_stride + static_cast<int64_t>(h) * head_dim;
      for (int i = 0; i < half; ++i) {
        int a = p.style == RopeStyle::kNormal ? 2 * i : i;
        int b = p.style == RopeStyle::kNormal ? 2 * i + 1 : i + half;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * cs[i] - x1 * sn[i];
        v[b] = x0 * sn[i] + x1 * cs[i];
      }
    }
  }
}

void Softmax(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void SiluMulRef(const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

double ExpShiftSumRef(const float* x, int64_t n, float shift, float scale, float* out) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp((x[i] - shift) * scale);
    if (out != nullptr) out[i] = e;
    sum += e;
  }
  return sum;
}

double ExpShiftSum(const float* x, int64_t n, float shift, float scale, float* out) {
  static const auto fn = GetCpuFeatures().avx2 && !ForceScalar() ? x86::ExpShiftSumAvx2 : ExpShiftSumRef;
  return fn(x, n, shift, scale, out);
}

void SiluMul(const float* gate, const float* up, int64_t n, float* out, ThreadPool* pool) {
  static const auto fn = GetCpuFeatures().avx2 && !ForceScalar() ? x86::SiluMulAvx2 : SiluMulRef;
  constexpr int64_t kChunk = 16384;  // below this a wake-up costs more than the work
  if (pool == nullptr || pool->size() == 1 || n < 2 * kChunk) {
    fn(gate, up, n, out);
    return;
  }
  pool->ParallelFor(n, [&](int64_t b, int64_t e, int) { fn(gate + b, up + b, e - b, out + b); }, 8);
}

void AddBias(float* y, const float* b, int64_t n, int64_t d) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < d; ++i) y[t * d + i] += b[i];
}

void Add(float* y, const float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void ToF16Ref(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = F32ToF16(x[i]);
}

void ToF16(const float* x, uint16_t* out, int64_t n) {
  static const auto fn = GetCpuFeatures().avx2 && !ForceScalar() ? x86::ToF16Avx2 : ToF16Ref;
  fn(x, out, n);
}

}  // namespace r1::kernels
