#include "runtime/prompt.h"

#include "chat/tool_prompt.h"

namespace r1 {

StatusOr<Prompt> BuildPrompt(const Tokenizer& tok, const chat::ChatTemplate& tmpl, const PromptInput& in) {
  Prompt p;
  if (in.chat) {
    const bool has_tools = in.tools.is_array() && !in.tools.empty();
    nlohmann::ordered_json messages = in.messages;
    nlohmann::ordered_json tools = has_tools ? in.tools : nlohmann::ordered_json();
    if (has_tools && !chat::TemplateRendersTools(tmpl.source())) {
      messages = chat::InjectTools(messages, in.tools);
      tools = nlohmann::ordered_json();
    }
    auto text = tmpl.Render(messages, tools, /*add_generation_prompt=*/true, tok.bos_token(), tok.eos_token());
    if (!text.ok()) return Status::InvalidArgument(text.status().message()).WithContext("messages");
    p.text = std::move(*text);
  } else {
    p.text = in.text;
  }
  const std::string bos = tok.bos_token();
  const bool has_bos = !bos.empty() && p.text.starts_with(bos);
  if (tok.add_bos() && tok.bos_id() >= 0 && !has_bos) p.tokens.push_back(tok.bos_id());
  std::vector<int32_t> body = tok.Encode(p.text, /*parse_special=*/true);
  p.tokens.insert(p.tokens.end(), body.begin(), body.end());
  return p;
}

}  // namespace r1
