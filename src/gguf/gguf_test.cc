#include "gguf/gguf.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

namespace r1::gguf {
namespace {

std::string TmpPath(const std::string& name) {
  return std::string(R1_BINARY_DIR) + "/gguf_test_" + name + ".gguf";
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Writer SampleWriter() {
  Writer w;
  w.Set("general.architecture", Value::String("llama"));
  w.Set("llama.block_count", Value::U32(2));
  w.Set("test.i32", Value::I32(-7));
  w.Set("test.u64", Value::U64(1ull << 40));
  w.Set("test.f32", Value::F32(0.5f));
  w.Set("test.bool", Value::Bool(true));
  w.Set("tokenizer.ggml.tokens", Value::StringArray({"a", "b", "<think>", ""}));
  w.Set("test.i32s", Value::I32Array({1, -2, 3}));
  w.Set("test.f32s", Value::F32Array({1.5f, 2.5f}));
  Value f64; f64.type = ValueType::kFloat64; f64.f = 0.125;
  w.Set("test.f64", f64);
  Value i8; i8.type = ValueType::kInt8; i8.i = -3;
  w.Set("test.i8", i8);
  Value u16; u16.type = ValueType::kUint16; u16.u = 65535; u16.i = 65535;
  w.Set("test.u16", u16);
  Value nested; nested.type = ValueType::kArray; nested.elem_type = ValueType::kArray;
  nested.arrays = {Value::I32Array({1, 2}), Value::I32Array({3})};
  w.Set("test.nested", nested);
  std::vector<float> a(64 * 3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  EXPECT_TRUE(w.AddTensor("blk.0.attn_q.weight", {64, 3}, GgmlType::F32, a.data(), a.size() * 4).ok());
  std::vector<uint8_t> q8(34 * 2, 1);
  EXPECT_TRUE(w.AddTensor("q8", {64}, GgmlType::Q8_0, q8.data(), q8.size()).ok());
  return w;
}

TEST(Gguf, RoundTripsEveryValueType) {
  for (uint32_t version : {2u, 3u}) {
    for (uint64_t align : {32u, 64u}) {
      Writer w = SampleWriter();
      w.set_version(version);
      w.set_alignment(align);
      std::string path = TmpPath("roundtrip");
      ASSERT_TRUE(w.Write(path).ok());
      auto f = File::Open(path);
      ASSERT_TRUE(f.ok()) << f.status().ToString();
      EXPECT_EQ((*f)->version(), version);
      EXPECT_EQ((*f)->alignment(), align);
      EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
      EXPECT_EQ(*(*f)->GetInt("llama.block_count"), 2);
      EXPECT_EQ(*(*f)->GetInt("test.i32"), -7);
      EXPECT_EQ(*(*f)->GetInt("test.u64"), int64_t{1} << 40);
      EXPECT_EQ(*(*f)->GetInt("test.i8"), -3);
      EXPECT_EQ(*(*f)->GetInt("test.u16"), 65535);
      EXPECT_EQ(*(*f)->GetFloat("test.f32"), 0.5);
      EXPECT_EQ(*(*f)->GetFloat("test.f64"), 0.125);
      EXPECT_TRUE(*(*f)->GetBool("test.bool"));
      auto toks = (*f)->GetArray("tokenizer.ggml.tokens");
      ASSERT_TRUE(toks.ok());
      EXPECT_EQ((*toks)->strs, (std::vector<std::string>{"a", "b", "<think>", ""}));
      EXPECT_EQ((*(*f)->GetArray("test.i32s"))->ints, (std::vector<int64_t>{1, -2, 3}));
      EXPECT_EQ((*(*f)->GetArray("test.f32s"))->floats, (std::vector<double>{1.5, 2.5}));
      EXPECT_EQ((*(*f)->GetArray("test.nested"))->arrays.size(), 2u);
      const TensorInfo* t = (*f)->FindTensor("blk.0.attn_q.weight");
      ASSERT_NE(t, nullptr);
      EXPECT_EQ(t->ne, (std::vector<int64_t>{64, 3}));
      EXPECT_EQ(t->type, GgmlType::F32);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % align, 0u);
      EXPECT_EQ(reinterpret_cast<const float*>(t->data)[100], 100.0f);
      const TensorInfo* q = (*f)->FindTensor("q8");
      ASSERT_NE(q, nullptr);
      EXPECT_EQ(q->nbytes, 68u);
      EXPECT_EQ((*f)->FindTensor("missing"), nullptr);
    }
  }
}

TEST(Gguf, GetterErrorsNameTheKey) {
  std::string path = TmpPath("getters");
  ASSERT_TRUE(SampleWriter().Write(path).ok());
  auto f = File::Open(path);
  ASSERT_TRUE(f.ok());
  auto missing = (*f)->GetInt("llama.context_length");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("llama.context_length"), std::string::npos);
  auto wrong = (*f)->GetInt("general.architecture");
  EXPECT_NE(wrong.status().message().find("general.architecture"), std::string::npos);
  EXPECT_NE(wrong.status().message().find("string"), std::string::npos);
  EXPECT_EQ((*f)->GetIntOr("nope", 42), 42);
}

TEST(Gguf, MissingFileAndBadMagic) {
  auto r = File::Open("/nonexistent/model.gguf");
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("/nonexistent/model.gguf"), std::string::npos);
  std::string path = TmpPath("badmagic");
  WriteAll(path, std::vector<uint8_t>(64, 'x'));
  r = File::Open(path);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("magic"), std::string::npos);
}

// Every proper prefix of a valid file must be rejected cleanly.
TEST(Gguf, EveryTruncationIsAnError) {
  std::string path = TmpPath("full");
  ASSERT_TRUE(SampleWriter().Write(path).ok());
  std::vector<uint8_t> bytes = ReadAll(path);
  std::string cut = TmpPath("cut");
  for (size_t n = 0; n < bytes.size(); ++n) {
    // Padding after the last tensor's bytes may be cut without losing data.
    WriteAll(cut, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(n)));
    auto r = File::Open(cut);
    if (n < bytes.size() - 31) {
      EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    }
    if (!r.ok()) {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
}

// Hostile counts and lengths are caught before any allocation.
TEST(Gguf, OversizedCountsAreRejected) {
  std::string path = TmpPath("full2");
  ASSERT_TRUE(SampleWriter().Write(path).ok());
  std::vector<uint8_t> bytes = ReadAll(path);
  auto patch_u64 = [&](size_t off, uint64_t v) {
    std::vector<uint8_t> b = bytes;
    std::memcpy(b.data() + off, &v, 8);
    WriteAll(TmpPath("hostile"), b);
    return File::Open(TmpPath("hostile"));
  };
  auto r = patch_u64(8, ~0ull);  // n_tensors
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tensor count"), std::string::npos);
  r = patch_u64(16, 1ull << 60);  // n_kv
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("metadata count"), std::string::npos);
  r = patch_u64(24, 1ull << 62);  // first key's string length
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("exceeds the file"), std::string::npos);
}

TEST(Gguf, TensorPastEndNamesTheTensor) {
  Writer w;
  std::vector<float> a(32, 1.0f);
  ASSERT_TRUE(w.AddTensor("output.weight", {32}, GgmlType::F32, a.data(), 128).ok());
  std::string path = TmpPath("pastend");
  ASSERT_TRUE(w.Write(path).ok());
  std::vector<uint8_t> bytes = ReadAll(path);
  bytes.resize(bytes.size() - 64);
  WriteAll(path, bytes);
  auto r = File::Open(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("output.weight"), std::string::npos) << r.status().message();
}

TEST(Gguf, UnknownTensorTypeIsAnError) {
  Writer w;
  std::vector<float> a(32, 1.0f);
  ASSERT_TRUE(w.AddTensor("x", {32}, GgmlType::F32, a.data(), 128).ok());
  std::string path = TmpPath("badtype");
  ASSERT_TRUE(w.Write(path).ok());
  std::vector<uint8_t> bytes = ReadAll(path);
  // header(24) + name(8+1) + n_dims(4) + ne(8) -> type field
  // 99 is no type; 4 is r1's in-memory FP8 layout, never read from a file.
  for (uint32_t bad : {99u, 4u}) {
    std::memcpy(bytes.data() + 24 + 9 + 4 + 8, &bad, 4);
    WriteAll(path, bytes);
    auto r = File::Open(path);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("unknown ggml type " + std::to_string(bad)), std::string::npos)
        << r.status().message();
  }
}

// Declared tensors streamed through the fill callback give the same file as
// the same tensors copied in with AddTensor; fill sees them in order.
TEST(Gguf, StreamedTensorsMatchCopiedOnes) {
  std::vector<float> a(64 * 3);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i);
  std::vector<uint8_t> q8(34 * 2, 1);
  Writer copied, streamed;
  for (Writer* w : {&copied, &streamed}) {
    w->Set("general.architecture", Value::String("llama"));
    w->set_alignment(64);
  }
  ASSERT_TRUE(copied.AddTensor("a", {64, 3}, GgmlType::F32, a.data(), a.size() * 4).ok());
  ASSERT_TRUE(copied.AddTensor("b", {32}, GgmlType::F32, a.data(), 128).ok());
  ASSERT_TRUE(copied.AddTensor("q8", {64}, GgmlType::Q8_0, q8.data(), q8.size()).ok());
  ASSERT_TRUE(streamed.DeclareTensor("a", {64, 3}, GgmlType::F32).ok());
  ASSERT_TRUE(streamed.AddTensor("b", {32}, GgmlType::F32, a.data(), 128).ok());  // mixed
  ASSERT_TRUE(streamed.DeclareTensor("q8", {64}, GgmlType::Q8_0).ok());
  EXPECT_FALSE(streamed.DeclareTensor("bad", {33}, GgmlType::Q8_0).ok());
  const std::string p1 = TmpPath("copied"), p2 = TmpPath("streamed");
  ASSERT_TRUE(copied.Write(p1).ok());
  std::vector<size_t> calls;
  Status st = streamed.Write(p2, [&](size_t i, uint8_t* out, size_t n) {
    calls.push_back(i);
    const uint8_t* src = i == 0 ? reinterpret_cast<const uint8_t*>(a.data()) : q8.data();
    EXPECT_EQ(n, i == 0 ? a.size() * 4 : q8.size());
    std::memcpy(out, src, n);
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(calls, (std::vector<size_t>{0, 2}));
  EXPECT_EQ(ReadAll(p1), ReadAll(p2));
  // Without a fill, or when it fails, nothing is left under the path.
  const std::string p3 = TmpPath("nofill");
  std::remove(p3.c_str());
  EXPECT_FALSE(streamed.Write(p3).ok());
  EXPECT_FALSE(streamed.Write(p3, [](size_t, uint8_t*, size_t) { return Status::Internal("boom"); }).ok());
  EXPECT_TRUE(ReadAll(p3).empty());
}

// Split files: the first part opens the set; each tensor's bytes are those
// of the unsplit file; missing, foreign, misnamed and corrupt parts are clear
// errors that name the part.
TEST(Gguf, SplitFilesOpenAsOne) {
  Writer w = SampleWriter();
  std::vector<float> c(32 * 5, 0.25f);
  ASSERT_TRUE(w.AddTensor("blk.1.ffn_up.weight", {32, 5}, GgmlType::F32, c.data(), c.size() * 4).ok());
  const std::string whole = TmpPath("unsplit");
  ASSERT_TRUE(w.Write(whole).ok());
  const std::string prefix = std::string(R1_BINARY_DIR) + "/gguf_test_split";
  ASSERT_TRUE(w.WriteSplit(prefix, 3).ok());
  EXPECT_FALSE(w.WriteSplit(prefix + "_x", 4).ok()) << "more parts than tensors";
  const std::string first = File::SplitPath(prefix, 0, 3);
  EXPECT_EQ(first, prefix + "-00001-of-00003.gguf");

  auto ref = File::Open(whole);
  auto f = File::Open(first);
  ASSERT_TRUE(ref.ok() && f.ok()) << f.status().ToString();
  ASSERT_EQ((*f)->part_paths().size(), 3u);
  EXPECT_EQ((*f)->part_paths()[2], File::SplitPath(prefix, 2, 3));
  EXPECT_EQ((*f)->GetInt("llama.block_count").value(), 2);
  ASSERT_EQ((*f)->tensors().size(), (*ref)->tensors().size());
  std::vector<int> parts;
  for (const TensorInfo& t : (*ref)->tensors()) {
    const TensorInfo* s = (*f)->FindTensor(t.name);
    ASSERT_NE(s, nullptr) << t.name;
    EXPECT_EQ(s->ne, t.ne);
    EXPECT_EQ(s->type, t.type);
    ASSERT_EQ(s->nbytes, t.nbytes);
    EXPECT_EQ(std::memcmp(s->data, t.data, t.nbytes), 0) << t.name;
    parts.push_back(s->part);
  }
  EXPECT_EQ(parts, (std::vector<int>{0, 1, 2}));
  uint64_t sum = 0;
  for (uint64_t n : (*f)->part_sizes()) sum += n;
  EXPECT_EQ((*f)->file_size(), sum);

  auto error = [](const std::string& path) {
    auto r = File::Open(path);
    return r.ok() ? std::string("opened") : r.status().ToString();
  };
  // Not the first part.
  EXPECT_NE(error(File::SplitPath(prefix, 1, 3)).find("open the first part (" + first + ")"), std::string::npos);
  // A missing part.
  const std::string third = File::SplitPath(prefix, 2, 3), moved = third + ".moved";
  ASSERT_EQ(std::rename(third.c_str(), moved.c_str()), 0);
  EXPECT_NE(error(first).find("part 3 of 3 is missing"), std::string::npos) << error(first);
  // A part of another set (another count of tensors).
  Writer other = SampleWriter();
  ASSERT_TRUE(other.AddTensor("x", {32}, GgmlType::F32, c.data(), 128).ok());
  ASSERT_TRUE(other.AddTensor("y", {32}, GgmlType::F32, c.data(), 128).ok());
  const std::string other_prefix = std::string(R1_BINARY_DIR) + "/gguf_test_other";
  ASSERT_TRUE(other.WriteSplit(other_prefix, 3).ok());
  ASSERT_EQ(std::rename(File::SplitPath(other_prefix, 2, 3).c_str(), third.c_str()), 0);
  EXPECT_NE(error(first).find(third + ": is not part 3 of"), std::string::npos) << error(first);
  // A truncated (corrupt) part names itself.
  std::vector<uint8_t> bytes = ReadAll(moved);
  bytes.resize(bytes.size() - 64);
  WriteAll(third, bytes);
  const std::string e = error(first);
  EXPECT_NE(e.find("part 3 of 3"), std::string::npos) << e;
  EXPECT_NE(e.find(third), std::string::npos) << e;
  ASSERT_EQ(std::rename(moved.c_str(), third.c_str()), 0);
  EXPECT_TRUE(File::Open(first).ok());
  // A first part whose name hides the others.
  const std::string renamed = std::string(R1_BINARY_DIR) + "/gguf_test_renamed.gguf";
  WriteAll(renamed, ReadAll(first));
  EXPECT_NE(error(renamed).find("does not follow NAME-00001-of-00003.gguf"), std::string::npos) << error(renamed);
}

// Random byte corruption: never a crash (ASan/UBSan builds check the rest).
TEST(Gguf, RandomCorruptionNeverCrashes) {
  std::string path = TmpPath("full3");
  ASSERT_TRUE(SampleWriter().Write(path).ok());
  std::vector<uint8_t> bytes = ReadAll(path);
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int iter = 0; iter < 500; ++iter) {
    std::vector<uint8_t> b = bytes;
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) b[rng() % 400] = static_cast<uint8_t>(rng());
    WriteAll(TmpPath("corrupt"), b);
    auto r = File::Open(TmpPath("corrupt"));
    rejected += !r.ok();
  }
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace r1::gguf
