#include "server/constraints.h"

#include "grammar/grammar.h"

namespace r1::server {
namespace {

// GBNF for `text` as a literal.
std::string Lit(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out + "\"";
}

// A forced tool call in the model's own format, its arguments constrained to
// the function's parameter schema.
StatusOr<std::string> ToolCallGbnf(const ApiRequest& r, chat::ToolCallFormat format, std::string* param) {
  if (format != chat::ToolCallFormat::kR1 && format != chat::ToolCallFormat::kHermes) {
    *param = "tool_choice";
    return Status::InvalidArgument(std::string("'tool_choice': forcing a call is supported for the R1 and Hermes "
                                               "tool-call formats, not '") + chat::ToolCallFormatName(format) + "'");
  }
  std::string rules, alts;
  for (size_t i = 0; i < r.tools.size(); ++i) {
    const auto& fn = r.tools[i]["function"];
    const std::string name = fn["name"].get<std::string>();
    if (r.forced_tool != "*" && name != r.forced_tool) continue;
    const nlohmann::ordered_json schema =
        fn.contains("parameters") ? fn["parameters"] : nlohmann::ordered_json{{"type", "object"}};
    const std::string prefix = "t" + std::to_string(i) + "-";
    auto args = grammar::JsonSchemaRules(schema, prefix);
    if (!args.ok()) {
      *param = "tools[" + std::to_string(i) + "].function.parameters";
      return Status::InvalidArgument("'" + *param + "': " + args.status().message());
    }
    rules += args.value();
    if (!alts.empty()) alts += " | ";
    if (format == chat::ToolCallFormat::kR1)
      alts += Lit(name + "\n```json\n") + " " + prefix + "root";
    else
      alts += Lit("{\"name\": " + nlohmann::json(name).dump() + ", \"arguments\": ") + " " + prefix + "root " + Lit("}");
  }
  const std::string more = r.parallel_tool_calls ? "*" : "{0,0}";  // {0,0}: exactly one call
  std::string root;
  if (format == chat::ToolCallFormat::kR1) {
    root = "root ::= lead " + Lit("<｜tool▁calls▁begin｜>") + " call ( call )" + more + " " + Lit("<｜tool▁calls▁end｜>") +
           "\ncall ::= " + Lit("<｜tool▁call▁begin｜>function<｜tool▁sep｜>") + " ( " + alts + " ) " +
           Lit("\n```<｜tool▁call▁end｜>") + "\n";
  } else {
    root = "root ::= lead call ( \"\\n\" call )" + more + "\ncall ::= " + Lit("<tool_call>\n") + " ( " + alts + " ) " +
           Lit("\n</tool_call>") + "\n";
  }
  // R1's markers are written with full-width bars (<｜tool▁call▁end｜>): kept
  // out of the arguments' strings, so the call's text cannot end inside one.
  std::string prims = grammar::JsonPrimitivesGbnf();
  if (format == chat::ToolCallFormat::kR1) {
    const std::string cls = "[^\"\\\\\\x00-\\x1F]";
    if (const size_t at = prims.find(cls); at != std::string::npos) prims.replace(at, cls.size(), "[^\"\\\\\\x00-\\x1F｜]");
  }
  return root + rules + prims;
}

}  // namespace

StatusOr<std::string> ConstraintGbnf(const ApiRequest& r, chat::ToolCallFormat format, std::string* param) {
  if (r.json_object) return grammar::JsonObjectGbnf();
  if (!r.json_schema.is_null()) {
    auto g = grammar::JsonSchemaToGbnf(r.json_schema);
    if (!g.ok()) {
      *param = "response_format.json_schema.schema";
      return Status::InvalidArgument("'" + *param + "': " + g.status().message());
    }
    return g;
  }
  if (!r.grammar.empty()) return r.grammar;
  if (!r.forced_tool.empty()) return ToolCallGbnf(r, format, param);
  return std::string();
}

}  // namespace r1::server
