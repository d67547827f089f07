#include "chat/reasoning.h"

namespace r1::chat {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') return false;
  return true;
}

std::string_view TrimLeft(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  return s.substr(i);
}

}  // namespace

StatusOr<int64_t> ThinkingBudgetForEffort(std::string_view effort) {
  if (effort == "low") return kLowEffortThinkingTokens;
  if (effort == "medium") return kMediumEffortThinkingTokens;
  if (effort == "high") return int64_t{-1};
  return Status::InvalidArgument("reasoning_effort must be \"low\", \"medium\" or \"high\", got \"" +
                                 std::string(effort) + "\"");
}

std::string NoThinkingSuffix(std::string_view prompt) {
  std::string_view open = "<think>\n";
  if (prompt.size() >= open.size() && prompt.substr(prompt.size() - open.size()) == open)
    return "\n</think>\n\n";
  if (prompt.size() >= 7 && prompt.substr(prompt.size() - 7) == "<think>") return "\n\n</think>\n\n";
  return "<think>\n\n</think>\n\n";
}

ReasoningParser::ReasoningParser(const ReasoningConfig& config, std::span<const int32_t> prompt_tokens)
    : config_(config) {
  for (size_t i = prompt_tokens.size(); i > 0; --i) {
    int32_t t = prompt_tokens[i - 1];
    if (t == config_.think_start_id) {
      prompt_opened_ = true;
      state_ = State::kThinking;
      break;
    }
    if (t == config_.think_end_id) {
      state_ = State::kContent;  // an (empty) block already closed: answer only
      break;
    }
  }
}

void ReasoningParser::EmitReasoning(std::string_view piece, ReasoningDelta* d) {
  if (!reasoning_started_) {
    piece = TrimLeft(piece);
    if (piece.empty()) return;
    reasoning_started_ = true;
  }
  d->reasoning += reasoning_utf8_.Push(piece);
}

void ReasoningParser::EmitContent(std::string_view piece, ReasoningDelta* d) {
  if (!content_started_) {
    piece = TrimLeft(piece);
    if (piece.empty()) return;
    content_started_ = true;
  }
  d->content += content_utf8_.Push(piece);
}

ReasoningDelta ReasoningParser::Feed(int32_t token, std::string_view piece) {
  ReasoningDelta d;
  switch (state_) {
    case State::kBeforeThink:
      if (token == config_.think_start_id) {
        before_.clear();
        state_ = State::kThinking;
        return d;
      }
      if (IsBlank(piece)) {  // maybe whitespace before <think>: wait and see
        before_.append(piece);
        return d;
      }
      state_ = State::kContent;  // the model skipped thinking
      EmitContent(before_, &d);
      before_.clear();
      EmitContent(piece, &d);
      return d;
    case State::kThinking:
      if (token == config_.think_end_id) {
        state_ = State::kContent;
        d.reasoning += reasoning_utf8_.Flush();
        return d;
      }
      ++reasoning_tokens_;
      EmitReasoning(piece, &d);
      if (!forced_ && config_.max_thinking_tokens > 0 && reasoning_tokens_ >= config_.max_thinking_tokens) {
        forced_ = true;
        d.force_close = true;
        d.force_text = kBudgetCloseText;
      }
      return d;
    case State::kContent:
      EmitContent(piece, &d);
      return d;
  }
  return d;
}

ReasoningDelta ReasoningParser::Finish() {
  ReasoningDelta d;
  if (state_ == State::kThinking) unterminated_ = true;
  if (state_ == State::kBeforeThink && !before_.empty()) {
    EmitContent(before_, &d);
    before_.clear();
  }
  d.reasoning += reasoning_utf8_.Flush();
  d.content += content_utf8_.Flush();
  return d;
}

}  // namespace r1::chat
