// Tools for templates that do not render them.
//
// DeepSeek-R1's and the R1-Distill chat templates ignore `tools`; R1-0528's
// template writes them into the system prompt. For a template whose source
// never mentions `tools`, InjectTools does what R1-0528's template does:
// system prompt + "\n\n" + kToolPreamble + one ```json block per tool, the
// tool as json.dumps(tool, sort_keys=True, ensure_ascii=False) writes it
// (train/tasks.py renders the trained models' tool samples the same way).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace r1::chat {

extern const char kToolPreamble[];

// Python's json.dumps(v, sort_keys=True, ensure_ascii=False): ", " and ": "
// separators, keys sorted, non-ASCII kept, control characters escaped.
std::string PythonJsonDumps(const nlohmann::ordered_json& v);

// True when the template source refers to `tools` itself.
bool TemplateRendersTools(const std::string& template_source);

// `messages` with the tool text appended to the (first) system message's
// content, or a system message holding it put first. Non-string system
// content is left as it is and a separate system message is not added.
nlohmann::ordered_json InjectTools(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools);

}  // namespace r1::chat
