#include "server/api_request.h"

#include "chat/reasoning.h"

#include <cmath>
#include <cstdint>
#include <cstdio>

namespace r1::server {

namespace {

using nlohmann::json;

// Reads optional fields of one body, remembering the first error.
class Reader {
 public:
  Reader(const json& body, ParseError* err) : body_(body), err_(err) {}
  bool ok() const { return ok_; }

  bool Fail(const std::string& field, const std::string& message) {
    if (ok_) {
      ok_ = false;
      err_->status = Status::InvalidArgument("'" + field + "' " + message);
      err_->param = field;
    }
    return false;
  }
  // Null counts as absent, as in OpenAI's API.
  const json* Get(const char* field) const {
    auto it = body_.find(field);
    return it == body_.end() || it->is_null() ? nullptr : &*it;
  }
  bool Number(const char* field, double lo, double hi, float* out) {
    const json* v = Get(field);
    if (!v) return true;
    if (!v->is_number()) return Fail(field, "must be a number");
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi)
      return Fail(field, "must be between " + Fmt(lo) + " and " + Fmt(hi) + ", got " + Fmt(d));
    *out = static_cast<float>(d);
    return true;
  }
  bool Integer(const char* field, int64_t lo, int64_t hi, int64_t* out) {
    const json* v = Get(field);
    if (!v) return true;
    if (!v->is_number_integer() && !(v->is_number_float() && std::floor(v->get<double>()) == v->get<double>()))
      return Fail(field, "must be an integer");
    const double d = v->get<double>();
    if (d < static_cast<double>(lo) || d > static_cast<double>(hi))
      return Fail(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    *out = v->is_number_integer() ? v->get<int64_t>() : static_cast<int64_t>(d);
    return true;
  }
  bool Bool(const char* field, bool* out) {
    const json* v = Get(field);
    if (!v) return true;
    if (!v->is_boolean()) return Fail(field, "must be a boolean");
    *out = v->get<bool>();
    return true;
  }
  bool String(const char* field, std::string* out) {
    const json* v = Get(field);
    if (!v) return true;
    if (!v->is_string()) return Fail(field, "must be a string");
    *out = v->get<std::string>();
    return true;
  }

 private:
  static std::string Fmt(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
  }
  const json& body_;
  ParseError* err_;
  bool ok_ = true;
};

// A message's content: a string, or an array of {"type":"text","text":...}
// parts (other part types are not supported by a text-only model).
bool ContentText(const json& content, const std::string& field, Reader& r, std::string* out) {
  if (content.is_string()) {
    *out = content.get<std::string>();
    return true;
  }
  if (!content.is_array()) return r.Fail(field, "must be a string or an array of text parts");
  out->clear();
  for (size_t i = 0; i < content.size(); ++i) {
    const json& part = content[i];
    const std::string pf = field + "[" + std::to_string(i) + "]";
    if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
      return r.Fail(pf, "must be a text part {\"type\": \"text\", \"text\": ...}");
    *out += part["text"].get<std::string>();
  }
  return true;
}

bool ParseMessages(const json& body, Reader& r, nlohmann::ordered_json* out) {
  const json* msgs = r.Get("messages");
  if (!msgs) return r.Fail("messages", "is required");
  if (!msgs->is_array() || msgs->empty()) return r.Fail("messages", "must be a non-empty array");
  *out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string f = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return r.Fail(f, "must be an object");
    if (!m.contains("role") || !m["role"].is_string()) return r.Fail(f + ".role", "must be a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" && role != "tool")
      return r.Fail(f + ".role", "must be one of system, developer, user, assistant, tool; got '" + role + "'");
    std::string text;
    auto c = m.find("content");
    if (c != m.end() && !c->is_null()) {
      if (!ContentText(*c, f + ".content", r, &text)) return false;
    } else if (role != "assistant") {
      return r.Fail(f + ".content", "is required");
    }
    nlohmann::ordered_json msg;
    msg["role"] = role == "developer" ? "system" : role;
    msg["content"] = text;
    if (m.contains("tool_calls")) msg["tool_calls"] = m["tool_calls"];
    if (m.contains("tool_call_id")) msg["tool_call_id"] = m["tool_call_id"];
    out->push_back(std::move(msg));
  }
  (void)body;
  return true;
}

bool ParseStop(Reader& r, std::vector<std::string>* out) {
  const json* v = r.Get("stop");
  if (!v) return true;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) out->push_back(v->get<std::string>());
    return true;
  }
  if (!v->is_array() || v->size() > 4) return r.Fail("stop", "must be a string or an array of up to 4 strings");
  for (const auto& s : *v) {
    if (!s.is_string()) return r.Fail("stop", "must be a string or an array of up to 4 strings");
    if (!s.get<std::string>().empty()) out->push_back(s.get<std::string>());
  }
  return true;
}

}  // namespace

StatusOr<int64_t> ThinkingBudgetForEffort(const std::string& effort) {
  if (effort == "none" || effort == "minimal") return int64_t{0};
  auto budget = chat::ThinkingBudgetForEffort(effort);  // low, medium, high: the same budgets as `r1 chat`
  if (!budget.ok())
    return Status::InvalidArgument("'reasoning_effort' must be one of none, minimal, low, medium, high; got '" +
                                   effort + "'");
  return budget;
}

namespace {
bool Parse(const json& body, bool chat, ApiRequest* out, ParseError* err);
}  // namespace

std::string ErrorParam(const Status& st) {
  const std::string& m = st.message();
  if (m.size() < 3 || m[0] != '\'') return "";
  const size_t end = m.find('\'', 1);
  return end == std::string::npos ? "" : m.substr(1, end - 1);
}

StatusOr<ApiRequest> ParseApiRequest(const json& body, bool chat) {
  ApiRequest req;
  ParseError e;
  if (!Parse(body, chat, &req, &e)) return e.status;
  return req;
}

namespace {

bool Parse(const json& body, bool chat, ApiRequest* out, ParseError* err) {
  if (!body.is_object()) {
    err->status = Status::InvalidArgument("the request body must be a JSON object");
    return false;
  }
  Reader r(body, err);
  out->chat = chat;
  r.String("model", &out->model);
  if (chat) {
    if (!ParseMessages(body, r, &out->messages)) return false;
    if (const json* tools = r.Get("tools"); tools && !tools->is_null()) {
      if (!tools->is_array()) return r.Fail("tools", "must be an array of function tools");
      for (size_t i = 0; i < tools->size(); ++i) {
        const json& t = (*tools)[i];
        const std::string at = "tools[" + std::to_string(i) + "]";
        if (!t.is_object() || t.value("type", "") != "function") return r.Fail(at + ".type", "must be \"function\"");
        auto fn = t.find("function");
        if (fn == t.end() || !fn->is_object()) return r.Fail(at + ".function", "must be an object");
        auto name = fn->find("name");
        if (name == fn->end() || !name->is_string() || name->get<std::string>().empty())
          return r.Fail(at + ".function.name", "must be a non-empty string");
        if (auto params = fn->find("parameters"); params != fn->end() && !params->is_object())
          return r.Fail(at + ".function.parameters", "must be a JSON Schema object");
      }
      out->tools = nlohmann::ordered_json::parse(tools->dump());
    }
    if (const json* tc = r.Get("tool_choice")) {
      // auto / none; required or a named function force a call (constrained
      // decoding by server/constraints.h).
      const std::string choice = tc->is_string() ? tc->get<std::string>() : "";
      if (choice == "none") {
        out->tool_choice_none = true;
      } else if (choice != "auto") {
        if (choice != "required" && !tc->is_object())
          return r.Fail("tool_choice", "must be \"auto\", \"none\", \"required\" or {\"type\": \"function\", ...}");
        if (out->tools.is_null()) return r.Fail("tool_choice", "forces a tool call, but no tools are given");
        if (choice == "required") {
          out->forced_tool = "*";
        } else {
          const auto fn = tc->find("function");
          if (fn == tc->end() || !fn->is_object() || !fn->contains("name") || !(*fn)["name"].is_string())
            return r.Fail("tool_choice.function.name", "must be the name of one of the tools");
          out->forced_tool = (*fn)["name"].get<std::string>();
          bool found = false;
          for (const auto& t : out->tools) found |= t["function"]["name"] == out->forced_tool;
          if (!found) return r.Fail("tool_choice.function.name", "'" + out->forced_tool + "' is not one of the tools");
        }
      }
    }
    r.Bool("parallel_tool_calls", &out->parallel_tool_calls);
  } else {
    const json* p = r.Get("prompt");
    if (!p) return r.Fail("prompt", "is required");
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
    if (!p->is_string()) return r.Fail("prompt", "must be a string (batched prompts are not supported)");
    out->prompt = p->get<std::string>();
    r.Bool("echo", &out->echo);
  }
  if (const json* rf = r.Get("response_format"); rf && !rf->is_null()) {
    const std::string type = rf->is_object() && rf->contains("type") && (*rf)["type"].is_string()
                                 ? (*rf)["type"].get<std::string>() : "";
    if (type == "json_object") {
      out->json_object = true;
    } else if (type == "json_schema") {
      const auto js = rf->find("json_schema");
      if (js == rf->end() || !js->is_object() || !js->contains("schema") ||
          !((*js)["schema"].is_object() || (*js)["schema"].is_boolean()))
        return r.Fail("response_format.json_schema.schema", "must be a JSON Schema object");
      out->json_schema = nlohmann::ordered_json::parse((*js)["schema"].dump());
    } else if (type != "text") {
      return r.Fail("response_format.type", "must be \"text\", \"json_object\" or \"json_schema\"");
    }
  }
  if (const json* g = r.Get("grammar"); g && !g->is_null()) {
    if (!g->is_string()) return r.Fail("grammar", "must be a string (GBNF)");
    out->grammar = g->get<std::string>();
  }
  if (static_cast<int>(out->json_object) + static_cast<int>(!out->json_schema.is_null()) +
          static_cast<int>(!out->grammar.empty()) + static_cast<int>(!out->forced_tool.empty()) > 1)
    return r.Fail("response_format", "use one constraint at a time: response_format, grammar or a forced tool_choice");
  r.Bool("stream", &out->stream);
  if (const json* so = r.Get("stream_options")) {
    if (!so->is_object()) return r.Fail("stream_options", "must be an object");
    auto iu = so->find("include_usage");
    if (iu != so->end() && !iu->is_null()) {
      if (!iu->is_boolean()) return r.Fail("stream_options.include_usage", "must be a boolean");
      out->include_usage = iu->get<bool>();
    }
  }
  const int64_t kMaxTokens = int64_t{1} << 31;
  r.Integer("max_tokens", 1, kMaxTokens, &out->max_tokens);
  r.Integer("max_completion_tokens", 1, kMaxTokens, &out->max_tokens);
  SamplerParams& sp = out->sampling;
  r.Number("temperature", 0, 2, &sp.temperature);
  r.Number("top_p", 0, 1, &sp.top_p);
  int64_t top_k = sp.top_k;
  r.Integer("top_k", 0, 1 << 30, &top_k);
  sp.top_k = static_cast<int>(top_k);
  r.Number("min_p", 0, 1, &sp.min_p);
  r.Number("presence_penalty", -2, 2, &sp.presence_penalty);
  r.Number("frequency_penalty", -2, 2, &sp.frequency_penalty);
  r.Number("repetition_penalty", 0.01, 10, &sp.repetition_penalty);
  int64_t seed = 0;
  if (r.Get("seed")) {
    if (!r.Integer("seed", INT64_MIN, INT64_MAX, &seed)) return false;
    sp.seed = static_cast<uint64_t>(seed);
    out->seed_given = true;
  }
  int64_t n = 1;
  r.Integer("n", 1, 1, &n);
  ParseStop(r, &out->stop);
  if (const json* lp = r.Get("logprobs")) {
    if (chat) {
      r.Bool("logprobs", &out->logprobs);
    } else {  // completions: an integer count of alternatives
      int64_t k = 0;
      if (r.Integer("logprobs", 0, 20, &k)) out->logprobs = true, out->top_logprobs = static_cast<int>(k);
    }
    (void)lp;
  }
  if (chat) {
    int64_t k = 0;
    if (r.Integer("top_logprobs", 0, 20, &k)) out->top_logprobs = static_cast<int>(k);
    if (k > 0 && !out->logprobs && r.ok()) return r.Fail("top_logprobs", "requires 'logprobs': true");
  }
  std::string effort;
  if (r.String("reasoning_effort", &effort) && !effort.empty()) {
    auto b = ThinkingBudgetForEffort(effort);
    if (!b.ok()) return r.Fail("reasoning_effort", "must be one of none, minimal, low, medium, high");
    out->max_thinking_tokens = *b;
  }
  r.Integer("max_thinking_tokens", -1, kMaxTokens, &out->max_thinking_tokens);
  return r.ok();
}

}  // namespace

}  // namespace r1::server
