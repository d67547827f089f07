// r1 chat: an interactive terminal chat that shows the thinking.
//
// Each turn re-renders the whole history with the model's chat template (so
// earlier thinking is stripped as the template says), reuses the KV cache for
// the prefix that did not change, and streams the reply: reasoning dimmed (or
// folded to "thought for N tokens" with --hide-thinking), then the answer.
// Ctrl-C stops the current answer; /exit or end of input leaves. With stdin
// not a terminal, each input line is one user message.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "chat/chat_template.h"
#include "chat/reasoning.h"
#include "chat/stop_strings.h"
#include "command.h"
#include "common.h"
#include "runtime/generate.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

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
  Chat(const Options& o, r1::Engine& engine, const r1::Tokenizer& tok, r1::chat::ChatTemplate tmpl)
      : o_(o), engine_(engine), tok_(tok), tmpl_(std::move(tmpl)), tty_(isatty(STDOUT_FILENO)) {
    budget_ = o.max_thinking;
    Reset();
  }

  void Reset() {
    messages_ = nlohmann::json::array();
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
      std::ifstream in(arg(5));
      auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
      if (!in || !j.is_array()) {
        Say("(cannot load " + arg(5) + ": not a JSON array of messages)");
      } else {
        messages_ = j;
        Say("(loaded " + std::to_string(j.size()) + " messages)");
      }
    } else {
      std::fputs(kHelp, stdout);
    }
    return true;
  }

  r1::Status Turn(const std::string& user) {
    messages_.push_back({{"role", "user"}, {"content", r1::tok::SanitizeUtf8(user)}});
    auto text = tmpl_.Render(messages_, nullptr, true, tok_.bos_token(), tok_.eos_token());
    if (!text.ok()) return text.status();
    if (budget_ == 0) *text += r1::chat::NoThinkingSuffix(*text);
    std::vector<int32_t> prompt = tok_.Encode(*text, /*parse_special=*/true);

    // Reuse the cached prefix; feed only what changed.
    size_t common = 0;
    while (common < cached_.size() && common < prompt.size() && cached_[common] == prompt[common]) ++common;
    if (common == prompt.size() && common > 0) --common;  // at least one token must run to get logits
    engine_.Truncate(0, static_cast<int64_t>(common));
    cached_.assign(prompt.begin(), prompt.begin() + static_cast<long>(common));
    std::vector<int32_t> suffix(prompt.begin() + static_cast<long>(common), prompt.end());

    r1::chat::ReasoningConfig rc;
    rc.think_start_id = tok_.FindToken("<think>").value_or(-1);
    rc.think_end_id = tok_.FindToken("</think>").value_or(-1);
    rc.max_thinking_tokens = budget_;
    r1::chat::ReasoningParser parser(rc, prompt);
    r1::chat::StopStringMatcher stops(o_.stop);
    std::string reasoning, content;
    bool in_reasoning = false, stopped = false;

    auto show = [&](const r1::chat::ReasoningDelta& d) {
      if (!d.reasoning.empty()) {
        reasoning += d.reasoning;
        if (!o_.hide_thinking) {
          if (!in_reasoning && tty_) std::fputs("\033[2m", stdout);
          in_reasoning = true;
          std::fputs(d.reasoning.c_str(), stdout);
        }
      }
      if (!d.content.empty() && !stopped) {
        auto r = stops.Feed(d.content);
        EndReasoning(parser, in_reasoning);
        content += r.text;
        std::fputs(r.text.c_str(), stdout);
        stopped = r.stopped;
      }
      std::fflush(stdout);
    };

    r1::GenerateOptions go;
    go.sampling = o_.sampling;
    go.max_tokens = o_.n_predict;
    if (tok_.eos_id() >= 0) go.stop_ids.push_back(tok_.eos_id());
    if (tok_.eot_id()) go.stop_ids.push_back(*tok_.eot_id());
    go.cancel = &g_interrupted;
    std::vector<int32_t> produced;
    g_interrupted = false;
    auto result = r1::Generate(engine_, 0, suffix, go, [&](const r1::TokenEvent& ev, std::vector<int32_t>* force) {
      produced.push_back(ev.id);
      if (std::find(go.stop_ids.begin(), go.stop_ids.end(), ev.id) != go.stop_ids.end()) return true;
      r1::chat::ReasoningDelta d = parser.Feed(ev.id, tok_.TokenBytes(ev.id));
      show(d);
      if (d.force_close && !ev.forced) *force = tok_.Encode(d.force_text, /*parse_special=*/true);
      return !stopped;
    });
    show(parser.Finish());
    if (!stopped) {
      auto r = stops.Finish();
      content += r.text;
      std::fputs(r.text.c_str(), stdout);
    }
    EndReasoning(parser, in_reasoning);
    std::fputs("\n", stdout);
    cached_.insert(cached_.end(), suffix.begin(), suffix.end());
    cached_.insert(cached_.end(), produced.begin(), produced.end());
    cached_.resize(static_cast<size_t>(std::min<int64_t>(engine_.Length(0), static_cast<int64_t>(cached_.size()))));
    if (!result.ok()) {
      messages_.erase(messages_.end() - 1);
      return result.status();
    }
    if (result->finish == r1::FinishReason::kCancelled) Say("(stopped)");
    if (parser.thinking_unterminated()) Say("(the thinking did not finish: out of tokens)");
    // A random or broken model can emit invalid UTF-8; JSON (the template
    // input and /save) needs valid text.
    messages_.push_back({{"role", "assistant"}, {"content", r1::tok::SanitizeUtf8(content)}});
    std::fprintf(stderr, "[%lld tokens, %lld reasoning, %.1f tok/s]\n",
                 static_cast<long long>(result->generated_tokens), static_cast<long long>(parser.reasoning_tokens()),
                 static_cast<double>(result->generated_tokens) / std::max(1e-9, result->decode_seconds));
    return r1::Status::Ok();
  }

 private:
  void Say(const std::string& s) { std::printf("%s\n", s.c_str()); }

  void EndReasoning(const r1::chat::ReasoningParser& parser, bool& in_reasoning) {
    if (o_.hide_thinking && !folded_ && parser.reasoning_tokens() > 0) {
      std::printf("%s(thought for %lld tokens)%s\n", tty_ ? "\033[2m" : "",
                  static_cast<long long>(parser.reasoning_tokens()), tty_ ? "\033[0m" : "");
      folded_ = true;
    }
    if (in_reasoning) {
      std::fputs(tty_ ? "\033[0m\n\n" : "\n\n", stdout);
      in_reasoning = false;
    }
  }

  const Options& o_;
  r1::Engine& engine_;
  const r1::Tokenizer& tok_;
  r1::chat::ChatTemplate tmpl_;
  bool tty_;
  bool folded_ = false;
  int64_t budget_ = -1;
  std::string system_;
  nlohmann::json messages_;
  std::vector<int32_t> cached_;  // tokens in the KV cache of sequence 0
};

int Run(const Options& o) {
  auto loaded = r1::Engine::Load(o.engine);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  auto tok = r1::Tokenizer::FromGguf((*loaded)->file());
  if (!tok.ok()) return r1::cli::Fail(tok.status());
  auto tmpl = r1::chat::ChatTemplate::ForModel((*tok)->chat_template());
  if (!tmpl.ok()) return r1::cli::Fail(tmpl.status());
  Chat chat(o, **loaded, **tok, std::move(*tmpl));
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
      app.add_option("-c,--ctx-size", o->engine.ctx_size, "Context size (tokens)")->capture_default_str();
      r1::cli::AddSamplingOptions(app, &o->sampling);
      return [o] { return Run(*o); };
    });

}  // namespace
