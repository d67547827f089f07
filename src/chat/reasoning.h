// Splitting a generation's text into reasoning ("<think>...</think>") and content.
//
// Which token belongs to which channel is decided once, by token id, in the
// runtime (runtime/thinking.h): the R1 templates end the prompt with
// "<think>\n", so the model starts inside the think block; Qwen3 and others
// emit <think> themselves; some skip thinking. This file turns that per-token
// channel into text:
//
//   ReasoningSplitter s;
//   for each generated token:  d = s.Feed(channel, piece);
//     stream d.reasoning → reasoning_content, d.content → content
//   d = s.Finish();
//
// The tags themselves are dropped, as is whitespace at the start of each
// channel (the "\n" / "\n\n" the format puts after the tags, and whitespace
// the model writes before opening <think> itself). Deltas are whole UTF-8
// characters: a piece ending inside a character is held until it completes.
#pragma once

#include <cstdint>
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

// Forced into the thought when a thinking budget N > 0 runs out. Starts on a
// new paragraph so a budget hit in the middle of a word still reads as a
// separate sentence; the answer follows.
inline constexpr char kBudgetCloseText[] =
    "\n\nI have thought about this long enough; time to write the answer.\n</think>\n\n";
// Forced right after an opened "<think>\n" when the budget is 0: an empty
// thought ("<think>\n\n</think>\n\n"), the form R1 answers directly after.
inline constexpr char kEmptyThoughtCloseText[] = "\n</think>\n\n";

// The channel of one generated token.
enum class ThinkChannel : uint8_t {
  kContent,    // the answer (or everything, for models without think tokens)
  kOpenTag,    // the <think> token
  kReasoning,  // inside the think block
  kCloseTag,   // the </think> token
};
inline bool IsReasoning(ThinkChannel c) { return c != ThinkChannel::kContent; }

struct ReasoningDelta {
  std::string reasoning;
  std::string content;
};

class ReasoningSplitter {
 public:
  ReasoningDelta Feed(ThinkChannel channel, std::string_view piece);
  // End of generation: releases held bytes. thinking_unterminated() tells
  // whether the output ended inside the think block.
  ReasoningDelta Finish();
  bool thinking_unterminated() const { return unterminated_; }

 private:
  ThinkChannel last_ = ThinkChannel::kContent;
  bool unterminated_ = false;
  bool reasoning_started_ = false;  // non-whitespace reasoning emitted
  bool content_started_ = false;
  Utf8Stream reasoning_utf8_;
  Utf8Stream content_utf8_;
};

}  // namespace r1::chat
