// r1 run: one prompt in, streamed text out (thinking shown dimmed on a terminal).
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "chat/chat_template.h"
#include "command.h"
#include "common.h"
#include "runtime/generate.h"
#include "tokenizer/tokenizer.h"

namespace {

struct Options {
  r1::EngineOptions engine = [] {
    r1::EngineOptions e;
    e.ctx_size = 4096;
    return e;
  }();
  std::string prompt, tokens, system;
  int64_t n_predict = 512;
  r1::SamplerParams sampling;
  bool raw = false;        // feed the prompt as is, without the chat template
  bool show_ids = false;   // print token ids instead of text
};

std::atomic<bool> g_interrupted{false};

int Run(Options o) {
  auto loaded = r1::Engine::Load(o.engine);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  r1::Engine& engine = **loaded;
  auto tok = r1::Tokenizer::FromGguf(engine.file());
  if (!tok.ok()) return r1::cli::Fail(tok.status());
  const r1::Tokenizer& tokenizer = **tok;

  std::vector<int32_t> prompt;
  if (!o.tokens.empty()) {
    auto ids = r1::cli::ParseTokenList(o.tokens);
    if (!ids.ok()) return r1::cli::Fail(ids.status());
    prompt = *ids;
  } else if (o.raw) {
    if (tokenizer.add_bos() && tokenizer.bos_id() >= 0) prompt.push_back(tokenizer.bos_id());
    auto ids = tokenizer.Encode(o.prompt, /*parse_special=*/true);
    prompt.insert(prompt.end(), ids.begin(), ids.end());
  } else {
    nlohmann::json messages = nlohmann::json::array();
    if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
    messages.push_back({{"role", "user"}, {"content", o.prompt}});
    auto tmpl = r1::chat::ChatTemplate::ForModel(tokenizer.chat_template());
    if (!tmpl.ok()) return r1::cli::Fail(tmpl.status());
    auto text = tmpl->Render(messages, nullptr, true, tokenizer.bos_token(), tokenizer.eos_token());
    if (!text.ok()) return r1::cli::Fail(text.status());
    // The template writes BOS itself; control tokens in it are parsed.
    prompt = tokenizer.Encode(*text, /*parse_special=*/true);
  }

  const bool tty = isatty(STDOUT_FILENO);
  const auto think_open = tokenizer.FindToken("<think>"), think_close = tokenizer.FindToken("</think>");
  // The R1 templates end the prompt with "<think>\n": output starts inside the thinking.
  bool thinking = false;
  for (auto it = prompt.rbegin(); it != prompt.rend() && it - prompt.rbegin() < 3; ++it)
    if (think_open && *it == *think_open) thinking = true;
  if (thinking && tty) std::fputs("\033[2m<think>\n", stdout);

  r1::GenerateOptions go;
  go.sampling = o.sampling;
  go.max_tokens = o.n_predict;
  if (tokenizer.eos_id() >= 0) go.stop_ids.push_back(tokenizer.eos_id());
  if (tokenizer.eot_id()) go.stop_ids.push_back(*tokenizer.eot_id());
  go.cancel = &g_interrupted;
  std::signal(SIGINT, [](int) { g_interrupted = true; });

  r1::StreamDecoder decoder(tokenizer);
  auto result = r1::Generate(engine, 0, prompt, go, [&](const r1::TokenEvent& ev, std::vector<int32_t>*) {
    if (o.show_ids) {
      std::printf("%d ", ev.id);
    } else if (std::find(go.stop_ids.begin(), go.stop_ids.end(), ev.id) == go.stop_ids.end()) {
      if (tty && think_open && ev.id == *think_open) { thinking = true; std::fputs("\033[2m", stdout); }
      std::string piece = decoder.Push(ev.id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      if (tty && think_close && ev.id == *think_close) { thinking = false; std::fputs("\033[0m", stdout); }
    }
    std::fflush(stdout);
    return true;
  });
  std::string tail = decoder.Flush();
  std::fwrite(tail.data(), 1, tail.size(), stdout);
  if (tty && thinking) std::fputs("\033[0m", stdout);
  std::fputs("\n", stdout);
  if (!result.ok()) return r1::cli::Fail(result.status());
  std::fprintf(stderr, "r1: prompt %lld tokens in %.2f s (%.1f tok/s), generated %lld tokens in %.2f s (%.1f tok/s)\n",
               static_cast<long long>(result->prompt_tokens), result->prefill_seconds,
               static_cast<double>(result->prompt_tokens) / std::max(1e-9, result->prefill_seconds),
               static_cast<long long>(result->generated_tokens), result->decode_seconds,
               static_cast<double>(result->generated_tokens) / std::max(1e-9, result->decode_seconds));
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "run", "Generate a reply to one prompt, streaming the text", [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      auto* p = app.add_option("-p,--prompt", o->prompt, "Prompt text (rendered with the model's chat template)");
      auto* t = app.add_option("--tokens", o->tokens, "Prompt as comma-separated token ids (used as is)");
      p->excludes(t);
      app.add_option("--system", o->system, "System prompt (DeepSeek recommends none for R1)");
      app.add_flag("--raw", o->raw, "Do not apply the chat template");
      app.add_flag("--ids", o->show_ids, "Print token ids instead of text");
      app.add_option("-n,--n-predict", o->n_predict, "Maximum tokens to generate")->capture_default_str();
      r1::cli::AddEngineOptions(app, &o->engine);
      app.add_option("-c,--ctx-size", o->engine.ctx_size, "Context size (tokens)")->capture_default_str();
      r1::cli::AddSamplingOptions(app, &o->sampling);
      return [o] {
        if (o->prompt.empty() && o->tokens.empty()) {
          std::fprintf(stderr, "r1 run: give a prompt with -p TEXT or --tokens IDS\n");
          return 2;
        }
        return Run(*o);
      };
    });

}  // namespace
