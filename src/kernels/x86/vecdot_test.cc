// Every dot-kernel path available on this CPU (ref, AVX2, AVX-512) against
// RefVecDot, plus the multi-row forms against the single one.
//
// Tolerances: the K-quant kernels must equal the reference bit for bit (their
// integer parts are exact and the float steps are the reference's). Q8_0 /
// Q4_0 / Q5_0 and the float types sum in vector lanes, so they may differ from
// the reference by float rounding only: |fast - ref| <= 1e-5 * sum_i |w_i x_i|.
// The multi-row forms (dot4, dotx4) must equal `dot` of the same path bit for
// bit, and a dot must not depend on the rows' alignment or on earlier calls.
//
// Paths the CPU lacks are reported as skipped, not silently passed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/cpu.h"
#include "kernels/quant.h"

namespace r1::kernels {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                               GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                               GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                               GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::IQ4_NL,
                               GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS,
                               GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::IQ2_XXS,
                               GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS,
                               GgmlType::IQ3_S, GgmlType::IQ1_S, GgmlType::IQ1_M,
                               GgmlType::F8_E4M3_B64};

bool IsKQuant(GgmlType t) { return GgmlTypeInfo(t).block_size == kQK; }

std::vector<int64_t> Lengths(GgmlType t) {
  switch (GgmlTypeInfo(t).block_size) {
    case kQK: return {256, 512, 256 * 3, 256 * 35};
    case kQK0: return {32, 64, 32 * 7, 32 * 61, 4096};
    case kQKF8: return {64, 128, 64 * 3, 7168};
    default: return {1, 7, 8, 33, 257, 1000, 4096};
  }
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Four rows of weights and four of activations, contiguous.
struct Rows {
  GgmlType wt, xt;
  int64_t n;
  size_t w_bytes, x_bytes;  // per row
  std::vector<uint8_t> w, x;
  const uint8_t* W(int r) const { return w.data() + r * w_bytes; }
  const uint8_t* X(int t) const { return x.data() + t * x_bytes; }
};

// Overwrites the fp16 scale fields of raw random blocks with sane values so
// that arbitrary code bytes (every corner of the code range) get exercised.
void FixScales(GgmlType t, uint8_t* row, int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> scale(1e-3f, 0.05f);
  auto half = [&] { return F32ToF16(scale(rng)); };
  const int64_t nb = n / GgmlTypeInfo(t).block_size;
  for (int64_t i = 0; i < nb; ++i) {
    switch (t) {
      case GgmlType::Q8_0: reinterpret_cast<BlockQ8_0*>(row)[i].d = half(); break;
      case GgmlType::F8_E4M3_B64: reinterpret_cast<BlockF8*>(row)[i].d = scale(rng) * 1e-2f; break;
      case GgmlType::Q4_0: reinterpret_cast<BlockQ4_0*>(row)[i].d = half(); break;
      case GgmlType::Q5_0: reinterpret_cast<BlockQ5_0*>(row)[i].d = half(); break;
      case GgmlType::Q4_K:
        reinterpret_cast<BlockQ4K*>(row)[i].d = half();
        reinterpret_cast<BlockQ4K*>(row)[i].dmin = half();
        break;
      case GgmlType::Q5_K:
        reinterpret_cast<BlockQ5K*>(row)[i].d = half();
        reinterpret_cast<BlockQ5K*>(row)[i].dmin = half();
        break;
      case GgmlType::Q6_K: reinterpret_cast<BlockQ6K*>(row)[i].d = half(); break;
      case GgmlType::Q4_1:
        reinterpret_cast<BlockQ4_1*>(row)[i].d = half();
        reinterpret_cast<BlockQ4_1*>(row)[i].m = half();
        break;
      case GgmlType::Q5_1:
        reinterpret_cast<BlockQ5_1*>(row)[i].d = half();
        reinterpret_cast<BlockQ5_1*>(row)[i].m = half();
        break;
      case GgmlType::IQ4_NL: reinterpret_cast<BlockIq4Nl*>(row)[i].d = half(); break;
      case GgmlType::IQ4_XS: reinterpret_cast<BlockIq4Xs*>(row)[i].d = half(); break;
      case GgmlType::Q2_K:
        reinterpret_cast<BlockQ2K*>(row)[i].d = half();
        reinterpret_cast<BlockQ2K*>(row)[i].dmin = half();
        break;
      case GgmlType::Q3_K: reinterpret_cast<BlockQ3K*>(row)[i].d = half(); break;
      case GgmlType::TQ1_0: reinterpret_cast<BlockTq1_0*>(row)[i].d = half(); break;
      case GgmlType::TQ2_0: reinterpret_cast<BlockTq2_0*>(row)[i].d = half(); break;
      case GgmlType::IQ2_XXS: reinterpret_cast<BlockIq2Xxs*>(row)[i].d = half(); break;
      case GgmlType::IQ2_XS: reinterpret_cast<BlockIq2Xs*>(row)[i].d = half(); break;
      case GgmlType::IQ2_S: reinterpret_cast<BlockIq2S*>(row)[i].d = half(); break;
      case GgmlType::IQ3_XXS: reinterpret_cast<BlockIq3Xxs*>(row)[i].d = half(); break;
      case GgmlType::IQ3_S: reinterpret_cast<BlockIq3S*>(row)[i].d = half(); break;
      case GgmlType::IQ1_S: reinterpret_cast<BlockIq1S*>(row)[i].d = half(); break;
      case GgmlType::IQ1_M: {  // d lives in the top nibbles of the four scale words
        uint8_t* sc = reinterpret_cast<BlockIq1M*>(row)[i].scales;
        const uint16_t h = half();
        for (int k = 0; k < 4; ++k) sc[2 * k + 1] = static_cast<uint8_t>((sc[2 * k + 1] & 15) | ((h >> (4 * k)) & 15) << 4);
        break;
      }
      default: break;
    }
  }
}

// raw: weights are random bytes (fixed-up scales) and activations random
// codes in [-127, 127] with consistent bsums; otherwise both are quantized
// from Gaussian floats. The codebook types, which r1 cannot quantize, always
// get random bytes: every bit pattern of theirs is a valid block.
Rows MakeRows(GgmlType t, int64_t n, uint32_t seed, bool raw) {
  Rows r{t, VecDotType(t), n, GgmlRowSize(t, n), GgmlRowSize(VecDotType(t), n), {}, {}};
  r.w.resize(4 * r.w_bytes);
  r.x.resize(4 * r.x_bytes);
  std::mt19937 rng(seed);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  std::vector<float> f(n);
  for (int k = 0; k < 4; ++k) {
    uint8_t* w = r.w.data() + k * r.w_bytes;
    uint8_t* x = r.x.data() + k * r.x_bytes;
    const bool block_type = GgmlTypeInfo(t).block_size > 1;
    if ((raw || !CanQuantize(t)) && block_type) {
      for (size_t i = 0; i < r.w_bytes; ++i) w[i] = static_cast<uint8_t>(rng());
      FixScales(t, w, n, rng);
    } else {
      for (auto& v : f) v = gauss(rng);
      Quantize(t, f.data(), w, n);
    }
    for (auto& v : f) v = gauss(rng) * (raw ? 10.0f : 1.0f);
    Quantize(r.xt, f.data(), x, n);
    if (raw && r.xt == GgmlType::Q8_K) {
      auto* b = reinterpret_cast<BlockQ8K*>(x);
      std::uniform_int_distribution<int> code(-127, 127);
      for (int64_t i = 0; i < n / kQK; ++i) {
        for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(code(rng));
        for (int j = 0; j < 16; ++j) {
          int s = 0;
          for (int l = 0; l < 16; ++l) s += b[i].qs[16 * j + l];
          b[i].bsums[j] = static_cast<int16_t>(s);
        }
      }
    }
  }
  return r;
}

// sum |w_i x_i| of the dequantized rows: the scale of float rounding errors.
double Magnitude(const Rows& r, int wr, int xr) {
  std::vector<float> a(r.n), b(r.n);
  Dequantize(r.wt, r.W(wr), a.data(), r.n);
  Dequantize(r.xt, r.X(xr), b.data(), r.n);
  double m = 0;
  for (int64_t i = 0; i < r.n; ++i) m += std::fabs(double(a[i]) * b[i]);
  return m;
}

class VecDotPathTest : public testing::TestWithParam<KernelPath> {
 protected:
  void SetUp() override {
    if (!KernelPathAvailable(GetParam()))
      GTEST_SKIP() << KernelPathName(GetParam()) << " is not supported by this CPU";
  }
};

TEST_P(VecDotPathTest, MatchesReference) {
  for (GgmlType t : kTypes) {
    const DotKernels k = PathKernels(GetParam(), t);
    ASSERT_NE(k.dot, nullptr) << GgmlTypeName(t);
    const VecDotFn ref = RefVecDot(t);
    for (int64_t n : Lengths(t)) {
      for (bool raw : {false, true}) {
        const Rows r = MakeRows(t, n, static_cast<uint32_t>(n * 31 + raw), raw);
        for (int i = 0; i < 4; ++i) {
          const float want = ref(n, r.W(i), r.X(i));
          const float got = k.dot(n, r.W(i), r.X(i));
          const std::string what = GgmlTypeName(t) + " n=" + std::to_string(n) + (raw ? " raw" : "");
          ASSERT_TRUE(std::isfinite(want)) << what;
          if (IsKQuant(t) || t == GgmlType::F8_E4M3_B64) {
            ASSERT_EQ(Bits(got), Bits(want)) << what << " got " << got << " want " << want;
          } else {
            ASSERT_NEAR(got, want, 1e-5 * Magnitude(r, i, i)) << what;
          }
        }
      }
    }
  }
}

TEST_P(VecDotPathTest, MultiRowIsBitIdentical) {
  for (GgmlType t : kTypes) {
    const DotKernels k = PathKernels(GetParam(), t);
    for (int64_t n : Lengths(t)) {
      const Rows r = MakeRows(t, n, static_cast<uint32_t>(n * 7 + 3), /*raw=*/false);
      float four[4], cross[4];
      k.dot4(n, r.W(0), r.w_bytes, r.X(0), four);
      k.dotx4(n, r.W(0), r.X(0), r.x_bytes, cross);
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(Bits(four[i]), Bits(k.dot(n, r.W(i), r.X(0)))) << GgmlTypeName(t) << " n=" << n << " row " << i;
        EXPECT_EQ(Bits(cross[i]), Bits(k.dot(n, r.W(0), r.X(i)))) << GgmlTypeName(t) << " n=" << n << " act " << i;
      }
    }
  }
}

// Batch invariance: the result may depend only on the bytes of the rows.
TEST_P(VecDotPathTest, PureFunctionOfRows) {
  for (GgmlType t : kTypes) {
    const DotKernels k = PathKernels(GetParam(), t);
    const int64_t n = Lengths(t)[2];
    const Rows r = MakeRows(t, n, 99, /*raw=*/true);
    const float base = k.dot(n, r.W(1), r.X(2));
    // Rows keep the element alignment GGUF guarantees (4 bytes covers float,
    // fp16 and every block struct) but lose any SIMD alignment.
    for (size_t shift = 4; shift < 32; shift += 8) {
      std::vector<uint8_t> wb(r.w_bytes + shift), xb(r.x_bytes + 2 * shift);
      std::memcpy(wb.data() + shift, r.W(1), r.w_bytes);
      std::memcpy(xb.data() + 2 * shift, r.X(2), r.x_bytes);
      EXPECT_EQ(Bits(k.dot(n, wb.data() + shift, xb.data() + 2 * shift)), Bits(base))
          << GgmlTypeName(t) << " shift " << shift;
      // Interleaved other work must not matter either.
      (void)k.dot(n, r.W(3), r.X(0));
      EXPECT_EQ(Bits(k.dot(n, r.W(1), r.X(2))), Bits(base)) << GgmlTypeName(t);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, VecDotPathTest,
                         testing::Values(KernelPath::kRef, KernelPath::kAvx2, KernelPath::kAvx512),
                         [](const testing::TestParamInfo<KernelPath>& p) {
                           return std::string(KernelPathName(p.param));
                         });

TEST(VecDotDispatchTest, FastPicksBestAvailablePath) {
  const KernelPath best = ForceScalar()                            ? KernelPath::kRef
                          : KernelPathAvailable(KernelPath::kAvx512) ? KernelPath::kAvx512
                          : KernelPathAvailable(KernelPath::kAvx2)   ? KernelPath::kAvx2
                                                                     : KernelPath::kRef;
  for (GgmlType t : kTypes) {
    EXPECT_EQ(FastPath(t), best) << GgmlTypeName(t);
    const DotKernels k = PathKernels(FastPath(t), t);
    EXPECT_EQ(FastVecDot(t), k.dot) << GgmlTypeName(t);
    EXPECT_EQ(FastVecDot4(t), k.dot4) << GgmlTypeName(t);
    EXPECT_EQ(FastVecDotX4(t), k.dotx4) << GgmlTypeName(t);
  }
  RecordProperty("fast_path", KernelPathName(best));
}

// R1_FORCE_SCALAR is read once per process, so it is checked in a fresh one.
TEST(VecDotDispatchTest, ForceScalarSelectsReference) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("R1_FORCE_SCALAR", "1", 1);
        bool ok = ForceScalar();
        for (GgmlType t : kTypes)
          ok = ok && FastPath(t) == KernelPath::kRef && FastVecDot(t) == RefVecDot(t);
        std::exit(ok ? 0 : 1);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace r1::kernels
