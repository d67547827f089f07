// What the request log line needs that httplib's Request/Response do not
// carry: the body size (the generation routes read the body themselves) and
// the status a stream really ended with. httplib runs the pre-routing
// handler, the route, the streamed writes and the logger of one request on
// the same worker thread, so this is thread-local, reset per request.
#pragma once

#include <cstddef>

namespace r1::server {

struct RequestLogInfo {
  int fd = -1;  // the connection's socket, when a handler identified it
  size_t body_bytes = 0;
  int final_status = 0;  // nonzero: what the stream ended with (499: the client left)
};

inline RequestLogInfo& ThisRequestLog() {
  thread_local RequestLogInfo info;
  return info;
}

}  // namespace r1::server
