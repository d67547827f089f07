// GET /health, /v1/models, /metrics; the shared error helpers.
#include <unistd.h>

#include <ctime>
#include <fstream>

#include "server/context.h"

namespace r1::server {

std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

void SendError(httplib::Response& res, int http_status, const std::string& message, const std::string& param,
               const std::string& code) {
  const char* type = http_status == 401   ? "authentication_error"
                     : http_status == 429 ? "rate_limit_error"
                     : http_status >= 500 ? "server_error"
                                          : "invalid_request_error";
  nlohmann::json err = {{"message", message},
                        {"type", type},
                        {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                        {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}};
  res.status = http_status;
  res.set_content(Dump({{"error", err}}), "application/json");
}

void SendStatus(httplib::Response& res, const Status& st, const std::string& param) {
  const int http = HttpStatusFor(st.code());
  if (http == 429) res.set_header("Retry-After", "1");
  if (http == 503) res.set_header("Retry-After", "5");
  SendError(res, http, st.message(), param, StatusCodeName(st.code()));
}

namespace {

// Resident set size from /proc/self/statm (second field, in pages); 0 elsewhere.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<int64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

void RegisterInfoRoutes(httplib::Server& http, ServerContext& ctx) {
  http.Get("/health", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.stopping) return SendError(res, 503, "shutting down", "", "unavailable");
    if (!ctx.ready) return SendError(res, 503, "loading the model", "", "loading");
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    static const int64_t created = static_cast<int64_t>(std::time(nullptr));
    nlohmann::json m = {{"id", ctx.model_id}, {"object", "model"}, {"created", created}, {"owned_by", "r1.cpp"}};
    if (ctx.ready) {
      const ModelInfo& info = ctx.engine->info();
      m["meta"] = {{"arch", info.arch},
                   {"n_vocab", info.n_vocab},
                   {"n_ctx", ctx.engine->scheduler().options().ctx_size},
                   {"n_ctx_train", info.n_ctx_train}};
    }
    res.set_content(Dump({{"object", "list"}, {"data", {m}}}), "application/json");
  });
  http.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    SchedulerStats s;
    if (ctx.ready) s = ctx.engine->scheduler().stats();
    std::string text = ctx.metrics.Render(s);
    text += "# HELP r1_ready Whether the model is loaded.\n# TYPE r1_ready gauge\nr1_ready ";
    text += ctx.ready ? "1\n" : "0\n";
    text += "# HELP r1_http_in_flight Generation requests being served.\n# TYPE r1_http_in_flight gauge\n";
    text += "r1_http_in_flight " + std::to_string(ctx.in_flight.load()) + "\n";
    text += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
            "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ";
    text += std::to_string(ResidentBytes()) + "\n";
    res.set_content(text, "text/plain; version=0.0.4");
  });
}

}  // namespace r1::server
