#include "server/server.h"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

namespace r1::server {

Server::Server(const ServerOptions& opts) {
  ctx_.opts = opts;
  std::string id = opts.model_alias;
  if (id.empty()) {
    id = opts.model_path.substr(opts.model_path.find_last_of('/') + 1);
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
    res.set_header("X-Request-Id", fmt::format("req-{}", ctx_.next_id.fetch_add(1)));
    const std::string& key = ctx_.opts.api_key;
    if (key.empty() || req.path == "/health") return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + key) return httplib::Server::HandlerResponse::Unhandled;
    SendError(res, 401, "Incorrect API key provided. Send it as 'Authorization: Bearer <key>'.", "",
              "invalid_api_key");
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
    http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "r1 serve: %s %s %s -> %d (%zu bytes in, %s)\n",
                   res.get_header_value("X-Request-Id").c_str(), req.method.c_str(), req.path.c_str(), res.status,
                   req.body.size(), res.is_chunked_content_provider_ ? "streamed" : "buffered");
    });
  RegisterInfoRoutes(http_, ctx_);
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
  listener_ = std::thread([this] { http_.listen_after_bind(); });
  return Status::Ok();
}

Status Server::Load() {
  const ServerOptions& o = ctx_.opts;
  EngineOptions eo;
  eo.model_path = o.model_path;
  eo.threads = o.threads;
  eo.block_size = 16;
  eo.kv_type = o.kv_type;
  eo.repack = o.repack;
  // Read the model's trained context first to size the pool.
  auto file = gguf::File::Open(o.model_path);
  if (!file.ok()) return file.status();
  LoadOptions info_only;
  info_only.repack = false;
  auto model = LoadModel(**file, info_only);
  if (!model.ok()) return model.status();
  int64_t ctx = o.ctx_size > 0 ? o.ctx_size : std::min<int64_t>((*model)->info().n_ctx_train, 4096);
  if (ctx <= 0) ctx = 4096;
  model->reset();
  eo.ctx_size = o.kv_tokens > 0 ? o.kv_tokens : ctx * o.parallel;
  auto engine = Engine::Load(eo);
  if (!engine.ok()) return engine.status();
  ctx_.engine = std::move(*engine);
  auto tok = Tokenizer::FromGguf(ctx_.engine->file());
  if (!tok.ok()) return tok.status().WithContext("tokenizer");
  ctx_.tokenizer = std::move(*tok);
  const Tokenizer& t = *ctx_.tokenizer;
  if (!t.chat_template().empty()) {
    auto tmpl = chat::ChatTemplate::Parse(t.chat_template());
    if (tmpl.ok()) {
      ctx_.chat_template = std::move(*tmpl);
    } else {
      std::fprintf(stderr, "r1 serve: the model's chat template does not parse (%s); using the built-in R1 format\n",
                   tmpl.status().ToString().c_str());
    }
  }
  if (!ctx_.chat_template) ctx_.chat_template = chat::ChatTemplate::DefaultR1();
  ctx_.think_start = t.FindToken("<think>").value_or(-1);
  ctx_.think_end = t.FindToken("</think>").value_or(-1);
  if (t.eos_id() >= 0) ctx_.stop_tokens.push_back(t.eos_id());
  if (t.eot_id() && *t.eot_id() != t.eos_id()) ctx_.stop_tokens.push_back(*t.eot_id());
  SchedulerOptions so;
  so.max_seqs = o.parallel;
  so.ctx_size = ctx;
  so.max_batch_tokens = o.batch_size;
  so.max_queue = o.max_queue;
  so.prefix_cache = o.prefix_cache;
  ctx_.scheduler = std::make_unique<Scheduler>(ctx_.engine->model(), ctx_.engine->cache(), ctx_.engine->pool(), so);
  ctx_.scheduler->Start();
  std::fprintf(stderr, "r1 serve: model '%s' ready: %d sequences × %lld tokens, KV pool %lld tokens\n",
               ctx_.model_id.c_str(), o.parallel, static_cast<long long>(ctx), static_cast<long long>(eo.ctx_size));
  ctx_.ready = true;
  return Status::Ok();
}

Status Server::Run() {
  std::fprintf(stderr, "r1 serve: listening on http://%s:%d\n", ctx_.opts.host.c_str(), port_);
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
  ctx_.scheduler->Shutdown(std::chrono::steady_clock::now() + grace);
  // Let the handlers write their last events.
  for (int i = 0; i < 200 && ctx_.in_flight.load() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  http_.stop();
  if (listener_.joinable()) listener_.join();
  std::fprintf(stderr, "r1 serve: stopped\n");
  return Status::Ok();
}

void Server::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

}  // namespace r1::server
