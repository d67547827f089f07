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

namespace r1::server {

class ClientConnection {
 public:
  explicit ClientConnection(const httplib::Request& req);
  // False as well when the socket could not be identified.
  bool closed() const;
  bool found() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace r1::server
