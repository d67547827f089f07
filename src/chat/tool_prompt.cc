#include "chat/tool_prompt.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace r1::chat {

const char kToolPreamble[] =
    "You are a helpful assistant with tool calling capabilities. When a tool call is needed, you MUST use the "
    "following format to issue the call:\n"
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>FUNCTION_NAME\n"
    "```json\n{\"param1\": \"value1\", \"param2\": \"value2\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>\n\n"
    "Make sure the JSON is valid.## Tools\n\n### Function\n\nYou have the following functions available:\n\n";

namespace {

void DumpString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

void Dump(const nlohmann::ordered_json& v, std::string* out) {
  switch (v.type()) {
    case nlohmann::json::value_t::object: {
      std::vector<const std::string*> keys;
      for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(&it.key());
      std::sort(keys.begin(), keys.end(), [](const std::string* a, const std::string* b) { return *a < *b; });
      out->push_back('{');
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i) *out += ", ";
        DumpString(*keys[i], out);
        *out += ": ";
        Dump(v.at(*keys[i]), out);
      }
      out->push_back('}');
      return;
    }
    case nlohmann::json::value_t::array:
      out->push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) *out += ", ";
        Dump(v[i], out);
      }
      out->push_back(']');
      return;
    case nlohmann::json::value_t::string:
      DumpString(v.get_ref<const std::string&>(), out);
      return;
    case nlohmann::json::value_t::boolean:
      *out += v.get<bool>() ? "true" : "false";
      return;
    case nlohmann::json::value_t::null:
      *out += "null";
      return;
    default:
      *out += v.dump();  // numbers
      return;
  }
}

}  // namespace

std::string PythonJsonDumps(const nlohmann::ordered_json& v) {
  std::string out;
  Dump(v, &out);
  return out;
}

bool TemplateRendersTools(const std::string& source) { return source.find("tools") != std::string::npos; }

nlohmann::ordered_json InjectTools(const nlohmann::ordered_json& messages, const nlohmann::ordered_json& tools) {
  std::string text = kToolPreamble;
  for (const auto& t : tools) text += "\n```json\n" + PythonJsonDumps(t) + "\n```\n";
  nlohmann::ordered_json out = messages;
  for (auto& m : out) {
    if (!m.is_object() || m.value("role", "") != "system") continue;
    auto it = m.find("content");
    if (it == m.end() || it->is_null()) {
      m["content"] = "\n\n" + text;
    } else if (it->is_string()) {
      *it = it->get<std::string>() + "\n\n" + text;
    }
    return out;
  }
  nlohmann::ordered_json sys = {{"role", "system"}, {"content", "\n\n" + text}};
  out.insert(out.begin(), sys);
  return out;
}

}  // namespace r1::chat
