// The HTTP APIs r1 serve speaks, each a thin adapter over the one request
// type (ApiRequest) and the one event stream (Generation's text deltas):
//
//   OpenAI    POST /v1/chat/completions, /v1/completions     (api_openai.cc)
//   Responses POST /v1/responses                             (api_responses.cc)
//   Anthropic POST /v1/messages                              (api_anthropic.cc)
//   Ollama    POST /api/chat, /api/generate                  (api_ollama.cc)
//
// An adapter parses its body into an ApiRequest (errors name its own
// fields), writes its own error shape, and turns the deltas into its own
// stream framing (SSE events or NDJSON lines) or one response body. The
// reading, the generation, the client watching and the metrics are shared
// (routes_generate.cc); no adapter has generation logic of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "r1/status.h"
#include "server/context.h"
#include "server/generation.h"

namespace r1::server {

class ApiAdapter {
 public:
  virtual ~ApiAdapter() = default;
  // The body as the one request type; InvalidArgument naming the API's own
  // field in *param ("max_tokens", "options.temperature").
  virtual StatusOr<ApiRequest> Parse(const nlohmann::json& body, std::string* param) = 0;
  // An error response with HTTP status `http` in the API's own shape
  // (default: OpenAI's, server::SendError).
  virtual void SendError(httplib::Response& res, int http, const std::string& message, const std::string& param = "",
                         const std::string& code = "") const;
  // The same for a Status: its code gives the HTTP status (HttpStatusFor),
  // with Retry-After on 429 and 503.
  void SendStatus(httplib::Response& res, const Status& st, const std::string& param = "") const;
  // Where this API's body holds the schemas (JSON pointers), read again in
  // written order: a constrained output follows its schema's property order,
  // which `Parse`'s unordered body lost. `schema_field` is the field's name
  // in errors ("format", "text.format.schema"); `tool_params` is relative to
  // each element of the body's "tools" ("" for none).
  struct SchemaPaths {
    std::string schema = "/response_format/json_schema/schema";
    std::string schema_field = "response_format.json_schema.schema";
    std::string tool_params = "/function/parameters";
  };
  virtual SchemaPaths Schemas() const { return {}; }
  virtual std::string IdPrefix() const = 0;  // "chatcmpl-", "msg_", ...
  virtual const char* StreamType() const { return "text/event-stream"; }
  virtual std::string Ping() const { return ": ping\n\n"; }  // sent while no token comes ("" none)
  // Streaming: what goes out before the first delta, with each delta, after
  // the last one, and instead of the end when the generation failed.
  virtual std::string Begin(const Generation& g) = 0;
  virtual std::string Delta(const Generation& g, const TextDelta& d) = 0;
  virtual std::string End(const Generation& g) = 0;
  virtual std::string StreamError(const Generation& g, const Status& st) = 0;
  // Not streaming: the whole answer.
  virtual nlohmann::json Response(const Generation& g, const TextDelta& all) = 0;
};

std::unique_ptr<ApiAdapter> MakeOpenAiAdapter(bool chat);
std::unique_ptr<ApiAdapter> MakeResponsesAdapter();
std::unique_ptr<ApiAdapter> MakeAnthropicAdapter();
std::unique_ptr<ApiAdapter> MakeOllamaAdapter(bool chat);
// The adapter whose error shape a request to `path` expects (401s, 404s).
std::unique_ptr<ApiAdapter> AdapterForPath(const std::string& path);

// "data: <json>\n\n", and with an event name "event: <name>\ndata: ...".
std::string SseData(const nlohmann::json& j);
std::string SseEvent(const std::string& event, const nlohmann::json& j);

// An OpenAI-shaped chat body → ApiRequest, for adapters that translate into
// it. On error, *param is the field ParseApiRequest named after `rename`
// (when given) maps it back to the adapter's own name, in the message too.
StatusOr<ApiRequest> ParseAsChat(const nlohmann::json& openai_body, bool chat, std::string* param,
                                 const std::function<std::string(const std::string&)>& rename = {});

// The time now as RFC 3339 UTC with nanoseconds (Ollama's created_at).
std::string Rfc3339Now();

}  // namespace r1::server
