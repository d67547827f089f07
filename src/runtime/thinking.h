// The think state of one generation, tracked once, by token id.
//
// Every frontend gets the same behaviour because the scheduler is the only
// place this runs:
//   - the output starts inside the thought when the prompt's last <think> /
//     </think> token is <think> (the R1 templates end with "<think>\n");
//     otherwise the model may open <think> itself;
//   - with a budget of N > 0 reasoning tokens, once N were sampled without
//     </think>, the tokens of chat::kBudgetCloseText are forced: a closing
//     sentence, </think>, and the answer follows;
//   - with a budget of 0 the tokens of chat::kEmptyThoughtCloseText are forced
//     as soon as the thought is open: an empty thought, then the answer;
//   - a budget < 0 is unlimited.
// Forced tokens go through Next() like sampled ones and count as reasoning
// up to and including </think>.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "chat/reasoning.h"

namespace r1 {

// Model-wide: from the tokenizer (Engine fills it).
struct ThinkingConfig {
  int32_t start_id = -1;               // <think>; -1: the model has none
  int32_t end_id = -1;                 // </think>
  std::vector<int32_t> budget_close;   // tokens of chat::kBudgetCloseText
  std::vector<int32_t> empty_close;    // tokens of chat::kEmptyThoughtCloseText
  bool enabled() const { return end_id >= 0; }
};

class ThinkingState {
 public:
  ThinkingState() = default;
  ThinkingState(const ThinkingConfig& config, std::span<const int32_t> prompt, int64_t budget);

  // Classifies the next output token (sampled or forced) and advances.
  chat::ThinkChannel Next(int32_t token, bool forced = false);
  // The budget asks for these tokens before anything is sampled again.
  bool has_forced() const { return !forced_.empty(); }
  int32_t PopForced();

  bool thinking() const { return thinking_; }
  int64_t reasoning_tokens() const { return reasoning_tokens_; }

 private:
  void Force(const std::vector<int32_t>& tokens);

  const ThinkingConfig* config_ = nullptr;
  int64_t budget_ = -1;
  bool thinking_ = false;
  bool closed_ = false;    // a think block has been closed: no budget any more
  bool budget_hit_ = false;
  int64_t sampled_in_thought_ = 0;
  int64_t reasoning_tokens_ = 0;
  std::deque<int32_t> forced_;
};

}  // namespace r1
