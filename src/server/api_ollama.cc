// Ollama's API: POST /api/chat and /api/generate (NDJSON streaming by
// default, one object with "stream": false), `options`, `think`, and the
// `thinking` field Ollama returns for R1; timings in nanoseconds.
// https://github.com/ollama/ollama/blob/main/docs/api.md
#include "server/api_adapter.h"

namespace r1::server {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

namespace {

// Ollama's options → OpenAI field names (the numbers are checked there).
constexpr std::pair<const char*, const char*> kOptions[] = {
    {"temperature", "temperature"},       {"top_p", "top_p"},
    {"top_k", "top_k"},                   {"min_p", "min_p"},
    {"seed", "seed"},                     {"num_predict", "max_tokens"},
    {"stop", "stop"},                     {"repeat_penalty", "repetition_penalty"},
    {"presence_penalty", "presence_penalty"}, {"frequency_penalty", "frequency_penalty"},
};

class OllamaAdapter final : public ApiAdapter {
 public:
  explicit OllamaAdapter(bool chat) : chat_(chat) {}

  StatusOr<ApiRequest> Parse(const json& body, std::string* param) override {
    auto fail = [&](const std::string& field, const std::string& msg) -> StatusOr<ApiRequest> {
      *param = field;
      return Status::InvalidArgument("'" + field + "' " + msg);
    };
    json o = json::object();
    bool raw = false;
    if (auto m = body.find("model"); m != body.end() && m->is_string()) o["model"] = *m;
    o["stream"] = true;  // Ollama streams unless told not to
    if (auto s = body.find("stream"); s != body.end() && !s->is_null()) {
      if (!s->is_boolean()) return fail("stream", "must be a boolean");
      o["stream"] = *s;
    }
    for (const char* f : {"images", "suffix"}) {
      auto it = body.find(f);
      if (it == body.end() || it->is_null() || (it->is_string() && it->get<std::string>().empty()) ||
          (it->is_array() && it->empty()))
        continue;
      return fail(f, "is not supported by this text-only server");
    }
    // format: "json" (any JSON) or a JSON Schema, constraining the answer.
    if (auto f = body.find("format"); f != body.end() && !f->is_null() && !(f->is_string() && f->get<std::string>().empty())) {
      if (f->is_string() && f->get<std::string>() == "json") {
        o["response_format"] = {{"type", "json_object"}};
      } else if (f->is_object()) {
        o["response_format"] = {{"type", "json_schema"}, {"json_schema", {{"name", "format"}, {"schema", *f}}}};
        option_names_["response_format.json_schema.schema"] = "format";
        option_names_["response_format"] = "format";
      } else {
        return fail("format", "must be \"json\" or a JSON Schema object");
      }
    }
    if (chat_) {
      auto msgs = body.find("messages");
      if (msgs == body.end() || !msgs->is_array() || msgs->empty()) return fail("messages", "must be a non-empty array");
      json out = json::array();
      for (size_t i = 0; i < msgs->size(); ++i) {
        const json& m = (*msgs)[i];
        const std::string f = "messages[" + std::to_string(i) + "]";
        if (!m.is_object()) return fail(f, "must be an object");
        if (auto im = m.find("images"); im != m.end() && im->is_array() && !im->empty())
          return fail(f + ".images", "is not supported by this text-only server");
        json msg = {{"role", m.value("role", json())}, {"content", m.contains("content") ? m["content"] : json("")}};
        if (auto tc = m.find("tool_calls"); tc != m.end() && tc->is_array()) {
          // Ollama's arguments are an object; OpenAI's a JSON string.
          json calls = json::array();
          for (size_t j = 0; j < tc->size(); ++j) {
            const json& c = (*tc)[j];
            const json fn = c.value("function", json::object());
            calls.push_back({{"id", "call_" + std::to_string(i) + "_" + std::to_string(j)},
                             {"type", "function"},
                             {"function",
                              {{"name", fn.value("name", "")},
                               {"arguments", fn.contains("arguments") && !fn["arguments"].is_string()
                                                 ? Dump(fn["arguments"])
                                                 : fn.value("arguments", "{}")}}}});
          }
          msg["tool_calls"] = calls;
        }
        if (auto n = m.find("tool_name"); n != m.end() && n->is_string()) msg["name"] = *n;
        out.push_back(msg);
      }
      o["messages"] = out;
      if (auto t = body.find("tools"); t != body.end() && !t->is_null()) o["tools"] = *t;
    } else {
      auto p = body.find("prompt");
      if (p == body.end() || !p->is_string() || p->get<std::string>().empty())
        return fail("prompt", "must be a non-empty string");
      if (auto r = body.find("raw"); r != body.end() && !r->is_null()) {
        if (!r->is_boolean()) return fail("raw", "must be a boolean");
        raw = r->get<bool>();
      }
      if (raw) {
        o["prompt"] = *p;
      } else {
        json msgs = json::array();
        if (auto sys = body.find("system"); sys != body.end() && sys->is_string() && !sys->get<std::string>().empty())
          msgs.push_back({{"role", "system"}, {"content", *sys}});
        msgs.push_back({{"role", "user"}, {"content", *p}});
        o["messages"] = msgs;
      }
    }
    if (auto opts = body.find("options"); opts != body.end() && !opts->is_null()) {
      if (!opts->is_object()) return fail("options", "must be an object");
      for (const auto& [from, to] : kOptions) {
        auto v = opts->find(from);
        if (v == opts->end() || v->is_null()) continue;
        if (std::string(from) == "num_predict" && v->is_number_integer() && v->get<int64_t>() < 0) continue;  // -1: no limit
        o[to] = *v;
        option_names_[to] = std::string("options.") + from;
      }
    }
    if (auto th = body.find("think"); th != body.end() && !th->is_null()) {
      if (th->is_boolean()) {
        if (!th->get<bool>()) o["max_thinking_tokens"] = 0;
      } else if (th->is_string()) {
        o["reasoning_effort"] = *th;
        option_names_["reasoning_effort"] = "think";
      } else {
        return fail("think", "must be true, false, or one of low, medium, high");
      }
    }
    return ParseAsChat(o, chat_ || !raw, param, [this](const std::string& f) {
      auto it = option_names_.find(f);
      return it == option_names_.end() ? f : it->second;
    });
  }

  void SendError(httplib::Response& res, int http, const std::string& message, const std::string&,
                 const std::string&) const override {
    res.status = http;
    res.set_content(Dump({{"error", message}}), "application/json");
  }
  SchemaPaths Schemas() const override { return {"/format", "format", "/function/parameters"}; }
  std::string IdPrefix() const override { return "ollama-"; }
  const char* StreamType() const override { return "application/x-ndjson"; }
  std::string Ping() const override { return ""; }  // NDJSON has no comment line
  std::string Begin(const Generation&) override { return ""; }
  std::string Delta(const Generation& g, const TextDelta& d) override {
    if (d.reasoning.empty() && d.content.empty()) return "";
    return Dump(Piece(g, d, false)) + "\n";
  }
  // Ollama sends each tool call whole: with the last piece.
  std::string End(const Generation& g) override { return Dump(Piece(g, TextDelta{}, true)) + "\n"; }
  std::string StreamError(const Generation&, const Status& st) override {
    return Dump({{"error", st.message()}}) + "\n";
  }
  json Response(const Generation& g, const TextDelta& all) override { return Piece(g, all, true); }

 private:
  ojson Piece(const Generation& g, const TextDelta& d, bool done) const {
    ojson j = {{"model", g.model()}, {"created_at", Rfc3339Now()}};
    if (chat_) {
      ojson msg = {{"role", "assistant"}, {"content", d.content}};
      if (!d.reasoning.empty()) msg["thinking"] = d.reasoning;
      if (done && g.has_tool_calls()) {
        json calls = json::array();
        for (const chat::ToolCall& t : g.tool_calls()) {
          json args = json::parse(t.arguments, nullptr, /*allow_exceptions=*/false);
          if (args.is_discarded() || !args.is_object()) args = json::object();
          calls.push_back({{"function", {{"name", t.name}, {"arguments", args}}}});
        }
        msg["tool_calls"] = calls;
      }
      j["message"] = msg;
    } else {
      j["response"] = d.content;
      if (!d.reasoning.empty()) j["thinking"] = d.reasoning;
    }
    j["done"] = done;
    if (done) {
      const RequestUpdate& t = g.totals();
      const int64_t total = g.elapsed_ns(), first = g.first_token_ns();
      j["done_reason"] = g.finish() == FinishReason::kLength || g.finish() == FinishReason::kCancelled ? "length" : "stop";
      j["total_duration"] = total;
      j["load_duration"] = 0;
      j["prompt_eval_count"] = g.prompt_tokens();
      j["prompt_eval_duration"] = first;
      j["eval_count"] = t.completion_tokens;
      j["eval_duration"] = std::max<int64_t>(0, total - first);
    }
    return j;
  }

  bool chat_;
  std::map<std::string, std::string> option_names_;  // OpenAI field → Ollama's, for errors
};

}  // namespace

std::unique_ptr<ApiAdapter> MakeOllamaAdapter(bool chat) { return std::make_unique<OllamaAdapter>(chat); }

}  // namespace r1::server
