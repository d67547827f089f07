#include "chat/reasoning.h"

namespace r1::chat {
namespace {

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

ReasoningDelta ReasoningSplitter::Feed(ThinkChannel channel, std::string_view piece) {
  ReasoningDelta d;
  last_ = channel;
  switch (channel) {
    case ThinkChannel::kOpenTag:
      return d;
    case ThinkChannel::kCloseTag:
      d.reasoning += reasoning_utf8_.Flush();
      return d;
    case ThinkChannel::kReasoning:
      if (!reasoning_started_) {
        piece = TrimLeft(piece);
        if (piece.empty()) return d;
        reasoning_started_ = true;
      }
      d.reasoning += reasoning_utf8_.Push(piece);
      return d;
    case ThinkChannel::kContent:
      if (!content_started_) {
        piece = TrimLeft(piece);
        if (piece.empty()) return d;
        content_started_ = true;
      }
      d.content += content_utf8_.Push(piece);
      return d;
  }
  return d;
}

ReasoningDelta ReasoningSplitter::Finish() {
  ReasoningDelta d;
  unterminated_ = last_ == ThinkChannel::kReasoning || last_ == ThinkChannel::kOpenTag;
  d.reasoning += reasoning_utf8_.Flush();
  d.content += content_utf8_.Flush();
  return d;
}

}  // namespace r1::chat
