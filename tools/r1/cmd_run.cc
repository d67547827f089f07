// r1 run: one prompt in, streamed text out (thinking shown dimmed on a
// terminal, between <think> tags otherwise). One request to the scheduler,
// the same pipeline `r1 serve` uses: the same seed and prompt give the same
// tokens.
#include <csignal>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "runtime/prompt.h"
#include "stream.h"

namespace {

struct Options {
  r1::EngineOptions engine = [] {
    r1::EngineOptions e;
    e.ctx_size = 4096;
    return e;
  }();
  std::string prompt, tokens, system;
  int64_t n_predict = 512;
  int64_t max_thinking = -1;
  std::vector<std::string> stop;
  r1::SamplerParams sampling;
  bool raw = false;        // feed the prompt as is, without the chat template
  bool show_ids = false;   // print token ids instead of text
  bool json = false;       // one JSON object with the result instead of streamed text
  bool hide_thinking = false;
};

std::atomic<bool> g_interrupted{false};

int Run(Options o) {
  auto loaded = r1::Engine::Load(o.engine);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  r1::Engine& engine = **loaded;

  std::vector<int32_t> prompt;
  if (!o.tokens.empty()) {
    auto ids = r1::cli::ParseTokenList(o.tokens);
    if (!ids.ok()) return r1::cli::Fail(ids.status());
    prompt = *ids;
  } else {
    r1::PromptInput in;
    in.chat = !o.raw;
    in.text = o.prompt;
    in.messages = nlohmann::ordered_json::array();
    if (!o.system.empty()) in.messages.push_back({{"role", "system"}, {"content", o.system}});
    in.messages.push_back({{"role", "user"}, {"content", o.prompt}});
    in.max_tokens = engine.ctx_size();
    auto p = r1::BuildPrompt(engine.tokenizer(), engine.chat_template(), in);
    if (!p.ok()) return r1::cli::Fail(p.status());
    prompt = std::move(p->tokens);
  }

  r1::GenerationParams params;
  params.sampling = o.sampling;
  params.max_tokens = o.n_predict;
  params.max_thinking_tokens = o.max_thinking;
  r1::cli::StreamOptions so;
  so.print = !o.json;
  so.show_ids = o.show_ids;
  so.hide_thinking = o.hide_thinking;
  so.split_reasoning = !o.raw && o.tokens.empty();
  so.stops = o.stop;
  so.cancel = &g_interrupted;
  std::signal(SIGINT, [](int) { g_interrupted = true; });
  auto r = r1::cli::Stream(engine, std::move(prompt), params, so);
  if (!r.ok()) return r1::cli::Fail(r.status());
  if (o.json) {
    nlohmann::json j = {{"reasoning_content", r->text.reasoning},
                        {"content", r->text.content},
                        {"tokens", r->tokens},
                        {"finish_reason", r1::FinishReasonName(r->finish)},
                        {"prompt_tokens", r->prompt_tokens},
                        {"completion_tokens", r->completion_tokens},
                        {"reasoning_tokens", r->reasoning_tokens},
                        {"draft_tokens", r->draft_tokens},
                        {"accepted_tokens", r->accepted_tokens}};
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::fputs("\n", stdout);
  }
  std::fprintf(stderr, "r1: prompt %lld tokens in %.2f s (%.1f tok/s), generated %lld tokens in %.2f s (%.1f tok/s)\n",
               static_cast<long long>(r->prompt_tokens), r->prefill_seconds,
               static_cast<double>(r->prompt_tokens) / std::max(1e-9, r->prefill_seconds),
               static_cast<long long>(r->completion_tokens), r->decode_seconds,
               static_cast<double>(std::max<int64_t>(0, r->completion_tokens - 1)) / std::max(1e-9, r->decode_seconds));
  if (r->draft_tokens > 0)
    std::fprintf(stderr, "r1: speculative (%s): %lld of %lld draft tokens accepted (%.1f%%)\n",
                 r1::SpecMethodName(o.engine.spec.method), static_cast<long long>(r->accepted_tokens),
                 static_cast<long long>(r->draft_tokens),
                 100.0 * static_cast<double>(r->accepted_tokens) / static_cast<double>(r->draft_tokens));
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "run", "Generate a reply to one prompt, streaming the text", [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      auto* p = app.add_option("-p,--prompt", o->prompt, "Prompt text (rendered with the model's chat template)");
      auto* t = app.add_option("--tokens", o->tokens, "Prompt as comma-separated token ids (used as is)");
      p->excludes(t);
      app.add_option("--system", o->system, "System prompt (DeepSeek recommends none for R1)");
      app.add_flag("--raw", o->raw,
                   "Feed the prompt as is: no chat template, and special tokens written in it are parsed");
      app.add_flag("--ids", o->show_ids, "Print token ids instead of text");
      app.add_flag("--json", o->json, "Print one JSON object: reasoning_content, content, tokens, finish_reason");
      app.add_flag("--hide-thinking", o->hide_thinking, "Fold the thinking into one line");
      app.add_option("--max-thinking-tokens", o->max_thinking,
                     "Thinking budget (0 = no thinking, -1 = unlimited); the thought is closed gracefully")
          ->capture_default_str();
      app.add_option("--stop", o->stop, "Stop string (repeatable)");
      app.add_option("-n,--n-predict", o->n_predict, "Maximum tokens to generate")->capture_default_str();
      r1::cli::AddEngineOptions(app, &o->engine);
      app.add_option("-c,--ctx-size", o->engine.ctx_size, "Context size (tokens)")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
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
