// r1 chat: an interactive terminal chat that shows the thinking.
//
// Each turn re-renders the whole history with the model's chat template (so
// earlier thinking is stripped as the template says), submits it to the
// scheduler, whose prefix cache reuses the KV of the prefix that did not
// change, and streams the reply: reasoning dimmed (or folded to "thought for
// N tokens" with --hide-thinking), then the answer.
// Ctrl-C stops the current answer; /exit or end of input leaves. With stdin
// not a terminal, each input line is one user message.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "command.h"
#include "common.h"
#include "runtime/prompt.h"
#include "stream.h"
#include "tokenizer/unicode.h"
#include "r1/json.h"

namespace {

struct Options {
  r1::EngineOptions engine = [] {
    r1::EngineOptions e;
    e.ctx_size = 8192;
    return e;
  }();
  std::string system;
  int64_t n_predict = 4096;
  int64_t max_thinking = -1;
  std::vector<std::string> stop;
  r1::SamplerParams sampling;
  bool hide_thinking = false;
};

std::atomic<bool> g_interrupted{false};

const char* kHelp =
    "commands:\n"
    "  /reset            forget the conversation\n"
    "  /system TEXT      set the system prompt (empty to clear) and reset\n"
    "  /budget N|off     cap thinking at N tokens (0 = no thinking)\n"
    "  /save FILE        save the conversation as OpenAI-style JSON messages\n"
    "  /load FILE        load a conversation saved with /save\n"
    "  /exit             leave (also Ctrl-D)\n";

class Chat {
 public:
  Chat(const Options& o, r1::Engine& engine) : o_(o), engine_(engine) {
    budget_ = o.max_thinking;
    Reset();
  }

  void Reset() {
    messages_ = nlohmann::ordered_json::array();
    if (!system_.empty()) messages_.push_back({{"role", "system"}, {"content", system_}});
  }

  // Returns false to leave.
  bool Command(const std::string& line) {
    auto arg = [&](size_t n) { return line.size() > n ? line.substr(n + 1) : std::string(); };
    if (line == "/exit" || line == "/quit") return false;
    if (line == "/reset") {
      Reset();
      Say("(conversation reset)");
    } else if (line.rfind("/system", 0) == 0) {
      system_ = arg(7);
      Reset();
      Say(system_.empty() ? "(system prompt cleared)" : "(system prompt set; conversation reset)");
    } else if (line.rfind("/budget", 0) == 0) {
      std::string a = arg(7);
      budget_ = a == "off" || a.empty() ? -1 : std::atoll(a.c_str());
      Say(budget_ < 0 ? "(thinking budget off)" : "(thinking budget " + std::to_string(budget_) + " tokens)");
    } else if (line.rfind("/save", 0) == 0) {
      std::ofstream out(arg(5));
      out << messages_.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      Say(out ? "(saved " + arg(5) + ")" : "(cannot write " + arg(5) + ")");
    } else if (line.rfind("/load", 0) == 0) {
      std::ifstream in(arg(5), std::ios::binary);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto j = r1::ParseJson<nlohmann::ordered_json>(text, arg(5));
      if (!in || !j.ok() || !j->is_array()) {
        Say("(cannot load " + arg(5) + ": " + (j.ok() ? "not a JSON array of messages" : j.status().message()) + ")");
      } else {
        messages_ = std::move(*j);
        Say("(loaded " + std::to_string(messages_.size()) + " messages)");
      }
    } else {
      std::fputs(kHelp, stdout);
    }
    return true;
  }

  // One turn: the whole history re-rendered (earlier thinking stripped as the
  // template says); the scheduler's prefix cache reuses the unchanged prefix.
  r1::Status Turn(const std::string& user) {
    messages_.push_back({{"role", "user"}, {"content", r1::tok::SanitizeUtf8(user)}});
    r1::PromptInput in;
    in.messages = messages_;
    in.max_tokens = engine_.ctx_size();
    auto prompt = r1::BuildPrompt(engine_.tokenizer(), engine_.chat_template(), in);
    if (!prompt.ok()) {
      messages_.erase(messages_.end() - 1);
      return prompt.status();
    }
    r1::GenerationParams params;
    params.sampling = o_.sampling;
    params.max_tokens = o_.n_predict;
    params.max_thinking_tokens = budget_;
    r1::cli::StreamOptions so;
    so.hide_thinking = o_.hide_thinking;
    so.stops = o_.stop;
    so.cancel = &g_interrupted;
    g_interrupted = false;
    auto r = r1::cli::Stream(engine_, std::move(prompt->tokens), params, so);
    std::fputs("\n", stdout);
    if (!r.ok()) {
      messages_.erase(messages_.end() - 1);
      return r.status();
    }
    if (r->finish == r1::FinishReason::kCancelled) Say("(stopped)");
    if (r->thinking_unterminated) Say("(the thinking did not finish: out of tokens)");
    // A random or broken model can emit invalid UTF-8; JSON (the template
    // input and /save) needs valid text.
    messages_.push_back({{"role", "assistant"}, {"content", r1::tok::SanitizeUtf8(r->text.content)}});
    std::fprintf(stderr, "[%lld tokens, %lld reasoning, %lld prompt tokens cached, %.1f tok/s]\n",
                 static_cast<long long>(r->completion_tokens), static_cast<long long>(r->reasoning_tokens),
                 static_cast<long long>(r->cached_tokens),
                 static_cast<double>(std::max<int64_t>(0, r->completion_tokens - 1)) /
                     std::max(1e-9, r->decode_seconds));
    return r1::Status::Ok();
  }

 private:
  void Say(const std::string& s) { std::printf("%s\n", s.c_str()); }

  const Options& o_;
  r1::Engine& engine_;
  int64_t budget_ = -1;
  std::string system_;
  nlohmann::ordered_json messages_;
};

int Run(const Options& o) {
  auto loaded = r1::Engine::Load(o.engine);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  Chat chat(o, **loaded);
  if (!o.system.empty()) (void)chat.Command("/system " + o.system);

  struct sigaction sa = {};
  sa.sa_handler = [](int) { g_interrupted = true; };
  sigaction(SIGINT, &sa, nullptr);  // no SA_RESTART: a Ctrl-C at the prompt ends the read
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) std::printf("r1 chat: type a message, /help for commands, Ctrl-C stops an answer, Ctrl-D leaves.\n");
  std::string line;
  while (true) {
    if (interactive) {
      std::printf("\n> ");
      std::fflush(stdout);
    }
    g_interrupted = false;
    if (!std::getline(std::cin, line)) {
      if (interactive && g_interrupted) {  // Ctrl-C at the prompt: a fresh line, keep going
        std::cin.clear();
        std::printf("\n(Ctrl-D or /exit to leave)");
        continue;
      }
      break;
    }
    if (line.empty()) continue;
    if (line[0] == '/') {
      if (!chat.Command(line)) break;
      continue;
    }
    if (!interactive) std::printf("> %s\n", line.c_str());
    r1::Status st = chat.Turn(line);
    if (!st.ok()) std::fprintf(stderr, "r1: %s\n", st.message().c_str());
  }
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "chat", "Interactive chat in the terminal, showing the thinking", [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("--system", o->system, "System prompt (DeepSeek recommends none for R1)");
      app.add_flag("--hide-thinking", o->hide_thinking, "Fold the thinking into one line");
      app.add_option("--max-thinking-tokens", o->max_thinking, "Thinking budget (0 = no thinking, -1 = unlimited)")
          ->capture_default_str();
      app.add_option("--stop", o->stop, "Stop string (repeatable)");
      app.add_option("-n,--n-predict", o->n_predict, "Maximum tokens per answer")->capture_default_str();
      r1::cli::AddEngineOptions(app, &o->engine);
      app.add_option("-c,--ctx-size", o->engine.ctx_size, "Context size (tokens)")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
      r1::cli::AddSamplingOptions(app, &o->sampling);
      return [o] { return Run(*o); };
    });

}  // namespace
