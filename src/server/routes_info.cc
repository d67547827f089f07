// GET /health, /v1/models, /metrics; the shared error helpers.
#include <unistd.h>

#include <ctime>
#include <fstream>

#include <cstdio>
#include <map>

#include "r1/json.h"
#include "server/api_adapter.h"
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

// What Ollama's /api/tags, /api/show and /api/ps report about the model.
nlohmann::ordered_json OllamaDetails(const ServerContext& ctx) {
  const gguf::File& f = ctx.engine->file();
  int64_t params = 0;
  std::map<std::string, uint64_t> bytes_by_type;
  for (const gguf::TensorInfo& t : f.tensors()) {
    params += t.n_elements();
    if (t.ne.size() >= 2) bytes_by_type[GgmlTypeName(t.type)] += t.nbytes;
  }
  std::string quant = "unknown";
  uint64_t most = 0;
  for (const auto& [type, n] : bytes_by_type)
    if (n > most) most = n, quant = type;
  char size[32];
  if (params >= 1000000000) {
    std::snprintf(size, sizeof size, "%.1fB", static_cast<double>(params) / 1e9);
  } else {
    std::snprintf(size, sizeof size, "%.1fM", static_cast<double>(params) / 1e6);
  }
  const std::string arch = ctx.engine->info().arch;
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", arch},
          {"families", {arch}},
          {"parameter_size", size},
          {"quantization_level", quant}};
}

nlohmann::ordered_json OllamaModel(const ServerContext& ctx) {
  static const std::string modified = Rfc3339Now();
  return {{"name", ctx.model_id},
          {"model", ctx.model_id},
          {"modified_at", modified},
          {"size", ctx.engine->file().file_size()},
          {"digest", ""},
          {"details", OllamaDetails(ctx)}};
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
  // Ollama's model routes, for clients that list or inspect models first.
  http.Get("/api/version", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"version":"0.12.0"})", "application/json");  // the Ollama API level these routes follow
  });
  http.Get("/api/tags", [&ctx](const httplib::Request&, httplib::Response& res) {
    nlohmann::ordered_json models = nlohmann::ordered_json::array();
    if (ctx.ready) models.push_back(OllamaModel(ctx));
    res.set_content(Dump({{"models", models}}), "application/json");
  });
  http.Get("/api/ps", [&ctx](const httplib::Request&, httplib::Response& res) {
    nlohmann::ordered_json models = nlohmann::ordered_json::array();
    if (ctx.ready) {
      nlohmann::ordered_json m = OllamaModel(ctx);
      m["expires_at"] = "2100-01-01T00:00:00Z";  // loaded for the server's lifetime
      m["size_vram"] = 0;
      models.push_back(m);
    }
    res.set_content(Dump({{"models", models}}), "application/json");
  });
  http.Post("/api/show", [&ctx](const httplib::Request& req, httplib::Response& res) {
    auto body = ParseJson(req.body, "the request body");
    const auto ollama = MakeOllamaAdapter(false);
    const auto ollama_error = [&](int status, const std::string& msg) { ollama->SendError(res, status, msg); };
    if (!body.ok() || !body->is_object()) return ollama_error(400, body.ok() ? "the body must be a JSON object" : body.status().message());
    const std::string name = body->value("model", body->value("name", ""));
    if (!ctx.ready) return ollama_error(503, "the model is still loading");
    if (!name.empty() && name != ctx.model_id && name != ctx.model_id + ":latest")
      return ollama_error(404, "model '" + name + "' not found (this server has '" + ctx.model_id + "')");
    const ModelInfo& info = ctx.engine->info();
    nlohmann::ordered_json caps = {"completion"};
    if (ctx.thinks()) caps.push_back("thinking");
    if (ctx.engine->chat_template().source().find("tool") != std::string::npos) caps.push_back("tools");
    const std::string a = info.arch + ".";
    res.set_content(Dump({{"modelfile", "FROM " + ctx.engine->options().model_path + "\n"},
                          {"parameters", ""},
                          {"template", ctx.engine->chat_template().source()},
                          {"details", OllamaDetails(ctx)},
                          {"model_info",
                           {{"general.architecture", info.arch},
                            {a + "context_length", info.n_ctx_train},
                            {a + "embedding_length", info.n_embd},
                            {a + "block_count", info.n_layer},
                            {"general.vocab_size", info.n_vocab}}},
                          {"capabilities", caps}}),
                    "application/json");
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
