// ThinkingState: the think state by token id and the thinking budget, as the
// scheduler applies it for every frontend.
#include "runtime/thinking.h"

#include <gtest/gtest.h>

#include <vector>

namespace r1 {
namespace {

using chat::ThinkChannel;
constexpr int32_t kThink = 100, kEndThink = 101, kText = 7, kNl = 198, kNlNl = 271;

ThinkingConfig Config() {
  ThinkingConfig c;
  c.start_id = kThink;
  c.end_id = kEndThink;
  c.budget_close = {50, 51, kEndThink, kNlNl};  // "…time to write the answer." </think> "\n\n"
  c.empty_close = {kNl, kEndThink, kNlNl};
  return c;
}

// Runs the model's tokens through the state the way the scheduler does:
// forced tokens first, else the next scripted one. Returns the output.
struct Out {
  std::vector<int32_t> tokens;
  std::vector<ThinkChannel> channels;
  std::vector<bool> forced;
};
Out Drive(ThinkingState& s, std::vector<int32_t> model, size_t max_out = 64) {
  Out o;
  size_t next = 0;
  while (o.tokens.size() < max_out) {
    int32_t t;
    bool forced = s.has_forced();
    if (forced) {
      t = s.PopForced();
    } else if (next < model.size()) {
      t = model[next++];
    } else {
      break;
    }
    o.tokens.push_back(t);
    o.forced.push_back(forced);
    o.channels.push_back(s.Next(t, forced));
  }
  return o;
}

TEST(ThinkingTest, PromptOpenedThinkStartsAsReasoning) {
  const ThinkingConfig c = Config();
  const std::vector<int32_t> prompt = {1, 2, kThink, kNl};
  ThinkingState s(c, prompt, -1);
  EXPECT_TRUE(s.thinking());
  Out o = Drive(s, {kText, kText, kEndThink, kNlNl, kText});
  EXPECT_EQ(o.channels, (std::vector<ThinkChannel>{ThinkChannel::kReasoning, ThinkChannel::kReasoning,
                                                   ThinkChannel::kCloseTag, ThinkChannel::kContent,
                                                   ThinkChannel::kContent}));
  EXPECT_EQ(s.reasoning_tokens(), 3);  // the closing tag is part of the thought
  EXPECT_FALSE(s.thinking());
}

TEST(ThinkingTest, ModelOpensThinkItselfOrSkipsIt) {
  const ThinkingConfig c = Config();
  const std::vector<int32_t> prompt = {1, 2};
  ThinkingState s(c, prompt, -1);
  EXPECT_FALSE(s.thinking());
  Out o = Drive(s, {kNl, kThink, kText, kEndThink, kText});
  EXPECT_EQ(o.channels[0], ThinkChannel::kContent);
  EXPECT_EQ(o.channels[1], ThinkChannel::kOpenTag);
  EXPECT_EQ(o.channels[2], ThinkChannel::kReasoning);
  EXPECT_EQ(o.channels[3], ThinkChannel::kCloseTag);
  EXPECT_EQ(o.channels[4], ThinkChannel::kContent);
  // After a closed thought, <think> is just a token of the answer.
  ThinkingState closed(c, std::vector<int32_t>{kThink, kNl, kEndThink, kNlNl}, -1);
  EXPECT_FALSE(closed.thinking());
  Out o2 = Drive(closed, {kText, kThink, kText});
  for (ThinkChannel ch : o2.channels) EXPECT_EQ(ch, ThinkChannel::kContent);
}

TEST(ThinkingTest, BudgetClosesTheThoughtGracefully) {
  const ThinkingConfig c = Config();
  ThinkingState s(c, std::vector<int32_t>{kThink, kNl}, 3);
  Out o = Drive(s, {kText, kText, kText, kText, kText, kText});
  // Three sampled reasoning tokens, then the whole close text, then the answer.
  ASSERT_GE(o.tokens.size(), 7u);
  EXPECT_EQ(std::vector<int32_t>(o.tokens.begin() + 3, o.tokens.begin() + 7), c.budget_close);
  for (size_t i = 0; i < o.tokens.size(); ++i) EXPECT_EQ(o.forced[i], i >= 3 && i < 7) << i;
  EXPECT_EQ(o.channels[5], ThinkChannel::kCloseTag);
  EXPECT_EQ(o.channels[6], ThinkChannel::kContent);
  EXPECT_EQ(o.channels[7], ThinkChannel::kContent);
  EXPECT_EQ(s.reasoning_tokens(), 6);  // 3 sampled + 2 forced text + </think>
  EXPECT_FALSE(s.has_forced());
}

TEST(ThinkingTest, ModelClosingJustAtTheBudgetIsNotForced) {
  const ThinkingConfig c = Config();
  ThinkingState s(c, std::vector<int32_t>{kThink, kNl}, 3);
  Out o = Drive(s, {kText, kText, kEndThink, kText});
  for (bool f : o.forced) EXPECT_FALSE(f);
}

TEST(ThinkingTest, BudgetZeroForcesAnEmptyThought) {
  const ThinkingConfig c = Config();
  ThinkingState s(c, std::vector<int32_t>{kThink, kNl}, 0);
  EXPECT_TRUE(s.has_forced());
  Out o = Drive(s, {kText});
  EXPECT_EQ(o.tokens, (std::vector<int32_t>{kNl, kEndThink, kNlNl, kText}));
  EXPECT_EQ(o.channels[3], ThinkChannel::kContent);
  // A model that opens <think> itself under budget 0 gets it closed at once.
  ThinkingState m(c, std::vector<int32_t>{1}, 0);
  Out o2 = Drive(m, {kThink, kText});
  EXPECT_EQ(o2.tokens, (std::vector<int32_t>{kThink, kNl, kEndThink, kNlNl, kText}));
}

TEST(ThinkingTest, ModelWithoutThinkTokensIsAllContent) {
  ThinkingConfig none;
  ThinkingState s(none, std::vector<int32_t>{1, 2}, 0);
  EXPECT_FALSE(s.has_forced());
  Out o = Drive(s, {kThink, kText});
  for (ThinkChannel ch : o.channels) EXPECT_EQ(ch, ThinkChannel::kContent);
}

}  // namespace
}  // namespace r1
