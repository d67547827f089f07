// The packed (8-row interleaved) matmul path against the scalar reference.
#include "kernels/repack.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace r1::kernels {
namespace {

const GgmlType kPackedTypes[] = {GgmlType::Q8_0, GgmlType::Q5_0, GgmlType::Q4_K, GgmlType::Q5_K,
                                 GgmlType::Q6_K};

struct Weight {
  std::vector<uint8_t> bytes;
  Matrix m;
  // extreme: a quarter of the bytes saturated; saturated: all of them (the
  // largest codes everywhere), fp16 scales kept finite either way.
  Weight(GgmlType t, int64_t rows, int64_t k, std::mt19937& rng, bool extreme = false, bool saturated = false) {
    std::normal_distribution<float> d(0.0f, 0.5f);
    std::vector<float> f(static_cast<size_t>(rows * k));
    for (auto& v : f) v = d(rng);
    const size_t rb = GgmlRowSize(t, k);
    bytes.resize(rb * static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) Quantize(t, f.data() + r * k, bytes.data() + r * rb, k);
    if (extreme) {
      // Saturate the codes (all bits set / -128) where the format allows, to
      // exercise the int16 headroom of the kernels.
      std::uniform_int_distribution<int> coin(0, 3);
      for (auto& b : bytes)
        if (saturated || coin(rng) == 0) b = t == GgmlType::Q8_0 ? 0x80 : 0xff;  // Q5_0: code 31 / qh bits set
      // Keep the fp16 scales finite: rewrite them for the types whose scale is first.
      for (int64_t r = 0; r < rows; ++r) {
        uint8_t* row = bytes.data() + r * rb;
        const size_t bs = GgmlTypeInfo(t).type_size;
        for (size_t o = 0; o < rb; o += bs) {
          const uint16_t h = 0x2c00;  // 1/16
          if (t == GgmlType::Q8_0 || t == GgmlType::Q5_0) std::memcpy(row + o, &h, 2);
          if (t == GgmlType::Q4_K || t == GgmlType::Q5_K) { std::memcpy(row + o, &h, 2); std::memcpy(row + o + 2, &h, 2); }
          if (t == GgmlType::Q6_K) std::memcpy(row + o + bs - 2, &h, 2);
        }
      }
    }
    m.type = t;
    m.data = bytes.data();
    m.k = k;
    m.rows = rows;
    m.row_bytes = rb;
  }
};

std::vector<float> Acts(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

bool Available(GgmlType t) { return FastPackedDot(t) != nullptr; }

// Every packed output equals RefVecDot on the original row, bit for bit, for
// any token count (each count uses a different kernel instance and split).
TEST(RepackTest, PackedMatMulEqualsScalarReference) {
  std::mt19937 rng(7);
  for (GgmlType t : kPackedTypes) {
    if (!Available(t)) GTEST_SKIP() << "no packed kernels on this CPU";
    for (bool extreme : {false, true}) {
      // 40 rows: five groups, one per tile; 136 rows: tiles of several groups,
      // so kernels that pair groups run both their pairs and a leftover.
      for (auto [k, rows] : {std::pair<int64_t, int64_t>{256, 40}, {768, 40}, {2304, 40}, {512, 136}}) {
        Weight w(t, rows, k, rng, extreme);
        PackedWeights packed;
        ThreadPool pool(2);
        Matrix pm = w.m;
        ASSERT_TRUE(packed.Pack(&pm, pool));
        ASSERT_NE(pm.packed, nullptr);
        EXPECT_EQ(packed.bytes(), PackedGroupBytes(t, k) * (rows / 8));
        for (int64_t n_tok : {1, 2, 3, 4, 5, 7, 13, 23}) {
          const std::vector<float> x = Acts(n_tok * k, rng);
          QuantizedActs xq;
          QuantizeActs(VecDotType(t), x.data(), k, n_tok, &xq, pool);
          std::vector<float> y(static_cast<size_t>(n_tok * rows));
          MatMul(pm, xq, y.data(), pool);
          const VecDotFn ref = RefVecDot(t);
          int bad = 0;
          for (int64_t i = 0; i < n_tok; ++i)
            for (int64_t r = 0; r < rows; ++r) {
              const float want = ref(k, static_cast<const uint8_t*>(w.m.data) + r * w.m.row_bytes, xq.row(i));
              const float got = y[static_cast<size_t>(i * rows + r)];
              if (std::memcmp(&want, &got, 4) != 0 && ++bad <= 3)
                ADD_FAILURE() << GgmlTypeName(t) << " k=" << k << " n_tok=" << n_tok << " extreme=" << extreme
                              << " token " << i << " row " << r << ": " << got << " vs reference " << want;
            }
          EXPECT_EQ(bad, 0);
        }
      }
    }
  }
}

// Largest codes against activations at ±127 in every position: the int16
// partial sums of the packed kernels must not overflow.
TEST(RepackTest, SaturatedCodesAndActivations) {
  std::mt19937 rng(13);
  for (GgmlType t : kPackedTypes) {
    if (!Available(t)) GTEST_SKIP() << "no packed kernels on this CPU";
    const int64_t rows = 16, k = 512;
    Weight w(t, rows, k, rng, true, true);
    ThreadPool pool(2);
    PackedWeights packed;
    Matrix pm = w.m;
    ASSERT_TRUE(packed.Pack(&pm, pool));
    for (int64_t n_tok : {1, 2, 4, 8}) {
      std::vector<float> x(static_cast<size_t>(n_tok * k));
      for (int64_t i = 0; i < n_tok; ++i)
        for (int64_t c = 0; c < k; ++c) x[static_cast<size_t>(i * k + c)] = i % 2 ? -1.0f : 1.0f;
      QuantizedActs xq;
      QuantizeActs(VecDotType(t), x.data(), k, n_tok, &xq, pool);
      std::vector<float> y(static_cast<size_t>(n_tok * rows));
      MatMul(pm, xq, y.data(), pool);
      const VecDotFn ref = RefVecDot(t);
      for (int64_t i = 0; i < n_tok; ++i)
        for (int64_t r = 0; r < rows; ++r) {
          const float want = ref(k, static_cast<const uint8_t*>(w.m.data) + r * w.m.row_bytes, xq.row(i));
          ASSERT_EQ(want, y[static_cast<size_t>(i * rows + r)])
              << GgmlTypeName(t) << " n_tok=" << n_tok << " token " << i << " row " << r;
        }
    }
  }
}

// Packed results do not depend on batching or threads (the foundation's
// batch-invariance contract), including expert slices of a 3-D tensor.
TEST(RepackTest, BatchAndThreadInvariantAndSliceable) {
  std::mt19937 rng(11);
  for (GgmlType t : kPackedTypes) {
    if (!Available(t)) GTEST_SKIP() << "no packed kernels on this CPU";
    const int64_t rows = 64, k = 512, n_tok = 11;
    Weight w(t, rows, k, rng);
    ThreadPool pool1(1), pool3(3);
    PackedWeights packed;
    Matrix pm = w.m;
    ASSERT_TRUE(packed.Pack(&pm, pool3));
    const std::vector<float> x = Acts(n_tok * k, rng);
    QuantizedActs all;
    QuantizeActs(VecDotType(t), x.data(), k, n_tok, &all, pool1);
    std::vector<float> y_all(static_cast<size_t>(n_tok * rows));
    MatMul(pm, all, y_all.data(), pool3);
    for (int64_t i = 0; i < n_tok; ++i) {
      QuantizedActs one;
      QuantizeActs(VecDotType(t), x.data() + i * k, k, 1, &one, pool1);
      std::vector<float> y1(static_cast<size_t>(rows));
      MatMul(pm, one, y1.data(), pool1);
      EXPECT_EQ(0, std::memcmp(y1.data(), y_all.data() + i * rows, rows * sizeof(float))) << "token " << i;
      // An "expert" slice of 16 rows starting at row 24.
      const Matrix s = pm.Slice(24, 16);
      ASSERT_NE(s.packed, nullptr);
      std::vector<float> ys(16);
      MatMul(s, one, ys.data(), pool3);
      EXPECT_EQ(0, std::memcmp(ys.data(), y1.data() + 24, 16 * sizeof(float))) << "slice, token " << i;
    }
    // A slice not aligned to 8 rows falls back to the unpacked data.
    EXPECT_EQ(pm.Slice(4, 16).packed, nullptr);
  }
}

TEST(RepackTest, RefusesWhatItCannotPack) {
  std::mt19937 rng(3);
  ThreadPool pool(1);
  PackedWeights packed;
  Weight ragged(GgmlType::Q4_K, 37, 256, rng);  // rows not a multiple of 8
  EXPECT_FALSE(packed.Pack(&ragged.m, pool));
  EXPECT_EQ(ragged.m.packed, nullptr);
  Weight f32(GgmlType::F32, 16, 64, rng);  // no packed layout
  EXPECT_FALSE(packed.Pack(&f32.m, pool));
  EXPECT_EQ(packed.bytes(), 0u);
}

}  // namespace
}  // namespace r1::kernels
