// OpenAI request bodies → typed requests.
//
// Parses POST /v1/chat/completions and /v1/completions bodies. Unknown
// fields are ignored, as OpenAI does; a malformed known field is an
// InvalidArgument error whose message and `param` name the field, e.g.
// "'temperature' must be a number in [0, 2]".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/status.h"
#include "runtime/sampler.h"

namespace r1::server {

struct ApiRequest {
  bool chat = true;                  // chat.completions or completions
  std::string model;
  nlohmann::ordered_json messages;   // chat: validated messages array
  nlohmann::ordered_json tools;      // chat: OpenAI function tools (null: none)
  bool tool_choice_none = false;     // tool_choice "none": calls in the output stay text
  bool parallel_tool_calls = true;   // false: only the first call is returned
  std::string prompt;                // completions
  bool stream = false;
  bool include_usage = false;        // stream_options.include_usage
  int64_t max_tokens = -1;           // max_tokens / max_completion_tokens; -1: unset
  SamplerParams sampling;
  bool seed_given = false;
  std::vector<std::string> stop;
  bool logprobs = false;
  int top_logprobs = 0;
  int64_t max_thinking_tokens = -1;  // explicit or from reasoning_effort; -1: unlimited
  bool echo = false;                 // completions: prepend the prompt to the text
  // Constrained decoding (applied after the thought): at most one of
  // response_format json_object / json_schema and a GBNF `grammar`; and
  // tool_choice "required" ("*") or a named function forces a tool call.
  bool json_object = false;
  nlohmann::ordered_json json_schema;  // response_format.json_schema.schema (null: none)
  std::string grammar;               // llama.cpp-compatible GBNF
  std::string forced_tool;           // "" none, "*" any of the tools, else the function's name
};

// The field a parse error is about ("temperature", "messages[1].content"),
// used while parsing.
struct ParseError {
  Status status;
  std::string param;
};

// Thinking budget (tokens) for a reasoning_effort value; -1 is unlimited.
// "none"/"minimal" 0; "low", "medium", "high" as chat::ThinkingBudgetForEffort
// (1024, 4096, unlimited).
StatusOr<int64_t> ThinkingBudgetForEffort(const std::string& effort);

// The typed request, or InvalidArgument whose message starts with the quoted
// field ("'temperature' must be between 0 and 2, got 3").
[[nodiscard]] StatusOr<ApiRequest> ParseApiRequest(const nlohmann::json& body, bool chat);
// The field an error from ParseApiRequest is about ("" when none): the
// OpenAI error's `param`.
std::string ErrorParam(const Status& st);

}  // namespace r1::server
