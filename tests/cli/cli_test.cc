// End-to-end tests of the r1 command line on generated models: the tool is
// run as a user would run it (R1_BIN), output checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "runtime/kld.h"
#include "util/shell.h"

namespace {

using Result = r1::testing::ShellResult;

// Runs a shell command; stderr is merged into `out` unless quiet_stderr.
Result Sh(const std::string& cmd, bool quiet_stderr = false) { return r1::testing::RunShell(cmd, quiet_stderr); }

std::string Bin() {
  const char* b = std::getenv("R1_BIN");
  return b ? b : std::string(R1_BINARY_DIR) + "/r1";
}

std::string Dir() { return std::string(R1_BINARY_DIR) + "/testmodels"; }

const std::string& TinyModel() {
  static const std::string path = [] {
    std::string p = Dir() + "/cli_tiny.gguf";
    Sh("mkdir -p " + Dir());
    Result r = Sh(Bin() + " gen --arch qwen2 --size tiny --type q8_0 --seed 5 -o " + p);
    EXPECT_EQ(r.code, 0) << r.out;
    return p;
  }();
  return path;
}

TEST(Cli, InspectPrintsMetadataTensorsAndMemory) {
  Result r = Sh(Bin() + " inspect " + TinyModel());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("general.architecture"), std::string::npos);
  EXPECT_NE(r.out.find("[320 × string]"), std::string::npos) << "token array should be summarised";
  EXPECT_NE(r.out.find("blk.0.attn_q.weight"), std::string::npos);
  EXPECT_NE(r.out.find("per token"), std::string::npos);
  EXPECT_NE(r.out.find("expected resident memory"), std::string::npos);
}

TEST(Cli, BadFilesGiveClearErrors) {
  Result r = Sh(Bin() + " inspect /nonexistent.gguf");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("/nonexistent.gguf"), std::string::npos) << r.out;
  std::string trunc = Dir() + "/cli_truncated.gguf";
  Sh("head -c 3000 " + TinyModel() + " > " + trunc);
  r = Sh(Bin() + " run -m " + trunc + " --tokens 1,2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("cli_truncated.gguf"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Segmentation"), std::string::npos);
}

TEST(Cli, LogitsWritesEveryPosition) {
  std::string out = Dir() + "/cli_logits.bin";
  Result r = Sh(Bin() + " logits -m " + TinyModel() + " --tokens 1,2,3,4 --out " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream f(out, std::ios::binary | std::ios::ate);
  EXPECT_EQ(static_cast<long>(f.tellg()), 4L * 320 * 4);
  EXPECT_NE(r.out.find("pos 3"), std::string::npos);
  r = Sh(Bin() + " logits -m " + TinyModel() + " --tokens 1,x");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("'x'"), std::string::npos) << r.out;
}

TEST(Cli, RunIsGreedyDeterministicAndSeeded) {
  std::string cmd = Bin() + " run -m " + TinyModel() + " --tokens 1,2,3 -n 12 --ids ";
  Result a = Sh(cmd + "--temp 0", true), b = Sh(cmd + "--temp 0", true);
  ASSERT_EQ(a.code, 0) << a.out;
  EXPECT_EQ(std::count(a.out.begin(), a.out.end(), ' '), 12) << a.out;
  EXPECT_EQ(a.out, b.out);
  Result s1 = Sh(cmd + "--temp 1 --seed 7", true), s2 = Sh(cmd + "--temp 1 --seed 7", true);
  EXPECT_EQ(s1.out, s2.out);
  Result t = Sh(Bin() + " run -m " + TinyModel() + " -p 'Hello there' -n 8 --seed 1");
  EXPECT_EQ(t.code, 0) << t.out;
  EXPECT_NE(t.out.find("generated 8 tokens"), std::string::npos) << t.out;
}

TEST(Cli, ChatWorksWithPipedInput) {
  Result r = Sh("printf 'Hello\\n/budget 0\\nWhat is 1+1?\\n/save " + Dir() + "/cli_chat.json\\n' | " + Bin() +
                " chat -m " + TinyModel() + " -n 16 --seed 3");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("> Hello"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("> What is 1+1?"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(thinking budget 0 tokens)"), std::string::npos) << r.out;
  // With budget 0 the second answer has an empty thought: nothing is shown as reasoning.
  const size_t second = r.out.find("> What is 1+1?");
  EXPECT_EQ(r.out.find("<think>", second), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2 reasoning"), std::string::npos) << r.out;  // "\n" and </think>
  std::ifstream saved(Dir() + "/cli_chat.json");
  std::string json((std::istreambuf_iterator<char>(saved)), {});
  EXPECT_NE(json.find("\"assistant\""), std::string::npos) << json;
  EXPECT_NE(json.find("What is 1+1?"), std::string::npos);
}

TEST(Cli, BenchJsonHasTheFields) {
  Result r = Sh(Bin() + " bench -m " + TinyModel() + " -p 16 -n 4 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* k : {"\"prefill_tps\"", "\"decode_tps\"", "\"bandwidth_gbs\"", "\"decode_roofline\""})
    EXPECT_NE(r.out.find(k), std::string::npos) << k << " missing in " << r.out;
}

TEST(Cli, BenchConstrainedReportsTheMaskTime) {
  const std::string schema = Dir() + "/bench_schema.json";
  Sh("printf '%s' '{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"integer\"}},"
     "\"required\":[\"a\",\"b\"]}' > " + schema);
  Result r = Sh(Bin() + " bench -m " + TinyModel() + " -n 8 --spec-runs 1 --json-schema " + schema + " --json", true);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* k : {"\"decode_tps\"", "\"decode_tps_unconstrained\"", "\"ratio\"", "\"mask_ms_per_token\""})
    EXPECT_NE(r.out.find(k), std::string::npos) << k << " missing in " << r.out;
  EXPECT_EQ(r.out.find("\"constrained_tokens\": 0,"), std::string::npos) << "no token went through the grammar: " << r.out;
}

// r1 split writes llama.cpp's gguf-split layout; the set opens through its
// first part with the logits of the unsplit file, and merges back byte for byte.
TEST(Cli, SplitFilesLoadAndMergeBack) {
  const std::string prefix = Dir() + "/cli_split";
  Result r = Sh(Bin() + " split " + TinyModel() + " -n 3 -o " + prefix);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string first = prefix + "-00001-of-00003.gguf";
  r = Sh(Bin() + " inspect " + first);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("parts:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(prefix + "-00003-of-00003.gguf"), std::string::npos) << r.out;
  const std::string a = Dir() + "/cli_split_whole.bin", b = Dir() + "/cli_split_parts.bin";
  ASSERT_EQ(Sh(Bin() + " logits -m " + TinyModel() + " --tokens 1,2,3,4 --out " + a).code, 0);
  ASSERT_EQ(Sh(Bin() + " logits -m " + first + " --tokens 1,2,3,4 --out " + b).code, 0);
  EXPECT_EQ(Sh("cmp " + a + " " + b).code, 0) << "a split file gives other logits";
  const std::string merged = Dir() + "/cli_split_merged.gguf";
  ASSERT_EQ(Sh(Bin() + " split --merge " + first + " -o " + merged).code, 0);
  EXPECT_EQ(Sh("cmp " + TinyModel() + " " + merged).code, 0) << "merge is not the original file";
  Sh("mv " + prefix + "-00002-of-00003.gguf " + prefix + "-2.moved");
  r = Sh(Bin() + " run -m " + first + " --tokens 1,2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("part 2 of 3 is missing"), std::string::npos) << r.out;
  Sh("mv " + prefix + "-2.moved " + prefix + "-00002-of-00003.gguf");
}

// r1 quantize of an F32 file into the Q4_K_M mix gives exactly the file
// `r1 gen --type q4_k_m` makes from the same weights (one recipe, one
// quantizer); overrides, the requantize refusal and the IQ refusal.
TEST(Cli, QuantizeMatchesTheRecipeAndRefusesClearly) {
  const std::string d = Dir();
  Sh("mkdir -p " + d);
  const std::string f32 = d + "/cli_q_f32.gguf", gen = d + "/cli_q_gen.gguf", q = d + "/cli_q_q4km.gguf";
  ASSERT_EQ(Sh(Bin() + " gen --size small --type f32 --seed 3 -o " + f32).code, 0);
  ASSERT_EQ(Sh(Bin() + " gen --size small --type q4_k_m --seed 3 -o " + gen).code, 0);
  Result r = Sh(Bin() + " quantize " + f32 + " " + q + " q4_k_m");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("Q6_K"), std::string::npos) << r.out;
  const std::string a = d + "/cli_q_a.bin", b = d + "/cli_q_b.bin";
  ASSERT_EQ(Sh(Bin() + " logits -m " + gen + " --tokens 1,2,3,4,5 --out " + a).code, 0);
  ASSERT_EQ(Sh(Bin() + " logits -m " + q + " --tokens 1,2,3,4,5 --out " + b).code, 0);
  EXPECT_EQ(Sh("cmp " + a + " " + b).code, 0) << "r1 quantize and r1 gen disagree on Q4_K_M";
  r = Sh(Bin() + " inspect " + q);
  EXPECT_NE(r.out.find("general.file_type                                u32    15"), std::string::npos) << r.out;

  // Overrides by pattern, first match wins; the rest follows the mix.
  const std::string ov = d + "/cli_q_ov.gguf";
  r = Sh(Bin() + " quantize " + f32 + " " + ov + " q3_k_m --tensor-type 'ffn_(up|gate)=q2_k' --tensor-type "
         "'ffn_.*=iq4_xs' --token-embedding-type q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  r = Sh(Bin() + " inspect " + ov);
  for (const char* want : {"blk.1.ffn_up.weight                      Q2_K", "blk.1.ffn_down.weight                    IQ4_XS",
                           "token_embd.weight                        Q8_0", "blk.1.attn_q.weight                      Q3_K",
                           "blk.0.attn_v.weight                      Q5_K"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  ASSERT_EQ(Sh(Bin() + " logits -m " + ov + " --tokens 1,2,3 --out " + a).code, 0);

  r = Sh(Bin() + " quantize " + q + " " + d + "/cli_q_x.gguf q4_0");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("is already Q4_K"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--allow-requantize"), std::string::npos) << r.out;
  r = Sh(Bin() + " quantize " + q + " " + d + "/cli_q_x.gguf q4_0 --allow-requantize");
  EXPECT_EQ(r.code, 0) << r.out;
  r = Sh(Bin() + " quantize " + f32 + " " + d + "/cli_q_x.gguf q4_k_q");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("unknown quantization type 'q4_k_q'"), std::string::npos) << r.out;
  r = Sh(Bin() + " quantize " + f32 + " " + d + "/cli_q_x.gguf q4_0 --tensor-type 'ffn_(=q2_k'");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad pattern"), std::string::npos) << r.out;
}

// r1 kld: the base log-probabilities of an F32 model, then the model against
// itself (KLD ~ 0 through the 16-bit rows), its Q8_0 copy and its Q4_0 copy
// (ranked); bad base files and short texts are clean errors.
// r1 imatrix over a text, then r1 quantize --imatrix: the matrix is read and
// used (the weighted quantization differs from the plain one and still
// runs), both file forms are accepted, and a matrix made on another model is
// refused naming the entry.
TEST(Cli, ImatrixFeedsQuantizeAndAMismatchIsNamed) {
  const std::string d = Dir();
  Sh("mkdir -p " + d);
  const std::string f32 = d + "/cli_imx_f32.gguf", other = d + "/cli_imx_other.gguf";
  ASSERT_EQ(Sh(Bin() + " gen --arch qwen2 --size tiny --type f32 --seed 9 -o " + f32).code, 0);
  ASSERT_EQ(Sh(Bin() + " gen --arch llama --size small --type f32 --seed 9 -o " + other).code, 0);
  const std::string text = d + "/cli_imx.txt";
  {
    std::ofstream t(text);
    const char* words[] = {"one", "two", "three", "four", "five", "six", "seven", "eight"};
    unsigned x = 3;
    for (int i = 0; i < 800; ++i) {
      x = x * 1103515245u + 12345u;
      t << words[(x >> 16) % 8] << (i % 13 == 12 ? ".\n" : " ");
    }
  }
  const std::string imx = d + "/cli_imx.gguf", dat = d + "/cli_imx.dat";
  Result r = Sh(Bin() + " imatrix -m " + f32 + " -f " + text + " -c 64 --chunks 4 -o " + imx);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("from 4 chunks of 64 tokens"), std::string::npos) << r.out;
  r = Sh(Bin() + " imatrix -m " + f32 + " -f " + text + " -c 64 --chunks 4 --output-format dat -o " + dat);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string plain = d + "/cli_imx_q4.gguf", weighted = d + "/cli_imx_q4w.gguf", wdat = d + "/cli_imx_q4d.gguf";
  ASSERT_EQ(Sh(Bin() + " quantize " + f32 + " " + plain + " q4_0").code, 0);
  r = Sh(Bin() + " quantize " + f32 + " " + weighted + " q4_0 --imatrix " + imx);
  ASSERT_EQ(r.code, 0) << r.out;
  r = Sh(Bin() + " quantize " + f32 + " " + wdat + " q4_0 --imatrix " + dat);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(Sh("cmp -s " + plain + " " + weighted).code, 0) << "the importance matrix changed nothing";
  EXPECT_EQ(Sh("cmp " + weighted + " " + wdat).code, 0) << "the GGUF and legacy forms weight alike";
  r = Sh(Bin() + " run -m " + weighted + " --tokens 1,2,3 --raw -n 4 --temp 0");
  EXPECT_EQ(r.code, 0) << r.out;
  r = Sh(Bin() + " quantize " + other + " " + d + "/cli_imx_bad.gguf q4_0 --imatrix " + imx);
  ASSERT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(imx + ": entry 'blk.0."), std::string::npos) << r.out;
}

TEST(Cli, KldRanksQuantizationsAndRefusesBadBaseFiles) {
  const std::string d = Dir();
  Sh("mkdir -p " + d);
  const std::string f32 = d + "/cli_kld_f32.gguf", q8 = d + "/cli_kld_q8.gguf", q4 = d + "/cli_kld_q4.gguf";
  ASSERT_EQ(Sh(Bin() + " gen --arch qwen2 --size tiny --type f32 --seed 5 -o " + f32).code, 0);
  ASSERT_EQ(Sh(Bin() + " quantize " + f32 + " " + q8 + " q8_0").code, 0);
  ASSERT_EQ(Sh(Bin() + " quantize " + f32 + " " + q4 + " q4_0").code, 0);
  const std::string text = d + "/cli_kld.txt", base = d + "/cli_kld_base.kld";
  {
    std::ofstream t(text);
    const char* words[] = {"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "and", "then", "sleeps"};
    unsigned x = 1;
    for (int i = 0; i < 1200; ++i) {
      x = x * 1103515245u + 12345u;
      t << words[(x >> 16) % 12] << (i % 17 == 16 ? ".\n" : " ");
    }
  }
  Result r = Sh(Bin() + " kld -m " + f32 + " -f " + text + " --save-base " + base + " -c 64 --chunks 8");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("saved 8 chunks of 64 tokens (248 scored positions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Final estimate: PPL = "), std::string::npos) << r.out;

  auto kld = [&](const std::string& model) {
    Result k = Sh(Bin() + " kld -m " + model + " --base " + base + " --json", true);
    EXPECT_EQ(k.code, 0) << k.out;
    nlohmann::json j = nlohmann::json::parse(k.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << k.out;
    return j;
  };
  const nlohmann::json self = kld(f32), j8 = kld(q8), j4 = kld(q4);
  ASSERT_TRUE(self.is_object() && j8.is_object() && j4.is_object());
  for (const char* key : {"ppl_q", "ppl_base", "ln_ppl_ratio", "ppl_ratio", "kld_mean", "kld_err", "kld_median",
                          "kld_p99", "kld_max", "same_top_p_pct", "same_top_p_err_pct", "rms_dp_pct"})
    EXPECT_TRUE(self.contains(key)) << key << " missing in " << self.dump();
  EXPECT_EQ(self["tokens"], 248);
  EXPECT_GE(self["kld_mean"].get<double>(), 0.0);
  EXPECT_LE(self["kld_mean"].get<double>(), 1e-4);
  EXPECT_LE(self["kld_max"].get<double>(), 1e-4);
  EXPECT_EQ(self["same_top_p_pct"].get<double>(), 100.0);
  EXPECT_NEAR(self["ppl_ratio"].get<double>(), 1.0, 1e-6);
  EXPECT_NEAR(self["ppl_q"].get<double>(), self["ppl_base"].get<double>(), 1e-4 * self["ppl_base"].get<double>());
  const double k8 = j8["kld_mean"].get<double>(), k4 = j4["kld_mean"].get<double>();
  EXPECT_GT(k8, 10 * self["kld_mean"].get<double>());
  EXPECT_GT(k8, 0.0);
  EXPECT_GT(k4, 3 * k8) << "Q4_0 " << k4 << ", Q8_0 " << k8;
  EXPECT_EQ(j8["ppl_base"], self["ppl_base"]);
  EXPECT_LT(j4["same_top_p_pct"].get<double>(), 100.0);

  // The text report, as llama-perplexity prints it.
  r = Sh(Bin() + " kld -m " + f32 + " --base " + base, true);
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* want : {"Mean PPL(Q)/PPL(base)         :   1.000000", "Mean    KLD:", "Median  KLD:",
                           "99.0%   KLD:", "Maximum KLD:", "RMS Δp    :", "Same top p: 100.000 ± 0.000 %"})
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;

  // Bad base files: truncated, not one at all, missing, another vocabulary.
  const std::string trunc = d + "/cli_kld_truncated.kld";
  Sh("head -c 50000 " + base + " > " + trunc);
  r = Sh(Bin() + " kld -m " + q8 + " --base " + trunc);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("cli_kld_truncated.kld: truncated"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("r1: loaded"), std::string::npos) << "the file is checked before the model loads";
  r = Sh(Bin() + " kld -m " + q8 + " --base " + text);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("cli_kld.txt: not an r1 kld base file"), std::string::npos) << r.out;
  r = Sh(Bin() + " kld -m " + q8 + " --base " + d + "/cli_kld_missing.kld");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("cannot open base file " + d + "/cli_kld_missing.kld"), std::string::npos) << r.out;
  {
    const std::string other = d + "/cli_kld_vocab321.kld";
    auto w = r1::kld::BaseWriter::Create(other, {321, 8, 1}, std::vector<int32_t>(8, 1));
    ASSERT_TRUE(w.ok()) << w.status().message();
    std::vector<uint8_t> rows(3 * r1::kld::RowBytes(321));
    for (int j = 0; j < 3; ++j) r1::kld::EncodeRow(std::vector<float>(321, 0.0f), 1, rows.data() + j * r1::kld::RowBytes(321));
    ASSERT_TRUE((*w)->WriteChunk(rows).ok());
    ASSERT_TRUE((*w)->Finish().ok());
    r = Sh(Bin() + " kld -m " + q8 + " --base " + other);
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("has n_vocab 320 but " + other + " was made with n_vocab 321"), std::string::npos) << r.out;
  }
  // A text shorter than one chunk; flags that contradict each other.
  r = Sh(Bin() + " kld -m " + f32 + " -f " + text + " --save-base " + d + "/cli_kld_x.kld -c 100000");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("fewer than one chunk of 100000"), std::string::npos) << r.out;
  EXPECT_NE(Sh("test -e " + d + "/cli_kld_x.kld").code, 0) << "no base file after a failure";
  r = Sh(Bin() + " kld -m " + f32 + " -f " + text);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("--save-base FILE"), std::string::npos) << r.out;
}

}  // namespace

// Issue 20's CLI reproducers: each is a clean error in bounded time.
TEST(Cli, HostileInputsGiveCleanErrors) {
  const std::string d = Dir();
  Sh("mkdir -p " + d);
  {  // a messages file nested 300,000 deep crashed `r1 template`
    std::ofstream f(d + "/deep.json");
    f << std::string(300000, '[') << std::string(300000, ']');
    std::ofstream m(d + "/msgs.json");
    m << R"([{"role":"user","content":"hi"}])";
    std::ofstream t(d + "/exp.jinja");
    t << "{% macro f(n) %}{% if n>0 %}{{f(n-1)}}{{f(n-1)}}{% else %}x{% endif %}{% endmacro %}{{f(40)}}";
    std::ofstream l(d + "/dbl.jinja");
    l << "{% set ns = namespace(l=[1,2,3,4,5,6,7,8]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
         "{% endfor %}{{ ns.l|length }}";
  }
  Result r = Sh("timeout 20 " + Bin() + " template -m " + TinyModel() + " --messages " + d + "/deep.json");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("deeper than 128 levels"), std::string::npos) << r.out;
  // Exponential macro recursion never finished; list doubling took 13 GB.
  for (const char* t : {"exp.jinja", "dbl.jinja"}) {
    r = Sh("timeout 20 " + Bin() + " template -m " + TinyModel() + " --messages " + d + "/msgs.json --template " + d +
           "/" + t);
    EXPECT_EQ(r.code, 1) << t << ": " << r.out;
    EXPECT_TRUE(r.out.find("macro calls") != std::string::npos || r.out.find("list of more than") != std::string::npos)
        << r.out;
  }
  // Flags are validated, not aborted on or silently replaced.
  for (const char* flags : {"--threads 100000", "--ctx-size -5", "--mla sideways", "--expert-groups 3,x"}) {
    r = Sh(Bin() + " run -m " + TinyModel() + " -p hi " + flags);
    EXPECT_NE(r.code, 0) << flags;
    EXPECT_EQ(r.out.find("terminate called"), std::string::npos) << flags << ": " << r.out;
  }
  r = Sh(Bin() + " serve -m " + TinyModel() + " --max-queue -1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--max-queue"), std::string::npos) << r.out;
}
