// The generation routes of every API (server/api_adapter.h), streaming or
// not: the body read under --max-body, parsed by the API's adapter into the
// one request type, generated, and written back in the adapter's shape.
//
// A streaming response is chunked (SSE or NDJSON, per adapter): the
// adapter's opening, one piece per update, its ending. While no token comes,
// the adapter's keep-alive (an SSE comment) is sent every second; a write that fails, or the socket
// closing (ClientConnection), means the client went away, and its request
// is cancelled (the scheduler frees its sequence and KV blocks at the next
// step). A non-streaming handler writes nothing until the end, so it watches
// the socket alone.
#include <sys/socket.h>

#include <charconv>
#include <chrono>

#include "server/api_adapter.h"
#include "server/connection.h"
#include "server/generation.h"
#include "server/request_log.h"
#include "r1/json.h"

namespace r1::server {

namespace {

using nlohmann::json;
constexpr auto kPoll = std::chrono::milliseconds(250);
constexpr int kPollsPerPing = 4;
// What the request log and r1_requests_total record for a client that left
// before its answer (nginx's convention); nobody receives it.
constexpr int kClientClosedRequest = 499;

// Decrements ctx.in_flight when the last copy goes.
struct InFlight {
  explicit InFlight(ServerContext& c) : ctx(c) { ++ctx.in_flight; }
  ~InFlight() { --ctx.in_flight; }
  ServerContext& ctx;
};

struct StreamState {
  explicit StreamState(const ClientConnection& c) : conn(c) {}
  ClientConnection conn;
  std::unique_ptr<ApiAdapter> api;
  std::unique_ptr<Generation> gen;
  std::unique_ptr<InFlight> in_flight;
  bool sent_first = false;
  bool finished = false;
  int idle_polls = 0;
};

bool Write(httplib::DataSink& sink, const std::string& bytes) {
  return bytes.empty() || sink.write(bytes.data(), bytes.size());
}

// One call of the chunked content provider: waits for output and writes it.
// Returns false when the client is gone.
bool Pump(StreamState& s, httplib::DataSink& sink) {
  Generation& g = *s.gen;
  ApiAdapter& api = *s.api;
  if (!s.sent_first) {
    s.sent_first = true;
    return Write(sink, api.Begin(g));
  }
  TextDelta d;
  if (!g.Next(&d, kPoll)) {
    if (s.conn.closed()) return false;
    if (++s.idle_polls < kPollsPerPing) return true;
    s.idle_polls = 0;
    return Write(sink, api.Ping());
  }
  s.idle_polls = 0;
  if (!Write(sink, api.Delta(g, d))) return false;
  if (!g.done()) return true;
  const bool ok = Write(sink, g.error().ok() ? api.End(g) : api.StreamError(g, g.error()));
  s.finished = true;
  sink.done();
  return ok;
}

// The body, read here rather than by httplib so that --max-body holds for
// every transfer encoding (chunked included) while the bytes arrive, and so
// that any content type is read as JSON (httplib would parse a form).
// The rest of a refused body is never read: the socket's read side is shut,
// so httplib answers and closes instead of parsing the leftover bytes as
// further requests.
void RefuseRest(httplib::Response& res) {
  res.set_header("Connection", "close");
  if (const int fd = ThisRequestLog().fd; fd >= 0) ::shutdown(fd, SHUT_RD);
}

bool ReadBody(ServerContext& ctx, const ApiAdapter& api, const httplib::Request& req,
              const httplib::ContentReader& reader, httplib::Response& res, std::string* body) {
  const size_t max = ctx.opts.max_body_bytes;
  auto too_large = [&] {
    RefuseRest(res);
    api.SendError(res, 413, "the request body is larger than --max-body (" + std::to_string(max) + " bytes)", "",
                  "payload_too_large");
    return false;
  };
  // A declared length over the limit: refused before reading anything.
  const std::string declared = req.get_header_value("Content-Length");
  uint64_t length = 0;
  if (!declared.empty()) {
    const auto [end, err] = std::from_chars(declared.data(), declared.data() + declared.size(), length);
    if (err != std::errc() || end != declared.data() + declared.size()) {
      api.SendError(res, 400, "the Content-Length header is not a number");
      return false;
    }
    if (length > max) return too_large();
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(ctx.opts.body_timeout_s);
  bool too_big = false, too_slow = false;
  const bool ok = reader([&](const char* data, size_t len) {
    if (len > max - std::min(max, body->size())) {
      too_big = true;
      return false;
    }
    if (std::chrono::steady_clock::now() > deadline) {  // bytes keep coming, but too slowly
      too_slow = true;
      return false;
    }
    body->append(data, len);
    ThisRequestLog().body_bytes = body->size();
    return true;
  });
  if (too_big) return too_large();
  if (too_slow) {
    RefuseRest(res);
    api.SendError(res, 408, "the request body took longer than --body-timeout (" +
                            std::to_string(ctx.opts.body_timeout_s) + " s)", "", "request_timeout");
    return false;
  }
  if (!ok) {
    api.SendError(res, 400, "the request body could not be read");
    return false;
  }
  return true;
}

void Handle(ServerContext& ctx, const httplib::Request& req, httplib::Response& res,
            const httplib::ContentReader& reader, const std::string& endpoint,
            std::unique_ptr<ApiAdapter> api) {
  // Counted when the handler returns, except for a stream, which is counted
  // when it ends (200, or 499 when the client left first).
  struct Record {
    ServerContext& ctx;
    const std::string& endpoint;
    httplib::Response& res;
    bool streamed = false;
    ~Record() {
      if (!streamed) ctx.metrics.Request(endpoint, res.status < 0 ? 200 : res.status);
    }
  } record{ctx, endpoint, res};
  // The client's socket, found once: in a request now, the header deadline no
  // longer applies (the body has its own); the rendering, the wait and the
  // stream below watch it for the client leaving.
  const ClientConnection conn(req);
  ThisRequestLog().fd = conn.fd();
  if (ctx.watchdog) ctx.watchdog->Busy(conn.fd());
  if (ctx.stopping) return api->SendStatus(res, Status::Unavailable("the server is shutting down"));
  if (!ctx.ready) return api->SendStatus(res, Status::Unavailable("the model is still loading"));
  std::string text;
  if (!ReadBody(ctx, *api, req, reader, res, &text)) return;
  auto body = ParseJson(text, "the request body");
  if (!body.ok()) return api->SendStatus(res, body.status());
  if (!body->is_object()) return api->SendStatus(res, Status::InvalidArgument("the request body must be a JSON object"));
  std::string param;
  auto parsed = api->Parse(*body, &param);
  if (!parsed.ok()) return api->SendStatus(res, parsed.status(), param);
  ApiRequest r = std::move(*parsed);
  // Property order matters to a constrained output (it follows the schema's):
  // the schemas again from the text, in their written order.
  const ApiAdapter::SchemaPaths paths = api->Schemas();
  if (!r.json_schema.is_null() || (!r.forced_tool.empty() && r.tools.is_array())) {
    const auto ordered = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (ordered.is_object()) {
      const nlohmann::ordered_json::json_pointer schema(paths.schema);
      if (!r.json_schema.is_null() && !paths.schema.empty() && ordered.contains(schema)) r.json_schema = ordered[schema];
      const auto tools = ordered.find("tools");
      if (!paths.tool_params.empty() && tools != ordered.end() && tools->is_array() &&
          tools->size() == r.tools.size()) {
        const nlohmann::ordered_json::json_pointer params(paths.tool_params);
        for (size_t i = 0; i < tools->size(); ++i)
          if ((*tools)[i].is_object() && (*tools)[i].contains(params) && r.tools[i].is_object() &&
              r.tools[i].contains("function") && r.tools[i]["function"].is_object())
            r.tools[i]["function"]["parameters"] = (*tools)[i][params];
      }
    }
  }
  const std::string id = api->IdPrefix() + res.get_header_value("X-Request-Id");
  const bool stream = r.stream;
  const bool chat = r.chat;
  // Rendering the template stops when the client leaves or the server stops.
  auto gen = Generation::Start(ctx, std::move(r), id, [&ctx, conn] { return ctx.stopping.load() || conn.closed(); });
  if (!gen.ok()) {
    const bool prompt_error = gen.status().code() == StatusCode::kInvalidArgument;
    std::string field = prompt_error ? (chat ? "messages" : "prompt") : "";
    std::string msg = gen.status().message();
    const std::string openai_field = ApiAdapter::SchemaPaths{}.schema_field;
    if (!paths.schema_field.empty() && paths.schema_field != openai_field && msg.rfind("'" + openai_field, 0) == 0)  // in the API's own name
      msg = "'" + paths.schema_field + msg.substr(1 + openai_field.size());
    if (prompt_error && msg.size() > 2 && msg[0] == '\'' && msg.find('\'', 1) != std::string::npos)
      field = msg.substr(1, msg.find('\'', 1) - 1);  // a constraint's error names its field: 'response_format...'
    return api->SendStatus(res, prompt_error ? Status::InvalidArgument(msg) : gen.status(), field);
  }
  if (!stream) {
    InFlight in_flight(ctx);
    Generation& g = **gen;
    TextDelta all;
    while (!g.done()) {
      TextDelta d;
      const bool got = g.Next(&d, kPoll);
      if (!g.done() && conn.closed()) {
        g.Cancel();
        return api->SendError(res, kClientClosedRequest, "the client closed the connection", "", "client_closed");
      }
      if (!got) continue;
      all.reasoning += d.reasoning;
      all.content += d.content;
      for (auto& lp : d.logprobs) all.logprobs.push_back(std::move(lp));
    }
    if (!g.error().ok()) return api->SendStatus(res, g.error());
    res.set_content(Dump(api->Response(g, all)), "application/json");
    return;
  }
  auto state = std::make_shared<StreamState>(conn);
  state->gen = std::move(*gen);
  const char* type = api->StreamType();
  state->api = std::move(api);
  record.streamed = true;
  state->in_flight = std::make_unique<InFlight>(ctx);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      type, [state](size_t, httplib::DataSink& sink) { return Pump(*state, sink); },
      [state, &ctx, endpoint](bool) {
        // Not finished: the client went away, or the server is stopping.
        if (!state->finished) state->gen->Cancel();
        const int status = state->finished ? 200 : kClientClosedRequest;
        ctx.metrics.Request(endpoint, status);
        ThisRequestLog().final_status = status;
        state->in_flight.reset();
      });
}

}  // namespace

void RegisterGenerateRoutes(httplib::Server& http, ServerContext& ctx) {
  using Factory = std::unique_ptr<ApiAdapter> (*)();
  struct Route {
    const char* path;
    const char* endpoint;  // the metrics' name
    Factory make;
  };
  static const Route kRoutes[] = {
      // Paths some clients use without the /v1 prefix too.
      {"/v1/chat/completions", "/v1/chat/completions", [] { return MakeOpenAiAdapter(true); }},
      {"/chat/completions", "/v1/chat/completions", [] { return MakeOpenAiAdapter(true); }},
      {"/v1/completions", "/v1/completions", [] { return MakeOpenAiAdapter(false); }},
      {"/completions", "/v1/completions", [] { return MakeOpenAiAdapter(false); }},
      {"/v1/responses", "/v1/responses", [] { return MakeResponsesAdapter(); }},
      {"/v1/messages", "/v1/messages", [] { return MakeAnthropicAdapter(); }},
      {"/api/chat", "/api/chat", [] { return MakeOllamaAdapter(true); }},
      {"/api/generate", "/api/generate", [] { return MakeOllamaAdapter(false); }},
  };
  for (const Route& route : kRoutes) {
    const Route* r = &route;
    http.Post(r->path, [&ctx, r](const httplib::Request& req, httplib::Response& res,
                                 const httplib::ContentReader& reader) {
      Handle(ctx, req, res, reader, r->endpoint, r->make());
    });
  }
}

}  // namespace r1::server
