#include "kernels/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <algorithm>
#include <limits>
#include <random>
#include <vector>

#include "kernels/quant.h"
#include "kernels/thread_pool.h"

namespace r1::kernels {
namespace {

// SiluMul (AVX2 polynomial exp where available) against the scalar loop and
// against float64 silu(g)·u, over ragged lengths and the whole useful range
// of gate values, including the ends where exp over/underflows.
TEST(OpsTest, SiluMulMatchesReference) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> wide(-100.0f, 100.0f);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (int64_t n : {1, 7, 8, 9, 63, 1000, 40000}) {
    std::vector<float> g(static_cast<size_t>(n)), u(g.size()), fast(g.size()), ref(g.size());
    for (int64_t i = 0; i < n; ++i) {
      g[i] = i % 3 == 0 ? wide(rng) : normal(rng);
      u[i] = normal(rng);
    }
    g[0] = n > 1 ? -0.0f : 88.0f;
    if (n > 3) g[1] = 1e30f, g[2] = -1e30f, g[3] = 0.0f;
    SiluMul(g.data(), u.data(), n, fast.data());
    SiluMulRef(g.data(), u.data(), n, ref.data());
    for (int64_t i = 0; i < n; ++i) {
      const double gd = g[i], want = gd / (1.0 + std::exp(-gd)) * u[i];
      const double tol = 1e-6 * std::fabs(want) + 1e-30;
      ASSERT_NEAR(fast[i], ref[i], 1e-6 * std::fabs(ref[i]) + 1e-30) << "n=" << n << " g=" << g[i];
      ASSERT_NEAR(fast[i], want, tol) << "n=" << n << " g=" << g[i];
    }
  }
}

TEST(OpsTest, SiluMulSplitOverThreadsIsIdentical) {
  std::mt19937 rng(6);
  std::normal_distribution<float> d(0.0f, 2.0f);
  const int64_t n = 100003;
  std::vector<float> g(n), u(n), one(n), split(n);
  for (int64_t i = 0; i < n; ++i) g[i] = d(rng), u[i] = d(rng);
  ThreadPool pool(3);
  SiluMul(g.data(), u.data(), n, one.data());
  SiluMul(g.data(), u.data(), n, split.data(), &pool);
  EXPECT_EQ(0, std::memcmp(one.data(), split.data(), n * sizeof(float)));
  // In place (out aliases gate), as the models call it.
  SiluMul(g.data(), u.data(), n, g.data(), &pool);
  EXPECT_EQ(0, std::memcmp(one.data(), g.data(), n * sizeof(float)));
}

TEST(OpsTest, ExpShiftSumMatchesReference) {
  std::mt19937 rng(8);
  std::normal_distribution<float> d(0.0f, 4.0f);
  for (int64_t n : {1, 5, 8, 13, 151936}) {
    std::vector<float> x(static_cast<size_t>(n)), fast(x.size()), ref(x.size());
    for (auto& v : x) v = d(rng);
    if (n > 1) x[0] = -std::numeric_limits<float>::infinity();
    float mx = x[0];
    for (float v : x) mx = std::max(mx, v);
    for (float scale : {1.0f, 1.0f / 0.6f}) {
      const double sf = ExpShiftSum(x.data(), n, mx, scale, fast.data());
      const double sr = ExpShiftSumRef(x.data(), n, mx, scale, ref.data());
      EXPECT_NEAR(sf, sr, 1e-6 * sr + 1e-300) << "n=" << n;
      EXPECT_EQ(ExpShiftSum(x.data(), n, mx, scale, nullptr), sf);
      if (n > 1) {
        EXPECT_EQ(fast[0], 0.0f);
      }
      // Below e^-87.3 the fast path flushes to 0 where expf gives a denormal.
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(fast[i], ref[i], 1e-6 * ref[i] + 1e-37) << "n=" << n << " i=" << i;
    }
  }
}

// F16C conversion against the scalar one, bit for bit: random magnitudes over
// the whole half range and beyond, exact ties, subnormals, overflow, NaN.
TEST(OpsTest, ToF16MatchesReferenceBitForBit) {
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> e(-30.0f, 20.0f);
  std::vector<float> x;
  for (int i = 0; i < 200000; ++i) x.push_back((i & 1 ? -1.0f : 1.0f) * std::exp2(e(rng)));
  for (uint16_t h = 0; h < 0x7bff; h += 3) {
    const float a = F16ToF32(h), b = F16ToF32(static_cast<uint16_t>(h + 1));
    x.push_back((a + b) / 2);  // exact in float: a tie, rounds to even
  }
  for (float v : {0.0f, -0.0f, 65504.0f, 65519.0f, 65520.0f, 1e9f, -1e9f, 5.96e-8f, 2.98e-8f, 2.99e-8f, 1e-30f,
                  std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                  std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN()})
    x.push_back(v);
  x.push_back(1.0f);  // odd length: the tail path
  std::vector<uint16_t> fast(x.size()), ref(x.size());
  ToF16(x.data(), fast.data(), static_cast<int64_t>(x.size()));
  ToF16Ref(x.data(), ref.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(fast[i], ref[i]) << "x=" << x[i];
}

}  // namespace
}  // namespace r1::kernels
