#include "server/text_output.h"

#include <algorithm>

namespace r1::server {

std::string StopMatcher::Push(const std::string& text, bool* stopped) {
  held_ += text;
  if (stops_.empty()) return std::move(held_);
  size_t first = std::string::npos;
  for (const auto& s : stops_) first = std::min(first, held_.find(s));
  if (first != std::string::npos) {
    *stopped = true;
    std::string out = held_.substr(0, first);
    held_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of a stop string.
  size_t keep = 0;
  for (const auto& s : stops_) {
    const size_t max = std::min(s.size() - 1, held_.size());
    for (size_t n = max; n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::Flush() { return std::exchange(held_, std::string()); }

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
        delta->content += stop_.Push(tail, &stopped_);
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
    delta->content += stop_.Push(piece, &stopped_);
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
  delta->content += stop_.Push(tail, &stopped_);
  if (!stopped_) delta->content += stop_.Flush();
  delta->stopped = stopped_;
}

}  // namespace r1::server
