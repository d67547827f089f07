// ReasoningSplitter (channels → text) and StopStringMatcher on scripted
// pieces. Which channel a token is in is runtime/thinking.h's job
// (runtime/thinking_test.cc).
#include "chat/reasoning.h"

#include <gtest/gtest.h>

#include <vector>

#include "chat/stop_strings.h"

namespace r1::chat {
namespace {

using C = ThinkChannel;

struct Piece {
  ThinkChannel channel;
  std::string text;
};

ReasoningDelta FeedAll(ReasoningSplitter& s, const std::vector<Piece>& pieces) {
  ReasoningDelta all;
  for (const Piece& p : pieces) {
    ReasoningDelta d = s.Feed(p.channel, p.text);
    all.reasoning += d.reasoning;
    all.content += d.content;
  }
  ReasoningDelta end = s.Finish();
  all.reasoning += end.reasoning;
  all.content += end.content;
  return all;
}

TEST(ReasoningTest, TagsAndFormatWhitespaceAreDropped) {
  ReasoningSplitter s;
  auto d = FeedAll(s, {{C::kReasoning, "\n"}, {C::kReasoning, "Let"}, {C::kReasoning, " me think."},
                       {C::kCloseTag, "</think>"}, {C::kContent, "\n\n"}, {C::kContent, "Answer"}, {C::kContent, "."}});
  EXPECT_EQ(d.reasoning, "Let me think.");
  EXPECT_EQ(d.content, "Answer.");
  EXPECT_FALSE(s.thinking_unterminated());
}

TEST(ReasoningTest, WhitespaceBeforeAModelOpenedThinkIsDropped) {
  ReasoningSplitter s;
  auto d = FeedAll(s, {{C::kContent, "\n"}, {C::kOpenTag, "<think>"}, {C::kReasoning, "\n"}, {C::kReasoning, "hmm"},
                       {C::kCloseTag, "</think>"}, {C::kContent, "\n\nHi"}});
  EXPECT_EQ(d.reasoning, "hmm");
  EXPECT_EQ(d.content, "Hi");
}

TEST(ReasoningTest, UnterminatedThought) {
  ReasoningSplitter s;
  auto d = FeedAll(s, {{C::kReasoning, "still"}, {C::kReasoning, " going"}});
  EXPECT_EQ(d.reasoning, "still going");
  EXPECT_EQ(d.content, "");
  EXPECT_TRUE(s.thinking_unterminated());
}

TEST(ReasoningTest, ContentKeepsInnerWhitespaceAndTagText) {
  ReasoningSplitter s;
  auto d = FeedAll(s, {{C::kContent, "Direct"}, {C::kContent, " answer </think>"}});
  EXPECT_EQ(d.content, "Direct answer </think>");
  EXPECT_FALSE(s.thinking_unterminated());
}

TEST(ReasoningTest, EffortBudgets) {
  EXPECT_EQ(*ThinkingBudgetForEffort("low"), 1024);
  EXPECT_EQ(*ThinkingBudgetForEffort("medium"), 4096);
  EXPECT_EQ(*ThinkingBudgetForEffort("high"), -1);
  EXPECT_FALSE(ThinkingBudgetForEffort("max").ok());
}

TEST(ReasoningTest, MultiByteCharacterSplitAcrossTokens) {
  ReasoningSplitter p;
  // "é" = C3 A9 and "🙂" = F0 9F 99 82 arrive in pieces.
  ReasoningDelta d1 = p.Feed(C::kReasoning, "caf\xC3");
  EXPECT_EQ(d1.reasoning, "caf");
  ReasoningDelta d2 = p.Feed(C::kReasoning, "\xA9 \xF0\x9F");
  EXPECT_EQ(d2.reasoning, "\xC3\xA9 ");
  ReasoningDelta d3 = p.Feed(C::kCloseTag, "</think>");
  EXPECT_EQ(d3.reasoning, "\xF0\x9F");  // block closed: flushed as is
  ReasoningDelta d4 = p.Feed(C::kContent, "\xE6\x97");
  EXPECT_EQ(d4.content, "");
  ReasoningDelta d5 = p.Feed(C::kContent, "\xA5!");
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
