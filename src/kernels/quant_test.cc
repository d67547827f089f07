// Tests of the block formats against their specification (ggml-common.h /
// ggml's dequantize_row_*): hand-built blocks decoded element by element,
// fp16/bf16 rounding, quantizer quality, and the reference dot products
// against a float64 dot of the dequantized rows.
#include "kernels/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "kernels/blocks.h"

namespace r1::kernels {
namespace {

constexpr uint16_t kHalfOne = 0x3c00;   // 1.0
constexpr uint16_t kHalfHalf = 0x3800;  // 0.5

float FromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

template <typename Block>
std::vector<float> Decode(GgmlType t, const Block& b, int n) {
  std::vector<float> y(n);
  Dequantize(t, &b, y.data(), n);
  return y;
}

TEST(QuantTest, F16Conversions) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xc000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7bff);
  EXPECT_EQ(F32ToF16(65519.0f), 0x7bff);  // below the midpoint to 65536
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);  // ties to even: infinity
  EXPECT_EQ(F32ToF16(1.0f + 0x1p-11f), 0x3c00);      // tie -> even
  EXPECT_EQ(F32ToF16(1.0f + 3 * 0x1p-11f), 0x3c02);  // tie -> even (up)
  EXPECT_EQ(F32ToF16(0x1p-24f), 0x0001);             // smallest subnormal
  EXPECT_EQ(F32ToF16(0x1p-25f), 0x0000);             // tie -> even zero
  EXPECT_EQ(F32ToF16(3 * 0x1p-25f), 0x0002);         // 1.5 units -> 2
  EXPECT_EQ(F32ToF16(0x1p-14f - 0x1p-25f), 0x0400);  // rounds up into the normals
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(INFINITY), 0x7c00);
  EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(NAN))));
  EXPECT_EQ(F16ToF32(0x3555), 0x1.554p-2f);
  EXPECT_EQ(F16ToF32(0x0001), 0x1p-24f);
  EXPECT_EQ(F16ToF32(0xfbff), -65504.0f);
  // Every non-NaN half survives the round trip.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;
    ASSERT_EQ(F32ToF16(F16ToF32(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(QuantTest, BF16Conversions) {
  EXPECT_EQ(F32ToBF16(1.0f), 0x3f80);
  EXPECT_EQ(F32ToBF16(FromBits(0x3f808000)), 0x3f80);  // tie -> even (down)
  EXPECT_EQ(F32ToBF16(FromBits(0x3f818000)), 0x3f82);  // tie -> even (up)
  EXPECT_EQ(F32ToBF16(FromBits(0x3f808001)), 0x3f81);
  EXPECT_EQ(F32ToBF16(FromBits(0x7f7fffff)), 0x7f80);  // overflow -> inf
  EXPECT_EQ(F32ToBF16(-INFINITY), 0xff80);
  // A NaN whose payload lives only in the low bits must stay a NaN.
  const uint16_t nan = F32ToBF16(FromBits(0x7f800001));
  EXPECT_TRUE(std::isnan(BF16ToF32(nan))) << std::hex << nan;
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(FromBits(0xff800001)))));
  EXPECT_EQ(BF16ToF32(0xc040), -3.0f);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) continue;
    ASSERT_EQ(F32ToBF16(BF16ToF32(static_cast<uint16_t>(h))), h) << h;
  }
}

TEST(QuantTest, TypeTables) {
  for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                     GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::Q4_1,
                     GgmlType::Q5_1, GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::Q2_K, GgmlType::Q3_K,
                     GgmlType::TQ1_0, GgmlType::TQ2_0})
    EXPECT_TRUE(IsSupported(t) && CanQuantize(t)) << GgmlTypeName(t);
  EXPECT_FALSE(IsSupported(GgmlType::Q8_K));  // activations only
  // The codebook types: computed with, never made; dotted against Q8_K.
  for (GgmlType t : {GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS,
                     GgmlType::IQ3_S, GgmlType::IQ1_S, GgmlType::IQ1_M}) {
    EXPECT_TRUE(IsSupported(t)) << GgmlTypeName(t);
    EXPECT_FALSE(CanQuantize(t)) << GgmlTypeName(t);
    EXPECT_EQ(VecDotType(t), GgmlType::Q8_K) << GgmlTypeName(t);
    EXPECT_EQ(GgmlTypeInfo(RowFallbackType(t)).block_size, 32) << GgmlTypeName(t);
  }
  for (auto [t, size] : {std::pair{GgmlType::Q4_1, sizeof(BlockQ4_1)}, {GgmlType::Q5_1, sizeof(BlockQ5_1)},
                         {GgmlType::IQ4_NL, sizeof(BlockIq4Nl)}, {GgmlType::IQ4_XS, sizeof(BlockIq4Xs)},
                         {GgmlType::Q2_K, sizeof(BlockQ2K)}, {GgmlType::Q3_K, sizeof(BlockQ3K)},
                         {GgmlType::TQ1_0, sizeof(BlockTq1_0)}, {GgmlType::TQ2_0, sizeof(BlockTq2_0)},
                         {GgmlType::IQ2_XXS, sizeof(BlockIq2Xxs)}, {GgmlType::IQ2_XS, sizeof(BlockIq2Xs)},
                         {GgmlType::IQ2_S, sizeof(BlockIq2S)}, {GgmlType::IQ3_XXS, sizeof(BlockIq3Xxs)},
                         {GgmlType::IQ3_S, sizeof(BlockIq3S)}, {GgmlType::IQ1_S, sizeof(BlockIq1S)},
                         {GgmlType::IQ1_M, sizeof(BlockIq1M)}})
    EXPECT_EQ(GgmlTypeInfo(t).type_size, size) << GgmlTypeName(t);
  EXPECT_EQ(VecDotType(GgmlType::F16), GgmlType::F32);
  EXPECT_EQ(VecDotType(GgmlType::BF16), GgmlType::BF16);
  EXPECT_EQ(VecDotType(GgmlType::Q5_0), GgmlType::Q8_0);
  EXPECT_EQ(VecDotType(GgmlType::Q6_K), GgmlType::Q8_K);
  // Block sizes agree with the GGUF type table.
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q8_0).type_size, sizeof(BlockQ8_0));
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q4_0).type_size, sizeof(BlockQ4_0));
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q5_0).type_size, sizeof(BlockQ5_0));
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q4_K).type_size, sizeof(BlockQ4K));
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q5_K).type_size, sizeof(BlockQ5K));
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q6_K).type_size, sizeof(BlockQ6K));
  EXPECT_EQ(GgmlTypeInfo(GgmlType::Q8_K).type_size, sizeof(BlockQ8K));
}

TEST(QuantTest, DecodeQ8_0) {
  BlockQ8_0 b{};
  b.d = kHalfHalf;
  for (int i = 0; i < 32; ++i) b.qs[i] = static_cast<int8_t>(i - 16);
  auto y = Decode(GgmlType::Q8_0, b, 32);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[17], 0.5f);
  EXPECT_EQ(y[31], 7.5f);
}

TEST(QuantTest, DecodeQ4_0) {
  // Low nibbles are elements 0..15, high nibbles 16..31 (not interleaved).
  BlockQ4_0 b{};
  b.d = kHalfOne;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | (15 - j) << 4);
  auto y = Decode(GgmlType::Q4_0, b, 32);
  EXPECT_EQ(y[0], -8.0f);
  EXPECT_EQ(y[1], -7.0f);
  EXPECT_EQ(y[3], -5.0f);
  EXPECT_EQ(y[15], 7.0f);
  EXPECT_EQ(y[16], 7.0f);
  EXPECT_EQ(y[17], 6.0f);
  EXPECT_EQ(y[31], -8.0f);
}

TEST(QuantTest, DecodeQ5_0) {
  // qh bit i is the fifth bit of element i.
  BlockQ5_0 b{};
  b.d = kHalfHalf;
  const uint32_t qh = 0x80000001u | 1u << 17;
  std::memcpy(b.qh, &qh, 4);
  b.qs[15] = 0xf0;  // element 31 low bits 15, element 15 low bits 0
  b.qs[1] = 0x53;   // element 1 low 3, element 17 low 5
  auto y = Decode(GgmlType::Q5_0, b, 32);
  EXPECT_EQ(y[0], 0.0f);            // 16 - 16
  EXPECT_EQ(y[1], 0.5f * (3 - 16));
  EXPECT_EQ(y[2], -8.0f);           // 0 - 16
  EXPECT_EQ(y[15], -8.0f);
  EXPECT_EQ(y[16], -8.0f);
  EXPECT_EQ(y[17], 0.5f * (5 + 16 - 16));
  EXPECT_EQ(y[31], 0.5f * (31 - 16));
}

// Scales/mins packed by hand from get_scale_min_k4's definition:
// sub-blocks 0..7: sc = {1,2,3,4,5,6,7,63}, m = {0,1,2,3,4,5,6,60}.
void HandScalesK4(uint8_t* q) {
  const uint8_t bytes[12] = {1, 2, 3, 4 | 3 << 6, 0, 1, 2, 3 | 3 << 6, 0x45, 0x56, 0x67, 0xcf};
  std::memcpy(q, bytes, 12);
}
constexpr int kHandSc[8] = {1, 2, 3, 4, 5, 6, 7, 63};
constexpr int kHandMn[8] = {0, 1, 2, 3, 4, 5, 6, 60};

TEST(QuantTest, DecodeQ4_K) {
  BlockQ4K b{};
  b.d = kHalfOne;
  b.dmin = kHalfHalf;
  HandScalesK4(b.scales);
  for (int g = 0; g < 4; ++g)
    for (int l = 0; l < 32; ++l) b.qs[32 * g + l] = static_cast<uint8_t>((l % 16) | ((l + g) % 16) << 4);
  auto y = Decode(GgmlType::Q4_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 64, l = e % 32, s = e / 32;
    const int q = (e % 64) < 32 ? l % 16 : (l + g) % 16;
    ASSERT_EQ(y[e], static_cast<float>(kHandSc[s] * q) - 0.5f * static_cast<float>(kHandMn[s])) << e;
  }
  EXPECT_EQ(y[255], 63.0f * 2 - 30.0f);  // last sub-block: scale 63, min 60, code (31+3)%16
  EXPECT_EQ(y[40], 2.0f * 8 - 0.5f);
}

TEST(QuantTest, DecodeQ5_K) {
  BlockQ5K b{};
  b.d = kHalfOne;
  b.dmin = kHalfOne;
  HandScalesK4(b.scales);
  for (int l = 0; l < 128; ++l) b.qs[l] = static_cast<uint8_t>((l * 7) & 0xff);
  for (int l = 0; l < 32; ++l) b.qh[l] = static_cast<uint8_t>((l * 37 + 11) & 0xff);
  auto y = Decode(GgmlType::Q5_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int g = e / 64, l = e % 32, s = e / 32;
    const int byte = b.qs[32 * g + l];
    const int low = (e % 64) < 32 ? byte & 15 : byte >> 4;
    const int q = low + ((b.qh[l] >> s) & 1) * 16;
    ASSERT_EQ(y[e], static_cast<float>(kHandSc[s] * q - kHandMn[s])) << e;
  }
  // Element 33: qs[1] = 7 -> high nibble 0; qh[1] = 48 -> bit 1 clear.
  EXPECT_EQ(y[33], 2.0f * 0 - 1.0f);
  // Element 226 (g 3, upper half, l 2): qs[98] = 686 & 255 = 174 -> 10; qh[2] = 85 -> bit 7 clear.
  EXPECT_EQ(y[226], 63.0f * 10 - 60.0f);
}

TEST(QuantTest, DecodeQ6_K) {
  BlockQ6K b{};
  b.d = kHalfHalf;
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s - 8);
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>((i * 29 + 3) & 0xff);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>((i * 13 + 5) & 0xff);
  auto y = Decode(GgmlType::Q6_K, b, 256);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = e % 128, k = r / 32, l = r % 32;
    const int ql = b.ql[64 * h + l + 32 * (k & 1)];
    const int low = k >= 2 ? ql >> 4 : ql & 15;
    const int high = (b.qh[32 * h + l] >> (2 * k)) & 3;
    const int q = (low | high << 4) - 32;
    ASSERT_EQ(y[e], 0.5f * static_cast<float>(b.scales[e / 16]) * static_cast<float>(q)) << e;
  }
  // Element 0: ql[0] = 3, qh[0] = 5 -> bits 01 -> q = 3 + 16 - 32; scale -8.
  EXPECT_EQ(y[0], 0.5f * -8 * (19 - 32));
  // Element 200 (half 1, k 2, l 8): ql[72] = 2091 & 255 = 43 -> high 2;
  // qh[40] = 525 & 255 = 13 -> bits 4..5 = 0; scale index 12 -> 4.
  EXPECT_EQ(y[200], 0.5f * 4 * (2 - 32));
}

TEST(QuantTest, DecodeQ8_KAndFloats) {
  BlockQ8K b{};
  b.d = 0.25f;
  for (int i = 0; i < 256; ++i) b.qs[i] = static_cast<int8_t>(i - 128);
  auto y = Decode(GgmlType::Q8_K, b, 256);
  EXPECT_EQ(y[0], -32.0f);
  EXPECT_EQ(y[255], 31.75f);
  const uint16_t h[3] = {kHalfOne, 0xc000, 0x3f80};
  float out[3];
  Dequantize(GgmlType::F16, h, out, 2);
  EXPECT_EQ(out[1], -2.0f);
  Dequantize(GgmlType::BF16, h + 2, out, 1);
  EXPECT_EQ(out[0], 1.0f);
}

TEST(QuantTest, PackScalesRoundTrip) {
  uint8_t hand[12];
  HandScalesK4(hand);
  uint8_t sc[8], mn[8], packed[12];
  UnpackScalesMinsK4(hand, sc, mn);
  for (int s = 0; s < 8; ++s) {
    EXPECT_EQ(sc[s], kHandSc[s]);
    EXPECT_EQ(mn[s], kHandMn[s]);
  }
  PackScalesMinsK4(sc, mn, packed);
  EXPECT_EQ(std::memcmp(packed, hand, 12), 0);
}

std::vector<float> Gaussian(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<float> RoundTrip(GgmlType t, const std::vector<float>& x) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<uint8_t> q(GgmlRowSize(t, n));
  Quantize(t, x.data(), q.data(), n);
  std::vector<float> y(n);
  Dequantize(t, q.data(), y.data(), n);
  return y;
}

double Rmse(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s / static_cast<double>(a.size()));
}

// RMSE of quantize -> dequantize on N(0, 1) data, as a fraction of sigma.
// Measured: F16 2.1e-4, BF16 1.6e-3, Q8_0 .0053, Q8_K .0068, Q4_0 .080,
// Q5_0 .039, Q4_K .070, Q5_K .035, Q6_K .017, Q4_1 .069, Q5_1 .033,
// IQ4_NL .075, IQ4_XS .076, Q2_K .267, Q3_K .142; bounds are ~15% above. (For
// comparison, a plain max-abs Q4_0 quantizer gives ~.10.)
TEST(QuantTest, RoundTripRmse) {
  const struct { GgmlType t; double bound; } cases[] = {
      {GgmlType::F16, 2.5e-4},  {GgmlType::BF16, 1.9e-3}, {GgmlType::Q8_0, 0.0062},
      {GgmlType::Q8_K, 0.0080}, {GgmlType::Q4_0, 0.092},  {GgmlType::Q5_0, 0.046},
      {GgmlType::Q4_K, 0.081},  {GgmlType::Q5_K, 0.041},  {GgmlType::Q6_K, 0.020},
      {GgmlType::Q4_1, 0.080},  {GgmlType::Q5_1, 0.039},  {GgmlType::IQ4_NL, 0.087},
      {GgmlType::IQ4_XS, 0.088}, {GgmlType::Q2_K, 0.31},  {GgmlType::Q3_K, 0.165},
  };
  const auto x = Gaussian(256 * 64, 7);
  for (const auto& c : cases) {
    const double rmse = Rmse(x, RoundTrip(c.t, x));
    EXPECT_LT(rmse, c.bound) << GgmlTypeName(c.t);
    RecordProperty(GgmlTypeName(c.t) + "_rmse", std::to_string(rmse));
  }
  EXPECT_EQ(Rmse(x, RoundTrip(GgmlType::F32, x)), 0.0);
}

// Zero, constant and heavily skewed blocks must not produce NaNs and must
// represent the all-zero block exactly.
TEST(QuantTest, DegenerateBlocks) {
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K,
                     GgmlType::Q6_K, GgmlType::Q8_K, GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::IQ4_NL,
                     GgmlType::IQ4_XS, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::TQ1_0, GgmlType::TQ2_0}) {
    std::vector<float> zero(512, 0.0f);
    for (float v : RoundTrip(t, zero)) ASSERT_EQ(v, 0.0f) << GgmlTypeName(t);
    std::vector<float> skew(512, 3.0f);
    skew[5] = -1000.0f;
    for (float v : RoundTrip(t, skew)) ASSERT_TRUE(std::isfinite(v)) << GgmlTypeName(t);
    std::vector<float> pos(512);
    for (size_t i = 0; i < pos.size(); ++i) pos[i] = 1.0f + 0.25f * static_cast<float>(i % 32);
    if (t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0) continue;  // ternary: {-d, 0, d} only
    // Q2_K's 4 levels must span [0, max] (its min is subtracted, never added),
    // Q3_K's 8 are symmetric around 0: a ramp of 1..8.75 costs them more.
    const bool low = t == GgmlType::Q2_K || t == GgmlType::Q3_K;
    EXPECT_LT(Rmse(pos, RoundTrip(t, pos)), low ? 0.7 : 0.4) << GgmlTypeName(t);
  }
}

// RefVecDot against a float64 dot of the dequantized rows. The only error is
// float rounding of the per-block scale products and the block-order float
// accumulation, so |ref - exact| <= 1e-5 * sum_i |w_i x_i| (2e-5 for the
// float types whose sum runs element by element).
TEST(QuantTest, RefVecDotMatchesDequantizedDot) {
  const GgmlType types[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                            GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                            GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                            GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::IQ4_NL,
                            GgmlType::IQ4_XS, GgmlType::Q2_K, GgmlType::Q3_K,
                            GgmlType::TQ1_0, GgmlType::TQ2_0};
  for (GgmlType t : types) {
    const int64_t block = GgmlTypeInfo(t).block_size;
    const bool k_quant = block == 256;
    const std::vector<int64_t> lengths = k_quant ? std::vector<int64_t>{256, 256 * 3, 256 * 9}
                                        : block == 32 ? std::vector<int64_t>{32, 32 * 7, 32 * 61}
                                                      : std::vector<int64_t>{1, 7, 33, 1000};
    for (int64_t n : lengths) {
      const GgmlType at = VecDotType(t);
      const auto wf = Gaussian(n, static_cast<uint32_t>(n) * 3 + 1);
      const auto xf = Gaussian(n, static_cast<uint32_t>(n) * 5 + 2, 2.0f);
      std::vector<uint8_t> wq(GgmlRowSize(t, n)), xq(GgmlRowSize(at, n));
      Quantize(t, wf.data(), wq.data(), n);
      Quantize(at, xf.data(), xq.data(), n);
      std::vector<float> wd(n), xd(n);
      Dequantize(t, wq.data(), wd.data(), n);
      Dequantize(at, xq.data(), xd.data(), n);
      double exact = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        exact += double(wd[i]) * xd[i];
        mag += std::fabs(double(wd[i]) * xd[i]);
      }
      const double tol = (block == 1 ? 2e-5 : 1e-5) * mag;
      const float got = RefVecDot(t)(n, wq.data(), xq.data());
      EXPECT_NEAR(got, exact, tol) << GgmlTypeName(t) << " n=" << n;
    }
  }
}


// FP8 e4m3 (F8_E4M3_B64, DeepSeek's checkpoints in memory): every code
// decodes to the value the OCP FP8 format defines (sign, 4-bit exponent with
// bias 7, 3-bit mantissa, subnormals at 2^-9 steps), the fp16 bit move is
// exactly 2^-8 of it, and the reference dot equals the float64 dot of the
// dequantized rows to rounding.
TEST(QuantTest, Fp8E4M3DecodesExactlyAndDots) {
  for (int c = 0; c < 256; ++c) {
    const uint8_t b = static_cast<uint8_t>(c);
    const int e = (b >> 3) & 15, m = b & 7;
    if (e == 15 && m == 7) continue;  // NaN codes: not in checkpoints
    const double mag = e == 0 ? std::ldexp(m / 8.0, -6) : std::ldexp(1.0 + m / 8.0, e - 7);
    const double want = (b & 0x80) ? -mag : mag;
    EXPECT_EQ(double(F8E4M3ToF32(b)), want) << "code " << c;
    EXPECT_EQ(double(F8E4M3AsF16Scaled(b)), want / 256.0) << "code " << c;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> scale(1e-4f, 1e-2f);
  for (int64_t n : {64, 128, 64 * 7, 7168}) {
    std::vector<BlockF8> w(n / kQKF8);
    for (auto& b : w) {
      b.d = scale(rng);
      for (auto& q : b.qs) {
        do q = static_cast<uint8_t>(rng()); while ((q & 0x7f) == 0x7f);
      }
    }
    const auto x = Gaussian(n, static_cast<uint32_t>(n), 2.0f);
    std::vector<float> wd(n);
    Dequantize(GgmlType::F8_E4M3_B64, w.data(), wd.data(), n);
    double exact = 0, mag = 0;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(wd[i], F8E4M3ToF32(w[i / kQKF8].qs[i % kQKF8]) * w[i / kQKF8].d);
      exact += double(wd[i]) * x[i];
      mag += std::fabs(double(wd[i]) * x[i]);
    }
    EXPECT_NEAR(RefVecDot(GgmlType::F8_E4M3_B64)(n, w.data(), x.data()), exact, 1e-5 * mag) << "n=" << n;
    EXPECT_FALSE(CanQuantize(GgmlType::F8_E4M3_B64)) << "made from checkpoints only";
  }
}

}  // namespace
}  // namespace r1::kernels
