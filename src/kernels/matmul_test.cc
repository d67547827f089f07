#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/quant.h"

namespace r1::kernels {
namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                           GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::vector<float> Gaussian(int64_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A quantized weight with its float64 dequantization.
struct Weight {
  std::vector<uint8_t> bytes;
  std::vector<double> deq;  // rows × k
  Matrix m;

  Weight(GgmlType t, int64_t rows, int64_t k, std::mt19937& rng) {
    std::vector<float> f = Gaussian(rows * k, rng, 0.5f);
    const size_t rb = GgmlRowSize(t, k);
    bytes.resize(rb * rows);
    std::vector<float> row(k);
    for (int64_t r = 0; r < rows; ++r) {
      Quantize(t, f.data() + r * k, bytes.data() + r * rb, k);
      Dequantize(t, bytes.data() + r * rb, row.data(), k);
      deq.insert(deq.end(), row.begin(), row.end());
    }
    m.type = t;
    m.data = bytes.data();
    m.k = k;
    m.rows = rows;
    m.row_bytes = rb;
  }
};

std::vector<float> RunMatMul(const Matrix& w, const std::vector<float>& x, int64_t n_tokens,
                             int threads) {
  ThreadPool pool(threads);
  std::vector<float> y(n_tokens * w.rows);
  MatMul(w, x.data(), n_tokens, y.data(), pool);
  return y;
}

TEST(MatMulTest, MatchesFloat64Reference) {
  std::mt19937 rng(42);
  ThreadPool pool(2);
  for (GgmlType t : kTypes) {
    for (int64_t n_tokens : {1, 5, 33}) {
      const int64_t rows = 37, k = 512;
      Weight w(t, rows, k, rng);
      std::vector<float> x = Gaussian(n_tokens * k, rng);
      QuantizedActs xq;
      QuantizeActs(VecDotType(t), x.data(), k, n_tokens, &xq, pool);
      std::vector<float> xd(n_tokens * k);
      for (int64_t i = 0; i < n_tokens; ++i) Dequantize(xq.type, xq.row(i), xd.data() + i * k, k);
      std::vector<float> y(n_tokens * rows);
      MatMul(w.m, xq, y.data(), pool);
      int bad = 0;
      for (int64_t i = 0; i < n_tokens; ++i) {
        for (int64_t r = 0; r < rows; ++r) {
          // ref_q: the exact dot of the rows actually multiplied (weight and
          // quantized activation). ref_x: against the float activation; the
          // gap is bounded by sum |w| |x - xq|.
          double ref_q = 0, ref_x = 0, mag = 0, act_err = 0;
          for (int64_t c = 0; c < k; ++c) {
            const double wv = w.deq[r * k + c];
            ref_q += wv * xd[i * k + c];
            ref_x += wv * x[i * k + c];
            mag += std::abs(wv * xd[i * k + c]);
            act_err += std::abs(wv) * std::abs(double(x[i * k + c]) - xd[i * k + c]);
          }
          const double got = y[i * rows + r];
          // Float32 accumulation of k products: a few ulps of the magnitude.
          const double tol_q = 2e-5 * mag + 1e-6;
          if (std::abs(got - ref_q) > tol_q || std::abs(got - ref_x) > act_err + tol_q) {
            if (++bad <= 3)
              ADD_FAILURE() << GgmlTypeName(t) << " n_tokens=" << n_tokens << " t=" << i
                            << " r=" << r << ": got " << got << " ref_q " << ref_q << " ref_x "
                            << ref_x << " tol " << tol_q << " act_err " << act_err;
          }
        }
      }
    }
  }
}

// Every y[t, r] must not depend on n_tokens or the thread count.
TEST(MatMulTest, BitIdenticalAcrossBatchingAndThreads) {
  std::mt19937 rng(7);
  for (GgmlType t : kTypes) {
    SCOPED_TRACE(GgmlTypeName(t));
    // 300 rows: several prefill tiles plus a ragged last tile and row group.
    const int64_t rows = 302, k = 1024, n = 33;
    Weight w(t, rows, k, rng);
    std::vector<float> x = Gaussian(n * k, rng);
    const std::vector<float> all2 = RunMatMul(w.m, x, n, 2);
    const size_t row_bytes = rows * sizeof(float);
    EXPECT_EQ(0, std::memcmp(all2.data(), RunMatMul(w.m, x, n, 1).data(), all2.size() * 4))
        << "33 tokens: 2 threads vs 1";
    EXPECT_EQ(0, std::memcmp(all2.data(), RunMatMul(w.m, x, n, 3).data(), all2.size() * 4))
        << "33 tokens: 2 threads vs 3";
    for (int64_t chunk : {1, 7, 2, 4}) {
      for (int threads : {1, 2}) {
        std::vector<float> y(n * rows);
        ThreadPool pool(threads);
        for (int64_t t0 = 0; t0 < n; t0 += chunk) {
          const int64_t m = std::min(chunk, n - t0);
          MatMul(w.m, x.data() + t0 * k, m, y.data() + t0 * rows, pool);
        }
        for (int64_t i = 0; i < n; ++i)
          ASSERT_EQ(0, std::memcmp(all2.data() + i * rows, y.data() + i * rows, row_bytes))
              << "chunks of " << chunk << ", " << threads << " threads, token " << i;
      }
    }
  }
}

TEST(MatMulTest, LargePrefillMatchesDecode) {
  // 64 tokens over a matrix big enough for several L2 tiles per thread.
  std::mt19937 rng(11);
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::F16}) {
    SCOPED_TRACE(GgmlTypeName(t));
    const int64_t rows = 1030, k = 1536, n = 66;
    Weight w(t, rows, k, rng);
    std::vector<float> x = Gaussian(n * k, rng);
    const std::vector<float> all = RunMatMul(w.m, x, n, 2);
    ThreadPool pool(2);
    std::vector<float> one(rows);
    for (int64_t i = 0; i < n; i += 13) {
      MatMul(w.m, x.data() + i * k, 1, one.data(), pool);
      ASSERT_EQ(0, std::memcmp(all.data() + i * rows, one.data(), rows * 4)) << "token " << i;
    }
  }
}

TEST(MatMulTest, PreQuantizedAndSliceAgree) {
  std::mt19937 rng(3);
  ThreadPool pool(2);
  const int64_t rows = 40, k = 256, n = 9;
  Weight w(GgmlType::Q6_K, rows, k, rng);
  std::vector<float> x = Gaussian(n * k, rng);
  std::vector<float> y(n * rows), y2(n * rows), ys(n * 10);
  MatMul(w.m, x.data(), n, y.data(), pool);
  QuantizedActs xq;
  QuantizeActs(VecDotType(w.m.type), x.data(), k, n, &xq, pool);
  MatMul(w.m, xq, y2.data(), pool);
  EXPECT_EQ(0, std::memcmp(y.data(), y2.data(), y.size() * 4));
  // Reusing the same QuantizedActs for a smaller batch.
  QuantizeActs(VecDotType(w.m.type), x.data(), k, 2, &xq, pool);
  MatMul(w.m, xq, y2.data(), pool);
  EXPECT_EQ(0, std::memcmp(y.data(), y2.data(), 2 * rows * 4));
  MatMul(w.m.Slice(13, 10), x.data(), n, ys.data(), pool);
  for (int64_t i = 0; i < n; ++i)
    EXPECT_EQ(0, std::memcmp(y.data() + i * rows + 13, ys.data() + i * 10, 10 * 4));
}

// QuantizeActs may use SIMD quantizers; they must equal quant.h's Quantize.
TEST(MatMulTest, QuantizeActsMatchesQuantizeBitForBit) {
  std::mt19937 rng(17);
  ThreadPool pool(2);
  const int64_t k = 1024, n = 9;
  std::vector<float> x = Gaussian(n * k, rng);
  for (int64_t i = 0; i < 256; ++i) x[i] = 0.0f;                          // all-zero block
  for (int64_t i = 256; i < 512; ++i) x[i] = float(int(i % 254) - 127) + 0.5f;  // ties
  x[300] = 127.0f;  // Q8_K block 1: d = 1, every x * id is a tie
  for (int64_t i = 512; i < 768; ++i) x[i] = std::ldexp(x[i], int(i % 60) - 30);  // wide range
  for (int64_t i = k; i < 2 * k; ++i) x[i] = 1e-30f * x[i];                // tiny
  for (GgmlType t : {GgmlType::Q8_0, GgmlType::Q8_K, GgmlType::BF16, GgmlType::F32}) {
    SCOPED_TRACE(GgmlTypeName(t));
    QuantizedActs xq;
    QuantizeActs(t, x.data(), k, n, &xq, pool);
    std::vector<uint8_t> want(GgmlRowSize(t, k));
    for (int64_t i = 0; i < n; ++i) {
      Quantize(t, x.data() + i * k, want.data(), k);
      ASSERT_EQ(0, std::memcmp(want.data(), xq.row(i), want.size())) << "token " << i;
    }
  }
  // BF16 specials: NaN stays NaN, infinities and rounding carries.
  std::vector<float> sp(32, 1.0f);
  sp[0] = std::numeric_limits<float>::quiet_NaN();
  sp[1] = -std::numeric_limits<float>::infinity();
  sp[2] = std::numeric_limits<float>::max();
  sp[3] = 1.00390625f;  // exactly between two BF16 values
  sp[4] = 1.01171875f;
  QuantizedActs xq;
  QuantizeActs(GgmlType::BF16, sp.data(), 32, 1, &xq, pool);
  std::vector<uint8_t> want(64);
  Quantize(GgmlType::BF16, sp.data(), want.data(), 32);
  EXPECT_EQ(0, std::memcmp(want.data(), xq.row(0), 64));
}

TEST(MatMulTest, GetRowsDequantizes) {
  std::mt19937 rng(5);
  Weight w(GgmlType::Q4_K, 8, 256, rng);
  const int32_t ids[] = {7, 0, 3};
  std::vector<float> out(3 * 256);
  GetRows(w.m, ids, 3, out.data());
  for (int i = 0; i < 3; ++i)
    for (int c = 0; c < 256; ++c) ASSERT_EQ(out[i * 256 + c], float(w.deq[ids[i] * 256 + c]));
}

}  // namespace
}  // namespace r1::kernels
