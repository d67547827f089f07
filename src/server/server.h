// `r1 serve`: an OpenAI-compatible HTTP server over the continuous-batching
// scheduler.
//
//   Server s(opts);
//   R1_RETURN_IF_ERROR(s.Bind());   // port() is known from here on
//   std::thread t([&] { s.Run(); }); // loads the model, then serves
//   ... s.Shutdown();                // from a signal-watching thread
//
// GET /health answers 503 until the model is loaded. Shutdown stops taking
// requests (503), gives in-flight ones shutdown_grace_s to finish, cancels
// the rest, and stops listening; Run then returns.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "server/context.h"

namespace r1::server {

class Server {
 public:
  explicit Server(const ServerOptions& opts);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Status Bind();
  int port() const { return port_; }
  Status Run();
  void Shutdown();

 private:
  Status Load();
  void Configure();
  void MarkIdle(const httplib::Request& req);  // a request was answered (the logger)

  ServerContext ctx_;
  httplib::Server http_;
  int port_ = 0;
  std::thread listener_;
  std::unique_ptr<ConnectionWatchdog> watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool shutdown_ = false;  // GUARDED_BY(mu_)
};

}  // namespace r1::server
