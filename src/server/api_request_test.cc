// ParseApiRequest: every field it reads, with good values, wrong types and
// out-of-range values; errors name the field (the OpenAI error's `param`);
// unknown fields are ignored, as OpenAI does.
#include "server/api_request.h"

#include <gtest/gtest.h>

namespace r1::server {
namespace {

using nlohmann::json;

json Chat(json extra = json::object()) {
  json b = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  for (auto& [k, v] : extra.items()) b[k] = v;
  return b;
}

// The error's field, or "ok".
std::string FieldOf(const json& body, bool chat = true) {
  auto r = ParseApiRequest(body, chat);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  return ErrorParam(r.status());
}

TEST(ApiRequest, GoodValuesAreRead) {
  auto r = ParseApiRequest(Chat({{"stream", true},
                                 {"stream_options", {{"include_usage", true}}},
                                 {"max_tokens", 7},
                                 {"temperature", 0.5},
                                 {"top_p", 0.9},
                                 {"top_k", 40},
                                 {"min_p", 0.05},
                                 {"presence_penalty", 0.5},
                                 {"frequency_penalty", -0.5},
                                 {"repetition_penalty", 1.1},
                                 {"seed", 42},
                                 {"n", 1},
                                 {"stop", {"a", "b"}},
                                 {"logprobs", true},
                                 {"top_logprobs", 3},
                                 {"max_thinking_tokens", 9}}),
                           true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->chat);
  EXPECT_EQ(r->model, "m");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->include_usage);
  EXPECT_EQ(r->max_tokens, 7);
  EXPECT_FLOAT_EQ(r->sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r->sampling.top_p, 0.9f);
  EXPECT_EQ(r->sampling.top_k, 40);
  EXPECT_FLOAT_EQ(r->sampling.min_p, 0.05f);
  EXPECT_FLOAT_EQ(r->sampling.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r->sampling.frequency_penalty, -0.5f);
  EXPECT_FLOAT_EQ(r->sampling.repetition_penalty, 1.1f);
  EXPECT_TRUE(r->seed_given);
  EXPECT_EQ(r->sampling.seed, 42u);
  EXPECT_EQ(r->stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(r->logprobs);
  EXPECT_EQ(r->top_logprobs, 3);
  EXPECT_EQ(r->max_thinking_tokens, 9);
  EXPECT_EQ(r->messages.size(), 1u);

  auto c = ParseApiRequest({{"prompt", "x"}, {"echo", true}, {"logprobs", 2}, {"max_completion_tokens", 5}}, false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->chat);
  EXPECT_EQ(c->prompt, "x");
  EXPECT_TRUE(c->echo);
  EXPECT_TRUE(c->logprobs);
  EXPECT_EQ(c->top_logprobs, 2);
  EXPECT_EQ(c->max_tokens, 5);
}

TEST(ApiRequest, WrongTypesNameTheField) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"model", 3},           {"stream", "yes"},     {"stream_options", 1},   {"max_tokens", "7"},
      {"max_tokens", 1.5},    {"temperature", "hot"}, {"top_p", true},        {"top_k", 2.5},
      {"min_p", "x"},         {"presence_penalty", {1}}, {"frequency_penalty", "x"}, {"repetition_penalty", "x"},
      {"seed", "s"},          {"n", "1"},            {"logprobs", 1},         {"top_logprobs", "3"},
      {"reasoning_effort", 3}, {"max_thinking_tokens", "9"}, {"tools", "calculator"}, {"messages", "hi"},
      {"max_completion_tokens", true}};
  for (const auto& [field, value] : cases) EXPECT_EQ(FieldOf(Chat({{field, value}})), field) << field;
  EXPECT_EQ(FieldOf(Chat({{"stream_options", {{"include_usage", 1}}}})), "stream_options.include_usage");
  EXPECT_EQ(FieldOf({{"prompt", 5}}, false), "prompt");
  EXPECT_EQ(FieldOf({{"prompt", "x"}, {"echo", 1}}, false), "echo");
  EXPECT_EQ(FieldOf({{"prompt", "x"}, {"logprobs", "2"}}, false), "logprobs");
}

TEST(ApiRequest, OutOfRangeValuesNameTheField) {
  const std::vector<std::pair<std::string, json>> cases = {
      {"max_tokens", 0},          {"max_tokens", -3},        {"temperature", 2.5},   {"temperature", -1},
      {"top_p", 1.5},             {"top_k", -1},             {"min_p", 2},           {"presence_penalty", 3},
      {"frequency_penalty", -3},  {"repetition_penalty", 0}, {"n", 2},               {"top_logprobs", 21},
      {"max_thinking_tokens", -2}, {"reasoning_effort", "extreme"}, {"max_completion_tokens", 0}};
  for (const auto& [field, value] : cases) {
    json extra = {{field, value}};
    if (field == "top_logprobs") extra["logprobs"] = true;
    EXPECT_EQ(FieldOf(Chat(extra)), field) << field << " = " << value.dump();
  }
  EXPECT_EQ(FieldOf({{"prompt", "x"}, {"logprobs", 21}}, false), "logprobs");
  EXPECT_EQ(FieldOf(Chat({{"top_logprobs", 2}})), "top_logprobs");  // needs logprobs: true
}

TEST(ApiRequest, MessagesAndToolsAreValidated) {
  EXPECT_EQ(FieldOf({{"model", "m"}}), "messages");
  EXPECT_EQ(FieldOf(Chat({{"messages", json::array({{{"role", "robot"}, {"content", "x"}}})}})), "messages[0].role");
  EXPECT_EQ(FieldOf(Chat({{"messages", json::array({{{"role", "user"}, {"content", 5}}})}})), "messages[0].content");
  EXPECT_EQ(FieldOf(Chat({{"tools", {{{"type", "retrieval"}}}}})), "tools[0].type");
  EXPECT_EQ(FieldOf(Chat({{"tools", {{{"type", "function"}, {"function", {{"name", ""}}}}}}})), "tools[0].function.name");
  EXPECT_EQ(FieldOf(Chat({{"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", 3}}}}}}})),
            "tools[0].function.parameters");
  auto ok = ParseApiRequest(Chat({{"tools", {{{"type", "function"}, {"function", {{"name", "calculator"}}}}}}}), true);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->tools.size(), 1u);
  EXPECT_EQ(FieldOf({{"model", "m"}}, false), "prompt");
  EXPECT_EQ(FieldOf(json::array()), "");  // not an object: no field to name
}

TEST(ApiRequest, EffortsAndUnknownFields) {
  auto none = ParseApiRequest(Chat({{"reasoning_effort", "none"}}), true);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->max_thinking_tokens, 0);
  auto low = ParseApiRequest(Chat({{"reasoning_effort", "low"}}), true);
  ASSERT_TRUE(low.ok());
  EXPECT_EQ(low->max_thinking_tokens, 1024);
  // Unknown fields and nulls are ignored, as OpenAI's API does.
  auto r = ParseApiRequest(Chat({{"user", "u1"}, {"frobnicate", {1, 2}}, {"temperature", nullptr}}), true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FLOAT_EQ(r->sampling.temperature, SamplerParams{}.temperature);
}

}  // namespace
TEST(ApiRequest, ToolChoice) {
  const std::string tools = R"("tools":[{"type":"function","function":{"name":"f"}}])";
  auto parse = [&](const std::string& extra) {
    return ParseApiRequest(nlohmann::json::parse(R"({"messages":[{"role":"user","content":"x"}],)" + tools + extra + "}"), true);
  };
  auto r = parse("");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->tool_choice_none);
  EXPECT_TRUE(r->parallel_tool_calls);
  r = parse(R"(,"tool_choice":"none","parallel_tool_calls":false)");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->tool_choice_none);
  EXPECT_FALSE(r->parallel_tool_calls);
  EXPECT_TRUE(parse(R"(,"tool_choice":"auto")").ok());
  r = parse(R"(,"tool_choice":"required")");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->forced_tool, "*");
  r = parse(R"(,"tool_choice":{"type":"function","function":{"name":"f"}})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->forced_tool, "f");
  r = parse(R"(,"tool_choice":{"type":"function","function":{"name":"g"}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorParam(r.status()), "tool_choice.function.name");
  r = parse(R"(,"tool_choice":"sometimes")");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorParam(r.status()), "tool_choice");
}

TEST(ApiRequest, ResponseFormatAndGrammar) {
  auto parse = [](const std::string& extra) {
    return ParseApiRequest(nlohmann::json::parse(R"({"messages":[{"role":"user","content":"hi"}])" + extra + "}"), true);
  };
  auto r = parse(R"(,"response_format":{"type":"json_object"})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->json_object);
  r = parse(R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"integer"}}})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->json_schema, nlohmann::ordered_json::parse(R"({"type":"integer"})"));
  EXPECT_TRUE(parse(R"(,"response_format":{"type":"text"})").ok());
  r = parse(R"(,"grammar":"root ::= \"a\"")");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->grammar, "root ::= \"a\"");
  for (auto [extra, param] : std::vector<std::pair<std::string, std::string>>{
           {R"(,"response_format":{"type":"yaml"})", "response_format.type"},
           {R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x"}})", "response_format.json_schema.schema"},
           {R"(,"grammar":3)", "grammar"},
           {R"(,"grammar":"root ::= \"a\"","response_format":{"type":"json_object"})", "response_format"}}) {
    r = parse(extra);
    ASSERT_FALSE(r.ok()) << extra;
    EXPECT_EQ(ErrorParam(r.status()), param) << extra;
  }
}

}  // namespace r1::server
