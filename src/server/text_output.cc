#include "server/text_output.h"

#include <algorithm>

namespace r1::server {

std::string TextOutput::FeedStop(const std::string& text) {
  chat::StopStringMatcher::Result r = stop_.Feed(text);
  stopped_ = stopped_ || r.stopped;
  return std::move(r.text);
}

TextOutput::TextOutput(const Tokenizer& tok, bool split_reasoning, std::vector<std::string> stops, int32_t think_start,
                       int32_t think_end)
    : tok_(tok),
      split_(split_reasoning),
      think_start_(think_start),
      think_end_(think_end),
      decoder_(tok),
      stop_(std::move(stops)) {}

void TextOutput::Push(const std::vector<TokenOutput>& tokens, bool want_logprobs, TextDelta* delta) {
  for (const TokenOutput& t : tokens) {
    if (stopped_) return;
    const bool reasoning = split_ && t.reasoning;
    if (reasoning != in_reasoning_) {  // a channel switch: flush what the decoder holds
      std::string tail = decoder_.Flush();
      if (in_reasoning_) {
        delta->reasoning += tail;
      } else {
        delta->content += FeedStop(tail);
      }
      in_reasoning_ = reasoning;
    }
    const bool tag = split_ && (t.token == think_start_ || t.token == think_end_);
    if (tag) continue;
    std::string piece = decoder_.Push(t.token);
    if (reasoning) {
      delta->reasoning += piece;
      continue;
    }
    delta->content += FeedStop(piece);
    if (want_logprobs && !stopped_) {
      TextDelta::TokenLogprob lp;
      lp.text = tok_.TokenBytes(t.token);
      lp.logprob = t.logprob;
      for (const auto& [id, l] : t.top) lp.top.emplace_back(tok_.TokenBytes(id), l);
      delta->logprobs.push_back(std::move(lp));
    }
  }
  delta->stopped = stopped_;
}

void TextOutput::Finish(TextDelta* delta) {
  if (stopped_) return;
  std::string tail = decoder_.Flush();
  if (in_reasoning_) {
    delta->reasoning += tail;
    tail.clear();
  }
  delta->content += FeedStop(tail);
  if (!stopped_) delta->content += stop_.Finish().text;
  delta->stopped = stopped_;
}

}  // namespace r1::server
