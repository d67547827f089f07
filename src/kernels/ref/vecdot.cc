// Scalar reference dot products: weight row · activation row of
// VecDotType(weight type).
//
// Inside a block everything is exact integer arithmetic (as in ggml's
// vec_dot_*): per sub-block sums of code × activation code, times the
// sub-block's integer scale, and for Q4_K / Q5_K the min term from the
// activation's 16-element sums (bsums). Each block's integer total is folded
// into one float accumulator in block order with fused multiply-adds:
//
//   sum = fma(d_w * d_x, isum, sum)              [ - dmin_w * d_x * imins ]
//
// The K-quant SIMD kernels perform exactly these float operations (their
// integer parts are equal by construction), so they match this file bit for
// bit; see x86/x86_kernels.h.
#include <cmath>
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/iq_tables.h"
#include "kernels/quant.h"
#include "kernels/ref/ref_kernels.h"

namespace r1::kernels::ref {
namespace {

float DotF32(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum = std::fma(a[i], b[i], sum);
  return sum;
}

float DotF16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum = std::fma(F16ToF32(a[i]), b[i], sum);
  return sum;
}

float DotBF16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum = std::fma(BF16ToF32(a[i]), BF16ToF32(b[i]), sum);
  return sum;
}

// FP8 (F8_E4M3_B64) against F32 activations. The arithmetic is defined as
// the AVX2 kernel performs it, so the two agree bit for bit: per 64-element
// block, four 8-lane FMA accumulators (element 8s + l goes to lane l of
// accumulator s % 4) of e4m3 as f16 (the code's bits shifted into an f16,
// which is 2^-8 times its value: exact) times x; the four added
// (a0 + a1) + (a2 + a3), the lanes reduced as Hsum does, and the block folded
// in with sum = fma(d * 256, block, sum).
float DotF8(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockF8*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQKF8; ++i) {
    float acc[4][8] = {};
    for (int s = 0; s < 8; ++s)
      for (int l = 0; l < 8; ++l) {
        const int j = 8 * s + l;
        acc[s % 4][l] = std::fma(F8E4M3AsF16Scaled(a[i].qs[j]), b[i * kQKF8 + j], acc[s % 4][l]);
      }
    float v[8];
    for (int l = 0; l < 8; ++l) v[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
    float s4[4];
    for (int l = 0; l < 4; ++l) s4[l] = v[l] + v[l + 4];
    const float block = (s4[0] + s4[2]) + (s4[1] + s4[3]);
    sum = std::fma(a[i].d * 256.0f, block, sum);
  }
  return sum;
}

float DotQ8_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ8_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK0; ++i) {
    int isum = 0;
    for (int j = 0; j < kQK0; ++j) isum += a[i].qs[j] * b[i].qs[j];
    sum = std::fma(F16ToF32(a[i].d) * F16ToF32(b[i].d), static_cast<float>(isum), sum);
  }
  return sum;
}

float DotQ4_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ4_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK0; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += ((a[i].qs[j] & 15) - 8) * b[i].qs[j];
      isum += ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
    }
    sum = std::fma(F16ToF32(a[i].d) * F16ToF32(b[i].d), static_cast<float>(isum), sum);
  }
  return sum;
}

float DotQ5_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ5_0*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK0; ++i) {
    uint32_t qh;
    std::memcpy(&qh, a[i].qh, 4);
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      const int lo = (a[i].qs[j] & 15) | static_cast<int>((qh >> j) & 1) << 4;
      const int hi = (a[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1) << 4;
      isum += (lo - 16) * b[i].qs[j] + (hi - 16) * b[i].qs[j + 16];
    }
    sum = std::fma(F16ToF32(a[i].d) * F16ToF32(b[i].d), static_cast<float>(isum), sum);
  }
  return sum;
}

template <bool kFive, typename Block>
float DotQ45K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    uint8_t sc[8], mn[8];
    UnpackScalesMinsK4(a[i].scales, sc, mn);
    int isum = 0, imins = 0;
    for (int s = 0; s < 8; ++s) {
      const uint8_t* q = a[i].qs + 32 * (s / 2);
      const int8_t* y = b[i].qs + 32 * s;
      int sub = 0;
      for (int l = 0; l < 32; ++l) {
        int v = (s & 1) ? q[l] >> 4 : q[l] & 15;
        if constexpr (kFive) {
          v |= ((a[i].qh[l] >> s) & 1) << 4;
        }
        sub += v * y[l];
      }
      isum += sc[s] * sub;
      imins += mn[s] * (b[i].bsums[2 * s] + b[i].bsums[2 * s + 1]);
    }
    const float dd = F16ToF32(a[i].d) * b[i].d;
    const float dm = F16ToF32(a[i].dmin) * b[i].d;
    sum = std::fma(dd, static_cast<float>(isum), sum);
    sum = std::fma(-dm, static_cast<float>(imins), sum);
  }
  return sum;
}

float DotQ6K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ6K*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int sub[16] = {};
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = a[i].ql + 64 * h;
      const uint8_t* qh = a[i].qh + 32 * h;
      const int8_t* y = b[i].qs + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int q[4] = {
            (ql[l] & 15) | ((qh[l] >> 0) & 3) << 4,
            (ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4,
            (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4,
            (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4,
        };
        for (int k = 0; k < 4; ++k) sub[8 * h + (l + 32 * k) / 16] += (q[k] - 32) * y[l + 32 * k];
      }
    }
    int isum = 0;
    for (int s = 0; s < 16; ++s) isum += a[i].scales[s] * sub[s];
    sum = std::fma(F16ToF32(a[i].d) * b[i].d, static_cast<float>(isum), sum);
  }
  return sum;
}

// Q4_1 / Q5_1: y = d * q + m with unsigned codes, so a block contributes
// d_w * d_x * sum(q * x) + m_w * d_x * sum(x).
template <bool kFive, typename Block>
float DotQ45_1(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const Block*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK0; ++i) {
    uint32_t qh = 0;
    if constexpr (kFive) std::memcpy(&qh, a[i].qh, 4);
    int isum = 0, xsum = 0;
    for (int j = 0; j < 16; ++j) {
      const int lo = (a[i].qs[j] & 15) | static_cast<int>((qh >> j) & 1) << 4;
      const int hi = (a[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1) << 4;
      isum += lo * b[i].qs[j] + hi * b[i].qs[j + 16];
      xsum += b[i].qs[j] + b[i].qs[j + 16];
    }
    const float dx = F16ToF32(b[i].d);
    sum = std::fma(F16ToF32(a[i].d) * dx, static_cast<float>(isum), sum);
    sum = std::fma(F16ToF32(a[i].m) * dx, static_cast<float>(xsum), sum);
  }
  return sum;
}

float DotIq4Nl(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockIq4Nl*>(w);
  const auto* b = static_cast<const BlockQ8_0*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK0; ++i) {
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      isum += kIq4nlValues[a[i].qs[j] & 15] * b[i].qs[j];
      isum += kIq4nlValues[a[i].qs[j] >> 4] * b[i].qs[j + 16];
    }
    sum = std::fma(F16ToF32(a[i].d) * F16ToF32(b[i].d), static_cast<float>(isum), sum);
  }
  return sum;
}

// The 256-element types below: one integer total per super-block, folded as
// sum = fma(d_w * d_x, isum, sum) [then fma(-dmin_w * d_x, imins, sum)].

float DotIq4Xs(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockIq4Xs*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int s = 0; s < 8; ++s) {
      const uint8_t* q = a[i].qs + 16 * s;
      const int8_t* y = b[i].qs + 32 * s;
      int sub = 0;
      for (int j = 0; j < 16; ++j) sub += kIq4nlValues[q[j] & 15] * y[j] + kIq4nlValues[q[j] >> 4] * y[j + 16];
      isum += (ScaleIq4Xs(a[i], s) - 32) * sub;
    }
    sum = std::fma(F16ToF32(a[i].d) * b[i].d, static_cast<float>(isum), sum);
  }
  return sum;
}

float DotQ2K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ2K*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0, imins = 0;
    for (int k = 0; k < 16; ++k) {
      int sub = 0;
      for (int l = 0; l < 16; ++l) sub += Code2K(a[i].qs, 16 * k + l) * b[i].qs[16 * k + l];
      isum += (a[i].scales[k] & 15) * sub;
      imins += (a[i].scales[k] >> 4) * b[i].bsums[k];
    }
    const float dd = F16ToF32(a[i].d) * b[i].d;
    const float dm = F16ToF32(a[i].dmin) * b[i].d;
    sum = std::fma(dd, static_cast<float>(isum), sum);
    sum = std::fma(-dm, static_cast<float>(imins), sum);
  }
  return sum;
}

float DotQ3K(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockQ3K*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int8_t sc[16];
    UnpackScalesQ3K(a[i].scales, sc);
    int isum = 0;
    for (int k = 0; k < 16; ++k) {
      int sub = 0;
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * k + l;
        const int u = Code3K(a[i], e);
        sub += (u - 4) * b[i].qs[e];
      }
      isum += sc[k] * sub;
    }
    sum = std::fma(F16ToF32(a[i].d) * b[i].d, static_cast<float>(isum), sum);
  }
  return sum;
}

float DotTq2_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockTq2_0*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int e = 0; e < kQK; ++e) isum += (Code2K(a[i].qs, e) - 1) * b[i].qs[e];
    sum = std::fma(F16ToF32(a[i].d) * b[i].d, static_cast<float>(isum), sum);
  }
  return sum;
}

float DotTq1_0(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockTq1_0*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    int isum = 0;
    for (int e = 0; e < kQK; ++e) isum += (TritTq1Element(a[i], e) - 1) * b[i].qs[e];
    sum = std::fma(F16ToF32(a[i].d) * b[i].d, static_cast<float>(isum), sum);
  }
  return sum;
}

// The reference multi-row forms are literally repeated single dots.
template <VecDotFn kDot>
void Dot4(int64_t n, const void* w, size_t w_row_bytes, const void* x, float* out4) {
  for (int r = 0; r < 4; ++r) out4[r] = kDot(n, static_cast<const uint8_t*>(w) + r * w_row_bytes, x);
}

template <VecDotFn kDot>
void DotX4(int64_t n, const void* w, const void* x, size_t x_row_bytes, float* out4) {
  for (int t = 0; t < 4; ++t) out4[t] = kDot(n, w, static_cast<const uint8_t*>(x) + t * x_row_bytes);
}

template <VecDotFn kDot>
DotKernels Make() {
  return {kDot, Dot4<kDot>, DotX4<kDot>};
}

}  // namespace

DotKernels Kernels(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return Make<DotF32>();
    case GgmlType::F16: return Make<DotF16>();
    case GgmlType::BF16: return Make<DotBF16>();
    case GgmlType::Q8_0: return Make<DotQ8_0>();
    case GgmlType::F8_E4M3_B64: return Make<DotF8>();
    case GgmlType::Q4_0: return Make<DotQ4_0>();
    case GgmlType::Q5_0: return Make<DotQ5_0>();
    case GgmlType::Q4_K: return Make<DotQ45K<false, BlockQ4K>>();
    case GgmlType::Q5_K: return Make<DotQ45K<true, BlockQ5K>>();
    case GgmlType::Q6_K: return Make<DotQ6K>();
    case GgmlType::Q4_1: return Make<DotQ45_1<false, BlockQ4_1>>();
    case GgmlType::Q5_1: return Make<DotQ45_1<true, BlockQ5_1>>();
    case GgmlType::IQ4_NL: return Make<DotIq4Nl>();
    case GgmlType::IQ4_XS: return Make<DotIq4Xs>();
    case GgmlType::Q2_K: return Make<DotQ2K>();
    case GgmlType::Q3_K: return Make<DotQ3K>();
    case GgmlType::TQ1_0: return Make<DotTq1_0>();
    case GgmlType::TQ2_0: return Make<DotTq2_0>();
    default: return IqKernels(t);
  }
}

}  // namespace r1::kernels::ref
