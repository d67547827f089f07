#include "server/server.h"

#include "server/api_adapter.h"

#include <cctype>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "server/request_log.h"

namespace r1::server {

// The credentials of "Authorization: Bearer <token>"; the scheme is
// case-insensitive (RFC 9110 §11.1), so "bearer" works too.
std::string BearerToken(const std::string& header) {
  static constexpr char kScheme[] = "bearer ";
  if (header.size() < sizeof kScheme - 1) return "";
  for (size_t i = 0; i + 1 < sizeof kScheme; ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return "";
  size_t b = sizeof kScheme - 1;
  while (b < header.size() && header[b] == ' ') ++b;
  return header.substr(b);
}

Server::Server(const ServerOptions& opts) {
  ctx_.opts = opts;
  std::string id = opts.model_alias;
  if (id.empty()) {
    id = opts.engine.model_path.substr(opts.engine.model_path.find_last_of('/') + 1);
    if (id.size() > 5 && id.ends_with(".gguf")) id.resize(id.size() - 5);
  }
  ctx_.model_id = id;
  Configure();
}

Server::~Server() {
  Shutdown();
  if (listener_.joinable()) {
    http_.stop();
    listener_.join();
  }
}

void Server::Configure() {
  const ServerOptions& o = ctx_.opts;
  // Every streaming client holds a worker thread; leave room for queued and
  // idle keep-alive connections too.
  const size_t workers = static_cast<size_t>(std::max<int64_t>(64, 2 * (o.parallel + o.max_queue) + 16));
  http_.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  http_.set_payload_max_length(o.max_body_bytes);
  http_.set_read_timeout(o.read_timeout_s, 0);
  http_.set_write_timeout(o.read_timeout_s, 0);
  http_.set_keep_alive_timeout(5);

  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    ThisRequestLog() = RequestLogInfo{};
    res.set_header("X-Request-Id", fmt::format("req-{}", ctx_.next_id.fetch_add(1)));
    const std::string& key = ctx_.opts.api_key;
    // The web chat's page is public: it asks for the key and sends it with its API calls.
    if (key.empty() || req.path == "/health" || (req.method == "GET" && IsWebUiPath(req.path)))
      return httplib::Server::HandlerResponse::Unhandled;
    // Bearer (OpenAI, Ollama clients) or x-api-key (Anthropic's SDK).
    if (BearerToken(req.get_header_value("Authorization")) == key || req.get_header_value("x-api-key") == key)
      return httplib::Server::HandlerResponse::Unhandled;
    const std::string msg = "Incorrect API key provided. Send it as 'Authorization: Bearer <key>' or 'x-api-key: <key>'.";
    AdapterForPath(req.path)->SendError(res, 401, msg, "", "invalid_api_key");  // each API's own error shape
    return httplib::Server::HandlerResponse::Handled;
  });
  http_.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) SendError(res, 404, "no route for " + req.method + " " + req.path, "", "not_found");
    if (res.status == 413) SendError(res, 413, "the request body is too large", "", "payload_too_large");
    if (res.status == 400) SendError(res, 400, "malformed HTTP request");
  });
  http_.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    SendError(res, 500, what, "", "internal_error");
  });
  if (o.log_requests)
    http_.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const RequestLogInfo& info = ThisRequestLog();
      MarkIdle(req);
      const int status = info.final_status ? info.final_status : res.status;
      std::fprintf(stderr, "r1 serve: %s %s %s -> %d%s (%zu bytes in, %s)\n",
                   res.get_header_value("X-Request-Id").c_str(), req.method.c_str(), req.path.c_str(), status,
                   status == 499 ? " client left" : "", std::max(req.body.size(), info.body_bytes),
                   res.is_chunked_content_provider_ ? "streamed" : "buffered");
      ThisRequestLog() = RequestLogInfo{};  // a malformed next request never reaches the pre-routing reset
    });
  if (!o.log_requests)
    http_.set_logger([this](const httplib::Request& req, const httplib::Response&) { MarkIdle(req); });
  RegisterInfoRoutes(http_, ctx_);
  RegisterWebUiRoutes(http_);
  RegisterGenerateRoutes(http_, ctx_);
}

Status Server::Bind() {
  const ServerOptions& o = ctx_.opts;
  if (o.port == 0) {
    port_ = http_.bind_to_any_port(o.host);
  } else {
    port_ = http_.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  if (port_ <= 0) return Status::Unavailable(fmt::format("cannot listen on {}:{}", o.host, o.port));
  watchdog_ = std::make_unique<ConnectionWatchdog>(port_, std::chrono::seconds(o.header_timeout_s));
  ctx_.watchdog = watchdog_.get();
  listener_ = std::thread([this] { http_.listen_after_bind(); });
  return Status::Ok();
}

Status Server::Load() {
  const ServerOptions& o = ctx_.opts;
  EngineOptions eo = o.engine;
  eo.n_seqs = o.parallel;
  eo.max_queue = o.max_queue;
  eo.prefix_cache = o.prefix_cache;
  auto engine = Engine::Load(eo);  // the one read of the model file
  if (!engine.ok()) return engine.status();
  ctx_.engine = std::move(*engine);
  const SchedulerOptions& so = ctx_.engine->scheduler().options();
  std::fprintf(stderr, "r1 serve: model '%s' ready: %d sequences × %lld tokens, KV pool %lld tokens\n",
               ctx_.model_id.c_str(), so.max_seqs, static_cast<long long>(so.ctx_size),
               static_cast<long long>(ctx_.engine->cache().blocks_total() * ctx_.engine->cache().config().block_size));
  ctx_.ready = true;
  return Status::Ok();
}

Status Server::Run() {
  if (port_ > 0) std::fprintf(stderr, "r1 serve: listening on http://%s:%d\n", ctx_.opts.host.c_str(), port_);
  Status st = Load();
  if (!st.ok()) {
    http_.stop();
    if (listener_.joinable()) listener_.join();
    return st;
  }
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return shutdown_; });
  }
  std::fprintf(stderr, "r1 serve: shutting down: %lld request(s) in flight\n",
               static_cast<long long>(ctx_.in_flight.load()));
  ctx_.stopping = true;
  const auto grace = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(ctx_.opts.shutdown_grace_s));
  if (watchdog_) watchdog_->CloseIdle();  // idle and slow connections go now; requests get the grace
  ctx_.engine->scheduler().Shutdown(std::chrono::steady_clock::now() + grace);
  // Let the handlers write their last events.
  for (int i = 0; i < 200 && ctx_.in_flight.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_.stop();
  if (listener_.joinable()) listener_.join();
  std::fprintf(stderr, "r1 serve: stopped\n");
  return Status::Ok();
}

void Server::MarkIdle(const httplib::Request& req) {
  if (!watchdog_) return;
  const int fd = ThisRequestLog().fd;
  watchdog_->Idle(fd >= 0 ? fd : ClientConnection(req).fd());  // its next request gets a new header deadline
}

void Server::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

}  // namespace r1::server
