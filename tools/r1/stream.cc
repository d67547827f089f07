#include "stream.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace r1::cli {

namespace {

// Prints the deltas: the thought dimmed (terminal) or between <think> tags.
class Printer {
 public:
  explicit Printer(const StreamOptions& o) : o_(o), tty_(isatty(STDOUT_FILENO)) {}

  void Reasoning(const std::string& s, int64_t reasoning_tokens) {
    if (s.empty() || !o_.print) return;
    reasoning_tokens_ = reasoning_tokens;
    if (o_.hide_thinking) return;
    if (!in_thought_) std::fputs(tty_ ? "\033[2m" : "<think>\n", stdout);
    in_thought_ = true;
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  void Content(const std::string& s) {
    if (s.empty() || !o_.print) return;
    EndThought();
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  void EndThought() {
    if (o_.hide_thinking && !folded_ && reasoning_tokens_ > 0) {
      std::printf("%s(thought for %lld tokens)%s\n\n", tty_ ? "\033[2m" : "", static_cast<long long>(reasoning_tokens_),
                  tty_ ? "\033[0m" : "");
      folded_ = true;
    }
    if (in_thought_) std::fputs(tty_ ? "\033[0m\n\n" : "\n</think>\n\n", stdout);
    in_thought_ = false;
  }

 private:
  const StreamOptions& o_;
  const bool tty_;
  bool in_thought_ = false, folded_ = false;
  int64_t reasoning_tokens_ = 0;
};

}  // namespace

StatusOr<StreamResult> Stream(Engine& engine, std::vector<int32_t> prompt, const GenerationParams& params,
                              const StreamOptions& opts) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto h = engine.scheduler().Submit(std::move(prompt), params);
  if (!h.ok()) return h.status();
  RequestHandle& handle = **h;
  TextOutput text(engine.tokenizer(), opts.stops, opts.split_reasoning);
  Printer printer(opts);
  StreamResult r;
  Clock::time_point first{};
  bool cancelled = false;
  RequestUpdate u;
  while (true) {
    if (opts.cancel && opts.cancel->load() && !cancelled) {
      handle.Cancel();
      cancelled = true;
    }
    u.tokens.clear();
    if (!handle.Wait(&u, std::chrono::milliseconds(50))) continue;
    if (!u.tokens.empty() && first == Clock::time_point{}) first = Clock::now();
    TextDelta d;
    text.Push(u.tokens, false, &d);
    for (const TokenOutput& t : u.tokens) {
      r.tokens.push_back(t.token);
      if (opts.show_ids && opts.print) std::printf("%d ", t.token);
    }
    r.prompt_tokens = u.prompt_tokens;
    r.cached_tokens = u.cached_tokens;
    r.completion_tokens = u.completion_tokens;
    r.reasoning_tokens = u.reasoning_tokens;
    r.draft_tokens = u.draft_tokens;
    r.accepted_tokens = u.accepted_tokens;
    if (text.stopped() && u.finish == FinishReason::kNone) {
      handle.Cancel();  // a stop string matched: the scheduler drops the rest
      u.finish = FinishReason::kStop;
    }
    if (u.finish != FinishReason::kNone) text.Finish(&d);
    if (!opts.show_ids) {
      printer.Reasoning(d.reasoning, r.reasoning_tokens);
      printer.Content(d.content);
    }
    std::fflush(stdout);
    r.text.reasoning += d.reasoning;
    r.text.content += d.content;
    if (u.finish != FinishReason::kNone) {
      if (u.finish == FinishReason::kError) return u.status;
      r.finish = u.finish;
      break;
    }
  }
  if (!opts.show_ids) printer.EndThought();
  const auto t1 = Clock::now();
  if (first == Clock::time_point{}) first = t1;
  r.prefill_seconds = std::chrono::duration<double>(first - t0).count();
  r.decode_seconds = std::chrono::duration<double>(t1 - first).count();
  r.thinking_unterminated = text.thinking_unterminated();
  return r;
}

}  // namespace r1::cli
