// Tokens → the text every frontend shows: reasoning and content channels,
// complete UTF-8 only, and stop strings matched across token boundaries.
//
// The channel of each token comes from the scheduler (TokenOutput::channel,
// decided by token id in runtime/thinking.h); chat::ReasoningSplitter drops
// the tags and the whitespace the format puts after them. Without a split
// (/v1/completions, `r1 run --raw`) all text is content, byte for byte, tags
// included.
//
// Stop strings apply to the content channel: the text up to the match is
// kept and generation ends with finish "stop". Text that might be the start
// of a stop string is held back until it is known not to be. Invalid UTF-8
// from the model becomes U+FFFD, decided per token, so the text does not
// depend on how tokens were grouped into updates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "chat/reasoning.h"
#include "chat/stop_strings.h"
#include "chat/tool_calls.h"
#include "runtime/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

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
  // Pieces of tool calls parsed out of the content (chat/tool_calls.h), when
  // the frontend asks for it; their text is not in `content`.
  std::vector<chat::ToolCallDelta> tool_calls;
};

class TextOutput {
 public:
  // `split_reasoning`: route reasoning tokens to TextDelta::reasoning and
  // drop the tags; otherwise everything is content.
  TextOutput(const Tokenizer& tok, std::vector<std::string> stops, bool split_reasoning);
  // Appends the text of `tokens` to *delta. Once a stop string matched,
  // further tokens are ignored.
  void Push(const std::vector<TokenOutput>& tokens, bool want_logprobs, TextDelta* delta);
  // The end of generation: everything held back.
  void Finish(TextDelta* delta);
  bool stopped() const { return stopped_; }
  // The output ended inside the thought (known after Finish).
  bool thinking_unterminated() const { return split_ && splitter_.thinking_unterminated(); }

 private:
  void Emit(const chat::ReasoningDelta& d, TextDelta* delta);
  std::string FeedStop(const std::string& text);
  TextDelta::TokenLogprob Logprob(const TokenOutput& t) const;

  const Tokenizer& tok_;
  const bool split_;
  chat::ReasoningSplitter splitter_;  // with a split
  StreamDecoder decoder_;             // without
  chat::StopStringMatcher stop_;
  bool stopped_ = false;
};

}  // namespace r1
