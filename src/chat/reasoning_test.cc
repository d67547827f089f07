// Scripted token streams through ReasoningParser and StopStringMatcher.
#include "chat/reasoning.h"

#include <gtest/gtest.h>

#include <vector>

#include "chat/stop_strings.h"

namespace r1::chat {
namespace {

constexpr int32_t kThink = 100;     // "<think>"
constexpr int32_t kEndThink = 101;  // "</think>"
constexpr int32_t kText = 7;        // any other token

struct Step {
  int32_t id;
  std::string piece;
};

struct Collected {
  std::string reasoning, content;
  int forced = 0;
  std::vector<size_t> forced_at;  // step indexes where force_close came back
  ReasoningDelta last;
};

Collected FeedAll(ReasoningParser& p, const std::vector<Step>& steps) {
  Collected c;
  for (size_t i = 0; i < steps.size(); ++i) {
    ReasoningDelta d = p.Feed(steps[i].id, steps[i].piece);
    c.reasoning += d.reasoning;
    c.content += d.content;
    if (d.force_close) {
      ++c.forced;
      c.forced_at.push_back(i);
      c.last = d;
    }
  }
  ReasoningDelta end = p.Finish();
  c.reasoning += end.reasoning;
  c.content += end.content;
  return c;
}

ReasoningConfig Config(int64_t budget = -1) {
  ReasoningConfig cfg;
  cfg.think_start_id = kThink;
  cfg.think_end_id = kEndThink;
  cfg.max_thinking_tokens = budget;
  return cfg;
}

TEST(ReasoningTest, PromptAlreadyOpenedThink) {
  std::vector<int32_t> prompt = {1, 2, kThink, 198};  // ...<｜Assistant｜><think>\n
  ReasoningParser p(Config(), prompt);
  EXPECT_TRUE(p.prompt_opened_think());
  auto c = FeedAll(p, {{kText, "Let"}, {kText, " me think."}, {kEndThink, "</think>"}, {kText, "\n\n"}, {kText, "Answer"}, {kText, "."}});
  EXPECT_EQ(c.reasoning, "Let me think.");
  EXPECT_EQ(c.content, "Answer.");
  EXPECT_EQ(p.reasoning_tokens(), 2);
  EXPECT_FALSE(p.thinking_unterminated());
}

TEST(ReasoningTest, ModelOpensThinkItself) {
  std::vector<int32_t> prompt = {1, 2, 3};
  ReasoningParser p(Config(), prompt);
  EXPECT_FALSE(p.prompt_opened_think());
  auto c = FeedAll(p, {{kText, "\n"}, {kThink, "<think>"}, {kText, "\n"}, {kText, "hmm"}, {kEndThink, "</think>"}, {kText, "\n\nHi"}});
  EXPECT_EQ(c.reasoning, "hmm");
  EXPECT_EQ(c.content, "Hi");
  EXPECT_EQ(p.reasoning_tokens(), 2);
}

TEST(ReasoningTest, ThinkNeverCloses) {
  std::vector<int32_t> prompt = {kThink, 198};
  ReasoningParser p(Config(), prompt);
  auto c = FeedAll(p, {{kText, "still"}, {kText, " going"}});
  EXPECT_EQ(c.reasoning, "still going");
  EXPECT_EQ(c.content, "");
  EXPECT_TRUE(p.thinking_unterminated());
  EXPECT_EQ(p.state(), ReasoningParser::State::kThinking);
}

TEST(ReasoningTest, ModelSkipsThinking) {
  std::vector<int32_t> prompt = {1, 2};
  ReasoningParser p(Config(), prompt);
  auto c = FeedAll(p, {{kText, "Direct"}, {kText, " answer"}, {kEndThink, "</think>"}});
  EXPECT_EQ(c.reasoning, "");
  EXPECT_EQ(c.content, "Direct answer</think>");
  EXPECT_EQ(p.reasoning_tokens(), 0);
  EXPECT_FALSE(p.thinking_unterminated());
}

TEST(ReasoningTest, ThinkTextInsideAnswerIsNotATag) {
  std::vector<int32_t> prompt = {kThink};
  ReasoningParser p(Config(), prompt);
  // The characters "</think>" as ordinary text tokens do not close the block.
  auto c = FeedAll(p, {{kText, "a </think> b"}, {kEndThink, "</think>"}, {kText, "c"}});
  EXPECT_EQ(c.reasoning, "a </think> b");
  EXPECT_EQ(c.content, "c");
}

TEST(ReasoningTest, BudgetHitMidWordForcesClose) {
  std::vector<int32_t> prompt = {kThink, 198};
  ReasoningParser p(Config(3), prompt);
  std::vector<Step> steps = {{kText, "Consid"}, {kText, "er"}, {kText, "ing"}};
  auto c = FeedAll(p, steps);
  ASSERT_EQ(c.forced, 1);
  EXPECT_EQ(c.forced_at[0], 2u);  // exactly when the 3rd reasoning token arrived
  EXPECT_EQ(c.last.force_text, kBudgetCloseText);
  EXPECT_TRUE(p.budget_forced());

  // The caller tokenizes the forced text and feeds those tokens; then the
  // model continues with the answer.
  ReasoningParser q(Config(3), prompt);
  std::vector<Step> all = steps;
  all.push_back({kText, "\n\nI have thought about this long enough; time to write the answer.\n"});
  all.push_back({kEndThink, "</think>"});
  all.push_back({kText, "\n\n"});
  all.push_back({kText, "42"});
  auto d = FeedAll(q, all);
  EXPECT_EQ(d.forced, 1);  // never asked twice
  EXPECT_EQ(d.reasoning, "Considering\n\nI have thought about this long enough; time to write the answer.\n");
  EXPECT_EQ(d.content, "42");
  EXPECT_FALSE(q.thinking_unterminated());
}

TEST(ReasoningTest, NoThinkingBudgetZero) {
  EXPECT_EQ(NoThinkingSuffix("...<｜Assistant｜><think>\n"), "\n</think>\n\n");
  EXPECT_EQ(NoThinkingSuffix("<|im_start|>assistant\n"), "<think>\n\n</think>\n\n");
  // The prompt now ends with </think>: everything generated is content.
  std::vector<int32_t> prompt = {kThink, 198, kEndThink, 271};
  ReasoningParser p(Config(0), prompt);
  EXPECT_EQ(p.state(), ReasoningParser::State::kContent);
  auto c = FeedAll(p, {{kText, "Just"}, {kText, " this"}});
  EXPECT_EQ(c.content, "Just this");
  EXPECT_EQ(c.forced, 0);
}

TEST(ReasoningTest, EffortBudgets) {
  EXPECT_EQ(*ThinkingBudgetForEffort("low"), 1024);
  EXPECT_EQ(*ThinkingBudgetForEffort("medium"), 4096);
  EXPECT_EQ(*ThinkingBudgetForEffort("high"), -1);
  EXPECT_FALSE(ThinkingBudgetForEffort("max").ok());
}

TEST(ReasoningTest, MultiByteCharacterSplitAcrossTokens) {
  std::vector<int32_t> prompt = {kThink};
  ReasoningParser p(Config(), prompt);
  // "é" = C3 A9 and "🙂" = F0 9F 99 82 arrive in pieces.
  ReasoningDelta d1 = p.Feed(kText, "caf\xC3");
  EXPECT_EQ(d1.reasoning, "caf");
  ReasoningDelta d2 = p.Feed(kText, "\xA9 \xF0\x9F");
  EXPECT_EQ(d2.reasoning, "\xC3\xA9 ");
  ReasoningDelta d3 = p.Feed(kEndThink, "</think>");
  EXPECT_EQ(d3.reasoning, "\xF0\x9F");  // block closed: flushed as is
  ReasoningDelta d4 = p.Feed(kText, "\xE6\x97");
  EXPECT_EQ(d4.content, "");
  ReasoningDelta d5 = p.Feed(kText, "\xA5!");
  EXPECT_EQ(d5.content, "\xE6\x97\xA5!");
}

// ---- stop strings -------------------------------------------------------------

std::string Stream(StopStringMatcher& m, const std::vector<std::string>& pieces, bool* stopped,
                   std::vector<std::string>* emitted = nullptr) {
  std::string out;
  *stopped = false;
  for (const auto& p : pieces) {
    auto r = m.Feed(p);
    out += r.text;
    if (emitted) emitted->push_back(r.text);
    if (r.stopped) {
      *stopped = true;
      return out;
    }
  }
  out += m.Finish().text;
  return out;
}

TEST(StopStringsTest, StopSpanningTokensIsNeverEmitted) {
  StopStringMatcher m({"<|end|>"});
  bool stopped;
  std::vector<std::string> emitted;
  std::string out = Stream(m, {"Hello <", "|en", "d|> trailing"}, &stopped, &emitted);
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out, "Hello ");
  EXPECT_EQ(emitted[0], "Hello ");  // "<" held back
  EXPECT_EQ(emitted[1], "");
}

TEST(StopStringsTest, HeldTextReleasedWhenItCannotMatch) {
  StopStringMatcher m({"STOP"});
  auto a = m.Feed("go ST");
  EXPECT_EQ(a.text, "go ");
  auto b = m.Feed("ART");
  EXPECT_EQ(b.text, "START");
  EXPECT_FALSE(b.stopped);
  auto c = m.Feed("S");
  EXPECT_EQ(c.text, "");
  EXPECT_EQ(m.Finish().text, "S");  // end of generation flushes
}

TEST(StopStringsTest, EarliestOfSeveralStopsWins) {
  StopStringMatcher m({"world", "lo w"});
  bool stopped;
  EXPECT_EQ(Stream(m, {"hel", "lo world"}, &stopped), "hel");
  EXPECT_TRUE(stopped);
}

TEST(StopStringsTest, StopInsideOnePiece) {
  StopStringMatcher m({"\n\n"});
  bool stopped;
  EXPECT_EQ(Stream(m, {"line\n\nmore"}, &stopped), "line");
  EXPECT_TRUE(stopped);
}

TEST(StopStringsTest, MultiByteSplitAcrossTokens) {
  StopStringMatcher m({"日本"});
  // 日 = E6 97 A5, 本 = E6 9C AC, 語 = E8 AA 9E
  auto a = m.Feed("x\xE6\x97");
  EXPECT_EQ(a.text, "x");
  auto b = m.Feed("\xA5\xE6\x9C");
  EXPECT_EQ(b.text, "");  // could still be the stop string
  auto c = m.Feed("\xAC");
  EXPECT_TRUE(c.stopped);
  EXPECT_EQ(c.text, "");

  StopStringMatcher n({"zzz"});
  EXPECT_EQ(n.Feed("\xE8").text, "");
  EXPECT_EQ(n.Feed("\xAA").text, "");
  EXPECT_EQ(n.Feed("\x9E!").text, "\xE8\xAA\x9E!");
}

TEST(StopStringsTest, NoStopsPassesThrough) {
  StopStringMatcher m;
  EXPECT_EQ(m.Feed("abc").text, "abc");
  EXPECT_EQ(Utf8CompletePrefix("ab\xC3"), 2u);
  EXPECT_EQ(Utf8CompletePrefix("\x80\x80"), 2u);
  EXPECT_EQ(Utf8CompletePrefix("a\xFF"), 2u);
}

}  // namespace
}  // namespace r1::chat
