// Tokens → the text a response carries: reasoning and content channels,
// complete UTF-8 only, and stop strings matched across token boundaries.
//
// With reasoning split (chat on a model that has <think>/</think> tokens)
// every token goes through chat::ReasoningParser, the same state machine
// `r1 chat` uses: it decides from the token ids (and the prompt, which may
// leave a think block open) what is reasoning_content and what is content,
// drops the tags and the whitespace the format puts after them. Without a
// split (/v1/completions, models without think tokens) all text is content,
// byte for byte.
//
// Stop strings apply to the content channel: the text up to the match is
// kept and generation ends with finish_reason "stop". Text that might be the
// start of a stop string is held back until it is known not to be.
// Invalid UTF-8 from the model becomes U+FFFD, decided per token, so the
// text does not depend on how tokens were grouped into updates.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "chat/reasoning.h"
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
  // `reasoning`: split reasoning from content with these think token ids
  // (nullopt: everything is content); `prompt`: the prompt's token ids.
  TextOutput(const Tokenizer& tok, std::vector<std::string> stops, std::optional<chat::ReasoningConfig> reasoning,
             std::span<const int32_t> prompt);
  // The prompt left a think block open: generation starts as reasoning.
  bool starts_thinking() const;
  // Appends the text of `tokens` to *delta. Once a stop string matched,
  // further tokens are ignored.
  void Push(const std::vector<TokenOutput>& tokens, bool want_logprobs, TextDelta* delta);
  // The end of generation: everything held back.
  void Finish(TextDelta* delta);
  bool stopped() const { return stopped_; }

 private:
  void Emit(const chat::ReasoningDelta& d, TextDelta* delta);
  std::string FeedStop(const std::string& text);
  TextDelta::TokenLogprob Logprob(const TokenOutput& t) const;

  const Tokenizer& tok_;
  std::unique_ptr<chat::ReasoningParser> parser_;  // null: no split
  StreamDecoder decoder_;                          // without a split
  chat::StopStringMatcher stop_;
  // Tokens the parser has not placed yet (whitespace before a possible
  // <think>): their logprobs join the content if the answer starts.
  std::vector<TextDelta::TokenLogprob> held_logprobs_;
  bool stopped_ = false;
};

}  // namespace r1::server
