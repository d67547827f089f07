// Chat templates: OpenAI-style messages → the prompt text a model expects.
//
// A model's template is Jinja source (GGUF key tokenizer.chat_template, or
// chat_template in tokenizer_config.json). Rendering matches HF transformers'
// apply_chat_template byte for byte for the supported templates; the
// variables passed are
//   messages               the messages array, as given
//   tools                  the tools array, or none when there are none
//   add_generation_prompt  bool
//   bos_token, eos_token   strings
// plus any extra variables (e.g. enable_thinking for Qwen3).
//
// Key order of message objects is the order of the json given: pass
// nlohmann::ordered_json to keep a request's order (it shows in `tojson`
// output, e.g. tool schemas); nlohmann::json sorts keys.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "jinja/jinja.h"
#include "r1/status.h"

namespace r1::chat {

// The DeepSeek-R1 prompt format, used when a model ships no template:
//
//   <｜begin▁of▁sentence｜>{system prompts, joined by "\n\n"}
//   <｜User｜>{user}<｜Assistant｜>{answer}<｜end▁of▁sentence｜><｜User｜>...
//   ...<｜Assistant｜><think>\n          ← add_generation_prompt
//
// Earlier assistant turns keep only the text after their last </think>.
// Tool calls and results use R1's tool tokens:
//   <｜Assistant｜>{text}<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function
//   <｜tool▁sep｜>{name}\n```json\n{arguments}\n```<｜tool▁call▁end｜>...
//   <｜tool▁calls▁end｜><｜end▁of▁sentence｜>
//   <｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>{result}<｜tool▁output▁end｜>
//   (\n<｜tool▁output▁begin｜>...)*<｜tool▁outputs▁end｜>
extern const char kDefaultR1Template[];

struct ChatInputs {
  jinja::Value messages;
  jinja::Value tools = jinja::Value::None();
  bool add_generation_prompt = false;
  std::string bos_token;
  std::string eos_token;
  jinja::Dict extra_vars;  // more template variables
};

class ChatTemplate {
 public:
  // Parse errors name the template line ("chat template: line 3: ...").
  static StatusOr<ChatTemplate> Parse(std::string source);
  // kDefaultR1Template, parsed.
  static const ChatTemplate& DefaultR1();
  // A model's own template, or DefaultR1() when `source` is empty.
  static StatusOr<ChatTemplate> ForModel(const std::string& source);

  // `tools` is null when there are none. Errors (a template's
  // raise_exception, an undefined attribute...) name the template line.
  StatusOr<std::string> Render(const nlohmann::json& messages, const nlohmann::json& tools,
                               bool add_generation_prompt, const std::string& bos_token,
                               const std::string& eos_token) const;
  StatusOr<std::string> Render(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools,
                               bool add_generation_prompt, const std::string& bos_token,
                               const std::string& eos_token, const jinja::RenderLimits& limits = {}) const;
  StatusOr<std::string> Render(const ChatInputs& inputs, const jinja::RenderLimits& limits = {}) const;

  const std::string& source() const { return source_; }

 private:
  std::string source_;
  jinja::Template tmpl_;
};

}  // namespace r1::chat
