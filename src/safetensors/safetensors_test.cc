#include "safetensors/safetensors.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace r1::safetensors {
namespace {

std::string Dir(const std::string& name) {
  const std::string d = std::string(R1_BINARY_DIR) + "/safetensors_test_" + name;
  ::mkdir(d.c_str(), 0755);
  return d;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A file from a header object and the data section, as the format lays it out.
std::string FileBytes(const nlohmann::json& header, const std::string& data) {
  const std::string h = header.dump();
  uint64_t n = h.size();
  std::string out(8, '\0');
  std::memcpy(out.data(), &n, 8);
  return out + h + data;
}

std::string Floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

// Two tensors (F32 [2, 3] then BF16 [4]) and metadata.
std::string Sample() {
  nlohmann::json h = {{"__metadata__", {{"format", "pt"}}},
                      {"a", {{"dtype", "F32"}, {"shape", {2, 3}}, {"data_offsets", {0, 24}}}},
                      {"b", {{"dtype", "BF16"}, {"shape", {4}}, {"data_offsets", {24, 32}}}}};
  const uint16_t bf[4] = {0x3f80, 0x4000, 0xbf80, 0x0000};  // 1, 2, -1, 0
  return FileBytes(h, Floats({1, 2, 3, 4, 5, 6}) + std::string(reinterpret_cast<const char*>(bf), 8));
}

std::string OpenError(const std::string& bytes) {
  const std::string path = Dir("bad") + "/x.safetensors";
  WriteBytes(path, bytes);
  auto f = File::Open(path);
  return f.ok() ? "opened" : f.status().ToString();
}

TEST(Safetensors, ReadsTensorsAndMetadata) {
  const std::string path = Dir("one") + "/model.safetensors";
  WriteBytes(path, Sample());
  auto f = File::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->metadata().at("format"), "pt");
  ASSERT_EQ((*f)->tensors().size(), 2u);
  const Tensor* a = (*f)->Find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, Dtype::kF32);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a->ShapeString(), "[2, 3]");
  float x[6];
  std::memcpy(x, a->data, 24);
  EXPECT_EQ(x[5], 6.0f);
  const Tensor* b = (*f)->Find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(std::string(DtypeName(b->dtype)), "BF16");
  EXPECT_EQ(b->nbytes(), 8u);
  uint16_t v;
  std::memcpy(&v, b->data + 2, 2);
  EXPECT_EQ(v, 0x4000);
  EXPECT_EQ((*f)->Find("c"), nullptr);
  auto c = Checkpoint::Open(Dir("one"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->n_tensors(), 2u);
  EXPECT_EQ((*c)->Find("b")->nbytes(), 8u);
}

TEST(Safetensors, HostileHeadersNameTheProblem) {
  auto expect = [](const std::string& bytes, const std::string& says) {
    const std::string e = OpenError(bytes);
    EXPECT_NE(e.find(says), std::string::npos) << "wanted '" << says << "' in: " << e;
  };
  std::string huge(16, '\0');
  const uint64_t big = 1ull << 60;
  std::memcpy(huge.data(), &big, 8);
  expect(huge, "exceeds the limit");
  std::string past(16, '\0');
  const uint64_t n = 1000;
  std::memcpy(past.data(), &n, 8);
  expect(past, "exceeds the file");
  expect("abc", "too small");
  expect(FileBytes(nlohmann::json::array(), ""), "not a JSON object");
  std::string broken = FileBytes({{"a", 1}}, "");
  broken.back() = '#';  // the closing brace
  expect(broken, "not valid JSON");
  auto one = [](nlohmann::json t, const std::string& data) { return FileBytes({{"w", t}}, data); };
  const std::string d16(16, '\0');
  expect(one({{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 32}}}, d16), "outside the data section");
  expect(one({{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 16}}}, d16), "need 3 x 4 bytes");
  expect(one({{"dtype", "Q4"}, {"shape", {4}}, {"data_offsets", {0, 16}}}, d16), "unknown dtype");
  expect(one({{"dtype", "F32"}, {"shape", {-4}}, {"data_offsets", {0, 16}}}, d16), "non-negative");
  expect(one({{"dtype", "F32"}, {"shape", {4}}}, d16), "'data_offsets'");
  expect(one({{"shape", {4}}, {"data_offsets", {0, 16}}}, d16), "'dtype'");
  expect(one({{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 0}}}, d16), "outside the data section");
  expect(one({{"dtype", "F32"}, {"shape", {1ull << 40, 1ull << 40}}, {"data_offsets", {0, 16}}}, d16), "exceeds the file");
  expect(one({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}}, d16), "gap");
  expect(one({{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}, d16), "end at byte 8");
  expect(FileBytes({{"x", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                    {"y", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {8, 16}}}}},
                   d16),
         "overlaps tensor 'x'");
  expect(FileBytes({{"__metadata__", {{"k", 1}}}}, ""), "'__metadata__.k' must be a string");
}

TEST(Safetensors, ShardedCheckpoint) {
  const std::string d = Dir("sharded");
  WriteBytes(d + "/model-00001-of-00002.safetensors",
             FileBytes({{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}}}, Floats({1, 2})));
  WriteBytes(d + "/model-00002-of-00002.safetensors",
             FileBytes({{"b", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}}}, std::string(4, '\1')));
  auto write_index = [&](const nlohmann::json& wm) {
    WriteBytes(d + "/model.safetensors.index.json", nlohmann::json({{"metadata", {}}, {"weight_map", wm}}).dump());
  };
  write_index({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}});
  auto c = Checkpoint::Open(d);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)->shards().size(), 2u);
  EXPECT_EQ((*c)->Find("b")->dtype, Dtype::kF16);
  EXPECT_EQ((*c)->ShardOf("b")->path(), d + "/model-00002-of-00002.safetensors");
  auto error = [&] {
    auto r = Checkpoint::Open(d);
    return r.ok() ? std::string("opened") : r.status().ToString();
  };
  write_index({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00003-of-00002.safetensors"}});
  EXPECT_NE(error().find("shard model-00003-of-00002.safetensors (of tensor 'b') is missing"), std::string::npos) << error();
  write_index({{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00001-of-00002.safetensors"}});
  EXPECT_NE(error().find("has no tensor 'b'"), std::string::npos) << error();
  write_index({{"a", "model-00001-of-00002.safetensors"}});
  write_index({{"a", "model-00001-of-00002.safetensors"}, {"b", "../model-00002-of-00002.safetensors"}});
  EXPECT_NE(error().find("is not a file in"), std::string::npos) << error();
  write_index({{"b", "model-00002-of-00002.safetensors"}, {"c", "model-00001-of-00002.safetensors"}});
  EXPECT_NE(error().find("has no tensor 'c'"), std::string::npos) << error();
  WriteBytes(d + "/model.safetensors.index.json", "{\"weight_map\": 3}");
  EXPECT_NE(error().find("'weight_map'"), std::string::npos) << error();
  EXPECT_NE(Checkpoint::Open(Dir("empty")).status().ToString().find("neither model.safetensors"), std::string::npos);
}

// The Hugging Face directory `r1 gen --trained r1-tiny --fp8` writes, in
// DeepSeek's FP8 layout: every e4m3 weight has a float32 weight_scale_inv
// of one value per 128x128 block.
TEST(Safetensors, ReadsDeepSeekFp8Layout) {
  const char* bin = std::getenv("R1_BIN");
  if (!bin) GTEST_SKIP() << "R1_BIN is not set";
  const std::string d = Dir("fp8");
  ASSERT_EQ(std::system((std::string(bin) + " gen --trained r1-tiny --fp8 -o " + d + " 2>/dev/null").c_str()), 0);
  auto c = Checkpoint::Open(d);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  int fp8 = 0;
  for (const Tensor& t : (*c)->shards()[0]->tensors()) {
    if (t.dtype != Dtype::kF8E4M3) {
      EXPECT_TRUE(t.dtype == Dtype::kBF16 || t.dtype == Dtype::kF32) << t.name << " " << DtypeName(t.dtype);
      continue;
    }
    ++fp8;
    ASSERT_EQ(t.shape.size(), 2u) << t.name;
    const std::string scale_name = t.name.substr(0, t.name.size() - 6) + "weight_scale_inv";  // "...weight"
    const Tensor* s = (*c)->Find(scale_name);
    ASSERT_NE(s, nullptr) << scale_name;
    EXPECT_EQ(s->dtype, Dtype::kF32);
    EXPECT_EQ(s->shape, (std::vector<int64_t>{(t.shape[0] + 127) / 128, (t.shape[1] + 127) / 128})) << t.name;
  }
  EXPECT_GT(fp8, 0);
  EXPECT_NE((*c)->Find("model.embed_tokens.weight"), nullptr);
}

// Random corruption of a valid file: an error or a valid file, never a crash
// (the ASan/UBSan build and the fuzzer check the rest).
TEST(Safetensors, RandomCorruptionNeverCrashes) {
  const std::string good = Sample();
  std::mt19937 rng(3);
  for (int i = 0; i < 500; ++i) {
    std::string b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] = static_cast<char>(rng());
    if (rng() % 4 == 0) b.resize(rng() % b.size());
    (void)OpenError(b);
  }
}

}  // namespace
}  // namespace r1::safetensors
