#include "runtime/thinking.h"

namespace r1 {

using chat::ThinkChannel;

ThinkingState::ThinkingState(const ThinkingConfig& config, std::span<const int32_t> prompt, int64_t budget)
    : config_(&config), budget_(budget) {
  if (!config.enabled()) return;
  for (size_t i = prompt.size(); i > 0; --i) {
    const int32_t t = prompt[i - 1];
    if (t == config.start_id) {
      thinking_ = true;
      break;
    }
    if (t == config.end_id) {
      closed_ = true;  // an (empty) block already closed: answer only
      break;
    }
  }
  if (thinking_ && budget_ == 0) Force(config.empty_close);
}

void ThinkingState::Force(const std::vector<int32_t>& tokens) {
  budget_hit_ = true;
  forced_.insert(forced_.end(), tokens.begin(), tokens.end());
}

int32_t ThinkingState::PopForced() {
  const int32_t t = forced_.front();
  forced_.pop_front();
  return t;
}

ThinkChannel ThinkingState::Next(int32_t token, bool forced) {
  if (config_ == nullptr || !config_->enabled()) return ThinkChannel::kContent;
  if (!thinking_) {
    if (token == config_->start_id && !closed_) {
      thinking_ = true;
      ++reasoning_tokens_;
      if (budget_ == 0) Force(config_->empty_close);
      return ThinkChannel::kOpenTag;
    }
    return ThinkChannel::kContent;
  }
  ++reasoning_tokens_;
  if (token == config_->end_id) {
    thinking_ = false;
    closed_ = true;
    return ThinkChannel::kCloseTag;
  }
  if (!forced) ++sampled_in_thought_;
  if (!budget_hit_ && budget_ > 0 && sampled_in_thought_ >= budget_) Force(config_->budget_close);
  return ThinkChannel::kReasoning;
}

}  // namespace r1
