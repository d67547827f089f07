// OpenAI's Responses API: POST /v1/responses with `input` (a string or
// message items), `instructions`, `reasoning.effort`, `max_output_tokens`;
// the thought comes back as a reasoning item whose summary is the thought's
// text, then the message item; streaming emits the typed events
// (response.created ... response.completed) with sequence numbers. Nothing is
// stored: `previous_response_id` is refused.
// https://platform.openai.com/docs/api-reference/responses
#include <algorithm>
#include <cmath>

#include "server/api_adapter.h"

namespace r1::server {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

class ResponsesAdapter final : public ApiAdapter {
 public:
  StatusOr<ApiRequest> Parse(const json& body, std::string* param) override {
    auto fail = [&](const std::string& field, const std::string& msg) -> StatusOr<ApiRequest> {
      *param = field;
      return Status::InvalidArgument("'" + field + "' " + msg);
    };
    json o = json::object();
    if (auto m = body.find("model"); m != body.end() && m->is_string()) o["model"] = *m;
    if (auto p = body.find("previous_response_id"); p != body.end() && !p->is_null())
      return fail("previous_response_id", "is not supported: this server stores no responses (send the whole input)");
    // text.format: {"type":"json_object"} or {"type":"json_schema","name","schema","strict"}.
    if (auto t = body.find("text"); t != body.end() && !t->is_null()) {
      if (!t->is_object()) return fail("text", "must be an object");
      if (auto f = t->find("format"); f != t->end() && !f->is_null()) {
        if (!f->is_object()) return fail("text.format", "must be an object");
        const json type = f->value("type", json("text"));
        if (type == "json_object") {
          o["response_format"] = {{"type", "json_object"}};
        } else if (type == "json_schema") {
          auto schema = f->find("schema");
          if (schema == f->end() || !(schema->is_object() || schema->is_boolean()))
            return fail("text.format.schema", "must be a JSON Schema object");
          o["response_format"] = {{"type", "json_schema"},
                                  {"json_schema", {{"name", f->value("name", json("response"))}, {"schema", *schema}}}};
        } else if (type != "text") {
          return fail("text.format.type", "must be \"text\", \"json_object\" or \"json_schema\"");
        }
      }
    }
    json msgs = json::array();
    if (auto ins = body.find("instructions"); ins != body.end() && !ins->is_null()) {
      if (!ins->is_string()) return fail("instructions", "must be a string");
      instructions_ = *ins;
      msgs.push_back({{"role", "system"}, {"content", *ins}});
    }
    auto in = body.find("input");
    if (in == body.end() || in->is_null()) return fail("input", "is required");
    if (in->is_string()) {
      msgs.push_back({{"role", "user"}, {"content", *in}});
    } else if (in->is_array()) {
      for (size_t i = 0; i < in->size(); ++i) {
        const json& it = (*in)[i];
        const std::string f = "input[" + std::to_string(i) + "]";
        if (!it.is_object()) return fail(f, "must be an object");
        const std::string type = it.value("type", "message");
        if (type == "reasoning") continue;  // earlier thoughts: dropped from the history, as the templates do
        if (type == "function_call") {
          msgs.push_back({{"role", "assistant"},
                          {"content", ""},
                          {"tool_calls", {{{"id", it.value("call_id", "")},
                                           {"type", "function"},
                                           {"function", {{"name", it.value("name", "")},
                                                         {"arguments", it.value("arguments", "{}")}}}}}}});
          continue;
        }
        if (type == "function_call_output") {
          msgs.push_back({{"role", "tool"}, {"tool_call_id", it.value("call_id", "")}, {"content", it.value("output", "")}});
          continue;
        }
        if (type != "message") return fail(f + ".type", "'" + type + "' items are not supported");
        const std::string role = it.value("role", "");
        auto c = it.find("content");
        if (c == it.end() || c->is_null()) return fail(f + ".content", "is required");
        std::string text;
        if (c->is_string()) {
          text = *c;
        } else if (c->is_array()) {
          for (size_t j = 0; j < c->size(); ++j) {
            const json& part = (*c)[j];
            const std::string pt = part.is_object() ? part.value("type", "") : "";
            if ((pt == "input_text" || pt == "output_text" || pt == "text") && part.contains("text") &&
                part["text"].is_string()) {
              text += part["text"].get<std::string>();
            } else {
              return fail(f + ".content[" + std::to_string(j) + "]",
                          "must be an input_text part (this server is text-only)");
            }
          }
        } else {
          return fail(f + ".content", "must be a string or an array of parts");
        }
        msgs.push_back({{"role", role}, {"content", text}});
      }
    } else {
      return fail("input", "must be a string or an array of items");
    }
    o["messages"] = msgs;
    if (auto m = body.find("max_output_tokens"); m != body.end() && !m->is_null()) o["max_tokens"] = *m;
    for (const char* f : {"temperature", "top_p", "stream"})
      if (auto v = body.find(f); v != body.end() && !v->is_null()) o[f] = *v;
    if (auto r = body.find("reasoning"); r != body.end() && r->is_object()) {
      if (auto e = r->find("effort"); e != r->end() && !e->is_null()) {
        o["reasoning_effort"] = *e;
        effort_ = *e;
      }
    }
    if (auto tools = body.find("tools"); tools != body.end() && !tools->is_null()) {
      if (!tools->is_array()) return fail("tools", "must be an array");
      json out = json::array();
      for (size_t i = 0; i < tools->size(); ++i) {
        const json& t = (*tools)[i];
        if (!t.is_object() || t.value("type", "") != "function")
          return fail("tools[" + std::to_string(i) + "].type", "must be \"function\" (built-in tools are not supported)");
        out.push_back({{"type", "function"},
                       {"function", {{"name", t.value("name", "")},
                                     {"description", t.value("description", "")},
                                     {"parameters", t.value("parameters", json::object())}}}});
      }
      o["tools"] = out;
    }
    if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) o["tool_choice"] = *tc;
    if (auto ptc = body.find("parallel_tool_calls"); ptc != body.end() && !ptc->is_null()) o["parallel_tool_calls"] = *ptc;
    auto r = ParseAsChat(o, true, param, [](const std::string& f) -> std::string {
      if (f == "max_tokens") return "max_output_tokens";
      if (f == "reasoning_effort") return "reasoning.effort";
      if (f.rfind("response_format.json_schema.schema", 0) == 0) return "text.format.schema" + f.substr(34);
      if (f.rfind("response_format", 0) == 0) return "text.format" + f.substr(15);
      if (f.rfind("messages", 0) == 0) return "input";
      return f;
    });
    if (!r.ok()) return r;
    max_output_ = r->max_tokens;
    // As the client sent them (the sampler's floats printed as doubles would show 0.6000000238).
    temperature_ = std::round(static_cast<double>(r->sampling.temperature) * 1e6) / 1e6;
    top_p_ = std::round(static_cast<double>(r->sampling.top_p) * 1e6) / 1e6;
    return r;
  }

  SchemaPaths Schemas() const override { return {"/text/format/schema", "text.format.schema", "/parameters"}; }
  std::string IdPrefix() const override { return "resp_"; }

  std::string Begin(const Generation& g) override {
    ojson resp = Object(g, TextDelta{}, "in_progress");
    std::string out = Event("response.created", {{"response", resp}});  // sequence numbers in order
    return out + Event("response.in_progress", {{"response", resp}});
  }
  std::string Delta(const Generation& g, const TextDelta& d) override {
    std::string out;
    if (!d.reasoning.empty()) {
      if (!reasoning_open_) {
        reasoning_open_ = true;
        reasoning_index_ = NextIndex();
        out += Event("response.output_item.added",
                     {{"output_index", reasoning_index_}, {"item", ojson{{"type", "reasoning"}, {"id", ReasoningId(g)}, {"summary", json::array()}}}});
        out += Event("response.reasoning_summary_part.added",
                     {{"item_id", ReasoningId(g)}, {"output_index", reasoning_index_}, {"summary_index", 0},
                      {"part", {{"type", "summary_text"}, {"text", ""}}}});
      }
      all_.reasoning += d.reasoning;
      out += Event("response.reasoning_summary_text.delta",
                   {{"item_id", ReasoningId(g)}, {"output_index", reasoning_index_}, {"summary_index", 0}, {"delta", d.reasoning}});
    }
    if (!d.content.empty()) {
      out += OpenMessage(g);
      all_.content += d.content;
      out += Event("response.output_text.delta", {{"item_id", MessageId(g)},
                                                  {"output_index", MessageIndex()},
                                                  {"content_index", 0},
                                                  {"delta", d.content},
                                                  {"logprobs", json::array()}});
    }
    for (const chat::ToolCallDelta& t : d.tool_calls) {
      if (!t.id.empty()) {
        out += CloseReasoning(g);
        calls_.push_back({t.id, t.name, ""});
        call_index_.push_back(NextIndex());
        out += Event("response.output_item.added",
                     {{"output_index", call_index_.back()}, {"item", CallItem(calls_.back(), "in_progress")}});
      }
      if (t.arguments.empty() || calls_.empty()) continue;
      calls_.back().arguments += t.arguments;
      out += Event("response.function_call_arguments.delta",
                   {{"item_id", "fc_" + calls_.back().id}, {"output_index", call_index_.back()}, {"delta", t.arguments}});
    }
    return out;
  }
  std::string End(const Generation& g) override {
    std::string out = CloseReasoning(g);
    for (size_t i = 0; i < calls_.size(); ++i) {
      out += Event("response.function_call_arguments.done",
                   {{"item_id", "fc_" + calls_[i].id}, {"output_index", call_index_[i]}, {"arguments", calls_[i].arguments}});
      out += Event("response.output_item.done", {{"output_index", call_index_[i]}, {"item", CallItem(calls_[i], "completed")}});
    }
    if (!message_open_ && !calls_.empty()) {  // a pure call: no message item
      const ojson resp = Object(g, all_, StatusOf(g));
      return out + Event(StatusOf(g) == std::string("completed") ? "response.completed" : "response.incomplete",
                         {{"response", resp}});
    }
    out += OpenMessage(g);
    out += Event("response.output_text.done", {{"item_id", MessageId(g)},
                                               {"output_index", MessageIndex()},
                                               {"content_index", 0},
                                               {"text", all_.content},
                                               {"logprobs", json::array()}});
    out += Event("response.content_part.done",
                 {{"item_id", MessageId(g)}, {"output_index", MessageIndex()}, {"content_index", 0}, {"part", TextPart(all_.content)}});
    out += Event("response.output_item.done", {{"output_index", MessageIndex()}, {"item", MessageItem(g, "completed")}});
    const ojson resp = Object(g, all_, StatusOf(g));
    return out + Event(StatusOf(g) == std::string("completed") ? "response.completed" : "response.incomplete",
                       {{"response", resp}});
  }
  std::string StreamError(const Generation& g, const r1::Status& st) override {
    ojson resp = Object(g, all_, "failed");
    resp["error"] = {{"code", "server_error"}, {"message", st.message()}};
    return Event("response.failed", {{"response", resp}});
  }
  json Response(const Generation& g, const TextDelta& all) override {
    if (!all.reasoning.empty()) reasoning_open_ = true, reasoning_index_ = NextIndex();
    if (!all.content.empty() || !g.has_tool_calls()) message_open_ = true, message_index_ = NextIndex();
    for (const chat::ToolCall& t : g.tool_calls()) calls_.push_back(t), call_index_.push_back(NextIndex());
    return Object(g, all, StatusOf(g));
  }

 private:
  static const char* StatusOf(const Generation& g) {
    return g.finish() == FinishReason::kStop ? "completed" : "incomplete";
  }
  std::string ReasoningId(const Generation& g) const { return "rs_" + g.id().substr(5); }
  std::string MessageId(const Generation& g) const { return "msg_" + g.id().substr(5); }
  int MessageIndex() const { return message_index_; }
  int NextIndex() { return next_index_++; }
  static ojson CallItem(const chat::ToolCall& c, const char* status) {
    return {{"type", "function_call"}, {"id", "fc_" + c.id}, {"call_id", c.id}, {"name", c.name},
            {"arguments", c.arguments}, {"status", status}};
  }
  static ojson TextPart(const std::string& text) {
    return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}, {"logprobs", json::array()}};
  }
  ojson ReasoningItem(const Generation& g, const std::string& text) const {
    return {{"type", "reasoning"}, {"id", ReasoningId(g)}, {"summary", {{{"type", "summary_text"}, {"text", text}}}}};
  }
  ojson MessageItem(const Generation& g, const char* status) const {
    return {{"type", "message"},
            {"id", MessageId(g)},
            {"status", status},
            {"role", "assistant"},
            {"content", {TextPart(all_.content)}}};
  }
  std::string CloseReasoning(const Generation& g) {
    if (!reasoning_open_ || reasoning_closed_) return "";
    reasoning_closed_ = true;
    std::string out = Event("response.reasoning_summary_text.done", {{"item_id", ReasoningId(g)},
                                                                    {"output_index", reasoning_index_},
                                                                    {"summary_index", 0},
                                                                    {"text", all_.reasoning}});
    out += Event("response.reasoning_summary_part.done",
                 {{"item_id", ReasoningId(g)}, {"output_index", reasoning_index_}, {"summary_index", 0},
                  {"part", {{"type", "summary_text"}, {"text", all_.reasoning}}}});
    return out + Event("response.output_item.done", {{"output_index", reasoning_index_}, {"item", ReasoningItem(g, all_.reasoning)}});
  }
  std::string OpenMessage(const Generation& g) {
    if (message_open_) return "";
    std::string out = CloseReasoning(g);
    message_open_ = true;
    message_index_ = NextIndex();
    ojson item = {{"type", "message"}, {"id", MessageId(g)}, {"status", "in_progress"}, {"role", "assistant"},
                  {"content", json::array()}};
    out += Event("response.output_item.added", {{"output_index", MessageIndex()}, {"item", item}});
    out += Event("response.content_part.added",
                 {{"item_id", MessageId(g)}, {"output_index", MessageIndex()}, {"content_index", 0}, {"part", TextPart("")}});
    return out;
  }
  std::string Event(const std::string& type, ojson fields) {
    ojson j = {{"type", type}, {"sequence_number", seq_++}};
    for (auto& [k, v] : fields.items()) j[k] = v;
    return SseEvent(type, j);
  }
  ojson Object(const Generation& g, const TextDelta& all, const char* status) {
    // Items by output index: the thought, the message, the calls, as they opened.
    std::vector<std::pair<int, ojson>> items;
    if (!all.reasoning.empty()) items.emplace_back(reasoning_index_, ReasoningItem(g, all.reasoning));
    if (message_open_) {
      all_.content = all.content;
      items.emplace_back(message_index_, MessageItem(g, std::string(status) == "in_progress" ? "in_progress" : "completed"));
    }
    for (size_t i = 0; i < calls_.size(); ++i)
      items.emplace_back(call_index_[i], CallItem(calls_[i], std::string(status) == "in_progress" ? "in_progress" : "completed"));
    std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    ojson output = json::array();
    for (auto& [index, item] : items) output.push_back(std::move(item));
    const RequestUpdate& t = g.totals();
    const bool done = std::string(status) != "in_progress";
    ojson r = {{"id", g.id()},
               {"object", "response"},
               {"created_at", g.created()},
               {"status", status},
               {"error", nullptr},
               {"incomplete_details",
                std::string(status) == "incomplete" ? json{{"reason", "max_output_tokens"}} : json(nullptr)},
               {"instructions", instructions_.empty() ? json(nullptr) : json(instructions_)},
               {"max_output_tokens", max_output_ > 0 ? json(max_output_) : json(nullptr)},
               {"model", g.model()},
               {"output", output},
               {"parallel_tool_calls", true},
               {"previous_response_id", nullptr},
               {"reasoning", {{"effort", effort_.empty() ? json(nullptr) : json(effort_)}, {"summary", nullptr}}},
               {"store", false},
               {"temperature", temperature_},
               {"text", {{"format", {{"type", "text"}}}}},
               {"tool_choice", "auto"},
               {"tools", json::array()},
               {"top_p", top_p_},
               {"truncation", "disabled"},
               {"usage", done ? json{{"input_tokens", g.prompt_tokens()},
                                     {"input_tokens_details", {{"cached_tokens", t.cached_tokens}}},
                                     {"output_tokens", t.completion_tokens},
                                     {"output_tokens_details", {{"reasoning_tokens", t.reasoning_tokens}}},
                                     {"total_tokens", g.prompt_tokens() + t.completion_tokens}}
                              : json(nullptr)},
               {"user", nullptr},
               {"metadata", json::object()}};
    return r;
  }

  std::string instructions_, effort_;
  int64_t max_output_ = -1;
  double temperature_ = 1, top_p_ = 1;
  TextDelta all_;
  bool reasoning_open_ = false, reasoning_closed_ = false, message_open_ = false;
  int next_index_ = 0, reasoning_index_ = 0, message_index_ = 0;
  std::vector<chat::ToolCall> calls_;
  std::vector<int> call_index_;
  int64_t seq_ = 0;
};

}  // namespace

std::unique_ptr<ApiAdapter> MakeResponsesAdapter() { return std::make_unique<ResponsesAdapter>(); }

}  // namespace r1::server
