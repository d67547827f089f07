// ToolCallParser: each format's calls and the text around them, whatever
// the streaming split, with deltas that reassemble to the calls.
#include "chat/tool_calls.h"

#include <gtest/gtest.h>

#include <random>

namespace r1::chat {
namespace {

struct Parsed {
  std::string content;
  std::vector<ToolCall> calls;     // from the parser
  std::vector<ToolCall> streamed;  // reassembled from the deltas
};

// Feeds `text` in pieces of the given sizes (cycled); 0 = all at once.
Parsed Run(ToolCallFormat f, const std::string& text, std::vector<size_t> pieces) {
  ToolCallParser p(f, "call_");
  Parsed out;
  std::vector<ToolCallDelta> deltas;
  size_t at = 0, k = 0;
  while (at < text.size()) {
    const size_t n = pieces.empty() || pieces[0] == 0 ? text.size() : pieces[k++ % pieces.size()];
    p.Push(std::string_view(text).substr(at, n), &out.content, &deltas);
    at += n;
  }
  p.Finish(&out.content, &deltas);
  out.calls = p.calls();
  for (const ToolCallDelta& d : deltas) {
    if (d.index == static_cast<int>(out.streamed.size())) out.streamed.push_back({d.id, d.name, ""});
    EXPECT_LT(d.index, static_cast<int>(out.streamed.size())) << "a delta before its call's first piece";
    if (d.index < static_cast<int>(out.streamed.size())) out.streamed[static_cast<size_t>(d.index)].arguments += d.arguments;
  }
  return out;
}

void ExpectEverySplit(ToolCallFormat f, const std::string& text, const std::string& content,
                      const std::vector<ToolCall>& calls) {
  std::mt19937 rng(1);
  std::vector<std::vector<size_t>> splits = {{0}, {1}, {2}, {3}, {7}};
  for (int i = 0; i < 20; ++i) splits.push_back({1 + rng() % 9, 1 + rng() % 5, 1 + rng() % 13});
  for (const auto& s : splits) {
    SCOPED_TRACE("piece size " + std::to_string(s[0]));
    const Parsed p = Run(f, text, s);
    EXPECT_EQ(p.content, content);
    ASSERT_EQ(p.calls.size(), calls.size());
    ASSERT_EQ(p.streamed.size(), calls.size());
    for (size_t i = 0; i < calls.size(); ++i) {
      EXPECT_EQ(p.calls[i].name, calls[i].name);
      EXPECT_EQ(p.calls[i].arguments, calls[i].arguments);
      EXPECT_EQ(p.calls[i].id, "call_" + std::to_string(i));
      EXPECT_EQ(p.streamed[i].id, p.calls[i].id);
      EXPECT_EQ(p.streamed[i].name, p.calls[i].name);
      EXPECT_EQ(p.streamed[i].arguments, p.calls[i].arguments);
    }
  }
}

TEST(ToolCalls, R1) {
  const std::string text =
      "Let me compute.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>calculator\n```json\n"
      "{\"expression\": \"2440*7449\"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>search\n"
      "```json\n{\"query\": \"a `b` c\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";
  ExpectEverySplit(ToolCallFormat::kR1, text, "Let me compute.",
                   {{"", "calculator", "{\"expression\": \"2440*7449\"}"}, {"", "search", "{\"query\": \"a `b` c\"}"}});
}

TEST(ToolCalls, R1TextWithoutCallsAndLookalikes) {
  ExpectEverySplit(ToolCallFormat::kR1, "The answer is 42. <｜tool is not a marker", "The answer is 42. <｜tool is not a marker", {});
  // An unterminated call at the end is still a call.
  ExpectEverySplit(ToolCallFormat::kR1,
                   "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n```json\n{\"a\": 1}", "",
                   {{"", "f", "{\"a\": 1}"}});
  // No arguments: "{}".
  ExpectEverySplit(ToolCallFormat::kR1,
                   "<｜tool▁call▁begin｜>function<｜tool▁sep｜>now\n```json\n\n```<｜tool▁call▁end｜>", "",
                   {{"", "now", "{}"}});
}

TEST(ToolCalls, V31) {
  ExpectEverySplit(ToolCallFormat::kV31,
                   "ok<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"city\": \"Paris\"}"
                   "<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
                   "ok", {{"", "get_weather", "{\"city\": \"Paris\"}"}});
}

TEST(ToolCalls, Hermes) {
  ExpectEverySplit(ToolCallFormat::kHermes,
                   "Sure.\n<tool_call>\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+2\"}}\n</tool_call>"
                   "<tool_call>{\"name\": \"b\", \"arguments\": \"{\\\"x\\\":1}\"}</tool_call>",
                   "Sure.\n", {{"", "calculator", "{\"expression\":\"1+2\"}"}, {"", "b", "{\"x\":1}"}});
  // Not JSON inside: the text stays content.
  ExpectEverySplit(ToolCallFormat::kHermes, "a<tool_call>oops</tool_call>b", "a<tool_call>oops</tool_call>b", {});
}

TEST(ToolCalls, Llama3) {
  ExpectEverySplit(ToolCallFormat::kLlama3, " {\"name\": \"calc\", \"parameters\": {\"e\": \"2*3\"}}", "",
                   {{"", "calc", "{\"e\":\"2*3\"}"}});
  ExpectEverySplit(ToolCallFormat::kLlama3, "<|python_tag|>{\"name\": \"calc\", \"parameters\": {}}", "",
                   {{"", "calc", "{}"}});
  ExpectEverySplit(ToolCallFormat::kLlama3, "It is {not a call}", "It is {not a call}", {});
  ExpectEverySplit(ToolCallFormat::kLlama3, "{not json either", "{not json either", {});
}

TEST(ToolCalls, FormatFromTheTemplate) {
  EXPECT_EQ(ToolCallFormatFor("{{'<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>' + tool['type'] + '<｜tool▁sep｜>' + "
                              "tool['function']['name'] + '\\n' + '```json'}}"),
            ToolCallFormat::kR1);
  EXPECT_EQ(ToolCallFormatFor("{{'<｜tool▁call▁begin｜>' + tool['function']['name'] + '<｜tool▁sep｜>'}}"),
            ToolCallFormat::kV31);
  EXPECT_EQ(ToolCallFormatFor("{{- '<tool_call>\\n{\"name\": \"' }}"), ToolCallFormat::kHermes);
  EXPECT_EQ(ToolCallFormatFor("{%- if message.role == \"ipython\" %}"), ToolCallFormat::kLlama3);
  EXPECT_EQ(ToolCallFormatFor("{{ bos_token }}{{ message['content'] }}"), ToolCallFormat::kR1);
  EXPECT_TRUE(ParseToolCallFormat("hermes").ok());
  EXPECT_FALSE(ParseToolCallFormat("xml").ok());
}

}  // namespace
}  // namespace r1::chat
