// Scalar quantizers: activations (Q8_0, Q8_K, BF16, F32) and the project's
// own weight quantizer (every IsSupported type). Deterministic: plain loops in
// a fixed order, round-to-nearest-even via lrintf, no data-dependent
// threading.
//
// Weight quantizers do a small search per (sub-)block: a dozen or so candidate
// scales around the range-filling one, each followed by a least-squares refit
// of scale (and min) for the integer codes it produced, keeping the candidate
// with the lowest squared error. For K-quants the resulting per-sub-block
// scales/mins are then quantized to 6 (Q4_K/Q5_K) or 8 (Q6_K) bits and the
// codes are recomputed against the scales actually stored.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/iq_tables.h"
#include "kernels/quant.h"
#include "kernels/ref/ref_kernels.h"

namespace r1::kernels::ref {
namespace {

int NearestInt(float v) { return static_cast<int>(std::lrintf(v)); }

float AbsMax(const float* x, int n) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i) m = std::max(m, std::fabs(x[i]));
  return m;
}

// Weight of element i in a fit: w[i] with an importance matrix, else 1.
double Wt(const float* w, int i) { return w ? static_cast<double>(w[i]) : 1.0; }

// x ≈ d * q with q in [-nmax, nmax - 1], minimising sum w (x - d q)^2
// (w null: unweighted). Returns d; writes q.
float FitSymmetric(const float* x, int n, int nmax, int* q, const float* w = nullptr) {
  float amax = 0.0f, signed_max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      signed_max = x[i];
    }
  }
  if (amax == 0.0f) {
    std::fill(q, q + n, 0);
    return 0.0f;
  }
  // Map the extreme value to about -nmax: the longer side of the code range.
  float best_score = -1.0f, best_is = 0.0f;
  for (int t = -9; t <= 9; ++t) {
    const float iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(t)) / signed_max;
    double sxq = 0, sqq = 0;
    for (int i = 0; i < n; ++i) {
      const int v = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      sxq += Wt(w, i) * x[i] * v;
      sqq += Wt(w, i) * v * v;
    }
    // Error of the least-squares d for these codes: sum x^2 - sxq^2 / sqq.
    const float score = sqq > 0 ? static_cast<float>(sxq * sxq / sqq) : 0.0f;
    if (score > best_score) {
      best_score = score;
      best_is = iscale;
    }
  }
  double sxq = 0, sqq = 0;
  for (int i = 0; i < n; ++i) {
    q[i] = std::clamp(NearestInt(best_is * x[i]), -nmax, nmax - 1);
    sxq += Wt(w, i) * x[i] * q[i];
    sqq += Wt(w, i) * q[i] * q[i];
  }
  return sqq > 0 ? static_cast<float>(sxq / sqq) : 0.0f;
}

// x ≈ scale * q - mn with q in [0, nmax], scale >= 0, and mn >= 0 when
// `nonneg_min` (the K-quants subtract a non-negative min, so their range
// always includes 0; Q4_1 / Q5_1 add a signed offset).
void FitAsymmetric(const float* x, int n, int nmax, float* scale, float* mn, bool nonneg_min = true,
                   const float* w = nullptr) {
  float lo = nonneg_min ? 0.0f : x[0], hi = x[0];
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (hi <= lo) {
    *scale = 0.0f;
    *mn = -lo;
    return;
  }
  double best_err = -1;
  float best_a = (hi - lo) / static_cast<float>(nmax), best_b = lo;
  for (int t = -10; t <= 10; ++t) {
    const float iscale = (static_cast<float>(nmax) + 0.1f * static_cast<float>(t)) / (hi - lo);
    double sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
    int codes[kQK0];
    for (int i = 0; i < n; ++i) {
      const double wi = Wt(w, i);
      codes[i] = std::clamp(NearestInt(iscale * (x[i] - lo)), 0, nmax);
      sw += wi;
      sq += wi * codes[i];
      sqq += wi * codes[i] * codes[i];
      sx += wi * x[i];
      sxq += wi * x[i] * codes[i];
    }
    const double det = sw * sqq - sq * sq;
    if (det <= 0) continue;
    double a = (sw * sxq - sq * sx) / det;
    double b = (sqq * sx - sq * sxq) / det;
    if (nonneg_min && b > 0) {  // the min must be <= 0
      b = 0;
      a = sxq / sqq;
    }
    if (a <= 0) continue;
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const double e = x[i] - (a * codes[i] + b);
      err += Wt(w, i) * e * e;
    }
    if (best_err < 0 || err < best_err) {
      best_err = err;
      best_a = static_cast<float>(a);
      best_b = static_cast<float>(b);
    }
  }
  *scale = best_a;
  *mn = -best_b;
}

void QuantQ8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK0) {
    const float d = AbsMax(x, kQK0) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    for (int j = 0; j < kQK0; ++j) b[i].qs[j] = static_cast<int8_t>(std::clamp(NearestInt(x[j] * id), -127, 127));
  }
}

void QuantQ8K(const float* x, BlockQ8K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    const float d = AbsMax(x, kQK) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = d;
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(std::clamp(NearestInt(x[j] * id), -127, 127));
    for (int j = 0; j < kQK / 16; ++j) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
      b[i].bsums[j] = static_cast<int16_t>(s);
    }
  }
}

void QuantQ4_0(const float* x, BlockQ4_0* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK0, w = w ? w + kQK0 : nullptr) {
    int q[kQK0];
    b[i].d = F32ToF16(FitSymmetric(x, kQK0, 8, q, w));
    for (int j = 0; j < 16; ++j) b[i].qs[j] = static_cast<uint8_t>((q[j] + 8) | (q[j + 16] + 8) << 4);
  }
}

void QuantQ5_0(const float* x, BlockQ5_0* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK0, w = w ? w + kQK0 : nullptr) {
    int q[kQK0];
    b[i].d = F32ToF16(FitSymmetric(x, kQK0, 16, q, w));
    uint32_t qh = 0;
    for (int j = 0; j < kQK0; ++j) qh |= static_cast<uint32_t>(((q[j] + 16) >> 4) & 1) << j;
    std::memcpy(b[i].qh, &qh, 4);
    for (int j = 0; j < 16; ++j)
      b[i].qs[j] = static_cast<uint8_t>(((q[j] + 16) & 15) | ((q[j + 16] + 16) & 15) << 4);
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): fills d, dmin, scales and the
// codes q[256] in [0, nmax] in element order.
template <typename Block>
void QuantScalesK45(const float* x, int nmax, Block* b, int* q, const float* w) {
  float scale[8], mn[8];
  for (int s = 0; s < 8; ++s) FitAsymmetric(x + 32 * s, 32, nmax, &scale[s], &mn[s], true, w ? w + 32 * s : nullptr);
  const float max_scale = *std::max_element(scale, scale + 8);
  const float max_min = *std::max_element(mn, mn + 8);
  b->d = F32ToF16(max_scale / 63.0f);
  b->dmin = F32ToF16(max_min / 63.0f);
  const float d = F16ToF32(b->d), dmin = F16ToF32(b->dmin);
  uint8_t sc[8], m[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = static_cast<uint8_t>(d > 0 ? std::clamp(NearestInt(scale[s] / d), 0, 63) : 0);
    m[s] = static_cast<uint8_t>(dmin > 0 ? std::clamp(NearestInt(mn[s] / dmin), 0, 63) : 0);
  }
  PackScalesMinsK4(sc, m, b->scales);
  // Codes against the scales as stored, not the unrounded fits.
  for (int s = 0; s < 8; ++s) {
    const float ds = d * static_cast<float>(sc[s]);
    const float dm = dmin * static_cast<float>(m[s]);
    for (int l = 0; l < 32; ++l) {
      const int e = 32 * s + l;
      q[e] = ds > 0 ? std::clamp(NearestInt((x[e] + dm) / ds), 0, nmax) : 0;
    }
  }
}

void QuantQ4K(const float* x, BlockQ4K* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK, w = w ? w + kQK : nullptr) {
    int q[kQK];
    QuantScalesK45(x, 15, &b[i], q, w);
    for (int g = 0; g < 4; ++g)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * g + l] = static_cast<uint8_t>(q[64 * g + l] | q[64 * g + 32 + l] << 4);
  }
}

void QuantQ5K(const float* x, BlockQ5K* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK, w = w ? w + kQK : nullptr) {
    int q[kQK];
    QuantScalesK45(x, 31, &b[i], q, w);
    std::memset(b[i].qh, 0, sizeof(b[i].qh));
    for (int g = 0; g < 4; ++g) {
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * g + l], hi = q[64 * g + 32 + l];
        b[i].qs[32 * g + l] = static_cast<uint8_t>((lo & 15) | (hi & 15) << 4);
        b[i].qh[l] |= static_cast<uint8_t>((lo >> 4) << (2 * g) | (hi >> 4) << (2 * g + 1));
      }
    }
  }
}

void QuantQ6K(const float* x, BlockQ6K* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK, w = w ? w + kQK : nullptr) {
    float scale[16];
    int q[kQK];
    float amax = 0.0f;
    for (int s = 0; s < 16; ++s) {
      scale[s] = FitSymmetric(x + 16 * s, 16, 32, q + 16 * s, w ? w + 16 * s : nullptr);
      amax = std::max(amax, std::fabs(scale[s]));
    }
    b[i].d = F32ToF16(amax / 127.0f);
    const float d = F16ToF32(b[i].d);
    for (int s = 0; s < 16; ++s) {
      const int sc = d > 0 ? std::clamp(NearestInt(scale[s] / d), -127, 127) : 0;
      b[i].scales[s] = static_cast<int8_t>(sc);
      const float ds = d * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        const int e = 16 * s + l;
        q[e] = (ds != 0.0f ? std::clamp(NearestInt(x[e] / ds), -32, 31) : 0) + 32;
      }
    }
    for (int h = 0; h < 2; ++h) {
      const int* e = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        b[i].ql[64 * h + l] = static_cast<uint8_t>((e[l] & 15) | (e[l + 64] & 15) << 4);
        b[i].ql[64 * h + l + 32] = static_cast<uint8_t>((e[l + 32] & 15) | (e[l + 96] & 15) << 4);
        b[i].qh[32 * h + l] = static_cast<uint8_t>((e[l] >> 4) | (e[l + 32] >> 4) << 2 |
                                                   (e[l + 64] >> 4) << 4 | (e[l + 96] >> 4) << 6);
      }
    }
  }
}

void QuantQ4_1(const float* x, BlockQ4_1* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK0, w = w ? w + kQK0 : nullptr) {
    float scale, mn;
    FitAsymmetric(x, kQK0, 15, &scale, &mn, false, w);
    b[i].d = F32ToF16(scale);
    b[i].m = F32ToF16(-mn);
    const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
    int q[kQK0];
    for (int j = 0; j < kQK0; ++j) q[j] = d > 0 ? std::clamp(NearestInt((x[j] - m) / d), 0, 15) : 0;
    for (int j = 0; j < 16; ++j) b[i].qs[j] = static_cast<uint8_t>(q[j] | q[j + 16] << 4);
  }
}

void QuantQ5_1(const float* x, BlockQ5_1* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK0, w = w ? w + kQK0 : nullptr) {
    float scale, mn;
    FitAsymmetric(x, kQK0, 31, &scale, &mn, false, w);
    b[i].d = F32ToF16(scale);
    b[i].m = F32ToF16(-mn);
    const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
    int q[kQK0];
    uint32_t qh = 0;
    for (int j = 0; j < kQK0; ++j) {
      q[j] = d > 0 ? std::clamp(NearestInt((x[j] - m) / d), 0, 31) : 0;
      qh |= static_cast<uint32_t>(q[j] >> 4) << j;
    }
    std::memcpy(b[i].qh, &qh, 4);
    for (int j = 0; j < 16; ++j) b[i].qs[j] = static_cast<uint8_t>((q[j] & 15) | (q[j + 16] & 15) << 4);
  }
}

// Index of the codebook entry of kIq4nlValues nearest to v.
int NearestIq4(float v) {
  int best = 0;
  float best_err = std::fabs(v - static_cast<float>(kIq4nlValues[0]));
  for (int k = 1; k < 16; ++k) {
    const float err = std::fabs(v - static_cast<float>(kIq4nlValues[k]));
    if (err < best_err) {
      best_err = err;
      best = k;
    }
  }
  return best;
}

// x ≈ d * kIq4nlValues[q]: candidate inverse scales around the one mapping the
// extreme value onto the codebook's end, each with a least-squares refit of d
// (weighted by x^2, so large weights are kept precise, or by the importance
// weights w when given); returns d, writes q.
float FitIq4(const float* x, int n, int* q, const float* iw = nullptr) {
  float amax = 0.0f, signed_max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      signed_max = x[i];
    }
  }
  if (amax == 0.0f) {
    std::fill(q, q + n, 0);
    return 0.0f;
  }
  float best_d = 0.0f;
  double best_score = -1.0;
  for (int t = -9; t <= 9; ++t) {
    const float id = (static_cast<float>(kIq4nlValues[0]) + 1.5f * static_cast<float>(t) / 9.0f) / signed_max;
    double sxq = 0, sqq = 0;
    for (int i = 0; i < n; ++i) {
      const double w = iw ? static_cast<double>(iw[i]) : 1e-3 * amax * amax + static_cast<double>(x[i]) * x[i];
      const double v = kIq4nlValues[NearestIq4(id * x[i])];
      sxq += w * x[i] * v;
      sqq += w * v * v;
    }
    if (sqq > 0 && sxq * sxq / sqq > best_score) {
      best_score = sxq * sxq / sqq;
      best_d = static_cast<float>(sxq / sqq);
    }
  }
  for (int i = 0; i < n; ++i) q[i] = best_d != 0.0f ? NearestIq4(x[i] / best_d) : 0;
  return best_d;
}

void QuantIq4Nl(const float* x, BlockIq4Nl* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK0, w = w ? w + kQK0 : nullptr) {
    int q[kQK0];
    b[i].d = F32ToF16(FitIq4(x, kQK0, q, w));
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK0; ++j) q[j] = d != 0.0f ? NearestIq4(x[j] / d) : 0;
    for (int j = 0; j < 16; ++j) b[i].qs[j] = static_cast<uint8_t>(q[j] | q[j + 16] << 4);
  }
}

void QuantIq4Xs(const float* x, BlockIq4Xs* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK, w = w ? w + kQK : nullptr) {
    float scale[8];
    int q[kQK];
    float max_scale = 0.0f;
    for (int s = 0; s < 8; ++s) {
      scale[s] = FitIq4(x + 32 * s, 32, q + 32 * s, w ? w + 32 * s : nullptr);
      if (std::fabs(scale[s]) > std::fabs(max_scale)) max_scale = scale[s];
    }
    // Sub-block scales are d * (ls - 32) with ls in 0..63: the largest maps to -32.
    b[i].d = F32ToF16(-max_scale / 32.0f);
    const float d = F16ToF32(b[i].d);
    b[i].scales_h = 0;
    std::memset(b[i].scales_l, 0, sizeof(b[i].scales_l));
    for (int s = 0; s < 8; ++s) {
      const int ls = d != 0.0f ? std::clamp(NearestInt(scale[s] / d), -32, 31) + 32 : 32;
      b[i].scales_l[s / 2] = static_cast<uint8_t>(b[i].scales_l[s / 2] | (ls & 15) << (4 * (s % 2)));
      b[i].scales_h = static_cast<uint16_t>(b[i].scales_h | (ls >> 4) << (2 * s));
      const float dl = d * static_cast<float>(ls - 32);
      uint8_t* qs = b[i].qs + 16 * s;
      for (int j = 0; j < 16; ++j) {
        const int lo = dl != 0.0f ? NearestIq4(x[32 * s + j] / dl) : 8;
        const int hi = dl != 0.0f ? NearestIq4(x[32 * s + j + 16] / dl) : 8;
        qs[j] = static_cast<uint8_t>(lo | hi << 4);
      }
    }
  }
}

// Stores code q[e] (< 4) of element e in the Q2_K / Q3_K / TQ2_0 layout.
void PutCode2K(uint8_t* qs, const int* q) {
  std::memset(qs, 0, kQK / 4);
  for (int e = 0; e < kQK; ++e)
    qs[32 * (e / 128) + e % 32] = static_cast<uint8_t>(qs[32 * (e / 128) + e % 32] | (q[e] & 3) << (2 * (e % 128 / 32)));
}

void QuantQ2K(const float* x, BlockQ2K* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK, w = w ? w + kQK : nullptr) {
    float scale[16], mn[16];
    for (int k = 0; k < 16; ++k) FitAsymmetric(x + 16 * k, 16, 3, &scale[k], &mn[k], true, w ? w + 16 * k : nullptr);
    b[i].d = F32ToF16(*std::max_element(scale, scale + 16) / 15.0f);
    b[i].dmin = F32ToF16(*std::max_element(mn, mn + 16) / 15.0f);
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    int q[kQK];
    for (int k = 0; k < 16; ++k) {
      const int sc = d > 0 ? std::clamp(NearestInt(scale[k] / d), 0, 15) : 0;
      const int m = dmin > 0 ? std::clamp(NearestInt(mn[k] / dmin), 0, 15) : 0;
      b[i].scales[k] = static_cast<uint8_t>(sc | m << 4);
      const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(m);
      for (int l = 0; l < 16; ++l) q[16 * k + l] = ds > 0 ? std::clamp(NearestInt((x[16 * k + l] + dm) / ds), 0, 3) : 0;
    }
    PutCode2K(b[i].qs, q);
  }
}

void QuantQ3K(const float* x, BlockQ3K* b, int64_t nb, const float* w) {
  for (int64_t i = 0; i < nb; ++i, x += kQK, w = w ? w + kQK : nullptr) {
    float scale[16];
    int q[kQK];
    float max_scale = 0.0f;
    for (int k = 0; k < 16; ++k) {
      scale[k] = FitSymmetric(x + 16 * k, 16, 4, q + 16 * k, w ? w + 16 * k : nullptr);
      if (std::fabs(scale[k]) > std::fabs(max_scale)) max_scale = scale[k];
    }
    // Scales are d * sc with sc in -32..31: the largest maps to -32.
    b[i].d = F32ToF16(-max_scale / 32.0f);
    const float d = F16ToF32(b[i].d);
    int8_t sc[16];
    for (int k = 0; k < 16; ++k) {
      sc[k] = static_cast<int8_t>(d != 0.0f ? std::clamp(NearestInt(scale[k] / d), -32, 31) : 0);
      const float ds = d * static_cast<float>(sc[k]);
      for (int l = 0; l < 16; ++l)
        q[16 * k + l] = (ds != 0.0f ? std::clamp(NearestInt(x[16 * k + l] / ds), -4, 3) : 0) + 4;
    }
    PackScalesQ3K(sc, b[i].scales);
    PutCode2K(b[i].qs, q);
    std::memset(b[i].hmask, 0, sizeof(b[i].hmask));
    for (int e = 0; e < kQK; ++e) b[i].hmask[e % 32] = static_cast<uint8_t>(b[i].hmask[e % 32] | (q[e] >> 2) << (e / 32));
  }
}

// Ternary codes 0..2 (value - 1) of a 256-block against scale amax.
float Ternary(const float* x, int* q) {
  const float d = AbsMax(x, kQK);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int e = 0; e < kQK; ++e) q[e] = std::clamp(static_cast<int>(std::lroundf(x[e] * id)), -1, 1) + 1;
  return d;
}

void QuantTq2_0(const float* x, BlockTq2_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    int q[kQK];
    b[i].d = F32ToF16(Ternary(x, q));
    PutCode2K(b[i].qs, q);
  }
}

// n trits (first most significant) as TQ1_0's fixed-point byte.
uint8_t PackTrits(const int* t, int n, int stride) {
  int v = 0;
  for (int k = 0; k < n; ++k) v = v * 3 + t[k * stride];
  for (int k = n; k < 5; ++k) v *= 3;
  return static_cast<uint8_t>((v * 256 + 242) / 243);
}

void QuantTq1_0(const float* x, BlockTq1_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    int q[kQK];
    b[i].d = F32ToF16(Ternary(x, q));
    for (int m = 0; m < 32; ++m) b[i].qs[m] = PackTrits(q + m, 5, 32);
    for (int m = 0; m < 16; ++m) b[i].qs[32 + m] = PackTrits(q + 160 + m, 5, 16);
    for (int j = 0; j < 4; ++j) b[i].qh[j] = PackTrits(q + 240 + j, 4, 4);
  }
}

}  // namespace

bool QuantizeRow(GgmlType t, const float* src, void* dst, int64_t n, const float* importance) {
  // With an importance matrix the error of element j weighs
  // importance[j] * sqrt(sigma^2 + x_j^2), sigma^2 the row's mean square (as
  // llama.cpp's quantizers weigh it): important columns, and within them the
  // large weights, are kept precise.
  std::vector<float> weights;
  const float* w = nullptr;
  if (importance) {
    double s2 = 0;
    for (int64_t j = 0; j < n; ++j) s2 += static_cast<double>(src[j]) * src[j];
    const double sigma2 = n > 0 ? s2 / static_cast<double>(n) : 0.0;
    weights.resize(static_cast<size_t>(n));
    for (int64_t j = 0; j < n; ++j)
      weights[static_cast<size_t>(j)] =
          static_cast<float>(importance[j] * std::sqrt(sigma2 + static_cast<double>(src[j]) * src[j]));
    w = weights.data();
  }
  switch (t) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return true;
    case GgmlType::F16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = F32ToF16(src[i]);
      return true;
    }
    case GgmlType::BF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = F32ToBF16(src[i]);
      return true;
    }
    case GgmlType::Q8_0: QuantQ8_0(src, static_cast<BlockQ8_0*>(dst), n / kQK0); return true;
    case GgmlType::Q4_0: QuantQ4_0(src, static_cast<BlockQ4_0*>(dst), n / kQK0, w); return true;
    case GgmlType::Q5_0: QuantQ5_0(src, static_cast<BlockQ5_0*>(dst), n / kQK0, w); return true;
    case GgmlType::Q4_K: QuantQ4K(src, static_cast<BlockQ4K*>(dst), n / kQK, w); return true;
    case GgmlType::Q5_K: QuantQ5K(src, static_cast<BlockQ5K*>(dst), n / kQK, w); return true;
    case GgmlType::Q6_K: QuantQ6K(src, static_cast<BlockQ6K*>(dst), n / kQK, w); return true;
    case GgmlType::Q4_1: QuantQ4_1(src, static_cast<BlockQ4_1*>(dst), n / kQK0, w); return true;
    case GgmlType::Q5_1: QuantQ5_1(src, static_cast<BlockQ5_1*>(dst), n / kQK0, w); return true;
    case GgmlType::IQ4_NL: QuantIq4Nl(src, static_cast<BlockIq4Nl*>(dst), n / kQK0, w); return true;
    case GgmlType::IQ4_XS: QuantIq4Xs(src, static_cast<BlockIq4Xs*>(dst), n / kQK, w); return true;
    case GgmlType::Q2_K: QuantQ2K(src, static_cast<BlockQ2K*>(dst), n / kQK, w); return true;
    case GgmlType::Q3_K: QuantQ3K(src, static_cast<BlockQ3K*>(dst), n / kQK, w); return true;
    case GgmlType::TQ1_0: QuantTq1_0(src, static_cast<BlockTq1_0*>(dst), n / kQK); return true;
    case GgmlType::TQ2_0: QuantTq2_0(src, static_cast<BlockTq2_0*>(dst), n / kQK); return true;
    case GgmlType::Q8_K: QuantQ8K(src, static_cast<BlockQ8K*>(dst), n / kQK); return true;
    default: return false;
  }
}

}  // namespace r1::kernels::ref
