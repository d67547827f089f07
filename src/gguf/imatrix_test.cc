#include "gguf/imatrix.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "gguf/gguf.h"

namespace r1::gguf {
namespace {

std::string TmpPath(const std::string& name) { return std::string(R1_BINARY_DIR) + "/imatrix_test_" + name; }

void WriteAll(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Two entries: a 2-D weight (one matrix of 4 columns) and a 3-D expert
// weight (3 experts of 2 columns, the last never routed to).
Imatrix Sample() {
  Imatrix m;
  m.datasets = {"calibration.txt"};
  m.chunk_count = 5;
  m.chunk_size = 8;
  m.entries["blk.0.attn_q.weight"] = {{4.0f, 8.0f, 12.0f, 40.0f}, {40.0f}};
  m.entries["blk.1.ffn_up_exps.weight"] = {{2.0f, 6.0f, 10.0f, 30.0f, 0.0f, 0.0f}, {2.0f, 10.0f, 0.0f}};
  return m;
}

TEST(Imatrix, MeanDividesEachMatrixByItsCountAndLeavesUnseenExpertsAtOne) {
  const Imatrix m = Sample();
  EXPECT_EQ(m.Find("blk.0.attn_q.weight")->Mean(), (std::vector<float>{0.1f, 0.2f, 0.3f, 1.0f}));
  const ImatrixEntry* e = m.Find("blk.1.ffn_up_exps.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->n_mat(), 3);
  EXPECT_EQ(e->per_mat(), 2);
  EXPECT_EQ(e->Mean(), (std::vector<float>{1.0f, 3.0f, 1.0f, 3.0f, 1.0f, 1.0f}));
  EXPECT_EQ(m.Find("blk.9.attn_q.weight"), nullptr);
}

TEST(Imatrix, GgufFormRoundTripsInLlamaCppsLayout) {
  const std::string path = TmpPath("rt.gguf");
  ASSERT_TRUE(WriteImatrix(Sample(), path).ok());
  // The layout llama-quantize reads: general.type, the dataset keys, and
  // per weight an [ne0, n_mat] in_sum2 and a [1, n_mat] counts tensor.
  auto f = File::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->GetStringOr("general.type", ""), "imatrix");
  EXPECT_EQ((*f)->GetIntOr("imatrix.chunk_count", 0), 5);
  EXPECT_EQ((*f)->GetIntOr("imatrix.chunk_size", 0), 8);
  const TensorInfo* sums = (*f)->FindTensor("blk.1.ffn_up_exps.weight.in_sum2");
  const TensorInfo* counts = (*f)->FindTensor("blk.1.ffn_up_exps.weight.counts");
  ASSERT_NE(sums, nullptr);
  ASSERT_NE(counts, nullptr);
  EXPECT_EQ(sums->ShapeString(), "[2, 3]");
  EXPECT_EQ(counts->ShapeString(), "[1, 3]");
  f->reset();

  auto m = ReadImatrix(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const Imatrix want = Sample();
  ASSERT_EQ(m->entries.size(), want.entries.size());
  for (const auto& [name, e] : want.entries) {
    const ImatrixEntry* got = m->Find(name);
    ASSERT_NE(got, nullptr) << name;
    EXPECT_EQ(got->sums, e.sums) << name;
    EXPECT_EQ(got->counts, e.counts) << name;
  }
  EXPECT_EQ(m->datasets, want.datasets);
  EXPECT_EQ(m->chunk_count, 5);
  EXPECT_EQ(m->chunk_size, 8);
}

TEST(Imatrix, LegacyFormKeepsTheMeansAndTheDataset) {
  const std::string path = TmpPath("rt.dat");
  ASSERT_TRUE(WriteImatrixLegacy(Sample(), path).ok());
  auto m = ReadImatrix(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  // Legacy files carry one call count per entry, so what survives is the
  // mean of each value (the unseen expert's 1 included).
  const Imatrix want = Sample();
  for (const auto& [name, e] : want.entries) {
    const ImatrixEntry* got = m->Find(name);
    ASSERT_NE(got, nullptr) << name;
    const std::vector<float> a = got->Mean(), b = e.Mean();
    ASSERT_EQ(a.size(), b.size()) << name;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-6f * b[i]) << name << " " << i;
  }
  EXPECT_EQ(m->datasets, want.datasets);
  EXPECT_EQ(m->chunk_count, 5);
}

TEST(Imatrix, LegacyFileIsReadByteForByteAsLlamaCppWritesIt) {
  // i32 n_entries; per entry i32 len, name, i32 ncall, i32 nval, f32 values;
  // i32 chunks, i32 len, dataset.
  std::vector<uint8_t> b;
  auto i32 = [&](int32_t v) { b.insert(b.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4); };
  auto f32 = [&](float v) { b.insert(b.end(), reinterpret_cast<uint8_t*>(&v), reinterpret_cast<uint8_t*>(&v) + 4); };
  auto str = [&](const std::string& s) { i32(static_cast<int32_t>(s.size())); b.insert(b.end(), s.begin(), s.end()); };
  i32(1);
  str("output.weight");
  i32(4);  // ncall
  i32(2);  // nval
  f32(2.0f);
  f32(6.0f);
  const size_t entries_end = b.size();  // the dataset trailer is optional
  i32(7);
  str("wiki.train.raw");
  const std::string path = TmpPath("hand.dat");
  WriteAll(path, b);
  auto m = ReadImatrix(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_NE(m->Find("output.weight"), nullptr);
  EXPECT_EQ(m->Find("output.weight")->Mean(), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(m->chunk_count, 7);
  EXPECT_EQ(m->datasets, (std::vector<std::string>{"wiki.train.raw"}));

  // Every other truncation is an error naming the file, never a crash.
  for (size_t n = 0; n + 1 < b.size(); ++n) {
    if (n == entries_end) continue;
    WriteAll(path, std::vector<uint8_t>(b.begin(), b.begin() + static_cast<long>(n)));
    auto t = ReadImatrix(path);
    EXPECT_FALSE(t.ok()) << n;
    if (!t.ok()) {
      EXPECT_NE(t.status().ToString().find(path), std::string::npos) << t.status().ToString();
    }
  }
}

TEST(Imatrix, HostileFilesGetErrorsNamingTheEntry) {
  const std::string path = TmpPath("bad.gguf");
  {  // counts without sums
    Writer w;
    w.Set("general.type", Value::String("imatrix"));
    const float c = 1.0f;
    ASSERT_TRUE(w.AddTensor("blk.0.attn_k.weight.counts", {1, 1}, GgmlType::F32, &c, 4).ok());
    ASSERT_TRUE(w.Write(path).ok());
    auto m = ReadImatrix(path);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().ToString().find("blk.0.attn_k.weight"), std::string::npos) << m.status().ToString();
  }
  {  // counts that do not fit the sums
    Writer w;
    w.Set("general.type", Value::String("imatrix"));
    const float s[4] = {1, 2, 3, 4}, c[3] = {1, 1, 1};
    ASSERT_TRUE(w.AddTensor("blk.0.ffn_down.weight.in_sum2", {2, 2}, GgmlType::F32, s, 16).ok());
    ASSERT_TRUE(w.AddTensor("blk.0.ffn_down.weight.counts", {1, 3}, GgmlType::F32, c, 12).ok());
    ASSERT_TRUE(w.Write(path).ok());
    auto m = ReadImatrix(path);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().ToString().find("blk.0.ffn_down.weight"), std::string::npos) << m.status().ToString();
  }
  {  // a negative count
    Writer w;
    w.Set("general.type", Value::String("imatrix"));
    const float s[2] = {1, 2}, c = -3.0f;
    ASSERT_TRUE(w.AddTensor("x.weight.in_sum2", {2, 1}, GgmlType::F32, s, 8).ok());
    ASSERT_TRUE(w.AddTensor("x.weight.counts", {1, 1}, GgmlType::F32, &c, 4).ok());
    ASSERT_TRUE(w.Write(path).ok());
    auto m = ReadImatrix(path);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().ToString().find("negative"), std::string::npos) << m.status().ToString();
  }
  {  // a model GGUF, not an imatrix
    Writer w;
    w.Set("general.type", Value::String("model"));
    w.Set("general.architecture", Value::String("llama"));
    ASSERT_TRUE(w.Write(path).ok());
    auto m = ReadImatrix(path);
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().ToString().find("general.type"), std::string::npos) << m.status().ToString();
  }
  {  // a legacy entry claiming more values than the file holds
    std::vector<uint8_t> b = {1, 0, 0, 0, 1, 0, 0, 0, 'w', 1, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0};
    WriteAll(TmpPath("big.dat"), b);
    auto m = ReadImatrix(TmpPath("big.dat"));
    ASSERT_FALSE(m.ok());
    EXPECT_NE(m.status().ToString().find("'w'"), std::string::npos) << m.status().ToString();
  }
  EXPECT_FALSE(ReadImatrix(TmpPath("missing.dat")).ok());
}

}  // namespace
}  // namespace r1::gguf
