// The HTTP the hub needs, over libcurl: a GET of a small JSON body, and a
// ranged download written straight into a file at its offset.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>

#include "hub/hub.h"

namespace r1::hub::internal {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names, of the final response
};

// GET `url` (redirects followed, HF_TOKEN sent); Unavailable for transport
// errors (the message names the host and curl's reason). The body is capped
// at `max_body` bytes (OutOfRange past it).
StatusOr<HttpResponse> Get(const Config& cfg, const std::string& url, int64_t max_body);

struct RangeResult {
  Status status;
  bool retriable = false;  // a transport error or 5xx: resuming may succeed
};

// Fetches bytes [*pos, end) of `url` into `fd` at their own offsets, advancing
// *pos as bytes are written. `total` is the whole file's size: the server must
// answer 206 with that range, or 200 when the range is the whole file.
// Stops early (Cancelled) when *cancel becomes true.
RangeResult FetchRange(const Config& cfg, const std::string& url, int fd, std::atomic<int64_t>* pos, int64_t end,
                       int64_t total, const std::atomic<bool>* cancel);

// "huggingface.co" of "https://huggingface.co/..." (for messages).
std::string HostOf(const std::string& url);

}  // namespace r1::hub::internal
