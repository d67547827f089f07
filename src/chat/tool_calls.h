// Tool calls in a model's answer text, parsed as they stream.
//
// Formats (selected from the chat template, or overridden):
//   R1      DeepSeek-R1 / R1-0528 (and the R1-Distill models trained on it):
//           <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
//           ```json
//           ARGS
//           ```<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
//   V3.1    DeepSeek-V3.1: <｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>
//   Hermes  Qwen2.5 / Qwen3 templates: <tool_call>{"name": ..., "arguments": ...}</tool_call>
//   Llama3  Llama 3.1 JSON: the whole answer is {"name": ..., "parameters": ...}
//           (optionally after <|python_tag|>)
//
// Only the answer (content) channel is parsed: a call written inside the
// thought is text, not a call. Text outside calls passes through as content;
// a prefix of a marker is held back until it is decided. R1 and V3.1
// arguments stream as they arrive; Hermes and Llama3 calls come whole.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "r1/status.h"

namespace r1::chat {

enum class ToolCallFormat { kNone, kR1, kV31, kHermes, kLlama3 };

// "r1" | "v3.1" | "hermes" | "llama3" | "none" (the --tool-format override).
StatusOr<ToolCallFormat> ParseToolCallFormat(const std::string& name);
const char* ToolCallFormatName(ToolCallFormat f);
// The format a chat template's markup implies; a template that does not
// render tools (the R1-Distill ones: r1.cpp then writes R1-0528's tool
// preamble, chat/tool_prompt.h) gets R1's.
ToolCallFormat ToolCallFormatFor(const std::string& template_source);

// One piece of a streamed call: the first piece of call `index` has its id
// and name; every piece may carry more of the arguments' JSON text.
struct ToolCallDelta {
  int index = 0;
  std::string id, name;   // on the first piece only
  std::string arguments;  // text to append
};

struct ToolCall {
  std::string id, name, arguments;  // arguments: JSON text ("{}" when none)
};

class ToolCallParser {
 public:
  // `id_prefix` names the calls: id_prefix + "0", "1", ... Calls past
  // `max_calls` are dropped (OpenAI's parallel_tool_calls: false keeps one).
  ToolCallParser(ToolCallFormat format, std::string id_prefix, size_t max_calls = SIZE_MAX);
  // Feeds answer text; appends plain content to *content and call pieces to *calls.
  void Push(std::string_view text, std::string* content, std::vector<ToolCallDelta>* calls);
  // The end of the answer: what was held back. An unterminated R1/V3.1 call
  // is kept as a call when it has a name; Hermes/Llama3 text that does not
  // parse as a call is content after all.
  void Finish(std::string* content, std::vector<ToolCallDelta>* calls);
  const std::vector<ToolCall>& calls() const { return calls_; }

 private:
  void Step(std::string* content, std::vector<ToolCallDelta>* calls, bool final);
  void Begin(const std::string& name, std::vector<ToolCallDelta>* calls);
  void Args(const std::string& text, std::vector<ToolCallDelta>* calls);
  bool WholeJsonCall(const std::string& json_text, bool llama, std::vector<ToolCallDelta>* calls);

  ToolCallFormat format_;
  std::string id_prefix_;
  std::string buf_;  // text not yet decided
  enum class State { kText, kHeader, kArgs, kBetween, kWhole, kDone } state_ = State::kText;
  bool at_start_ = true;  // Llama3: nothing but whitespace seen yet
  size_t max_calls_;
  bool dropping_ = false;  // inside a call past max_calls
  std::vector<ToolCall> calls_;
};

}  // namespace r1::chat
