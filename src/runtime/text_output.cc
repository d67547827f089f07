#include "runtime/text_output.h"

#include "tokenizer/unicode.h"

namespace r1 {

using chat::ThinkChannel;

TextOutput::TextOutput(const Tokenizer& tok, std::vector<std::string> stops, bool split_reasoning)
    : tok_(tok), split_(split_reasoning), decoder_(tok), stop_(std::move(stops)) {}

std::string TextOutput::FeedStop(const std::string& text) {
  if (text.empty() || stopped_) return "";
  chat::StopStringMatcher::Result r = stop_.Feed(text);
  stopped_ = stopped_ || r.stopped;
  return std::move(r.text);
}

void TextOutput::Emit(const chat::ReasoningDelta& d, TextDelta* delta) {
  if (!d.reasoning.empty()) delta->reasoning += tok::SanitizeUtf8(d.reasoning);
  if (!d.content.empty()) delta->content += FeedStop(tok::SanitizeUtf8(d.content));
}

TextDelta::TokenLogprob TextOutput::Logprob(const TokenOutput& t) const {
  TextDelta::TokenLogprob lp;
  lp.text = tok_.TokenBytes(t.token);
  lp.logprob = t.logprob;
  for (const auto& [id, l] : t.top) lp.top.emplace_back(tok_.TokenBytes(id), l);
  return lp;
}

void TextOutput::Push(const std::vector<TokenOutput>& tokens, bool want_logprobs, TextDelta* delta) {
  for (const TokenOutput& t : tokens) {
    if (stopped_) break;
    if (!split_) {
      delta->content += FeedStop(decoder_.Push(t.token));
    } else {
      Emit(splitter_.Feed(t.channel, tok_.TokenBytes(t.token)), delta);
      if (t.channel != ThinkChannel::kContent) continue;
    }
    if (want_logprobs && !stopped_) delta->logprobs.push_back(Logprob(t));
  }
  delta->stopped = stopped_;
}

void TextOutput::Finish(TextDelta* delta) {
  if (!stopped_) {
    if (split_) {
      Emit(splitter_.Finish(), delta);
    } else {
      delta->content += FeedStop(decoder_.Flush());
    }
  }
  if (!stopped_) delta->content += stop_.Finish().text;
  delta->stopped = stopped_;
}

}  // namespace r1
