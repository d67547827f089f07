// POST /v1/chat/completions and /v1/completions, streaming (SSE) or not.
//
// A streaming response is a chunked text/event-stream: "data: {chunk}\n\n"
// per update, a last chunk with finish_reason, a usage chunk when
// stream_options.include_usage, then "data: [DONE]". While no token comes,
// an SSE comment is sent every second; a write that fails, or the socket
// closing (ClientConnection), means the client went away, and its request
// is cancelled (the scheduler frees its sequence and KV blocks at the next
// step). A non-streaming handler writes nothing until the end, so it watches
// the socket alone.
#include <chrono>

#include "server/connection.h"
#include "server/generation.h"
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
  explicit StreamState(const httplib::Request& req) : conn(req) {}
  ClientConnection conn;
  std::unique_ptr<Generation> gen;
  std::unique_ptr<InFlight> in_flight;
  bool sent_first = false;
  bool finished = false;
  int idle_polls = 0;
};

bool WriteEvent(httplib::DataSink& sink, const std::string& data) {
  const std::string ev = "data: " + data + "\n\n";
  return sink.write(ev.data(), ev.size());
}

// One call of the chunked content provider: waits for output and writes it.
// Returns false when the client is gone.
bool Pump(StreamState& s, httplib::DataSink& sink) {
  Generation& g = *s.gen;
  if (!s.sent_first) {
    s.sent_first = true;
    return WriteEvent(sink, Dump(g.Chunk(TextDelta{}, true)));
  }
  TextDelta d;
  if (!g.Next(&d, kPoll)) {
    if (s.conn.closed()) return false;
    if (++s.idle_polls < kPollsPerPing) return true;
    s.idle_polls = 0;
    static const char kPing[] = ": ping\n\n";
    return sink.write(kPing, sizeof kPing - 1);
  }
  s.idle_polls = 0;
  if (!d.reasoning.empty() || !d.content.empty() || !d.logprobs.empty())
    if (!WriteEvent(sink, Dump(g.Chunk(d, false)))) return false;
  if (!g.done()) return true;
  bool ok = true;
  if (!g.error().ok()) {
    json err = {{"error", {{"message", g.error().message()}, {"type", "server_error"}, {"code", "internal_error"}}}};
    ok = WriteEvent(sink, Dump(err));
  } else {
    ok = WriteEvent(sink, Dump(g.FinalChunk()));
    if (ok && g.request().include_usage) ok = WriteEvent(sink, Dump(g.UsageChunk()));
  }
  if (ok) ok = WriteEvent(sink, "[DONE]");
  s.finished = true;
  sink.done();
  return ok;
}

void Handle(ServerContext& ctx, const httplib::Request& req, httplib::Response& res, bool chat) {
  const std::string endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
  struct Record {
    ServerContext& ctx;
    const std::string& endpoint;
    httplib::Response& res;
    ~Record() { ctx.metrics.Request(endpoint, res.status < 0 ? 200 : res.status); }
  } record{ctx, endpoint, res};
  if (ctx.stopping) return SendStatus(res, Status::Unavailable("the server is shutting down"));
  if (!ctx.ready) return SendStatus(res, Status::Unavailable("the model is still loading"));
  auto body = ParseJson(req.body, "the request body");
  if (!body.ok()) return SendStatus(res, body.status());
  ApiRequest r;
  auto parsed = ParseApiRequest(*body, chat);
  if (!parsed.ok()) return SendStatus(res, parsed.status(), ErrorParam(parsed.status()));
  r = std::move(*parsed);
  const std::string id = (chat ? "chatcmpl-" : "cmpl-") + res.get_header_value("X-Request-Id");
  const bool stream = r.stream;
  // Rendering the template stops when the client leaves or the server stops.
  std::shared_ptr<const ClientConnection> conn_for_render = std::make_shared<const ClientConnection>(req);
  auto gen = Generation::Start(ctx, std::move(r), id,
                               [&ctx, conn_for_render] { return ctx.stopping.load() || conn_for_render->closed(); });
  if (!gen.ok()) {
    const bool prompt_error = gen.status().code() == StatusCode::kInvalidArgument;
    return SendStatus(res, gen.status(), prompt_error ? (chat ? "messages" : "prompt") : "");
  }
  if (!stream) {
    InFlight in_flight(ctx);
    Generation& g = **gen;
    const ClientConnection conn(req);
    TextDelta all;
    while (!g.done()) {
      TextDelta d;
      const bool got = g.Next(&d, kPoll);
      if (!g.done() && conn.closed()) {
        g.Cancel();
        return SendError(res, kClientClosedRequest, "the client closed the connection", "", "client_closed");
      }
      if (!got) continue;
      all.reasoning += d.reasoning;
      all.content += d.content;
      for (auto& lp : d.logprobs) all.logprobs.push_back(std::move(lp));
    }
    if (!g.error().ok()) return SendStatus(res, g.error());
    res.set_content(Dump(g.Response(all)), "application/json");
    return;
  }
  auto state = std::make_shared<StreamState>(req);
  state->gen = std::move(*gen);
  state->in_flight = std::make_unique<InFlight>(ctx);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [state](size_t, httplib::DataSink& sink) { return Pump(*state, sink); },
      [state](bool) {
        // Not finished: the client went away, or the server is stopping.
        if (!state->finished) state->gen->Cancel();
        state->in_flight.reset();
      });
}

}  // namespace

void RegisterGenerateRoutes(httplib::Server& http, ServerContext& ctx) {
  http.Post("/v1/chat/completions",
            [&ctx](const httplib::Request& req, httplib::Response& res) { Handle(ctx, req, res, true); });
  http.Post("/v1/completions",
            [&ctx](const httplib::Request& req, httplib::Response& res) { Handle(ctx, req, res, false); });
  // Paths some clients use without the /v1 prefix.
  http.Post("/chat/completions",
            [&ctx](const httplib::Request& req, httplib::Response& res) { Handle(ctx, req, res, true); });
  http.Post("/completions",
            [&ctx](const httplib::Request& req, httplib::Response& res) { Handle(ctx, req, res, false); });
}

}  // namespace r1::server
