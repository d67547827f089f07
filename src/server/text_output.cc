#include "server/text_output.h"

#include "tokenizer/unicode.h"

namespace r1::server {

using State = chat::ReasoningParser::State;

TextOutput::TextOutput(const Tokenizer& tok, std::vector<std::string> stops,
                       std::optional<chat::ReasoningConfig> reasoning, std::span<const int32_t> prompt)
    : tok_(tok), decoder_(tok), stop_(std::move(stops)) {
  if (reasoning) parser_ = std::make_unique<chat::ReasoningParser>(*reasoning, prompt);
}

bool TextOutput::starts_thinking() const { return parser_ && parser_->state() == State::kThinking; }

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
    if (!parser_) {
      delta->content += FeedStop(decoder_.Push(t.token));
      if (want_logprobs && !stopped_) delta->logprobs.push_back(Logprob(t));
      continue;
    }
    const State before = parser_->state();
    Emit(parser_->Feed(t.token, tok_.TokenBytes(t.token)), delta);
    if (!want_logprobs || stopped_) continue;
    switch (parser_->state()) {
      case State::kBeforeThink:
        held_logprobs_.push_back(Logprob(t));
        break;
      case State::kThinking:
        held_logprobs_.clear();
        break;
      case State::kContent:
        if (before == State::kThinking) break;  // the closing tag
        for (auto& lp : held_logprobs_) delta->logprobs.push_back(std::move(lp));
        held_logprobs_.clear();
        delta->logprobs.push_back(Logprob(t));
        break;
    }
  }
  delta->stopped = stopped_;
}

void TextOutput::Finish(TextDelta* delta) {
  if (!stopped_) {
    if (parser_) {
      Emit(parser_->Finish(), delta);
    } else {
      delta->content += FeedStop(decoder_.Flush());
    }
  }
  if (!stopped_) delta->content += stop_.Finish().text;
  delta->stopped = stopped_;
}

}  // namespace r1::server
