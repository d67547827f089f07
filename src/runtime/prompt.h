// The one prompt builder every frontend uses: chat messages through the
// model's template (tools injected when the template ignores them), or raw
// text; special tokens parsed; BOS added per the tokenizer's add_bos_token
// unless the text already starts with it (the R1 templates write it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "r1/status.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

struct PromptInput {
  bool chat = true;                  // messages through the template; else `text` as is
  nlohmann::ordered_json messages;   // OpenAI-style messages
  nlohmann::ordered_json tools;      // OpenAI function tools, or null
  std::string text;                  // raw prompt (chat = false)
};

struct Prompt {
  std::vector<int32_t> tokens;
  std::string text;  // what was tokenized (the rendered template, or the raw text)
};

// Template errors are InvalidArgument with the template's message.
StatusOr<Prompt> BuildPrompt(const Tokenizer& tok, const chat::ChatTemplate& tmpl, const PromptInput& in);

}  // namespace r1
