// HfTokenizerToGguf: a tokenizer.json written as GGUF metadata encodes every
// test string exactly as the tokenizer.json itself does (both through our
// tokenizer, which matches HF: oracle_test.cc), for the DeepSeek-V3 and Qwen
// vocabularies, with the vocabulary padded to the model's size.
#include "tokenizer/hf_to_gguf.h"

#include <gtest/gtest.h>

#include "util/skip.h"

#include <cstdio>

#include "tokenizer/test_util.h"
#include "tokenizer/tokenizer.h"

namespace r1 {
namespace {

void CheckSameEncoding(const std::string& name, const std::string& pre, int64_t n_vocab) {
  std::string why;
  if (!tok::testing::EnsureOracle(&why)) R1_SKIP_OR_FAIL(why);
  const std::string dir = tok::testing::OracleModelDir(name);
  auto files = ReadHfTokenizer(dir);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  gguf::Writer w;
  w.Set("general.architecture", gguf::Value::String("test"));
  ASSERT_TRUE(HfTokenizerToGguf(*files, pre, n_vocab, &w).ok());
  const std::string path = std::string(R1_BINARY_DIR) + "/hf_to_gguf_" + name + ".gguf";
  ASSERT_TRUE(w.Write(path).ok());
  auto file = gguf::File::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->GetArray("tokenizer.ggml.tokens").value()->array_size(), static_cast<size_t>(n_vocab));
  auto a = Tokenizer::FromGguf(**file);
  auto b = Tokenizer::FromDirectory(dir);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  for (const std::string text :
       {"What is 347+589?", "Compute 73*58.", "  leading spaces\n\nand 12345 digits", "héllo wörld 你好",
        "<｜User｜>hi<｜Assistant｜>", "<｜end▁of▁sentence｜> and <|im_end|>", "def f(x):\n\treturn x**2"}) {
    EXPECT_EQ((*a)->Encode(text, true), (*b)->Encode(text, true)) << name << ": " << text;
  }
  EXPECT_EQ((*a)->bos_id(), (*b)->bos_id());
  EXPECT_EQ((*a)->eos_id(), (*b)->eos_id());
  std::remove(path.c_str());
}

TEST(HfToGguf, DeepSeekV3EncodesLikeTokenizerJson) { CheckSameEncoding("deepseek_v3", "deepseek-v3", 129280); }
TEST(HfToGguf, QwenEncodesLikeTokenizerJson) { CheckSameEncoding("qwen3", "qwen2", 151936); }

TEST(HfToGguf, BadTokenizerJsonIsAnError) {
  HfTokenizerFiles f;
  f.tokenizer = {{"model", {{"type", "Unigram"}}}};
  gguf::Writer w;
  Status st = HfTokenizerToGguf(f, "default", 10, &w);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("BPE"), std::string::npos);
  f.tokenizer = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 12}}}}}};
  st = HfTokenizerToGguf(f, "default", 5, &w);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("smaller"), std::string::npos);
}

}  // namespace
}  // namespace r1
