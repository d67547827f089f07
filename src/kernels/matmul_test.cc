#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/ops.h"
#include "kernels/quant.h"
#include "kernels/repack.h"

namespace r1::kernels {
namespace {

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                           GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K,
                           GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::IQ4_NL,
                           GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS,
                           GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::IQ2_XXS,
                           GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS,
                           GgmlType::IQ3_S, GgmlType::IQ1_S, GgmlType::IQ1_M};

std::vector<float> Gaussian(int64_t n, std::mt19937& rng, float sigma = 1.0f) {
  std::normal_distribution<float> d(0.0f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A row of a codebook type r1 cannot quantize (IQ1/IQ2/IQ3): random bytes
// (every bit pattern is a valid block) with a sane fp16 d in each block, which
// every one of them keeps in its first two bytes except IQ1_M (the top nibbles
// of its four scale words, bytes 49, 51, 53, 55).
void RandomCodebookRow(GgmlType t, int64_t k, std::mt19937& rng, uint8_t* out) {
  const size_t block = GgmlTypeInfo(t).type_size;
  std::uniform_real_distribution<float> scale(1e-3f, 2e-2f);
  for (size_t i = 0; i < GgmlRowSize(t, k); ++i) out[i] = static_cast<uint8_t>(rng());
  for (uint8_t* b = out; b < out + GgmlRowSize(t, k); b += block) {
    const uint16_t d = F32ToF16(scale(rng));
    if (t == GgmlType::IQ1_M) {
      for (int j = 0; j < 4; ++j) b[49 + 2 * j] = static_cast<uint8_t>((b[49 + 2 * j] & 15) | ((d >> (4 * j)) & 15) << 4);
    } else {
      std::memcpy(b, &d, 2);
    }
  }
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
      if (CanQuantize(t)) {
        Quantize(t, f.data() + r * k, bytes.data() + r * rb, k);
      } else {
        RandomCodebookRow(t, k, rng, bytes.data() + r * rb);
      }
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

// MatMulMany runs several matmuls in one pass, split by bytes across all of
// them; every output must equal its own MatMul's, packed or not, whatever
// the token count and threads.
TEST(MatMulTest, ManyEqualsSeparateMatMuls) {
  std::mt19937 rng(23);
  ThreadPool pool1(1);
  // Q/K/V-like: one big and two small matrices, mixed types (and so mixed
  // activation types), one of them packed where this CPU has the kernel.
  Weight wq(GgmlType::Q4_K, 96, 512, rng), wk(GgmlType::Q8_0, 16, 512, rng), wv(GgmlType::Q6_K, 24, 512, rng);
  Weight wf(GgmlType::F16, 13, 512, rng);  // ragged rows, no packed layout
  PackedWeights pq, pv;
  const bool packed_q = pq.Pack(&wq.m, pool1), packed_v = pv.Pack(&wv.m, pool1);
  SCOPED_TRACE(std::string("packed q/v: ") + (packed_q ? "y" : "n") + (packed_v ? "y" : "n"));
  const Matrix* ms[] = {&wq.m, &wk.m, &wv.m, &wf.m};
  for (int64_t n : {1, 2, 3, 4, 9, 17, 40}) {
    for (int threads : {1, 2, 3}) {
      ThreadPool pool(threads);
      std::vector<float> x = Gaussian(n * 512, rng);
      std::vector<QuantizedActs> xq(4);
      std::vector<std::vector<float>> want(4), got(4);
      std::vector<MatMulJob> jobs;
      for (int i = 0; i < 4; ++i) {
        QuantizeActs(VecDotType(ms[i]->type), x.data(), 512, n, &xq[i], pool);
        want[i].resize(n * ms[i]->rows);
        got[i].assign(n * ms[i]->rows, -1.0f);
        MatMul(*ms[i], xq[i], want[i].data(), pool1);
        jobs.push_back({ms[i], &xq[i], got[i].data()});
      }
      MatMulMany(jobs, pool);
      for (int i = 0; i < 4; ++i)
        ASSERT_EQ(0, std::memcmp(want[i].data(), got[i].data(), want[i].size() * 4))
            << "matrix " << i << ", " << n << " tokens, " << threads << " threads";
    }
  }
}

// The fused gate/up/SiLU pass: each output within float rounding of
// silu(g)·u from the separate matmuls (SiLU's vector and scalar forms differ
// by < 1e-6 relative), and bit-identical under any batching and threads.
TEST(MatMulTest, SiluGateMatchesSeparateAndIsInvariant) {
  std::mt19937 rng(29);
  ThreadPool pool1(1);
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::Q5_K, GgmlType::F32}) {
    for (bool pack : {false, true}) {
      for (int64_t rows : {64, 45}) {
        SCOPED_TRACE(GgmlTypeName(t) + (pack ? " packed" : "") + " rows " + std::to_string(rows));
        const int64_t k = 256, n = 21;
        Weight g(t, rows, k, rng), u(t, rows, k, rng);
        PackedWeights pg, pu;
        if (pack && !(pg.Pack(&g.m, pool1) && pu.Pack(&u.m, pool1))) continue;
        std::vector<float> x = Gaussian(n * k, rng);
        QuantizedActs xq;
        QuantizeActs(VecDotType(t), x.data(), k, n, &xq, pool1);
        std::vector<float> yg(n * rows), yu(n * rows), ref(n * rows);
        MatMul(g.m, xq, yg.data(), pool1);
        MatMul(u.m, xq, yu.data(), pool1);
        SiluMulRef(yg.data(), yu.data(), n * rows, ref.data());
        std::vector<float> all(n * rows), scratch(n * rows);
        ThreadPool pool2(2);
        MatMulSiluGate(g.m, xq, u.m, xq, all.data(), scratch.data(), pool2);
        for (int64_t i = 0; i < n * rows; ++i)
          ASSERT_NEAR(all[i], ref[i], 2e-6f * std::fabs(ref[i]) + 1e-7f) << "element " << i;
        for (int threads : {1, 3}) {
          ThreadPool pool(threads);
          for (int64_t chunk : {1, 2, 5, 16}) {
            std::vector<float> y(n * rows);
            for (int64_t t0 = 0; t0 < n; t0 += chunk) {
              const int64_t m = std::min(chunk, n - t0);
              QuantizedActs xc;
              QuantizeActs(VecDotType(t), x.data() + t0 * k, k, m, &xc, pool);
              MatMulSiluGate(g.m, xc, u.m, xc, y.data() + t0 * rows, scratch.data(), pool);
            }
            ASSERT_EQ(0, std::memcmp(all.data(), y.data(), all.size() * 4))
                << "chunks of " << chunk << ", " << threads << " threads";
          }
        }
      }
    }
  }
}

// The fused RMSNorm + quantization gives the bytes of RmsNorm then QuantizeActs.
TEST(MatMulTest, RmsNormQuantizeEqualsSeparateSteps) {
  std::mt19937 rng(31);
  ThreadPool pool(2);
  const int64_t d = 512;
  std::vector<float> w = Gaussian(d, rng);
  for (int64_t n : {1, 3, 200}) {
    std::vector<float> x = Gaussian(n * d, rng, 3.0f), h(n * d);
    RmsNorm(x.data(), w.data(), n, d, 1e-6f, h.data());
    for (GgmlType t : {GgmlType::Q8_K, GgmlType::Q8_0, GgmlType::BF16, GgmlType::F32}) {
      SCOPED_TRACE(GgmlTypeName(t) + " n=" + std::to_string(n));
      QuantizedActs want, got;
      QuantizeActs(t, h.data(), d, n, &want, pool);
      RmsNormQuantize(x.data(), w.data(), n, d, 1e-6f, t, &got, pool);
      ASSERT_EQ(want.type, got.type);
      ASSERT_EQ(want.row_bytes, got.row_bytes);
      ASSERT_EQ(want.n_tokens, got.n_tokens);
      ASSERT_EQ(0, std::memcmp(want.data.data(), got.data.data(), want.data.size()));
    }
  }
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
