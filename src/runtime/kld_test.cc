#include "runtime/kld.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

namespace r1::kld {
namespace {

std::vector<float> RandomLogits(int n, float scale, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = scale * d(rng);
  return v;
}

std::vector<uint8_t> Encode(const std::vector<float>& logits, int32_t target) {
  std::vector<uint8_t> row(RowBytes(static_cast<int64_t>(logits.size())));
  EncodeRow(logits, target, row.data());
  return row;
}

// By hand: base logits (0, ln 2, ln 3) → P = (1/6, 2/6, 3/6); q logits
// (0, 0, 0) → Q = (1/3, 1/3, 1/3). KL(P || Q) = sum p ln(p / q)
// = 1/6 ln(1/2) + 1/3 ln(1) + 1/2 ln(3/2) = (3 ln 3 - 4 ln 2) / 6 = 0.0872.
TEST(Kld, KlDivergenceMatchesHandComputedValue) {
  const std::vector<float> base = {0.0f, std::log(2.0f), std::log(3.0f)}, q = {0.0f, 0.0f, 0.0f};
  const double want = (3 * std::log(3.0) - 4 * std::log(2.0)) / 6;
  EXPECT_NEAR(want, 0.087208, 1e-6);
  EXPECT_NEAR(KlDivergence(base, q), want, 1e-7);
  EXPECT_NEAR(KlDivergence(q, q), 0.0, 1e-15);
  // Shifting a row's logits changes nothing; the divergence is not symmetric.
  const std::vector<float> shifted = {5.0f, 5.0f, 5.0f};
  EXPECT_NEAR(KlDivergence(base, shifted), want, 1e-6);
  EXPECT_NEAR(KlDivergence(q, base), std::log(6.0) - std::log(3.0) - (std::log(2.0) + std::log(3.0)) / 3, 1e-7);
  const std::vector<double> lp = LogSoftmax(base);
  EXPECT_NEAR(lp[0], std::log(1.0 / 6), 1e-7);
  EXPECT_NEAR(lp[2], std::log(0.5), 1e-7);
}

// The compressed row gives the full-precision divergence, and that of a
// row against its own logits is 0 up to the 16-bit rounding.
TEST(Kld, CompressedRowMatchesTheExactDivergence) {
  const std::vector<float> base = {0.0f, std::log(2.0f), std::log(3.0f)}, q = {0.0f, 0.0f, 0.0f};
  TokenStats t = CompareRow(Encode(base, 2).data(), q, 2);
  EXPECT_NEAR(t.kld, (3 * std::log(3.0) - 4 * std::log(2.0)) / 6, 1e-6);  // codes: steps of 1.7e-5
  EXPECT_NEAR(t.nll_base, std::log(2.0), 1e-6);
  EXPECT_NEAR(t.nll_q, std::log(3.0), 1e-6);
  EXPECT_FALSE(t.same_top);  // base argmax 2; q ties, first is 0

  std::mt19937 rng(7);
  for (float scale : {0.01f, 1.0f, 4.0f, 20.0f}) {
    const std::vector<float> a = RandomLogits(5000, scale, rng), b = RandomLogits(5000, scale, rng);
    std::vector<float> near = a;
    for (auto& x : near) x += 0.05f * std::normal_distribution<float>(0, 1)(rng);
    const std::vector<uint8_t> row = Encode(a, 17);
    const TokenStats self = CompareRow(row.data(), a, 17);
    EXPECT_GE(self.kld, 0.0) << scale;
    EXPECT_LT(self.kld, 1e-8) << scale;
    EXPECT_TRUE(self.same_top);
    EXPECT_NEAR(self.nll_q, self.nll_base, 1e-5);
    for (const std::vector<float>* other : std::vector<const std::vector<float>*>{&b, &near}) {
      const double exact = KlDivergence(a, *other), got = CompareRow(row.data(), *other, 17).kld;
      // Codes are off by up to 2.5e-4 nats; entries below top - 32 nats are dropped.
      EXPECT_NEAR(got, exact, 1e-3 * exact + 1e-6) << scale;
    }
  }
}

TEST(Kld, StatisticsFollowLlamaCpp) {
  KldStats s;
  for (int i = 0; i < 200; ++i) {
    TokenStats t;
    t.kld = i % 2 ? 0.02 : 0.0;
    t.nll_base = 1.0;
    t.nll_q = 1.0 + (i % 2 ? 0.1 : 0.0);
    t.same_top = i % 4 != 0;
    s.Add(t);
  }
  const KldSummary m = s.Summary();
  EXPECT_EQ(m.count, 200);
  EXPECT_NEAR(m.kld.value, 0.01, 1e-12);
  EXPECT_NEAR(m.kld.error, 0.01 / std::sqrt(199.0), 1e-9);  // sd 0.01 over 199
  EXPECT_NEAR(m.kld_median, 0.01, 1e-12);                   // between the 0s and the 0.02s
  EXPECT_DOUBLE_EQ(m.kld_max, 0.02);
  EXPECT_DOUBLE_EQ(m.kld_min, 0.0);
  EXPECT_NEAR(m.ppl_base.value, std::exp(1.0), 1e-12);
  EXPECT_NEAR(m.ln_ppl_ratio.value, 0.05, 1e-12);
  EXPECT_NEAR(m.ppl_ratio.value, std::exp(0.05), 1e-12);
  EXPECT_NEAR(m.same_top.value, 0.75, 1e-12);
  EXPECT_NEAR(m.same_top.error, std::sqrt(0.75 * 0.25 / 199), 1e-12);
  const double dp = std::exp(-1.1) - std::exp(-1.0);  // every other token
  EXPECT_NEAR(m.rms_dp.value, std::sqrt(dp * dp / 2), 1e-12);
  EXPECT_NEAR(m.dp.value, dp / 2, 1e-12);
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(Percentile({1, 2, 3, 4}, 1.0), 4);
}

std::string TmpPath(const std::string& name) { return ::testing::TempDir() + "/kld_test_" + name; }

TEST(Kld, BaseFileRoundTripsAndRefusesBadFiles) {
  const std::string path = TmpPath("base.kld");
  const BaseHeader h{7, 6, 2};  // 2 scored positions per chunk
  std::vector<int32_t> tokens = {0, 1, 2, 3, 4, 5, 0, 6, 5, 4, 3, 2};
  std::mt19937 rng(3);
  std::vector<std::vector<uint8_t>> chunks;
  {
    auto w = BaseWriter::Create(path, h, tokens);
    ASSERT_TRUE(w.ok()) << w.status().message();
    for (int c = 0; c < 2; ++c) {
      std::vector<uint8_t> rows;
      for (int j = 0; j < 2; ++j) {
        std::vector<uint8_t> r = Encode(RandomLogits(7, 2.0f, rng), tokens[static_cast<size_t>(c * 6 + 3 + j + 1)]);
        rows.insert(rows.end(), r.begin(), r.end());
      }
      ASSERT_TRUE((*w)->WriteChunk(rows).ok());
      chunks.push_back(rows);
    }
    std::ifstream none(path);
    EXPECT_FALSE(none.good()) << "the file appears only at Finish";
    ASSERT_TRUE((*w)->Finish().ok());
  }
  auto r = BaseReader::Open(path);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->header().n_vocab, 7);
  EXPECT_EQ((*r)->header().n_ctx, 6);
  EXPECT_EQ((*r)->tokens(), tokens);
  std::vector<uint8_t> rows;
  ASSERT_TRUE((*r)->ReadChunk(1, &rows).ok());
  EXPECT_EQ(rows, chunks[1]);
  EXPECT_FALSE((*r)->ReadChunk(2, &rows).ok());

  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto write = [](const std::string& p, const std::string& b) { std::ofstream(p, std::ios::binary) << b; };
  auto error = [](const std::string& p) {
    auto o = BaseReader::Open(p);
    return o.ok() ? std::string("opened") : o.status().message();
  };
  const std::string bad = TmpPath("bad.kld");
  write(bad, bytes.substr(0, bytes.size() - 5));
  EXPECT_NE(error(bad).find("truncated"), std::string::npos) << error(bad);
  EXPECT_NE(error(bad).find("1 chunks complete"), std::string::npos) << error(bad);
  EXPECT_NE(error(bad).find(bad), std::string::npos);
  write(bad, bytes.substr(0, 30));
  EXPECT_NE(error(bad).find("tokens are cut short"), std::string::npos) << error(bad);
  write(bad, bytes.substr(0, 12));
  EXPECT_NE(error(bad).find("shorter than the header"), std::string::npos) << error(bad);
  write(bad, bytes + "x");
  EXPECT_NE(error(bad).find("after the last chunk"), std::string::npos) << error(bad);
  write(bad, "_logits_" + bytes.substr(8));
  EXPECT_NE(error(bad).find("llama.cpp"), std::string::npos) << error(bad);
  write(bad, "hello world, this is not it");
  EXPECT_NE(error(bad).find("not an r1 kld base file"), std::string::npos) << error(bad);
  std::string v = bytes;
  v[8] = 9;
  write(bad, v);
  EXPECT_NE(error(bad).find("version 9"), std::string::npos) << error(bad);
  std::string tok = bytes;
  tok[24] = 99;  // first token
  write(bad, tok);
  EXPECT_NE(error(bad).find("outside the vocabulary"), std::string::npos) << error(bad);
  std::string nan_row = bytes;
  const float nan = std::nanf("");
  std::memcpy(&nan_row[24 + 4 * 12], &nan, 4);  // lo of chunk 1's first row
  write(bad, nan_row);
  auto opened = BaseReader::Open(bad);
  ASSERT_TRUE(opened.ok());
  const Status st = (*opened)->ReadChunk(0, &rows);
  EXPECT_NE(st.message().find("corrupt row 0 of chunk 1"), std::string::npos) << st.message();
  EXPECT_NE(error(TmpPath("missing.kld")).find("cannot open base file"), std::string::npos);
  std::remove(path.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace r1::kld
