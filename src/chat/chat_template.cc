#include "chat/chat_template.h"

namespace r1::chat {

// Written for r1.cpp from the format description in chat_template.h. Every
// tag trims whitespace on both sides, so the layout here never leaks into
// the prompt.
const char kDefaultR1Template[] = R"TMPL(
{#- r1.cpp fallback chat template: the DeepSeek-R1 prompt format. -#}
{%- set ns = namespace(system='', in_tools=false) -%}
{%- for m in messages if m.role == 'system' -%}
  {%- set ns.system = ns.system ~ ('' if loop.first else '\n\n') ~ m.content -%}
{%- endfor -%}
{{- bos_token ~ ns.system -}}
{%- for m in messages -%}
  {%- if m.role != 'tool' and ns.in_tools -%}
    {{- '<｜tool▁outputs▁end｜>' -}}
    {%- set ns.in_tools = false -%}
  {%- endif -%}
  {%- if m.role == 'user' -%}
    {{- '<｜User｜>' ~ m.content -}}
  {%- elif m.role == 'assistant' -%}
    {%- set content = m.content if m.content is string else '' -%}
    {%- if '</think>' in content -%}
      {%- set content = content.split('</think>')[-1] -%}
    {%- endif -%}
    {{- '<｜Assistant｜>' ~ content -}}
    {%- if m.tool_calls -%}
      {{- '<｜tool▁calls▁begin｜>' -}}
      {%- for call in m.tool_calls -%}
        {%- set fn = call.function if call.function is defined else call -%}
        {%- set args = fn.arguments if fn.arguments is string else (fn.arguments | tojson) -%}
        {{- ('' if loop.first else '\n') ~ '<｜tool▁call▁begin｜>' ~ (call.type or 'function') ~ '<｜tool▁sep｜>' ~ fn.name ~ '\n```json\n' ~ args ~ '\n```<｜tool▁call▁end｜>' -}}
      {%- endfor -%}
      {{- '<｜tool▁calls▁end｜>' -}}
    {%- endif -%}
    {{- '<｜end▁of▁sentence｜>' -}}
  {%- elif m.role == 'tool' -%}
    {{- ('\n' if ns.in_tools else '<｜tool▁outputs▁begin｜>') ~ '<｜tool▁output▁begin｜>' ~ m.content ~ '<｜tool▁output▁end｜>' -}}
    {%- set ns.in_tools = true -%}
  {%- endif -%}
{%- endfor -%}
{%- if ns.in_tools -%}
  {{- '<｜tool▁outputs▁end｜>' -}}
{%- endif -%}
{%- if add_generation_prompt -%}
  {{- '<｜Assistant｜><think>\n' -}}
{%- endif -%}
)TMPL";

StatusOr<ChatTemplate> ChatTemplate::Parse(std::string source) {
  auto t = jinja::Template::Parse(source);
  if (!t.ok()) return t.status().WithContext("chat template");
  ChatTemplate ct;
  ct.source_ = std::move(source);
  ct.tmpl_ = std::move(*t);
  return ct;
}

StatusOr<ChatTemplate> ChatTemplate::ForModel(const std::string& source) {
  if (source.empty()) return DefaultR1();
  return Parse(source);
}

const ChatTemplate& ChatTemplate::DefaultR1() {
  static const ChatTemplate* t = [] {
    auto parsed = Parse(kDefaultR1Template);
    assert(parsed.ok());  // a program invariant: the built-in template parses
    return new ChatTemplate(std::move(*parsed));
  }();
  return *t;
}

StatusOr<std::string> ChatTemplate::Render(const ChatInputs& in, const jinja::RenderLimits& limits) const {
  jinja::Dict vars;
  vars.Set(jinja::Value::String("messages"), in.messages);
  vars.Set(jinja::Value::String("tools"), in.tools);
  vars.Set(jinja::Value::String("add_generation_prompt"), jinja::Value::Bool(in.add_generation_prompt));
  vars.Set(jinja::Value::String("bos_token"), jinja::Value::String(in.bos_token));
  vars.Set(jinja::Value::String("eos_token"), jinja::Value::String(in.eos_token));
  for (const auto& [k, v] : in.extra_vars.items) vars.Set(k, v);
  auto out = tmpl_.Render(vars, limits);
  if (!out.ok()) return out.status().WithContext("chat template");
  return out;
}

namespace {

template <typename Json>
ChatInputs MakeInputs(const Json& messages, const Json& tools, bool add_generation_prompt,
                      const std::string& bos, const std::string& eos) {
  ChatInputs in;
  in.messages = jinja::Value::FromJson(messages);
  in.tools = tools.is_null() ? jinja::Value::None() : jinja::Value::FromJson(tools);
  in.add_generation_prompt = add_generation_prompt;
  in.bos_token = bos;
  in.eos_token = eos;
  return in;
}

}  // namespace

StatusOr<std::string> ChatTemplate::Render(const nlohmann::json& messages, const nlohmann::json& tools,
                                           bool add_generation_prompt, const std::string& bos_token,
                                           const std::string& eos_token) const {
  return Render(MakeInputs(messages, tools, add_generation_prompt, bos_token, eos_token));
}

StatusOr<std::string> ChatTemplate::Render(const nlohmann::ordered_json& messages,
                                           const nlohmann::ordered_json& tools, bool add_generation_prompt,
                                           const std::string& bos_token, const std::string& eos_token,
                                           const jinja::RenderLimits& limits) const {
  return Render(MakeInputs(messages, tools, add_generation_prompt, bos_token, eos_token), limits);
}

}  // namespace r1::chat
