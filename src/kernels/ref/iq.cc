// Scalar reference of the codebook formats (blocks_iq.h): dequantization and
// dot products against Q8_K.
//
// Each block is first decoded to its integer form (IqCodes): 256 int8 codes
// and one odd integer scale ls per 16 elements, so that element e is
//
//   y[e] = (d * ls[e / 16] * kScale) * code[e]
//
// with the format's power-of-two kScale (blocks_iq.h). In float this equals
// ggml's dequantize_row_iq* bit for bit: d * ls and the product with a code
// are exact (an fp16 mantissa times at most 5 + 6 more bits), and scaling by a
// power of two commutes with rounding. The dot is exact integer arithmetic per
// super-block, folded as in the other K-quants:
//
//   sum = fma(d_w * d_x * kScale, sum_h ls[h] * sum_{e in h} code[e] * x[e], sum)
//
// The AVX2 kernels (x86/vecdot_iq_avx2.cc) compute the same integers and the
// same float steps, so they match this file bit for bit.
#include <cmath>

#include "kernels/blocks.h"
#include "kernels/iq_tables.h"
#include "kernels/quant.h"
#include "kernels/ref/ref_kernels.h"

namespace r1::kernels::ref {
namespace {

struct IqCodes {
  int8_t q[kQK];
  int8_t ls[kQK / 16];
  uint16_t d;  // fp16
};

// Eight codes sign * grid from an 8-byte entry and a sign byte.
void PutSigned8(uint64_t entry, uint8_t signs, int8_t* q) {
  for (int j = 0; j < 8; ++j) {
    const int g = GridByte(entry, j);
    q[j] = static_cast<int8_t>((signs >> j) & 1 ? -g : g);
  }
}

// Eight codes from two 4-byte entries (elements 0..3, 4..7) and a sign byte.
void PutSigned4x2(uint32_t lo, uint32_t hi, uint8_t signs, int8_t* q) {
  PutSigned8(lo | static_cast<uint64_t>(hi) << 32, signs, q);
}

// Eight IQ1 codes 8 * grid + delta (grid bytes are int8 -1, 0, 1).
void PutIq1(uint64_t entry, int delta, int8_t* q) {
  for (int j = 0; j < 8; ++j) q[j] = static_cast<int8_t>(8 * static_cast<int8_t>(GridByte(entry, j)) + delta);
}

struct Iq2Xxs {
  using Block = BlockIq2Xxs;
  static constexpr float kScale = 0.125f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g) PutSigned8(Iq2xxsEntry(b, g), Iq2xxsSigns(b, g), c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq2xxsScale(b, h / 2));
    c.d = b.d;
  }
};

struct Iq2Xs {
  using Block = BlockIq2Xs;
  static constexpr float kScale = 0.125f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g) PutSigned8(Iq2xsEntry(b, g), Iq2xsSigns(b, g), c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq2HalfScale(b.scales, h));
    c.d = b.d;
  }
};

struct Iq2S {
  using Block = BlockIq2S;
  static constexpr float kScale = 0.125f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g) PutSigned8(Iq2sEntry(b, g), Iq2sSigns(b, g), c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq2HalfScale(b.scales, h));
    c.d = b.d;
  }
};

struct Iq3Xxs {
  using Block = BlockIq3Xxs;
  static constexpr float kScale = 0.25f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g)
      PutSigned4x2(Iq3xxsEntry(b, 2 * g), Iq3xxsEntry(b, 2 * g + 1), Iq3xxsSigns(b, g), c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq3xxsScale(b, h / 2));
    c.d = b.d;
  }
};

struct Iq3S {
  using Block = BlockIq3S;
  static constexpr float kScale = 1.0f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g) PutSigned4x2(Iq3sEntry(b, 2 * g), Iq3sEntry(b, 2 * g + 1), b.signs[g], c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq3sScale(b, h / 2));
    c.d = b.d;
  }
};

struct Iq1S {
  using Block = BlockIq1S;
  static constexpr float kScale = 0.125f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g) PutIq1(Iq1sEntry(b, g), Iq1sDeltaSign(b, g / 4), c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq1sScale(b, h / 2));
    c.d = b.d;
  }
};

struct Iq1M {
  using Block = BlockIq1M;
  static constexpr float kScale = 0.125f;
  static void Decode(const Block& b, IqCodes& c) {
    for (int g = 0; g < 32; ++g) PutIq1(Iq1mEntry(b, g), Iq1mDeltaSign(b, g), c.q + 8 * g);
    for (int h = 0; h < 16; ++h) c.ls[h] = static_cast<int8_t>(Iq1mScale(b, h));
    c.d = Iq1mD(b);
  }
};

template <typename F>
void DequantIq(const void* src, float* y, int64_t nb) {
  const auto* b = static_cast<const typename F::Block*>(src);
  IqCodes c;
  for (int64_t i = 0; i < nb; ++i) {
    F::Decode(b[i], c);
    const float d = F16ToF32(c.d);
    for (int h = 0; h < 16; ++h, y += 16) {
      const float dl = d * static_cast<float>(c.ls[h]) * F::kScale;
      for (int l = 0; l < 16; ++l) y[l] = dl * static_cast<float>(c.q[16 * h + l]);
    }
  }
}

template <typename F>
float DotIq(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const typename F::Block*>(w);
  const auto* b = static_cast<const BlockQ8K*>(x);
  IqCodes c;
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQK; ++i) {
    F::Decode(a[i], c);
    int isum = 0;
    for (int h = 0; h < 16; ++h) {
      int sub = 0;
      for (int l = 0; l < 16; ++l) sub += c.q[16 * h + l] * b[i].qs[16 * h + l];
      isum += c.ls[h] * sub;
    }
    sum = std::fma(F16ToF32(c.d) * b[i].d * F::kScale, static_cast<float>(isum), sum);
  }
  return sum;
}

template <VecDotFn kDot>
void Dot4(int64_t n, const void* w, size_t w_row_bytes, const void* x, float* out4) {
  for (int r = 0; r < 4; ++r) out4[r] = kDot(n, static_cast<const uint8_t*>(w) + r * w_row_bytes, x);
}

template <VecDotFn kDot>
void DotX4(int64_t n, const void* w, const void* x, size_t x_row_bytes, float* out4) {
  for (int t = 0; t < 4; ++t) out4[t] = kDot(n, w, static_cast<const uint8_t*>(x) + t * x_row_bytes);
}

template <typename F>
DotKernels Make() {
  return {DotIq<F>, Dot4<DotIq<F>>, DotX4<DotIq<F>>};
}

template <typename F>
bool Dequant(const void* src, float* dst, int64_t n) {
  DequantIq<F>(src, dst, n / kQK);
  return true;
}

}  // namespace

bool DequantizeIqRow(GgmlType t, const void* src, float* dst, int64_t n) {
  switch (t) {
    case GgmlType::IQ2_XXS: return Dequant<Iq2Xxs>(src, dst, n);
    case GgmlType::IQ2_XS: return Dequant<Iq2Xs>(src, dst, n);
    case GgmlType::IQ2_S: return Dequant<Iq2S>(src, dst, n);
    case GgmlType::IQ3_XXS: return Dequant<Iq3Xxs>(src, dst, n);
    case GgmlType::IQ3_S: return Dequant<Iq3S>(src, dst, n);
    case GgmlType::IQ1_S: return Dequant<Iq1S>(src, dst, n);
    case GgmlType::IQ1_M: return Dequant<Iq1M>(src, dst, n);
    default: return false;
  }
}

DotKernels IqKernels(GgmlType t) {
  switch (t) {
    case GgmlType::IQ2_XXS: return Make<Iq2Xxs>();
    case GgmlType::IQ2_XS: return Make<Iq2Xs>();
    case GgmlType::IQ2_S: return Make<Iq2S>();
    case GgmlType::IQ3_XXS: return Make<Iq3Xxs>();
    case GgmlType::IQ3_S: return Make<Iq3S>();
    case GgmlType::IQ1_S: return Make<Iq1S>();
    case GgmlType::IQ1_M: return Make<Iq1M>();
    default: return {};
  }
}

}  // namespace r1::kernels::ref
