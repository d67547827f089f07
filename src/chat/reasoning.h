// Splitting a generation into reasoning ("<think>...</think>") and content.
//
// R1-family models think first: DeepSeek-R1 and R1-Distill templates end the
// prompt with "<think>\n", so the model starts inside the think block; Qwen3
// and others emit <think> themselves; some skip thinking. The parser works on
// the <think> / </think> TOKEN IDS (never on text, so a model writing the
// characters "</think>" inside an answer does not switch channels) and is fed
// one (token id, decoded piece) pair per generated token.
//
//   ReasoningParser p(config, prompt_token_ids);
//   for each sampled token:
//     ReasoningDelta d = p.Feed(id, piece);
//     stream d.reasoning → reasoning_content, d.content → content
//     if (d.force_close) { ids = Tokenize(d.force_text); feed ids to the
//                          model as input AND to p.Feed (they count as
//                          reasoning tokens and close the block) }
//   ReasoningDelta last = p.Finish();   // flush; see thinking_unterminated()
//
// Whitespace right after <think> and right after </think> is dropped (the
// "\n" / "\n\n" the format puts there), as are whitespace-only pieces before
// a model-opened <think>. Deltas are whole UTF-8 characters: a piece ending
// inside a character is held until the character completes.
//
// Thinking budget: with max_thinking_tokens = N > 0, once N reasoning tokens
// were produced without </think>, Feed returns force_close with
// kBudgetCloseText: a closing sentence + "</think>\n\n". N = 0 means no
// thinking: render the prompt, append NoThinkingSuffix(prompt), and the
// parser (seeing </think> last in the prompt) treats everything as content.
// N < 0 is unlimited.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "chat/stop_strings.h"
#include "r1/status.h"

namespace r1::chat {

// OpenAI-style reasoning_effort → max_thinking_tokens:
//   "low" → 1024, "medium" → 4096, "high" → -1 (unlimited).
// Chosen so low answers quickly (R1 often needs ~1k tokens for simple
// questions) and medium fits a typical 8k context with room for the answer.
inline constexpr int64_t kLowEffortThinkingTokens = 1024;
inline constexpr int64_t kMediumEffortThinkingTokens = 4096;
StatusOr<int64_t> ThinkingBudgetForEffort(std::string_view effort);

// Injected when the budget runs out. Starts on a new paragraph so a budget
// hit in the middle of a word still reads as a separate sentence.
inline constexpr char kBudgetCloseText[] =
    "\n\nI have thought about this long enough; time to write the answer.\n</think>\n\n";

// What to append to a rendered prompt to disable thinking: completes an
// already-open "<think>\n" into an empty block, or adds "<think>\n\n</think>\n\n".
std::string NoThinkingSuffix(std::string_view rendered_prompt);

struct ReasoningConfig {
  int32_t think_start_id = -1;  // token id of "<think>"
  int32_t think_end_id = -1;    // token id of "</think>"
  int64_t max_thinking_tokens = -1;
};

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
  bool force_close = false;  // inject force_text now (see above)
  std::string force_text;
};

class ReasoningParser {
 public:
  enum class State {
    kBeforeThink,  // nothing generated yet; the model may open <think>
    kThinking,     // inside the think block
    kContent,      // after </think>, or the model skipped thinking
  };

  // `prompt_tokens`: the whole prompt; the block is open if the last of
  // <think>/</think> in it is <think>.
  ReasoningParser(const ReasoningConfig& config, std::span<const int32_t> prompt_tokens);

  ReasoningDelta Feed(int32_t token, std::string_view piece);
  // End of generation: releases held text. If the block never closed,
  // everything was reasoning and thinking_unterminated() is true.
  ReasoningDelta Finish();

  State state() const { return state_; }
  bool prompt_opened_think() const { return prompt_opened_; }
  int64_t reasoning_tokens() const { return reasoning_tokens_; }
  bool thinking_unterminated() const { return unterminated_; }
  bool budget_forced() const { return forced_; }

 private:
  void EmitReasoning(std::string_view piece, ReasoningDelta* d);
  void EmitContent(std::string_view piece, ReasoningDelta* d);

  ReasoningConfig config_;
  State state_ = State::kBeforeThink;
  bool prompt_opened_ = false;
  int64_t reasoning_tokens_ = 0;
  bool unterminated_ = false;
  bool forced_ = false;
  bool reasoning_started_ = false;  // non-whitespace reasoning emitted
  bool content_started_ = false;
  std::string before_;              // whitespace seen in kBeforeThink
  Utf8Stream reasoning_utf8_;
  Utf8Stream content_utf8_;
};

}  // namespace r1::chat
