// Anthropic's Messages API: POST /v1/messages, content blocks, `thinking`
// mapped to the thinking budget and returned as thinking blocks, and the
// streaming event sequence (message_start, content_block_start/delta/stop,
// message_delta, message_stop). https://docs.anthropic.com/en/api/messages
#include "server/api_adapter.h"

namespace r1::server {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

const char* ErrorType(int http) {
  switch (http) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 413: return "request_too_large";
    case 429: return "rate_limit_error";
    case 503: return "overloaded_error";
    default: return http >= 500 ? "api_error" : "invalid_request_error";
  }
}

// A block's text, or the concatenated text blocks of an array.
bool BlocksText(const json& content, const std::string& field, std::string* out, std::string* err_field,
                std::string* err) {
  if (content.is_string()) {
    *out = content.get<std::string>();
    return true;
  }
  if (!content.is_array()) {
    *err_field = field;
    *err = "must be a string or an array of content blocks";
    return false;
  }
  for (size_t i = 0; i < content.size(); ++i) {
    const json& b = content[i];
    if (b.is_object() && b.value("type", "") == "text" && b.contains("text") && b["text"].is_string()) {
      *out += b["text"].get<std::string>();
    } else {
      *err_field = field + "[" + std::to_string(i) + "]";
      *err = "must be a text block here";
      return false;
    }
  }
  return true;
}

class AnthropicAdapter final : public ApiAdapter {
 public:
  StatusOr<ApiRequest> Parse(const json& body, std::string* param) override {
    std::string err_field, err;
    auto fail = [&](const std::string& field, const std::string& msg) -> StatusOr<ApiRequest> {
      *param = field;
      return Status::InvalidArgument(field + ": " + msg);
    };
    json o = json::object();
    if (auto m = body.find("model"); m != body.end() && m->is_string()) o["model"] = *m;
    auto mt = body.find("max_tokens");
    if (mt == body.end() || mt->is_null()) return fail("max_tokens", "Field required");
    o["max_tokens"] = *mt;
    json msgs = json::array();
    if (auto sys = body.find("system"); sys != body.end() && !sys->is_null()) {
      std::string text;
      if (!BlocksText(*sys, "system", &text, &err_field, &err)) return fail(err_field, err);
      msgs.push_back({{"role", "system"}, {"content", text}});
    }
    auto in = body.find("messages");
    if (in == body.end() || !in->is_array() || in->empty()) return fail("messages", "must be a non-empty array");
    for (size_t i = 0; i < in->size(); ++i) {
      const json& m = (*in)[i];
      const std::string f = "messages." + std::to_string(i);
      if (!m.is_object()) return fail(f, "must be an object");
      const std::string role = m.value("role", "");
      if (role != "user" && role != "assistant") return fail(f + ".role", "must be 'user' or 'assistant'");
      auto c = m.find("content");
      if (c == m.end() || c->is_null()) return fail(f + ".content", "Field required");
      if (c->is_string()) {
        msgs.push_back({{"role", role}, {"content", *c}});
        continue;
      }
      if (!c->is_array()) return fail(f + ".content", "must be a string or an array of content blocks");
      std::string text;
      json calls = json::array();
      for (size_t j = 0; j < c->size(); ++j) {
        const json& b = (*c)[j];
        const std::string bf = f + ".content." + std::to_string(j);
        const std::string type = b.is_object() ? b.value("type", "") : "";
        if (type == "text" && b.contains("text") && b["text"].is_string()) {
          text += b["text"].get<std::string>();
        } else if (type == "thinking" || type == "redacted_thinking") {
          // Earlier thoughts: the R1 templates drop them from the history anyway.
        } else if (type == "tool_use") {
          calls.push_back({{"id", b.value("id", "")},
                           {"type", "function"},
                           {"function", {{"name", b.value("name", "")}, {"arguments", Dump(b.value("input", json::object()))}}}});
        } else if (type == "tool_result") {
          std::string result;
          if (auto rc = b.find("content"); rc != b.end() && !rc->is_null())
            if (!BlocksText(*rc, bf + ".content", &result, &err_field, &err)) return fail(err_field, err);
          msgs.push_back({{"role", "tool"}, {"tool_call_id", b.value("tool_use_id", "")}, {"content", result}});
        } else {
          return fail(bf + ".type", "'" + type + "' blocks are not supported by this text-only server");
        }
      }
      if (!text.empty() || !calls.empty()) {
        json msg = {{"role", role}, {"content", text}};
        if (!calls.empty()) msg["tool_calls"] = calls;
        msgs.push_back(msg);
      }
    }
    o["messages"] = msgs;
    if (auto s = body.find("stop_sequences"); s != body.end() && !s->is_null()) o["stop"] = *s;
    for (const char* f : {"temperature", "top_p", "top_k", "stream"})
      if (auto v = body.find(f); v != body.end() && !v->is_null()) o[f] = *v;
    if (auto t = body.find("temperature"); t != body.end() && t->is_number() && t->get<double>() > 1)
      return fail("temperature", "must be between 0 and 1");
    thinking_shown_ = true;
    if (auto th = body.find("thinking"); th != body.end() && !th->is_null()) {
      const std::string type = th->is_object() ? th->value("type", "") : "";
      if (type == "enabled") {
        auto b = th->find("budget_tokens");
        if (b == th->end() || !b->is_number_integer() || b->get<int64_t>() < 0)
          return fail("thinking.budget_tokens", "must be a non-negative integer");
        o["max_thinking_tokens"] = *b;
      } else if (type == "disabled") {
        o["max_thinking_tokens"] = 0;
        thinking_shown_ = false;
      } else {
        return fail("thinking.type", "must be 'enabled' or 'disabled'");
      }
    }
    if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
      if (!tools->is_array()) return fail("tools", "must be an array");
      json out = json::array();
      for (size_t i = 0; i < tools->size(); ++i) {
        const json& t = (*tools)[i];
        if (!t.is_object() || !t.contains("name") || !t["name"].is_string())
          return fail("tools." + std::to_string(i) + ".name", "Field required");
        out.push_back({{"type", "function"},
                       {"function", {{"name", t["name"]},
                                     {"description", t.value("description", "")},
                                     {"parameters", t.value("input_schema", json::object())}}}});
      }
      o["tools"] = out;
    }
    if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
      const std::string type = tc->is_object() ? tc->value("type", "") : "";
      if (type == "none") {
        o["tool_choice"] = "none";
      } else if (type == "any") {
        o["tool_choice"] = "required";
      } else if (type == "tool") {
        if (!tc->contains("name") || !(*tc)["name"].is_string()) return fail("tool_choice.name", "must be a tool's name");
        o["tool_choice"] = json{{"type", "function"}, {"function", {{"name", (*tc)["name"]}}}};
      } else if (type != "auto") {
        return fail("tool_choice.type", "must be one of auto, any, tool, none");
      }
    }
    return ParseAsChat(o, true, param, [](const std::string& f) -> std::string {
      if (f == "stop") return "stop_sequences";
      if (f == "max_thinking_tokens") return "thinking.budget_tokens";
      return f;
    });
  }

  void SendError(httplib::Response& res, int http, const std::string& message, const std::string&,
                 const std::string&) const override {
    res.status = http;
    res.set_content(Dump({{"type", "error"}, {"error", {{"type", ErrorType(http)}, {"message", message}}}}),
                    "application/json");
  }
  SchemaPaths Schemas() const override { return {"", "", "/input_schema"}; }
  std::string IdPrefix() const override { return "msg_"; }
  std::string Ping() const override { return SseEvent("ping", {{"type", "ping"}}); }

  std::string Begin(const Generation& g) override {
    ojson msg = Message(g);
    msg["content"] = json::array();
    msg["stop_reason"] = nullptr;
    msg["usage"]["output_tokens"] = 0;
    return SseEvent("message_start", ojson{{"type", "message_start"}, {"message", msg}});
  }
  std::string Delta(const Generation&, const TextDelta& d) override {
    std::string out;
    if (!d.reasoning.empty() && thinking_shown_) {
      out += Open("thinking");
      out += SseEvent("content_block_delta", ojson{{"type", "content_block_delta"},
                                                   {"index", index_},
                                                   {"delta", {{"type", "thinking_delta"}, {"thinking", d.reasoning}}}});
    }
    if (!d.content.empty()) {
      out += Open("text");
      out += SseEvent("content_block_delta", ojson{{"type", "content_block_delta"},
                                                   {"index", index_},
                                                   {"delta", {{"type", "text_delta"}, {"text", d.content}}}});
    }
    for (const chat::ToolCallDelta& t : d.tool_calls) {
      if (!t.id.empty()) out += Open("tool_use", t.id, t.name);
      if (!t.arguments.empty())
        out += SseEvent("content_block_delta",
                        ojson{{"type", "content_block_delta"},
                              {"index", index_},
                              {"delta", {{"type", "input_json_delta"}, {"partial_json", t.arguments}}}});
    }
    return out;
  }
  std::string End(const Generation& g) override {
    std::string out;
    if (!g.has_tool_calls()) out += Open("text");  // an answer has its text block (Open: no-op when it is open)
    out += Close();
    out += SseEvent("message_delta", ojson{{"type", "message_delta"},
                                           {"delta", {{"stop_reason", StopReason(g)}, {"stop_sequence", nullptr}}},
                                           {"usage", {{"output_tokens", g.totals().completion_tokens}}}});
    return out + SseEvent("message_stop", ojson{{"type", "message_stop"}});
  }
  std::string StreamError(const Generation&, const Status& st) override {
    return SseEvent("error", ojson{{"type", "error"}, {"error", {{"type", "api_error"}, {"message", st.message()}}}});
  }
  json Response(const Generation& g, const TextDelta& all) override {
    ojson msg = Message(g);
    json content = json::array();
    if (!all.reasoning.empty() && thinking_shown_)
      content.push_back({{"type", "thinking"}, {"thinking", all.reasoning}, {"signature", ""}});
    if (!all.content.empty() || !g.has_tool_calls()) content.push_back({{"type", "text"}, {"text", all.content}});
    for (const chat::ToolCall& t : g.tool_calls()) {
      json input = json::parse(t.arguments, nullptr, /*allow_exceptions=*/false);
      if (input.is_discarded() || !input.is_object()) input = json::object();
      content.push_back({{"type", "tool_use"}, {"id", t.id}, {"name", t.name}, {"input", input}});
    }
    msg["content"] = content;
    return msg;
  }

 private:
  static const char* StopReason(const Generation& g) {
    if (g.stopped_by_string()) return "stop_sequence";
    if (g.finish() == FinishReason::kStop && g.has_tool_calls()) return "tool_use";
    return g.finish() == FinishReason::kStop ? "end_turn" : "max_tokens";
  }
  ojson Message(const Generation& g) const {
    const RequestUpdate& t = g.totals();
    return {{"id", g.id()},
            {"type", "message"},
            {"role", "assistant"},
            {"model", g.model()},
            {"content", json::array()},
            {"stop_reason", StopReason(g)},
            {"stop_sequence", nullptr},
            {"usage",
             {{"input_tokens", g.prompt_tokens()},
              {"cache_creation_input_tokens", 0},
              {"cache_read_input_tokens", t.cached_tokens},
              {"output_tokens", t.completion_tokens}}}};
  }
  // Closes the open block if it is of another type, and opens `type`.
  std::string Open(const std::string& type, const std::string& id = "", const std::string& name = "") {
    if (open_ == type && type != "tool_use") return "";
    std::string out = Close();
    if (!open_.empty() || started_) ++index_;
    started_ = true;
    open_ = type;
    ojson block = type == "thinking"   ? ojson{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}
                  : type == "tool_use" ? ojson{{"type", "tool_use"}, {"id", id}, {"name", name}, {"input", json::object()}}
                                       : ojson{{"type", "text"}, {"text", ""}};
    return out + SseEvent("content_block_start",
                          ojson{{"type", "content_block_start"}, {"index", index_}, {"content_block", block}});
  }
  std::string Close() {
    if (open_.empty()) return "";
    std::string out;
    if (open_ == "thinking")
      out += SseEvent("content_block_delta", ojson{{"type", "content_block_delta"},
                                                   {"index", index_},
                                                   {"delta", {{"type", "signature_delta"}, {"signature", ""}}}});
    out += SseEvent("content_block_stop", ojson{{"type", "content_block_stop"}, {"index", index_}});
    open_.clear();
    return out;
  }

  bool thinking_shown_ = true;
  bool started_ = false;
  std::string open_;  // the open content block's type ("" none)
  int index_ = 0;
};

}  // namespace

std::unique_ptr<ApiAdapter> MakeAnthropicAdapter() { return std::make_unique<AnthropicAdapter>(); }

}  // namespace r1::server
