// Which files a reference selects, and the listing parser's refusals. The
// downloads themselves are tested against a local hub in tests/hub.
#include "hub/hub.h"

#include <gtest/gtest.h>

namespace r1::hub {
namespace {

RemoteFile F(const std::string& path, int64_t size = 10) {
  RemoteFile f;
  f.path = path;
  f.size = size;
  f.git_oid = std::string(40, 'a');
  f.sha256 = std::string(64, 'b');
  return f;
}

std::vector<std::string> Paths(const StatusOr<std::vector<RemoteFile>>& r) {
  std::vector<std::string> out;
  if (r.ok())
    for (const auto& f : *r) out.push_back(f.path);
  return out;
}

TEST(HubRef, ParsesRepositoriesQuantsFilesRevisionsAndShortNames) {
  auto r = ParseRef("bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF:Q4_K_M");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->repo, "bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF");
  EXPECT_EQ(r->quant, "Q4_K_M");
  EXPECT_EQ(r->revision, "main");
  r = ParseRef("org/name@v1.0:sub/model-q8_0.gguf");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->revision, "v1.0");
  EXPECT_EQ(r->file, "sub/model-q8_0.gguf");
  EXPECT_TRUE(r->quant.empty());
  r = ParseRef("hf.co/unsloth/DeepSeek-R1-0528-GGUF:UD-IQ1_S");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repo, "unsloth/DeepSeek-R1-0528-GGUF");
  EXPECT_EQ(r->quant, "UD-IQ1_S");
  r = ParseRef("deepseek-r1:7b");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->repo, "bartowski/DeepSeek-R1-Distill-Qwen-7B-GGUF");
  EXPECT_EQ(r->quant, "Q4_K_M");
  for (const char* bad : {"noslash", "a/b/c", "org/", "/name", "org/name:", "org/name:../../etc/passwd",
                          "org/.hidden", "org/name@:Q4", "org/na me", "deepseek-r1:3b"}) {
    auto b = ParseRef(bad);
    EXPECT_FALSE(b.ok()) << bad;
    if (!b.ok()) {
      EXPECT_NE(b.status().message().find(bad), std::string::npos) << b.status().message();
    }
  }
}

TEST(HubRef, LooksLikeRefLeavesPathsAlone) {
  EXPECT_TRUE(LooksLikeRef("org/name"));
  EXPECT_TRUE(LooksLikeRef("org/name:Q8_0"));
  EXPECT_TRUE(LooksLikeRef("deepseek-r1:1.5b"));
  EXPECT_FALSE(LooksLikeRef("models/missing.gguf"));  // a missing file stays the loader's NotFound
  EXPECT_FALSE(LooksLikeRef("./org/name"));
  EXPECT_FALSE(LooksLikeRef("/abs/path"));
  EXPECT_FALSE(LooksLikeRef("model.gguf"));
  EXPECT_FALSE(LooksLikeRef("."));  // exists
}

TEST(HubRef, SplitNames) {
  std::string prefix;
  int no = 0, count = 0;
  ASSERT_TRUE(ParseSplitName("dir/R1-UD-IQ1_S-00002-of-00004.gguf", &prefix, &no, &count));
  EXPECT_EQ(prefix, "dir/R1-UD-IQ1_S");
  EXPECT_EQ(no, 2);
  EXPECT_EQ(count, 4);
  EXPECT_FALSE(ParseSplitName("R1-00005-of-00004.gguf", &prefix, &no, &count));
  EXPECT_FALSE(ParseSplitName("R1-00000-of-00004.gguf", &prefix, &no, &count));
  EXPECT_FALSE(ParseSplitName("R1-Q4_K_M.gguf", &prefix, &no, &count));
  EXPECT_FALSE(ParseSplitName("R1-0000a-of-00004.gguf", &prefix, &no, &count));
}

TEST(HubSelect, QuantTagsSplitSetsAndFallbacks) {
  std::vector<RemoteFile> l = {F("README.md"),
                               F("R1-Q4_K.gguf"),
                               F("R1-Q4_K_M.gguf"),
                               F("R1-Q4_K_S.gguf"),
                               F("UD-Q4_K_M/R1-UD-Q4_K_M-00001-of-00002.gguf"),
                               F("UD-Q4_K_M/R1-UD-Q4_K_M-00002-of-00002.gguf"),
                               F("Q8_0/R1-Q8_0-00002-of-00003.gguf"),
                               F("Q8_0/R1-Q8_0-00001-of-00003.gguf"),
                               F("Q8_0/R1-Q8_0-00003-of-00003.gguf"),
                               F("mmproj-R1-F16.gguf"),
                               F("R1-IQ1_S-00001-of-00002.gguf")};
  Ref r;
  r.repo = "o/R1";
  r.quant = "q4_k";  // case-insensitive, and not Q4_K_M or Q4_K_S
  EXPECT_EQ(Paths(SelectFiles(l, r)), std::vector<std::string>{"R1-Q4_K.gguf"});
  r.quant = "Q4_K_M";  // the plain one before UD-
  EXPECT_EQ(Paths(SelectFiles(l, r)), std::vector<std::string>{"R1-Q4_K_M.gguf"});
  r.quant = "UD-Q4_K_M";
  EXPECT_EQ(Paths(SelectFiles(l, r)).size(), 2u);
  r.quant = "Q8_0";  // every part, in order
  EXPECT_EQ(Paths(SelectFiles(l, r)),
            (std::vector<std::string>{"Q8_0/R1-Q8_0-00001-of-00003.gguf", "Q8_0/R1-Q8_0-00002-of-00003.gguf",
                                      "Q8_0/R1-Q8_0-00003-of-00003.gguf"}));
  r.quant = "";  // llama.cpp's default
  EXPECT_EQ(Paths(SelectFiles(l, r)), std::vector<std::string>{"R1-Q4_K_M.gguf"});
  r.quant = "IQ1_S";  // part 2 is missing from the repository
  auto missing = SelectFiles(l, r);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("part 2 of 2"), std::string::npos) << missing.status().message();
  r.quant = "Q3_K_M";
  auto none = SelectFiles(l, r);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("Q4_K_M"), std::string::npos) << none.status().message();
  EXPECT_NE(none.status().message().find("UD-Q4_K_M"), std::string::npos) << none.status().message();
  EXPECT_EQ(none.status().message().find("F16"), std::string::npos) << "mmproj is no quant of the model";
  r.quant = "";
  r.file = "R1-Q8_0-00002-of-00003.gguf";  // by base name, with its set
  EXPECT_EQ(Paths(SelectFiles(l, r)).size(), 3u);
  r.file = "nothere.gguf";
  EXPECT_FALSE(SelectFiles(l, r).ok());
}

TEST(HubSelect, RepositoryWithoutGgufGetsSafetensorsAndConfig) {
  std::vector<RemoteFile> l = {F("config.json", 1), F("model-00001-of-00002.safetensors", 100),
                               F("model-00002-of-00002.safetensors", 90), F("model.safetensors.index.json", 5),
                               F("tokenizer.json", 50), F("tokenizer_config.json", 3), F("README.md", 2),
                               F("figures/plot.png", 1000), F("inference/kernel.py", 7)};
  Ref r;
  r.repo = "deepseek-ai/DeepSeek-R1";
  auto got = Paths(SelectFiles(l, r));
  EXPECT_EQ(got.size(), 6u);
  EXPECT_EQ(got.front(), "config.json");  // small files first
  EXPECT_EQ(std::count(got.begin(), got.end(), "README.md"), 0);
  r.quant = "Q4_K_M";
  EXPECT_FALSE(SelectFiles(l, r).ok());
}

TEST(HubTree, ParsesTheHubListingAndRefusesHostileEntries) {
  auto ok = ParseTree(R"([{"type":"directory","oid":"x","path":"sub"},
    {"type":"file","oid":"0123456789012345678901234567890123456789","size":12,"path":"README.md"},
    {"type":"file","oid":"0123456789012345678901234567890123456789","size":4096,"path":"sub/m.gguf",
     "lfs":{"oid":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef","size":4096,"pointerSize":134}}])");
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_TRUE((*ok)[0].sha256.empty());
  EXPECT_EQ((*ok)[0].blob_id(), "0123456789012345678901234567890123456789");
  EXPECT_EQ((*ok)[1].blob_id().size(), 64u);
  const std::string oid = R"("oid":"0123456789012345678901234567890123456789")";
  struct Case {
    std::string json, want;
  } cases[] = {
      {"{", "not JSON"},
      {"{}", "array"},
      {R"([{"type":"file",)" + oid + R"(,"size":1,"path":"../x"}])", "unsafe path"},
      {R"([{"type":"file",)" + oid + R"(,"size":1,"path":"/etc/x"}])", "unsafe path"},
      {R"([{"type":"file",)" + oid + R"(,"size":1,"path":"a/./b"}])", "unsafe path"},
      {R"([{"type":"file",)" + oid + R"(,"size":-1,"path":"a"}])", "'size'"},
      {R"([{"type":"file","oid":"zz","size":1,"path":"a"}])", "git blob id"},
      {R"([{"type":"file",)" + oid + R"(,"size":1,"path":"a","lfs":{"oid":"abc"}}])", "SHA-256"},
      {R"([{"type":"file",)" + oid + R"(,"size":1,"path":"a","lfs":{"oid":"abc","size":2}}])", "lfs.size"},
      {R"([{"type":"file",)" + oid + R"(,"size":1,"path":"a"},{"type":"file",)" + oid + R"(,"size":1,"path":"a"}])",
       "listed twice"},
      {R"([{"type":"file",)" + oid + R"(,"size":1}])", "'path'"},
  };
  for (const Case& c : cases) {
    auto r = ParseTree(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_NE(r.status().message().find(c.want), std::string::npos) << c.json << " -> " << r.status().message();
  }
}

}  // namespace
}  // namespace r1::hub
