// The CLI's client of the scheduler: one request submitted, its event stream
// printed as it comes (the thought dimmed on a terminal, or between <think>
// tags when the output is not one), and a summary returned. `r1 run`,
// `r1 chat` and `r1 eval` all generate through it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/engine.h"
#include "runtime/text_output.h"

namespace r1::cli {

struct StreamOptions {
  bool print = true;            // write the text to stdout as it comes
  bool show_ids = false;        // print token ids instead of text
  bool hide_thinking = false;   // fold the thought into "(thought for N tokens)"
  bool split_reasoning = true;  // a reasoning channel (chat); false: all text as is
  std::vector<std::string> stops;
  const std::atomic<bool>* cancel = nullptr;  // set from a signal handler to stop early
};

struct StreamResult {
  TextDelta text;               // reasoning and content, whole
  std::vector<int32_t> tokens;  // every output token, forced ones included
  FinishReason finish = FinishReason::kNone;
  bool thinking_unterminated = false;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0, reasoning_tokens = 0;
  int64_t draft_tokens = 0, accepted_tokens = 0;  // speculative decoding
  double prefill_seconds = 0;   // submit → first token
  double decode_seconds = 0;    // first token → finish
};

// Errors: the scheduler's (a prompt longer than the context, a failed forward pass).
StatusOr<StreamResult> Stream(Engine& engine, std::vector<int32_t> prompt, const GenerationParams& params,
                              const StreamOptions& opts);

}  // namespace r1::cli
