// What the HTTP routes share: the loaded model, its tokenizer and chat
// template, the scheduler and the metrics. Routes live in routes_*.cc and
// know the scheduler only through its public API.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

// Debian ships cpp-httplib as a compiled library (linked through pkg-config),
// so its compile-time knobs are fixed there. It sends without MSG_NOSIGNAL:
// processes that write to clients ignore SIGPIPE (tools/r1/cmd_serve.cc), so
// a write to a client that went away fails with EPIPE instead.
#include <httplib.h>

#include "runtime/engine.h"
#include "server/connection.h"
#include "runtime/scheduler.h"
#include "server/api_request.h"
#include "server/metrics.h"

namespace r1::server {

struct ServerOptions {
  // The model and how it runs (-m, -t, -c, --kv-tokens, -b, --kv-type,
  // --no-repack); n_seqs, max_queue and prefix_cache come from the fields below.
  EngineOptions engine = [] {
    EngineOptions e;
    e.batch_size = 256;
    return e;
  }();
  std::string model_alias;       // the id /v1/models reports; default: the file name
  std::string host = "127.0.0.1";
  int port = 8080;               // 0 picks a free port
  std::string api_key;           // empty: no authentication
  int parallel = 4;              // concurrent sequences
  int64_t max_queue = 64;        // waiting requests before 429
  size_t max_body_bytes = 8u << 20;
  int read_timeout_s = 10;       // a client that sends nothing this long is dropped
  int header_timeout_s = 10;     // a connection gets this long for a request's headers (and between requests)
  int body_timeout_s = 60;       // and this long for its body
  double shutdown_grace_s = 10;  // SIGTERM: in-flight requests get this long to finish
  bool prefix_cache = true;
  bool log_requests = true;
  bool special_in_messages = false;  // parse special-token text inside chat messages (PromptInput)
  std::string tool_format;           // --tool-format: r1, v3.1, hermes, llama3, none; "" = from the template
};

struct ServerContext {
  ServerOptions opts;
  std::string model_id;
  std::atomic<bool> ready{false};     // the model is loaded
  std::atomic<bool> stopping{false};  // shutting down: no new requests
  std::atomic<int64_t> in_flight{0};  // generation handlers running
  std::atomic<int64_t> next_id{1};
  std::unique_ptr<Engine> engine;     // the model, tokenizer, template and scheduler
  ConnectionWatchdog* watchdog = nullptr;  // connection deadlines (Server::Bind)
  Metrics metrics;
  // Whether chat output has a reasoning channel (the model has </think>).
  bool thinks() const { return engine->scheduler().options().thinking.enabled(); }
};

// An OpenAI-style error: {"error": {"message", "type", "param", "code"}}.
void SendError(httplib::Response& res, int http_status, const std::string& message, const std::string& param = "",
               const std::string& code = "");
void SendStatus(httplib::Response& res, const Status& st, const std::string& param = "");
// JSON text; invalid UTF-8 (a partial character in a token) becomes U+FFFD.
std::string Dump(const nlohmann::json& j);

void RegisterInfoRoutes(httplib::Server& http, ServerContext& ctx);
void RegisterWebUiRoutes(httplib::Server& http);
bool IsWebUiPath(const std::string& path);  // the web chat's public pages
void RegisterGenerateRoutes(httplib::Server& http, ServerContext& ctx);

}  // namespace r1::server
