// The trained tiny models (data/trained, expanded by `r1 gen --trained`)
// against the float64 numpy reference (tests/ref/reference.py), on the GGUF in
// every weight type r1 supports for them. Tolerances, of max|logit|: F16 2e-3
// (the synthetic-model tests', src/models/dense_test.cc); BF16 1e-2, because a
// BF16 matmul takes its activations in BF16 too (llama.cpp's vec_dot_type),
// 2^-9 relative per element, and a trained model's hidden state carries that
// through every layer; quantized weights 4e-2. The argmax must be equal at
// every position where the reference is decisive: its top logit ahead of the
// second by more than twice the tolerance (inside the user's text, a trained
// model rightly hesitates between tokens).
// Routing (deepseek2) is a discontinuity: where a token's top-k choice is a
// near tie, any rounding may pick the other expert and the logits from then on
// differ by far more than the tolerance (seen: a 1.2e-3 gap in sigmoid score
// gave 0.56 of 24.9 on BF16). So the reference follows r1's routing
// (reference.py --force-experts) and checks that every token where the two
// chose differently was a near tie: the regret of r1's choice, in choice score,
// at most the type's tolerance. The logits are then compared at every position.
// The sequences are a real prompt and the start of a chain of thought.
#include <gtest/gtest.h>

#include "util/shell.h"
#include "util/skip.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "models/model.h"
#include "runtime/engine.h"
#include "runtime/prompt.h"
#include "tokenizer/tokenizer.h"
#include "util/model_util.h"

namespace r1 {
namespace {

// Floor for TrainedEval (20 problems per task over all tasks; measured 0.705
// for r1-distill-tiny q8_0); the full figures are in train/REPORT.md.
constexpr double kMinThinkingAccuracy = 0.5;

std::string Bin() {
  const char* b = std::getenv("R1_BIN");
  return b ? b : "";
}

// Expands NAME in TYPE, again whenever the checkpoint is newer than the last
// expansion; "" when it cannot (reason in *why).
std::string Expand(const std::string& name, const std::string& type, std::string* why) {
  const std::string out = std::string(R1_BINARY_DIR) + "/testmodels/trained_" + name + "_" + type + ".gguf";
  const std::string ckpt = std::string(R1_SOURCE_DIR) + "/data/trained/" + name + ".gguf";
  std::error_code ec1, ec2;
  const auto made = std::filesystem::last_write_time(out, ec1), trained = std::filesystem::last_write_time(ckpt, ec2);
  if (!ec1 && !ec2 && made >= trained) return out;
  const std::string cmd = Bin() + " gen --trained " + name + " --type " + type + " -o " + out + " >" + out + ".log 2>&1";
  if (std::system(("mkdir -p " + std::string(R1_BINARY_DIR) + "/testmodels && " + cmd).c_str()) != 0) {
    std::ifstream log(out + ".log");
    *why = std::string((std::istreambuf_iterator<char>(log)), {});
    return "";
  }
  return out;
}

struct Case {
  std::string model, type;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " " << c.type; }
std::string CaseName(const ::testing::TestParamInfo<Case>& i) {
  std::string n = i.param.model + "_" + i.param.type;
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

class TrainedVsReference : public ::testing::TestWithParam<Case> {};

TEST_P(TrainedVsReference, LogitsMatchAtEveryPosition) {
  const Case c = GetParam();
  if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
  if (!testing::HaveNumpyReference()) R1_SKIP_OR_FAIL("python3 with numpy not available");
  std::string why;
  const std::string path = Expand(c.model, c.type, &why);
  ASSERT_FALSE(path.empty()) << "r1 gen --trained failed (tokenizers: cd tests/js && npm ci):\n" << why;
  EngineOptions eo;
  eo.model_path = path;
  eo.ctx_size = 512;
  eo.threads = 2;
  eo.verbose = false;
  auto e = Engine::Load(eo);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const Tokenizer& tok = (*e)->tokenizer();
  const std::string bos = tok.bos_token();
  std::vector<std::vector<int32_t>> seqs;
  for (const std::string& text : {bos + "<｜User｜>What is 347+589?<｜Assistant｜><think>\n3 4 7 + 5 8 9 = ?\n7 + 9",
                                 bos + "<｜User｜>How many r's are in strawberry?<｜Assistant｜><think>\nstrawberry:"})
    seqs.push_back(tok.Encode(text, /*parse_special=*/true));
  const int64_t V = (*e)->info().n_vocab;
  std::vector<float> ours;
  nlohmann::json routing = {{"sequences", nlohmann::json::array()}};
  for (size_t s = 0; s < seqs.size(); ++s) {
    std::vector<float> all;
    ASSERT_TRUE((*e)->Append(static_cast<int>(s), seqs[s], nullptr, &all).ok());
    ours.insert(ours.end(), all.begin(), all.end());
    nlohmann::json layers = nlohmann::json::object();
    const auto r = (*e)->model().LastRouting();
    for (size_t il = 0; il < r.size(); ++il)
      if (!r[il].empty()) layers[std::to_string(il)] = r[il];
    routing["sequences"].push_back({{"layers", layers}});
  }
  const bool is_float = c.type == "f16" || c.type == "bf16" || c.type == "f32";
  const double tol = !is_float ? 4e-2 : c.type == "bf16" ? 1e-2 : 2e-3;
  const std::string forced = path + ".routing.json", dumped = path + ".experts.json";
  std::ofstream(forced) << routing.dump();
  auto ref = testing::ReferenceLogits(path, seqs, "--force-experts " + forced + " --dump-experts " + dumped);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  ASSERT_EQ(ref->size(), ours.size());
  int flips = 0;
  double max_regret = 0;
  if (!routing["sequences"][0]["layers"].empty()) {
    std::ifstream in(dumped);
    const nlohmann::json d = nlohmann::json::parse(in);
    for (const auto& seq : d["sequences"])
      for (const auto& [layer, v] : seq["layers"].items())
        for (double g : v["regrets"].get<std::vector<double>>()) {
          flips += g > 0;
          max_regret = std::max(max_regret, g);
        }
    // A regret is a difference of sigmoid routing scores. The router's input has passed through the
    // quantized layers, which move those scores by more than they move the logits (relatively): the
    // retrained r1-tiny at Q8_0 shows one near tie at 0.046. Quantized types get twice the tolerance.
    const double regret_tol = is_float ? tol : 2 * tol;
    EXPECT_LE(max_regret, regret_tol) << c.model << " " << c.type << ": r1 routed a token to experts the reference "
                               << "ranks clearly lower (not a near tie)";
  }
  std::remove(forced.c_str());
  std::remove(dumped.c_str());
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    max_abs = std::max(max_abs, std::abs((*ref)[i]));
    max_diff = std::max(max_diff, std::abs((*ref)[i] - ours[i]));
  }
  EXPECT_LE(max_diff, tol * max_abs) << c.model << " " << c.type;
  const size_t n = ours.size() / static_cast<size_t>(V);
  size_t same = 0, decisive = 0;
  for (size_t t = 0; t < n; ++t) {
    const float* o = ours.data() + t * static_cast<size_t>(V);
    const double* r = ref->data() + t * static_cast<size_t>(V);
    const int64_t ao = std::max_element(o, o + V) - o, ar = std::max_element(r, r + V) - r;
    double second = -1e300;
    for (int64_t i = 0; i < V; ++i)
      if (i != ar) second = std::max(second, r[i]);
    same += ao == ar;
    if (r[ar] - second <= 2 * tol * max_abs) continue;
    ++decisive;
    EXPECT_EQ(ao, ar) << c.model << " " << c.type << " position " << t << " (reference margin " << r[ar] - second
                      << ")";
  }
  std::printf("%s %s: max|d| %.3g of max|logit| %.3g (rel %.3g), argmax %zu/%zu (%zu decisive), %d near-tie "
              "routing flips (max regret %.2g)\n",
              c.model.c_str(), c.type.c_str(), max_diff, max_abs, max_diff / max_abs, same, n, decisive, flips,
              max_regret);
}

INSTANTIATE_TEST_SUITE_P(Types, TrainedVsReference,
                         ::testing::Values(Case{"r1-tiny", "f16"}, Case{"r1-tiny", "bf16"}, Case{"r1-tiny", "q8_0"},
                                           Case{"r1-tiny", "q6_k"}, Case{"r1-tiny", "q4_k_m"},
                                           Case{"r1-distill-tiny", "f16"}, Case{"r1-distill-tiny", "bf16"},
                                           Case{"r1-distill-tiny", "q8_0"}, Case{"r1-distill-tiny", "q6_k"},
                                           Case{"r1-distill-tiny", "q4_k_m"}),
                         CaseName);

// `r1 gen --trained NAME -o DIR [--fp8]` against the GGUF of the same model:
// tests/ref/hf_check.py reads the safetensors by its published layout,
// decodes BF16 and FP8 e4m3 with its 128x128 weight_scale_inv, maps the
// Hugging Face names back and compares every tensor, and checks config.json.
TEST(TrainedExport, HuggingFaceDirectoriesMatchTheGguf) {
  if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
  if (!testing::HaveNumpyReference()) R1_SKIP_OR_FAIL("python3 with numpy not available");
  struct Dir {
    std::string model;
    bool fp8;
  };
  for (const Dir& d : {Dir{"r1-tiny", false}, Dir{"r1-tiny", true}, Dir{"r1-distill-tiny", false}}) {
    std::string why;
    const std::string gguf = Expand(d.model, "f32", &why);
    ASSERT_FALSE(gguf.empty()) << why;
    const std::string dir = std::string(R1_BINARY_DIR) + "/testmodels/hf_" + d.model + (d.fp8 ? "_fp8" : "");
    const std::string gen = "rm -rf " + dir + " && " + Bin() + " gen --trained " + d.model + " -o " + dir +
                            (d.fp8 ? " --fp8" : "") + " >" + dir + ".log 2>&1";
    ASSERT_EQ(std::system(gen.c_str()), 0) << gen;
    const std::string check = std::string(R1_PYTHON) + " " + R1_SOURCE_DIR + "/tests/ref/hf_check.py " + dir + " " +
                              gguf + " >" + dir + ".check 2>&1";
    const int rc = std::system(check.c_str());
    std::ifstream in(dir + ".check");
    const std::string report((std::istreambuf_iterator<char>(in)), {});
    std::printf("%s%s: %s", d.model.c_str(), d.fp8 ? " (FP8)" : "", report.c_str());
    EXPECT_EQ(rc, 0) << report;
  }
}

// r1 eval on the held-out sets (data/eval), 20 problems per task, greedy: the
// accuracy with thinking is clearly above the accuracy with an empty thought,
// and above a floor. On r1-distill-tiny, which learnt the tasks (70.5% with
// thinking, 23.0% without, measured at this commit); r1-tiny (deepseek2) is
// still at ~4% (train/REPORT.md), so it is not the one checked here.
TEST(TrainedEval, ThinkingBeatsAnEmptyThought) {
  if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
  std::string why;
  const std::string path = Expand("r1-distill-tiny", "q8_0", &why);
  ASSERT_FALSE(path.empty()) << why;
  const std::string out = path + ".eval.json";
  const std::string cmd = Bin() + " eval -m " + path + " " + R1_SOURCE_DIR +
                          "/data/eval --limit 20 --thinking-budget 0,-1 --json -t 2 >" + out + " 2>" + out + ".log";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream in(out);
  auto j = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  const double none = j["budgets"][0]["all"]["accuracy"].get<double>();
  const double thinking = j["budgets"][1]["all"]["accuracy"].get<double>();
  std::printf("r1-distill-tiny q8_0, 20 per task: accuracy %.3f thinking, %.3f with an empty thought\n", thinking,
              none);
  for (const auto& [task, row] : j["budgets"][1]["per_task"].items())
    std::printf("  %-10s %.2f\n", task.c_str(), row["accuracy"].get<double>());
  EXPECT_GE(thinking, kMinThinkingAccuracy);
  EXPECT_GE(thinking - none, 0.1);
}

// Speculative decoding on the trained models, where drafts are mostly right:
// greedy output unchanged for k = 1..4, 16 eval prompts at once, with r1-tiny's
// own MTP module and with n-gram lookup; and r1-distill-tiny drafting for
// itself (the draft-model path) as a high-acceptance case.
TEST(TrainedSpec, GreedyOutputIsUnchangedAndDraftsAreAccepted) {
  if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
  struct Case {
    std::string model;
    SpecMethod method;
    double min_acceptance;
  };
  for (const Case& c : {Case{"r1-tiny", SpecMethod::kMtp, 0.5}, Case{"r1-tiny", SpecMethod::kNgram, 0.2},
                        Case{"r1-distill-tiny", SpecMethod::kDraft, 0.9}}) {
    SCOPED_TRACE(c.model + " " + SpecMethodName(c.method));
    std::string why;
    const std::string path = Expand(c.model, "f16", &why);
    ASSERT_FALSE(path.empty()) << why;
    std::vector<std::vector<int32_t>> prompts;
    auto run = [&](SpecMethod m, int k, int64_t* drafted, int64_t* accepted) {
      EngineOptions eo;
      eo.model_path = path;
      eo.ctx_size = 1024;
      eo.n_seqs = 16;
      eo.threads = 2;
      eo.verbose = false;
      eo.spec.method = m;
      eo.spec.max_tokens = k;
      eo.spec.max_batch = 16;
      eo.spec.auto_off = false;  // r1-tiny is too small for speculation to pay: it would pause itself
      if (m == SpecMethod::kDraft) eo.draft_model = path;
      auto e = Engine::Load(eo);
      EXPECT_TRUE(e.ok()) << e.status().ToString();
      std::vector<std::vector<int32_t>> out;
      if (!e.ok()) return out;
      if (prompts.empty()) {
        for (const char* task : {"add", "sub", "mul", "compare", "count", "linear", "sort", "mul_json"}) {
          std::ifstream in(std::string(R1_SOURCE_DIR) + "/data/eval/" + task + ".jsonl");
          std::string line;
          for (int i = 0; i < 2 && std::getline(in, line); ++i) {
            PromptInput pi;
            pi.messages = nlohmann::ordered_json::parse(line)["messages"];
            auto p = BuildPrompt((*e)->tokenizer(), (*e)->chat_template(), pi);
            EXPECT_TRUE(p.ok());
            if (p.ok()) prompts.push_back(p->tokens);
          }
        }
      }
      GenerationParams gp;
      gp.sampling.temperature = 0;
      gp.max_tokens = 160;
      std::vector<std::shared_ptr<RequestHandle>> hs;
      for (const auto& p : prompts) hs.push_back(*(*e)->scheduler().Submit(p, gp));
      for (auto& h : hs) {
        std::vector<int32_t> toks;
        for (;;) {
          RequestUpdate u;
          if (!h->Wait(&u, std::chrono::milliseconds(1000))) continue;
          for (const auto& t : u.tokens) toks.push_back(t.token);
          if (u.finish != FinishReason::kNone) {
            *drafted += u.draft_tokens;
            *accepted += u.accepted_tokens;
            break;
          }
        }
        out.push_back(std::move(toks));
      }
      return out;
    };
    int64_t d0 = 0, a0 = 0;
    const auto ref = run(SpecMethod::kOff, 1, &d0, &a0);
    ASSERT_EQ(ref.size(), 16u);
    for (int k = 1; k <= 4; ++k) {
      int64_t drafted = 0, accepted = 0;
      EXPECT_EQ(run(c.method, k, &drafted, &accepted), ref) << "k = " << k;
      const double rate = drafted ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0;
      std::printf("%s %s k=%d: %lld of %lld drafts accepted (%.1f%%)\n", c.model.c_str(), SpecMethodName(c.method), k,
                  static_cast<long long>(accepted), static_cast<long long>(drafted), 100 * rate);
      EXPECT_GE(rate, c.min_acceptance) << "k = " << k;
    }
  }
}

// r1 convert of the Hugging Face directories `r1 gen --trained r1-tiny`
// writes (BF16, and DeepSeek's FP8 layout with 128x128 block scales): every
// tensor checked against the directory by the independent reader
// tests/ref/hf_check.py, the chat template rendered identically from the
// directory and the GGUF, and a --type mix that loads and runs.
TEST(TrainedConvert, HfDirectoriesConvertExactly) {
  if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
  if (!testing::HaveNumpyReference()) R1_SKIP_OR_FAIL("python3 with numpy not available");
  const std::string d = std::string(R1_BINARY_DIR) + "/testmodels";
  auto sh = [](const std::string& cmd) { return std::system((cmd + " >>" + std::string(R1_BINARY_DIR) + "/testmodels/convert_test.log 2>&1").c_str()); };
  ASSERT_EQ(std::system(("mkdir -p " + d).c_str()), 0);
  {
    std::ofstream m(d + "/convert_msgs.json");
    m << R"([{"role":"system","content":"Be brief."},{"role":"user","content":"2+2?"}])";
  }
  for (bool fp8 : {false, true}) {
    SCOPED_TRACE(fp8 ? "fp8" : "bf16");
    const std::string dir = d + (fp8 ? "/hf_r1_tiny_fp8" : "/hf_r1_tiny");
    const std::string gguf = dir + ".gguf";
    ASSERT_EQ(sh("rm -rf " + dir + " && " + Bin() + " gen --trained r1-tiny -o " + dir + (fp8 ? " --fp8" : "")), 0)
        << "see testmodels/convert_test.log";
    ASSERT_EQ(sh(Bin() + " convert " + dir + " -o " + gguf), 0);
    EXPECT_EQ(sh(std::string(R1_PYTHON) + " " + R1_SOURCE_DIR + "/tests/ref/hf_check.py " + dir + " " + gguf), 0)
        << "hf_check.py found a mismatch; see testmodels/convert_test.log";
    const std::string t1 = dir + ".tpl_gguf.txt", t2 = dir + ".tpl_dir.txt";
    ASSERT_EQ(sh(Bin() + " template -m " + gguf + " --messages " + d + "/convert_msgs.json --add-generation-prompt > " + t1), 0);
    ASSERT_EQ(sh(Bin() + " template --tokenizer " + dir + " --messages " + d + "/convert_msgs.json --add-generation-prompt > " + t2), 0);
    EXPECT_EQ(sh("cmp " + t1 + " " + t2), 0) << "the template renders differently from the GGUF";
    const std::string q = dir + ".q4_k_m.gguf";
    ASSERT_EQ(sh(Bin() + " convert " + dir + " -o " + q + " --type q4_k_m"), 0);
    EXPECT_EQ(sh(Bin() + " logits -m " + q + " --tokens 1,2,3 --out " + q + ".bin"), 0);
  }
}


// A Hugging Face directory opens in place (-m DIR): r1-tiny (deepseek2, MoE
// experts stacked, the MTP block) and r1-distill-tiny (qwen2) give logits
// bit-identical to their `r1 convert` GGUF, and r1 run answers from the
// directory as from the file. An FP8 directory is refused by name.
TEST(TrainedConvert, HfDirectoriesRunInPlaceAsTheirConversion) {
  if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
  const std::string d = std::string(R1_BINARY_DIR) + "/testmodels";
  const std::string log = d + "/inplace_test.log";
  auto sh = [&](const std::string& cmd) { return std::system(("(" + cmd + ") >>" + log + " 2>&1").c_str()); };
  ASSERT_EQ(std::system(("mkdir -p " + d).c_str()), 0);
  for (const char* name : {"r1-tiny", "r1-distill-tiny"}) {
    SCOPED_TRACE(name);
    const std::string dir = d + "/inplace_" + name, gguf = dir + ".gguf";
    ASSERT_EQ(sh("rm -rf " + dir + " && " + Bin() + " gen --trained " + name + " -o " + dir), 0) << "see " << log;
    ASSERT_EQ(sh(Bin() + " convert " + dir + " -o " + gguf), 0) << "see " << log;
    const std::string toks = " --tokens 0,5,17,300,1200,7,7,42,9000,11";
    ASSERT_EQ(sh(Bin() + " logits -m " + dir + toks + " --out " + dir + ".dir.bin"), 0) << "see " << log;
    ASSERT_EQ(sh(Bin() + " logits -m " + gguf + toks + " --out " + dir + ".gguf.bin"), 0) << "see " << log;
    EXPECT_EQ(sh("cmp " + dir + ".dir.bin " + dir + ".gguf.bin"), 0) << "logits differ between the directory and its GGUF";
    const std::string run = " -p 'What is 25+17?' --temp 0 -n 160 --json";
    ASSERT_EQ(sh(Bin() + " run -m " + dir + run + " > " + dir + ".run_dir.json"), 0) << "see " << log;
    ASSERT_EQ(sh(Bin() + " run -m " + gguf + run + " > " + dir + ".run_gguf.json"), 0) << "see " << log;
    EXPECT_EQ(sh("cmp " + dir + ".run_dir.json " + dir + ".run_gguf.json"), 0);
  }
  // FP8 stays FP8 (F8_E4M3_B64, 1.06 bytes per weight): its logits against
  // the exact F32 conversion of the same checkpoint. They differ by the
  // rounding of the dot products and by MLA's matrices derived from kv_b,
  // which r1 stores in Q8_0 for any quantized source.
  const std::string fp8 = d + "/inplace_fp8";
  ASSERT_EQ(sh("rm -rf " + fp8 + " && " + Bin() + " gen --trained r1-tiny --fp8 -o " + fp8), 0) << "see " << log;
  ASSERT_EQ(sh(Bin() + " convert " + fp8 + " -o " + fp8 + ".f32.gguf --type f32"), 0) << "see " << log;
  const std::string toks = " --tokens 0,5,17,300,1200,7,7,42,9000,11";
  ASSERT_EQ(sh(Bin() + " logits -m " + fp8 + toks + " --out " + fp8 + ".dir.bin"), 0) << "see " << log;
  ASSERT_EQ(sh(Bin() + " logits -m " + fp8 + ".f32.gguf" + toks + " --out " + fp8 + ".f32.bin"), 0) << "see " << log;
  auto read = [](const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::vector<float> v;
    float x;
    while (f.read(reinterpret_cast<char*>(&x), 4)) v.push_back(x);
    return v;
  };
  const auto a = read(fp8 + ".dir.bin"), b = read(fp8 + ".f32.bin");
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.size() % 10, 0u);
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(double(b[i])));
    max_diff = std::max(max_diff, std::fabs(double(a[i]) - b[i]));
  }
  EXPECT_LT(max_diff / max_abs, 5e-3) << "FP8 in place against its exact F32 conversion";
  const size_t nv = a.size() / 10;
  for (size_t p = 0; p < 10; ++p)
    EXPECT_EQ(std::max_element(a.begin() + p * nv, a.begin() + (p + 1) * nv) - (a.begin() + p * nv),
              std::max_element(b.begin() + p * nv, b.begin() + (p + 1) * nv) - (b.begin() + p * nv))
        << "argmax at position " << p;
}

}  // namespace
}  // namespace r1
