// r1 serve: the OpenAI-compatible HTTP server (see src/server/server.h).
#include <malloc.h>
#include <pthread.h>
#include <signal.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "command.h"
#include "common.h"
#include "hub_cli.h"
#include "dist/transport.h"
#include "server/server.h"

namespace {

int Run(const r1::server::ServerOptions& o) {
  // SIGTERM/SIGINT go to one watcher thread (blocked everywhere else, so the
  // server's threads inherit the mask); SIGPIPE is ignored.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // glibc gives each thread that allocates its own arena; with a worker
  // thread per connection, large requests left RSS at ~1.1 GB. Two arenas
  // keep it flat at no measurable cost (the compute threads barely allocate).
  mallopt(M_ARENA_MAX, 2);

  r1::server::Server server(o);
  // Under mpirun --pipeline only rank 0 listens; the other ranks' engines
  // serve rank 0's forward passes (runtime/pipeline.h) and exit with the job.
  r1::Status st = r1::dist::LaunchedRank() > 0 ? r1::Status::Ok() : server.Bind();
  if (!st.ok()) return r1::cli::Fail(st);
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&set, &sig);
    std::fprintf(stderr, "r1 serve: got %s (again to stop at once)\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    // Under --pipeline mpirun sends SIGTERM when a rank dies: a forward pass
    // waiting on it gives up soon, failing its requests with the reason.
    r1::dist::RequestStop();
    server.Shutdown();
    sigwait(&set, &sig);
    std::fprintf(stderr, "r1 serve: got a second signal: stopping now\n");
    std::_Exit(128 + sig);
  });
  watcher.detach();  // it may still be waiting for a signal when we return
  st = server.Run();
  if (!st.ok()) return r1::cli::Fail(st);
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "serve", "OpenAI-compatible HTTP server with continuous batching and prefix caching",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<r1::server::ServerOptions>();
      app.add_option("-m,--model,model", o->engine.model_path, "GGUF model, or a Hub reference: ORG/NAME[:QUANT], deepseek-r1:7b (pulled when not cached)")->transform(r1::cli::ModelSource())->required();
      app.add_option("--host", o->host, "Address to listen on (loopback by default)")->capture_default_str();
      app.add_option("--port", o->port, "Port (0: any free port)")->capture_default_str()->check(CLI::Range(0, 65535));
      auto* key = app.add_option("--api-key", o->api_key,
                                 "Require 'Authorization: Bearer <key>' (also R1_API_KEY; ps shows a command line)")
                      ->envname("R1_API_KEY");
      app.add_option_function<std::string>(
             "--api-key-file",
             [o](const std::string& path) {
               std::ifstream in(path);
               std::getline(in, o->api_key);
               while (!o->api_key.empty() && std::isspace(static_cast<unsigned char>(o->api_key.back())))
                 o->api_key.pop_back();
             },
             "Read the API key from the first line of FILE")
          ->check(CLI::ExistingFile)
          ->excludes(key);
      app.add_option("--alias", o->model_alias, "Model id reported by /v1/models (default: file name)");
      app.add_option("--parallel,--np", o->parallel, "Concurrent sequences")->capture_default_str()->check(CLI::Range(1, 1024));
      app.add_option("-c,--ctx-size", o->engine.ctx_size, "Tokens per sequence (0: min(trained, 4096))")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
      app.add_option("--kv-tokens", o->engine.kv_tokens, "KV cache tokens over all sequences (0: ctx-size × parallel)")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
      app.add_option("-b,--batch-size", o->engine.batch_size, "Tokens per forward pass (prefill chunk)")
          ->capture_default_str()
          ->check(CLI::Range(1, 65536));
      app.add_option("-t,--threads", o->engine.threads, "Threads (0: physical cores)")
          ->capture_default_str()
          ->check(CLI::Range(0, r1::cli::kMaxThreads));
      r1::cli::AddKvTypeOption(app, &o->engine.kv_type);
      r1::cli::AddLoadOptions(app, &o->engine.load);
      r1::cli::AddSpecOptions(app, &o->engine);
      app.add_option("--tool-format", o->tool_format,
                     "How the model writes tool calls: r1, v3.1, hermes, llama3, none (default: from the chat template)")
          ->check(CLI::IsMember({"r1", "v3.1", "hermes", "llama3", "none"}));
      app.add_option("--max-queue", o->max_queue, "Waiting requests before 429")
          ->capture_default_str()
          ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
      app.add_option("--max-body", o->max_body_bytes, "Largest request body in bytes")
          ->capture_default_str()
          ->check(CLI::Range(size_t{1024}, size_t{1} << 32));
      app.add_option("--read-timeout", o->read_timeout_s, "Seconds a client may stay silent")
          ->capture_default_str()
          ->check(CLI::Range(1, 3600));
      app.add_option("--header-timeout", o->header_timeout_s,
                     "Seconds a connection may take to send a request's headers, and to wait for the next one")
          ->capture_default_str()
          ->check(CLI::Range(1, 3600));
      app.add_option("--body-timeout", o->body_timeout_s, "Seconds a client may take to send a request body")
          ->capture_default_str()
          ->check(CLI::Range(1, 3600));
      app.add_option("--shutdown-grace", o->shutdown_grace_s, "Seconds in-flight requests get on SIGTERM")
          ->capture_default_str()
          ->check(CLI::Range(0.0, 3600.0));
      app.add_flag("!--no-prefix-cache", o->prefix_cache, "Disable prefix caching");
      app.add_flag("!--no-log", o->log_requests, "Do not log requests");
      app.add_flag("--special-in-messages", o->special_in_messages,
                   "Parse special-token text written inside chat messages (by default it is encoded as plain "
                   "text, so a user cannot forge turns)");
      return [o] { return Run(*o); };
    });

}  // namespace
