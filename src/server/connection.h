// Whether the client of a request is still there.
//
// cpp-httplib 0.11.4 (Debian bookworm) has no Request::is_connection_closed()
// and hands handlers no socket. A handler that answers with one buffered
// body writes nothing until the end, so without this a client that went
// away would keep its sequence (and KV blocks) until the generation ended.
//
// The handler's socket is found once, among the process's open descriptors,
// by the address pair the Request carries (the socket stays open while the
// handler runs, so the descriptor cannot be reused meanwhile). closed() then
// polls it: readable with a zero-byte peek (orderly close) or an error
// (reset) means the client is gone; pipelined bytes of a next request do not.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace r1::server {

class ClientConnection {
 public:
  explicit ClientConnection(const httplib::Request& req);
  // False as well when the socket could not be identified.
  bool closed() const;
  bool found() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// The connection deadlines cpp-httplib 0.11.4 lacks. Its read timeout
// restarts with every byte, so a client that sends one header byte every
// 2 s holds a worker thread for ever, and keeps the process alive after
// SIGTERM. A watchdog thread looks at the process's sockets on the server's
// port every 200 ms. A connection that is not inside a request (from its
// parsed headers to its logged response) gets header_timeout, counted from
// its accept or from the end of its last request; then the watchdog shuts
// the socket down, and the worker blocked on it returns. CloseIdle (at
// shutdown) does that at once to every connection outside a request.
class ConnectionWatchdog {
 public:
  ConnectionWatchdog(int port, std::chrono::milliseconds header_timeout);
  ~ConnectionWatchdog();
  ConnectionWatchdog(const ConnectionWatchdog&) = delete;
  ConnectionWatchdog& operator=(const ConnectionWatchdog&) = delete;

  // fd's request has its headers / has been answered (fd < 0: ignored).
  void Busy(int fd);
  void Idle(int fd);
  // From now on no connection may wait outside a request.
  void CloseIdle();
  int64_t n_closed() const { return n_closed_.load(); }

 private:
  struct Conn {
    uint64_t inode = 0;
    std::chrono::steady_clock::time_point since;  // accept, or the end of the last request
    bool busy = false;
    bool shut = false;
  };
  void Loop();
  void Scan();

  const int port_;
  const std::chrono::milliseconds header_timeout_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;          // GUARDED_BY(mu_)
  bool close_idle_ = false;    // GUARDED_BY(mu_)
  std::unordered_map<int, Conn> conns_;  // GUARDED_BY(mu_), by descriptor
  std::atomic<int64_t> n_closed_{0};
  std::thread thread_;
};

}  // namespace r1::server
