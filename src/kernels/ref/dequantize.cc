// Scalar dequantizers. These define the element order of every format
// (blocks.h documents it); the test decodes hand-built blocks against it.
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/iq_tables.h"
#include "kernels/quant.h"
#include "kernels/ref/ref_kernels.h"

namespace r1::kernels::ref {
namespace {

void DequantQ8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK0) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK0; ++j) y[j] = d * static_cast<float>(b[i].qs[j]);
  }
}

void DequantQ4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK0) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK0 / 2; ++j) {
      y[j] = d * static_cast<float>((b[i].qs[j] & 15) - 8);
      y[j + 16] = d * static_cast<float>((b[i].qs[j] >> 4) - 8);
    }
  }
}

void DequantQ5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK0) {
    const float d = F16ToF32(b[i].d);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < kQK0 / 2; ++j) {
      const int lo = (b[i].qs[j] & 15) | static_cast<int>((qh >> j) & 1) << 4;
      const int hi = (b[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1) << 4;
      y[j] = d * static_cast<float>(lo - 16);
      y[j + 16] = d * static_cast<float>(hi - 16);
    }
  }
}

// Q4_K and Q5_K share everything but the fifth bit.
template <bool kFive, typename Block>
void DequantQ45K(const Block* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    const float dmin = F16ToF32(b[i].dmin);
    uint8_t sc[8], mn[8];
    UnpackScalesMinsK4(b[i].scales, sc, mn);
    for (int g = 0; g < 4; ++g) {
      const uint8_t* q = b[i].qs + 32 * g;
      for (int half = 0; half < 2; ++half, y += 32) {
        const int s = 2 * g + half;
        const float ds = d * static_cast<float>(sc[s]);
        const float ms = dmin * static_cast<float>(mn[s]);
        for (int l = 0; l < 32; ++l) {
          int v = half ? q[l] >> 4 : q[l] & 15;
          if constexpr (kFive) {
            v |= ((b[i].qh[l] >> s) & 1) << 4;
          }
          y[l] = ds * static_cast<float>(v) - ms;
        }
      }
    }
  }
}

void DequantQ6K(const BlockQ6K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    for (int h = 0; h < 2; ++h, y += 128) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int q[4] = {
            (ql[l] & 15) | ((qh[l] >> 0) & 3) << 4,
            (ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4,
            (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4,
            (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4,
        };
        for (int k = 0; k < 4; ++k) {
          const int e = l + 32 * k;
          y[e] = d * static_cast<float>(sc[e / 16]) * static_cast<float>(q[k] - 32);
        }
      }
    }
  }
}

void DequantQ4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK0) {
    const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
    for (int j = 0; j < kQK0 / 2; ++j) {
      y[j] = d * static_cast<float>(b[i].qs[j] & 15) + m;
      y[j + 16] = d * static_cast<float>(b[i].qs[j] >> 4) + m;
    }
  }
}

void DequantQ5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK0) {
    const float d = F16ToF32(b[i].d), m = F16ToF32(b[i].m);
    uint32_t qh;
    std::memcpy(&qh, b[i].qh, 4);
    for (int j = 0; j < kQK0 / 2; ++j) {
      const int lo = (b[i].qs[j] & 15) | static_cast<int>((qh >> j) & 1) << 4;
      const int hi = (b[i].qs[j] >> 4) | static_cast<int>((qh >> (j + 16)) & 1) << 4;
      y[j] = d * static_cast<float>(lo) + m;
      y[j + 16] = d * static_cast<float>(hi) + m;
    }
  }
}

void DequantIq4Nl(const BlockIq4Nl* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK0) {
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < kQK0 / 2; ++j) {
      y[j] = d * static_cast<float>(kIq4nlValues[b[i].qs[j] & 15]);
      y[j + 16] = d * static_cast<float>(kIq4nlValues[b[i].qs[j] >> 4]);
    }
  }
}

void DequantIq4Xs(const BlockIq4Xs* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = F16ToF32(b[i].d);
    for (int s = 0; s < 8; ++s, y += 32) {
      const float dl = d * static_cast<float>(ScaleIq4Xs(b[i], s) - 32);
      const uint8_t* q = b[i].qs + 16 * s;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * static_cast<float>(kIq4nlValues[q[j] & 15]);
        y[j + 16] = dl * static_cast<float>(kIq4nlValues[q[j] >> 4]);
      }
    }
  }
}

void DequantQ2K(const BlockQ2K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    for (int e = 0; e < kQK; ++e) {
      const uint8_t sc = b[i].scales[e / 16];
      y[e] = d * static_cast<float>(sc & 15) * static_cast<float>(Code2K(b[i].qs, e)) -
             dmin * static_cast<float>(sc >> 4);
    }
  }
}

void DequantQ3K(const BlockQ3K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d);
    int8_t sc[16];
    UnpackScalesQ3K(b[i].scales, sc);
    for (int e = 0; e < kQK; ++e) {
      const int u = Code3K(b[i], e);
      y[e] = d * static_cast<float>(sc[e / 16]) * static_cast<float>(u - 4);
    }
  }
}

void DequantTq2_0(const BlockTq2_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d);
    for (int e = 0; e < kQK; ++e) y[e] = static_cast<float>(Code2K(b[i].qs, e) - 1) * d;
  }
}

void DequantTq1_0(const BlockTq1_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = F16ToF32(b[i].d);
    for (int e = 0; e < kQK; ++e) y[e] = static_cast<float>(TritTq1Element(b[i], e) - 1) * d;
  }
}

void DequantQ8K(const BlockQ8K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK)
    for (int j = 0; j < kQK; ++j) y[j] = b[i].d * static_cast<float>(b[i].qs[j]);
}

}  // namespace

bool DequantizeRow(GgmlType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return true;
    case GgmlType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = F16ToF32(h[i]);
      return true;
    }
    case GgmlType::F8_E4M3_B64: {
      const auto* b = static_cast<const BlockF8*>(src);
      for (int64_t i = 0; i < n / kQKF8; ++i)
        for (int j = 0; j < kQKF8; ++j) dst[i * kQKF8 + j] = F8E4M3ToF32(b[i].qs[j]) * b[i].d;
      return true;
    }
    case GgmlType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = BF16ToF32(h[i]);
      return true;
    }
    case GgmlType::Q8_0: DequantQ8_0(static_cast<const BlockQ8_0*>(src), dst, n / kQK0); return true;
    case GgmlType::Q4_0: DequantQ4_0(static_cast<const BlockQ4_0*>(src), dst, n / kQK0); return true;
    case GgmlType::Q5_0: DequantQ5_0(static_cast<const BlockQ5_0*>(src), dst, n / kQK0); return true;
    case GgmlType::Q4_K:
      DequantQ45K<false>(static_cast<const BlockQ4K*>(src), dst, n / kQK);
      return true;
    case GgmlType::Q5_K:
      DequantQ45K<true>(static_cast<const BlockQ5K*>(src), dst, n / kQK);
      return true;
    case GgmlType::Q6_K: DequantQ6K(static_cast<const BlockQ6K*>(src), dst, n / kQK); return true;
    case GgmlType::Q4_1: DequantQ4_1(static_cast<const BlockQ4_1*>(src), dst, n / kQK0); return true;
    case GgmlType::Q5_1: DequantQ5_1(static_cast<const BlockQ5_1*>(src), dst, n / kQK0); return true;
    case GgmlType::IQ4_NL: DequantIq4Nl(static_cast<const BlockIq4Nl*>(src), dst, n / kQK0); return true;
    case GgmlType::IQ4_XS: DequantIq4Xs(static_cast<const BlockIq4Xs*>(src), dst, n / kQK); return true;
    case GgmlType::Q2_K: DequantQ2K(static_cast<const BlockQ2K*>(src), dst, n / kQK); return true;
    case GgmlType::Q3_K: DequantQ3K(static_cast<const BlockQ3K*>(src), dst, n / kQK); return true;
    case GgmlType::TQ1_0: DequantTq1_0(static_cast<const BlockTq1_0*>(src), dst, n / kQK); return true;
    case GgmlType::TQ2_0: DequantTq2_0(static_cast<const BlockTq2_0*>(src), dst, n / kQK); return true;
    case GgmlType::Q8_K: DequantQ8K(static_cast<const BlockQ8K*>(src), dst, n / kQK); return true;
    default: return DequantizeIqRow(t, src, dst, n);
  }
}

}  // namespace r1::kernels::ref
