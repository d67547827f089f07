// r1 eval: runs JSONL task sets against a model and reports accuracy, tokens
// and time, batching the problems through the scheduler (the pipeline
// `r1 run` and `r1 serve` use). With --thinking-budget N[,N...] it reports
// the accuracy at each budget: the test-time-compute curve.
//
// A task line: {"id", "task", "messages": [...], "tools": [...] (optional),
//               "answer": "936", "check": "boxed" | "json" | "tool_call"}
//   boxed      the content's last \boxed{...} equals the answer
//   json       the content is a JSON object whose "answer" equals it
//   tool_call  the content is an R1 tool call of `calculator` whose
//              "expression" evaluates to the answer
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "runtime/prompt.h"
#include "runtime/text_output.h"
#include "r1/json.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

struct Options {
  r1::EngineOptions engine = [] {
    r1::EngineOptions e;
    e.ctx_size = 1024;
    e.n_seqs = 8;
    return e;
  }();
  std::vector<std::string> inputs;  // JSONL files or folders of them
  std::string budgets;              // "-1" or "0,16,64,-1"
  int64_t limit = 0;                // tasks per file (0: all)
  int64_t n_predict = 768;
  r1::SamplerParams sampling = [] {
    r1::SamplerParams p;
    p.temperature = 0;  // greedy: the accuracy is a property of the model
    return p;
  }();
  bool json = false;
  bool verbose = false;
};

struct Task {
  std::string id, task, answer, check;
  ordered_json messages, tools;
};

std::string Normalize(std::string s) {
  std::string out;
  for (char c : s)
    if (c != ' ' && c != ',' && c != '\n' && c != '\t') out.push_back(c);
  return out;
}

std::string LastBoxed(const std::string& s) {
  const size_t at = s.rfind("\\boxed{");
  if (at == std::string::npos) return "";
  int depth = 1;
  std::string out;
  for (size_t i = at + 7; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return out;
    out.push_back(s[i]);
  }
  return "";
}

// "4821*7394", "12 × 3", "7+5", "9-4": one binary operation on integers.
bool Evaluate(const std::string& expr, long long* out) {
  std::string e = Normalize(expr);
  for (const std::string op : {"×", "*", "+", "-", "x"}) {
    const size_t at = e.find(op, 1);
    if (at == std::string::npos) continue;
    char* end = nullptr;
    const std::string a = e.substr(0, at), b = e.substr(at + op.size());
    const long long x = std::strtoll(a.c_str(), &end, 10);
    if (a.empty() || *end) return false;
    const long long y = std::strtoll(b.c_str(), &end, 10);
    if (b.empty() || *end) return false;
    *out = op == "+" ? x + y : op == "-" ? x - y : x * y;
    return true;
  }
  return false;
}

bool Check(const Task& t, const std::string& content) {
  const std::string want = Normalize(t.answer);
  if (t.check == "json") {
    auto j = r1::ParseJson(content, "the answer");
    if (!j.ok() || !j->is_object() || !j->contains("answer")) return false;
    const auto& a = (*j)["answer"];
    return Normalize(a.is_string() ? a.get<std::string>() : a.dump()) == want;
  }
  if (t.check == "tool_call") {
    const std::string head = "<｜tool▁call▁begin｜>function<｜tool▁sep｜>calculator\n```json\n";
    const size_t at = content.find(head);
    if (at == std::string::npos) return false;
    const size_t end = content.find("\n```", at + head.size());
    if (end == std::string::npos) return false;
    auto args = r1::ParseJson(content.substr(at + head.size(), end - at - head.size()), "the tool call");
    if (!args.ok() || !args->is_object() || !args->contains("expression") || !(*args)["expression"].is_string())
      return false;
    const std::string expr = (*args)["expression"].get<std::string>();
    long long v = 0;
    if (Normalize(expr) == want) return true;
    return Evaluate(expr, &v) && std::to_string(v) == want;
  }
  return Normalize(LastBoxed(content)) == want;
}

r1::StatusOr<std::vector<Task>> ReadTasks(const std::string& path, int64_t limit) {
  std::ifstream in(path);
  if (!in) return r1::Status::NotFound(path + ": cannot open");
  std::vector<Task> out;
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const std::string where = path + ":" + std::to_string(n);
    auto parsed = r1::ParseJson<ordered_json>(line, where);
    if (!parsed.ok()) return parsed.status();
    ordered_json& j = *parsed;
    if (!j.is_object()) return r1::Status::InvalidArgument(where + ": not a JSON object");
    Task t;
    if (!j.contains("messages") || !j["messages"].is_array())
      return r1::Status::InvalidArgument(where + ": 'messages' must be an array");
    if (!j.contains("answer")) return r1::Status::InvalidArgument(where + ": 'answer' missing");
    t.messages = j["messages"];
    t.tools = j.value("tools", ordered_json());
    t.answer = j["answer"].is_string() ? j["answer"].get<std::string>() : j["answer"].dump();
    t.check = j.value("check", "boxed");
    if (t.check != "boxed" && t.check != "json" && t.check != "tool_call")
      return r1::Status::InvalidArgument(where + ": 'check' must be boxed, json or tool_call, got '" + t.check + "'");
    t.task = j.value("task", fs::path(path).stem().string());
    t.id = j.value("id", where);
    out.push_back(std::move(t));
    if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
  }
  return out;
}

struct Tally {
  int64_t n = 0, correct = 0, reasoning = 0, answer = 0, unterminated = 0;
};

int Run(Options o) {
  std::vector<Task> tasks;
  for (const std::string& in : o.inputs) {
    std::vector<std::string> files;
    if (fs::is_directory(in)) {
      for (const auto& e : fs::directory_iterator(in))
        if (e.path().extension() == ".jsonl") files.push_back(e.path().string());
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(in);
    }
    for (const std::string& f : files) {
      auto t = ReadTasks(f, o.limit);
      if (!t.ok()) return r1::cli::Fail(t.status());
      tasks.insert(tasks.end(), t->begin(), t->end());
    }
  }
  if (tasks.empty()) return r1::cli::Fail(r1::Status::InvalidArgument("no tasks in the input"));
  std::vector<int64_t> budgets;
  {
    std::stringstream ss(o.budgets.empty() ? "-1" : o.budgets);
    std::string item;
    while (std::getline(ss, item, ',')) {
      char* end = nullptr;
      const long long b = std::strtoll(item.c_str(), &end, 10);
      if (item.empty() || *end) return r1::cli::Fail(r1::Status::InvalidArgument("--thinking-budget: bad value '" + item + "'"));
      budgets.push_back(b);
    }
  }
  o.engine.max_queue = static_cast<int64_t>(tasks.size()) + 1;
  auto loaded = r1::Engine::Load(o.engine);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  r1::Engine& engine = **loaded;

  nlohmann::json report = {{"tasks", tasks.size()}, {"budgets", nlohmann::json::array()}};
  for (int64_t budget : budgets) {
    const auto t0 = std::chrono::steady_clock::now();
    struct Live {
      std::shared_ptr<r1::RequestHandle> h;
      std::unique_ptr<r1::TextOutput> text;
      r1::TextDelta all;
      r1::RequestUpdate last;
      bool done = false;
    };
    std::vector<Live> live(tasks.size());
    for (size_t i = 0; i < tasks.size(); ++i) {
      r1::PromptInput in;
      in.messages = tasks[i].messages;
      in.tools = tasks[i].tools;
      in.max_tokens = engine.ctx_size();
      auto p = r1::BuildPrompt(engine.tokenizer(), engine.chat_template(), in);
      if (!p.ok()) return r1::cli::Fail(p.status().WithContext(tasks[i].id));
      r1::GenerationParams g;
      g.sampling = o.sampling;
      g.sampling.seed = 1000 + i;
      g.max_tokens = o.n_predict;
      g.max_thinking_tokens = budget;
      auto h = engine.scheduler().Submit(std::move(p->tokens), g);
      if (!h.ok()) return r1::cli::Fail(h.status().WithContext(tasks[i].id));
      live[i].h = *h;
      live[i].text = std::make_unique<r1::TextOutput>(engine.tokenizer(), std::vector<std::string>{}, true);
    }
    r1::cli::Progress progress("eval, thinking budget " + std::to_string(budget));
    size_t finished = 0;
    while (finished < live.size()) {
      bool any = false;
      for (Live& l : live) {
        if (l.done) continue;
        r1::RequestUpdate u;
        if (!l.h->Wait(&u, std::chrono::milliseconds(0))) continue;
        any = true;
        r1::TextDelta d;
        l.text->Push(u.tokens, false, &d);
        if (u.finish != r1::FinishReason::kNone) l.text->Finish(&d);
        l.all.reasoning += d.reasoning;
        l.all.content += d.content;
        l.last.completion_tokens = u.completion_tokens;
        l.last.reasoning_tokens = u.reasoning_tokens;
        if (u.finish != r1::FinishReason::kNone) {
          if (u.finish == r1::FinishReason::kError) return r1::cli::Fail(u.status);
          l.done = true;
          progress.Update(static_cast<int64_t>(++finished), static_cast<int64_t>(live.size()));
        }
      }
      if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    progress.Finish();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::map<std::string, Tally> by_task;
    Tally all;
    for (size_t i = 0; i < tasks.size(); ++i) {
      const bool ok = Check(tasks[i], live[i].all.content);
      for (Tally* t : {&by_task[tasks[i].task], &all}) {
        ++t->n;
        t->correct += ok;
        t->reasoning += live[i].last.reasoning_tokens;
        t->answer += live[i].last.completion_tokens - live[i].last.reasoning_tokens;
        t->unterminated += live[i].text->thinking_unterminated();
      }
      if (o.verbose && !ok)
        std::fprintf(stderr, "wrong %s: want %s, got %s\n", tasks[i].id.c_str(), tasks[i].answer.c_str(),
                     nlohmann::json(live[i].all.content).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
    nlohmann::json b = {{"thinking_budget", budget}, {"seconds", seconds}, {"per_task", nlohmann::json::object()}};
    auto row = [](const Tally& t) {
      return nlohmann::json{{"n", t.n},
                            {"accuracy", t.n ? static_cast<double>(t.correct) / static_cast<double>(t.n) : 0.0},
                            {"correct", t.correct},
                            {"reasoning_tokens_mean", t.n ? static_cast<double>(t.reasoning) / static_cast<double>(t.n) : 0.0},
                            {"answer_tokens_mean", t.n ? static_cast<double>(t.answer) / static_cast<double>(t.n) : 0.0},
                            {"unterminated_thoughts", t.unterminated}};
    };
    for (const auto& [name, t] : by_task) b["per_task"][name] = row(t);
    b["all"] = row(all);
    b["tokens_per_second"] = static_cast<double>(all.reasoning + all.answer) / std::max(1e-9, seconds);
    if (!o.json) {
      std::printf("thinking budget %s: %lld tasks in %.1f s (%.0f generated tok/s)\n",
                  budget < 0 ? "unlimited" : std::to_string(budget).c_str(), static_cast<long long>(all.n), seconds,
                  b["tokens_per_second"].get<double>());
      std::printf("  %-14s %6s %9s %10s %8s\n", "task", "n", "accuracy", "reasoning", "answer");
      auto print = [](const std::string& name, const Tally& t) {
        std::printf("  %-14s %6lld %8.1f%% %10.1f %8.1f\n", name.c_str(), static_cast<long long>(t.n),
                    100.0 * static_cast<double>(t.correct) / static_cast<double>(std::max<int64_t>(1, t.n)),
                    static_cast<double>(t.reasoning) / static_cast<double>(std::max<int64_t>(1, t.n)),
                    static_cast<double>(t.answer) / static_cast<double>(std::max<int64_t>(1, t.n)));
      };
      for (const auto& [name, t] : by_task) print(name, t);
      print("all", all);
    }
    report["budgets"].push_back(b);
  }
  if (o.json) std::printf("%s\n", report.dump(2).c_str());
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "eval", "Accuracy of a model on JSONL task sets, optionally at several thinking budgets",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("inputs", o->inputs, "JSONL task files, or folders of them (e.g. data/eval)")->required();
      app.add_option("--thinking-budget", o->budgets, "Comma-separated budgets (-1 = unlimited, 0 = no thinking)");
      app.add_option("--limit", o->limit, "Tasks per file (0 = all)")->capture_default_str();
      app.add_option("-n,--n-predict", o->n_predict, "Maximum tokens per answer")->capture_default_str();
      app.add_option("--parallel,--np", o->engine.n_seqs, "Problems decoded together")->capture_default_str();
      app.add_option("-c,--ctx-size", o->engine.ctx_size, "Tokens per sequence")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
      app.add_flag("--json", o->json, "Print the report as JSON");
      app.add_flag("-v,--verbose", o->verbose, "Print every wrong answer to stderr");
      r1::cli::AddEngineOptions(app, &o->engine);
      r1::cli::AddSamplingOptions(app, &o->sampling);
      return [o] { return Run(*o); };
    });

}  // namespace
