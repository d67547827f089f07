// TextOutput: every frontend's token → text path (the channels ThinkingState
// assigns, chat::ReasoningSplitter, stop strings, logprobs, UTF-8), on the
// synthetic models' vocabulary, which has the R1 special tokens.
#include "runtime/text_output.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "gguf/gguf.h"
#include "util/model_util.h"

namespace r1 {
namespace {

class TextOutputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto file = gguf::File::Open(testing::SyntheticModelPath("text_output", testing::SmallSpec("qwen2", GgmlType::F32)));
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    file_ = (*file).release();
    auto tok = Tokenizer::FromGguf(*file_);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tok_ = (*tok).release();
  }

  static int32_t Id(const char* text) { return tok_->FindToken(text).value_or(-1); }
  static std::vector<int32_t> Ids(const std::string& text) { return tok_->Encode(text, /*parse_special=*/true); }
  static ThinkingConfig Thinking() {
    ThinkingConfig c;
    c.start_id = Id("<think>");
    c.end_id = Id("</think>");
    return c;
  }

  // Generated tokens with made-up logprobs (-1, -2, ...) and the channels the
  // scheduler's ThinkingState gives them after `prompt`.
  static std::vector<TokenOutput> Tokens(const std::vector<int32_t>& ids,
                                         const std::vector<int32_t>& prompt = {}) {
    static const ThinkingConfig config = Thinking();
    ThinkingState think(config, prompt, -1);
    std::vector<TokenOutput> out;
    for (int32_t id : ids) {
      TokenOutput t;
      t.token = id;
      t.logprob = -static_cast<float>(out.size() + 1);
      t.channel = think.Next(id);
      out.push_back(t);
    }
    return out;
  }

  // Pushes `tokens` in groups of `group` (0: all at once), then finishes.
  static TextDelta Run(TextOutput& out, const std::vector<TokenOutput>& tokens, size_t group, bool logprobs) {
    TextDelta all;
    if (group == 0) group = tokens.size();
    for (size_t i = 0; i < tokens.size(); i += group) {
      std::vector<TokenOutput> part(tokens.begin() + static_cast<long>(i),
                                    tokens.begin() + static_cast<long>(std::min(tokens.size(), i + group)));
      TextDelta d;
      out.Push(part, logprobs, &d);
      all.reasoning += d.reasoning;
      all.content += d.content;
      for (auto& lp : d.logprobs) all.logprobs.push_back(std::move(lp));
    }
    TextDelta d;
    out.Finish(&d);
    all.reasoning += d.reasoning;
    all.content += d.content;
    all.stopped = d.stopped;
    return all;
  }

  static gguf::File* file_;
  static Tokenizer* tok_;
};

gguf::File* TextOutputTest::file_ = nullptr;
Tokenizer* TextOutputTest::tok_ = nullptr;

TEST_F(TextOutputTest, SplitsReasoningFromContentAfterAnOpenThinkPrompt) {
  ASSERT_GE(Id("<think>"), 0);
  ASSERT_GE(Id("</think>"), 0);
  const std::vector<int32_t> prompt = Ids("<｜User｜>hi<｜Assistant｜><think>\n");
  std::vector<int32_t> gen = Ids("Let me see.");
  gen.push_back(Id("</think>"));
  const std::vector<int32_t> answer = Ids("\n\nThe answer is 4.");
  gen.insert(gen.end(), answer.begin(), answer.end());

  TextOutput out(*tok_, {}, /*split_reasoning=*/true);
  const TextDelta d = Run(out, Tokens(gen, prompt), 1, /*logprobs=*/true);
  EXPECT_EQ(d.reasoning, "Let me see.");
  EXPECT_EQ(d.content, "The answer is 4.");  // the "\n\n" after </think> is the format's, not the answer's
  EXPECT_FALSE(d.stopped);
  // Logprobs list the answer's tokens only: not the reasoning, not the tag.
  ASSERT_EQ(d.logprobs.size(), answer.size());
  EXPECT_EQ(d.logprobs[0].text, tok_->TokenBytes(answer[0]));
  EXPECT_EQ(d.logprobs[0].logprob, -static_cast<float>(gen.size() - answer.size() + 1));
}

TEST_F(TextOutputTest, ModelOpensOrSkipsThinkingItself) {
  const std::vector<int32_t> prompt = Ids("<｜User｜>hi<｜Assistant｜>");
  std::vector<int32_t> gen = {Id("<think>")};
  for (int32_t id : Ids("hmm")) gen.push_back(id);
  gen.push_back(Id("</think>"));
  for (int32_t id : Ids("ok")) gen.push_back(id);
  TextOutput opened(*tok_, {}, true);
  TextDelta d = Run(opened, Tokens(gen, prompt), 0, false);
  EXPECT_EQ(d.reasoning, "hmm");
  EXPECT_EQ(d.content, "ok");

  TextOutput skipped(*tok_, {}, true);
  d = Run(skipped, Tokens(Ids("\nJust the answer."), prompt), 1, true);
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.content, "Just the answer.");
  EXPECT_EQ(d.logprobs.size(), Ids("\nJust the answer.").size());  // the held whitespace joins the answer
}

TEST_F(TextOutputTest, WithoutASplitTextIsExact) {
  // /v1/completions: no reasoning channel, leading whitespace and the tag text kept.
  const std::string text = "  leading <think> and </think> stay";
  TextOutput out(*tok_, {}, false);
  const std::vector<int32_t> ids = Ids(text);
  const TextDelta d = Run(out, Tokens(ids, Ids("prompt")), 2, true);
  EXPECT_EQ(d.content, text);
  EXPECT_EQ(d.reasoning, "");
  EXPECT_EQ(d.logprobs.size(), ids.size());
}

TEST_F(TextOutputTest, StopStringsEndTheContentNotTheReasoning) {
  std::vector<int32_t> gen = Ids("The answer is here");
  gen.push_back(Id("</think>"));
  for (int32_t id : Ids("The answer is 4. More text.")) gen.push_back(id);
  for (size_t group : {size_t{1}, size_t{3}, size_t{0}}) {
    TextOutput out(*tok_, {"wer is 4", "never"}, true);
    const TextDelta d = Run(out, Tokens(gen, Ids("<think>\n")), group, false);
    EXPECT_EQ(d.reasoning, "The answer is here") << "group " << group;
    EXPECT_EQ(d.content, "The ans") << "group " << group;
    EXPECT_TRUE(d.stopped);
    EXPECT_TRUE(out.stopped());
  }
}

TEST_F(TextOutputTest, TextDoesNotDependOnGroupingAndInvalidUtf8BecomesReplacement) {
  // A character cut after two of its three bytes, then ASCII: one U+FFFD.
  const std::vector<int32_t> cut = {Id("\xE4"), Id("\xB8")};
  ASSERT_GE(cut[0], 0);
  ASSERT_GE(cut[1], 0);
  std::vector<int32_t> gen = Ids("caf\xC3\xA9 ");
  gen.insert(gen.end(), cut.begin(), cut.end());
  for (int32_t id : Ids("A")) gen.push_back(id);
  gen.push_back(Id("</think>"));
  for (int32_t id : Ids("x ")) gen.push_back(id);
  gen.insert(gen.end(), cut.begin(), cut.end());  // cut at the very end: flushed as U+FFFD
  TextDelta first;
  for (size_t group : {size_t{1}, size_t{2}, size_t{5}, size_t{0}}) {
    TextOutput out(*tok_, {}, true);
    const TextDelta d = Run(out, Tokens(gen, Ids("<think>\n")), group, true);
    if (group == 1) {
      first = d;
      EXPECT_EQ(d.reasoning, "caf\xC3\xA9 \xEF\xBF\xBD" "A");
      EXPECT_EQ(d.content, "x \xEF\xBF\xBD");
      continue;
    }
    EXPECT_EQ(d.reasoning, first.reasoning) << "group " << group;
    EXPECT_EQ(d.content, first.content) << "group " << group;
    EXPECT_EQ(d.logprobs.size(), first.logprobs.size()) << "group " << group;
  }
}

}  // namespace
}  // namespace r1
