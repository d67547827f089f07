// Tokens → the text a response carries: reasoning and content channels,
// complete UTF-8 only, and stop strings matched across token boundaries.
//
// Tokens flagged `reasoning` by the scheduler (inside <think>…</think>) go to
// reasoning_content, the rest to content; the <think>/</think> tags
// themselves are not shown. Stop strings apply to the content channel (and
// to all text when reasoning is not separated, as for /v1/completions): the
// text up to the match is kept and generation ends with finish_reason
// "stop". Text that might be the start of a stop string is held back until
// it is known not to be.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat/stop_strings.h"
#include "runtime/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace r1::server {

struct TextDelta {
  std::string reasoning;
  std::string content;
  struct TokenLogprob {
    std::string text;
    float logprob = 0;
    std::vector<std::pair<std::string, float>> top;
  };
  std::vector<TokenLogprob> logprobs;  // content tokens, with logprobs on
  bool stopped = false;                // a stop string matched
};

class TextOutput {
 public:
  TextOutput(const Tokenizer& tok, bool split_reasoning, std::vector<std::string> stops, int32_t think_start,
             int32_t think_end);
  // Appends the text of `tokens` to *delta. Once a stop string matched,
  // further tokens are ignored.
  void Push(const std::vector<TokenOutput>& tokens, bool want_logprobs, TextDelta* delta);
  // The end of generation: everything held back.
  void Finish(TextDelta* delta);
  bool stopped() const { return stopped_; }

 private:
  const Tokenizer& tok_;
  const bool split_;
  const int32_t think_start_, think_end_;
  StreamDecoder decoder_;
  bool in_reasoning_ = false;
  chat::StopStringMatcher stop_;

  std::string FeedStop(const std::string& text);
  bool stopped_ = false;
};

}  // namespace r1::server
