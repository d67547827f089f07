// The one prompt builder every frontend uses: chat messages through the
// model's template (tools injected when the template ignores them), or raw
// text; BOS added per the tokenizer's add_bos_token unless the text already
// starts with it (the R1 templates write it).
//
// Special tokens come only from the template's own markup. Text inside the
// messages and tools (content, names, tool arguments) is encoded as plain
// text, so a user who writes "<｜Assistant｜>" cannot forge a turn; set
// PromptInput::special_in_messages to parse it anyway. A raw prompt
// (chat = false) is the caller's own markup and has its special tokens parsed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "jinja/jinja.h"
#include "r1/status.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

struct PromptInput {
  bool chat = true;                  // messages through the template; else `text` as is
  nlohmann::ordered_json messages;   // OpenAI-style messages
  nlohmann::ordered_json tools;      // OpenAI function tools, or null
  std::string text;                  // raw prompt (chat = false)
  bool special_in_messages = false;  // opt-out: parse special-token text inside messages too
  // More tokens than this is an error, found without tokenizing the whole
  // text (0: no limit). The frontends pass the context size.
  int64_t max_tokens = 0;
  // The template's budgets: steps, calls, memory, and by default 10 s of wall
  // clock; a frontend adds `cancelled` (the client left, the server stops).
  jinja::RenderLimits limits = [] {
    jinja::RenderLimits l;
    l.max_seconds = 10;
    return l;
  }();
};

struct Prompt {
  std::vector<int32_t> tokens;
  std::string text;  // what was tokenized (the rendered template, or the raw text)
};

// Errors, all InvalidArgument naming "messages" or "prompt" unless noted:
// template errors with the template's message; ResourceExhausted when the
// template hits a budget; a prompt that encodes to no tokens; a prompt of
// more than max_tokens tokens.
StatusOr<Prompt> BuildPrompt(const Tokenizer& tok, const chat::ChatTemplate& tmpl, const PromptInput& in);

}  // namespace r1
