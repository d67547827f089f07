// The API adapters' parsers: each API's fields land in the one request type,
// and bad input is refused naming the API's own field.
#include "server/api_adapter.h"

#include <gtest/gtest.h>

namespace r1::server {
namespace {

using nlohmann::json;

ApiRequest Ok(ApiAdapter& a, const std::string& body) {
  std::string param;
  auto r = a.Parse(json::parse(body), &param);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : ApiRequest{};
}

// The refusal's field and message.
std::pair<std::string, std::string> Bad(ApiAdapter& a, const std::string& body) {
  std::string param;
  auto r = a.Parse(json::parse(body), &param);
  EXPECT_FALSE(r.ok()) << body;
  return {param, r.ok() ? "" : r.status().message()};
}

TEST(OllamaAdapter, OptionsThinkAndDefaults) {
  auto a = MakeOllamaAdapter(true);
  ApiRequest r = Ok(*a, R"({"model":"m","messages":[{"role":"user","content":"hi"}],
    "options":{"temperature":0.2,"top_k":7,"num_predict":33,"seed":5,"stop":["x"],"repeat_penalty":1.1}})");
  EXPECT_TRUE(r.stream) << "Ollama streams by default";
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.2f);
  EXPECT_EQ(r.sampling.top_k, 7);
  EXPECT_EQ(r.max_tokens, 33);
  EXPECT_EQ(r.sampling.seed, 5u);
  EXPECT_EQ(r.stop, std::vector<std::string>{"x"});
  EXPECT_FLOAT_EQ(r.sampling.repetition_penalty, 1.1f);
  EXPECT_EQ(r.max_thinking_tokens, -1);
  r = Ok(*a, R"({"messages":[{"role":"user","content":"hi"}],"think":false,"stream":false,"options":{"num_predict":-1}})");
  EXPECT_EQ(r.max_thinking_tokens, 0);
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.max_tokens, -1) << "num_predict -1 is no limit";
  r = Ok(*a, R"({"messages":[{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},
    {"role":"user","content":"x"}]})");
  EXPECT_EQ(r.messages[0]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}") << "arguments become a JSON string";

  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x"}],"options":{"temperature":"hot"}})").first,
            "options.temperature");
  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x"}],"options":{"num_predict":0}})").first,
            "options.num_predict");
  EXPECT_EQ(Bad(*a, R"({"messages":[]})").first, "messages");
  // format: "json" or a schema constrains the answer (runtime/grammar); anything else names the field.
  r = Ok(*a, R"({"messages":[{"role":"user","content":"x"}],"format":"json"})");
  EXPECT_TRUE(r.json_object);
  r = Ok(*a, R"({"messages":[{"role":"user","content":"x"}],"format":{"type":"object","properties":{"n":{"type":"integer"}}}})");
  EXPECT_EQ(r.json_schema["properties"]["n"]["type"], "integer");
  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x"}],"format":"yaml"})").first, "format");
  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x"}],"format":7})").first, "format");
  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x","images":["aGk="]}]})").first, "messages[0].images");
  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x"}],"think":7})").first, "think");
}

TEST(OllamaAdapter, GenerateRawAndTemplated) {
  auto a = MakeOllamaAdapter(false);
  ApiRequest r = Ok(*a, R"({"prompt":"hi","system":"be brief"})");
  EXPECT_TRUE(r.chat);
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0]["role"], "system");
  r = Ok(*a, R"({"prompt":"raw text","raw":true})");
  EXPECT_FALSE(r.chat);
  EXPECT_EQ(r.prompt, "raw text");
  EXPECT_EQ(Bad(*a, R"({"prompt":""})").first, "prompt");
  EXPECT_EQ(Bad(*a, R"({"prompt":"x","suffix":"y"})").first, "suffix");
}

TEST(AnthropicAdapter, BlocksSystemThinkingTools) {
  auto a = MakeAnthropicAdapter();
  ApiRequest r = Ok(*a, R"({"max_tokens":64,"system":[{"type":"text","text":"sys"}],"stop_sequences":["END"],
    "thinking":{"type":"enabled","budget_tokens":2048},"temperature":0.5,
    "tools":[{"name":"calc","description":"d","input_schema":{"type":"object"}}],
    "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
                {"role":"assistant","content":[{"type":"thinking","thinking":"t"},{"type":"tool_use","id":"tu1","name":"calc","input":{"x":1}}]},
                {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":"42"}]}]})");
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.max_tokens, 64);
  EXPECT_EQ(r.max_thinking_tokens, 2048);
  EXPECT_EQ(r.stop, std::vector<std::string>{"END"});
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0]["content"], "sys");
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(r.messages[2]["tool_calls"][0]["function"]["arguments"], "{\"x\":1}");
  EXPECT_EQ(r.messages[3]["role"], "tool");
  EXPECT_EQ(r.messages[3]["tool_call_id"], "tu1");
  EXPECT_EQ(r.tools[0]["function"]["name"], "calc");
  r = Ok(*a, R"({"max_tokens":4,"thinking":{"type":"disabled"},"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(r.max_thinking_tokens, 0);

  EXPECT_EQ(Bad(*a, R"({"messages":[{"role":"user","content":"x"}]})").first, "max_tokens");
  EXPECT_EQ(Bad(*a, R"({"max_tokens":4,"messages":[{"role":"system","content":"x"}]})").first, "messages.0.role");
  EXPECT_EQ(Bad(*a, R"({"max_tokens":4,"messages":[{"role":"user","content":[{"type":"image"}]}]})").first,
            "messages.0.content.0.type");
  EXPECT_EQ(Bad(*a, R"({"max_tokens":4,"temperature":1.5,"messages":[{"role":"user","content":"x"}]})").first,
            "temperature");
  EXPECT_EQ(Bad(*a, R"({"max_tokens":4,"thinking":{"type":"maybe"},"messages":[{"role":"user","content":"x"}]})").first,
            "thinking.type");
}

TEST(ResponsesAdapter, InputItemsInstructionsEffort) {
  auto a = MakeResponsesAdapter();
  ApiRequest r = Ok(*a, R"({"input":"hello","instructions":"be brief","max_output_tokens":10,"reasoning":{"effort":"low"}})");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.max_tokens, 10);
  EXPECT_EQ(r.max_thinking_tokens, 1024);
  r = Ok(*a, R"({"input":[{"role":"user","content":[{"type":"input_text","text":"a"}]},
    {"type":"reasoning","summary":[]},
    {"type":"function_call","call_id":"c1","name":"f","arguments":"{}"},
    {"type":"function_call_output","call_id":"c1","output":"42"}],"stream":true})");
  EXPECT_TRUE(r.stream);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[1]["tool_calls"][0]["id"], "c1");
  EXPECT_EQ(r.messages[2]["content"], "42");

  EXPECT_EQ(Bad(*a, R"({})").first, "input");
  EXPECT_EQ(Bad(*a, R"({"input":"x","previous_response_id":"resp_1"})").first, "previous_response_id");
  EXPECT_EQ(Bad(*a, R"({"input":"x","max_output_tokens":0})").first, "max_output_tokens");
  EXPECT_EQ(Bad(*a, R"({"input":"x","reasoning":{"effort":"extreme"}})").first, "reasoning.effort");
  r = Ok(*a, R"({"input":"x","text":{"format":{"type":"json_object"}}})");
  EXPECT_TRUE(r.json_object);
  r = Ok(*a, R"({"input":"x","text":{"format":{"type":"json_schema","name":"n","schema":{"type":"integer"},"strict":true}}})");
  EXPECT_EQ(r.json_schema["type"], "integer");
  EXPECT_EQ(Bad(*a, R"({"input":"x","text":{"format":{"type":"json_schema","name":"n"}}})").first, "text.format.schema");
  EXPECT_EQ(Bad(*a, R"({"input":"x","text":{"format":{"type":"xml"}}})").first, "text.format.type");
  EXPECT_EQ(Bad(*a, R"({"input":[{"role":"user","content":[{"type":"input_image"}]}]})").first, "input[0].content[0]");
  EXPECT_EQ(Bad(*a, R"({"input":"x","tools":[{"type":"web_search"}]})").first, "tools[0].type");
}

TEST(Rfc3339, Shape) {
  const std::string t = Rfc3339Now();
  EXPECT_EQ(t.size(), 30u) << t;  // 2026-12-03T12:00:00.123456789Z
  EXPECT_EQ(t[10], 'T');
  EXPECT_EQ(t.back(), 'Z');
}

}  // namespace
}  // namespace r1::server
