#include "hub/http.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>

namespace r1::hub::internal {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Easy {
  CURL* h = nullptr;
  curl_slist* headers = nullptr;
  Easy() {
    GlobalInit();
    h = curl_easy_init();
  }
  ~Easy() {
    if (headers) curl_slist_free_all(headers);
    if (h) curl_easy_cleanup(h);
  }
  Easy(const Easy&) = delete;
  Easy& operator=(const Easy&) = delete;
};

void Common(Easy& e, const Config& cfg, const std::string& url) {
  curl_easy_setopt(e.h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(e.h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e.h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e.h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e.h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(cfg.connect_timeout_s));
  // A stall: under one byte per second for stall_timeout_s.
  curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(e.h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(cfg.stall_timeout_s));
  curl_easy_setopt(e.h, CURLOPT_USERAGENT, "r1.cpp/0.1 (libcurl)");
  curl_easy_setopt(e.h, CURLOPT_ACCEPT_ENCODING, "");  // JSON may come compressed; LFS blobs do not
  // The token goes to the Hub only: curl drops a custom Authorization header
  // when a redirect leaves the original host (the CDN needs none).
  if (!cfg.token.empty()) e.headers = curl_slist_append(e.headers, ("Authorization: Bearer " + cfg.token).c_str());
  if (e.headers) curl_easy_setopt(e.h, CURLOPT_HTTPHEADER, e.headers);
}

struct GetState {
  HttpResponse* r;
  int64_t max_body;
  bool too_big = false;
};

size_t BodyCb(char* p, size_t size, size_t n, void* ud) {
  auto* st = static_cast<GetState*>(ud);
  size_t len = size * n;
  if (static_cast<int64_t>(st->r->body.size() + len) > st->max_body) {
    st->too_big = true;
    return 0;
  }
  st->r->body.append(p, len);
  return len;
}

size_t HeaderCb(char* p, size_t size, size_t n, void* ud) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(ud);
  std::string line(p, size * n);
  if (line.rfind("HTTP/", 0) == 0) headers->clear();  // a redirect's headers are not the final ones
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.pop_back();
    (*headers)[name] = value;
  }
  return size * n;
}

std::string CurlReason(CURLcode c, const char* errbuf) {
  std::string s = errbuf && *errbuf ? errbuf : curl_easy_strerror(c);
  return s;
}

struct RangeState {
  int fd = -1;
  std::atomic<int64_t>* pos = nullptr;
  int64_t end = 0;
  int64_t total = 0;
  int64_t first = 0;  // the range's first byte
  CURL* h = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool checked = false;
  long status = 0;
  std::string error_body;
  int write_errno = 0;
  std::string protocol_error;
};

size_t RangeCb(char* p, size_t size, size_t n, void* ud) {
  auto* st = static_cast<RangeState*>(ud);
  size_t len = size * n;
  if (!st->checked) {
    curl_easy_getinfo(st->h, CURLINFO_RESPONSE_CODE, &st->status);
    st->checked = true;
  }
  if (st->status >= 400) {  // keep a little of the error body for the message
    if (st->error_body.size() < 300) st->error_body.append(p, std::min<size_t>(len, 300 - st->error_body.size()));
    return len;
  }
  bool whole = st->first == 0 && st->end == st->total;
  if (st->status != 206 && !(st->status == 200 && whole)) {
    st->protocol_error = "the server answered " + std::to_string(st->status) + " to a Range request";
    return 0;
  }
  int64_t at = st->pos->load();
  if (at + static_cast<int64_t>(len) > st->end) {
    st->protocol_error = "the server sent more bytes than the range asked for";
    return 0;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t w = pwrite(st->fd, p + off, len - off, at + static_cast<int64_t>(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      st->write_errno = errno;
      return 0;
    }
    off += static_cast<size_t>(w);
  }
  st->pos->store(at + static_cast<int64_t>(len));
  return len;
}

int XferCb(void* ud, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<RangeState*>(ud);
  return st->cancel && st->cancel->load() ? 1 : 0;
}

}  // namespace

std::string HostOf(const std::string& url) {
  size_t s = url.find("://");
  size_t b = s == std::string::npos ? 0 : s + 3;
  size_t e = url.find('/', b);
  return url.substr(b, e == std::string::npos ? std::string::npos : e - b);
}

StatusOr<HttpResponse> Get(const Config& cfg, const std::string& url, int64_t max_body) {
  Easy e;
  if (!e.h) return Status::Internal("curl_easy_init failed");
  Common(e, cfg, url);
  HttpResponse r;
  GetState st{&r, max_body};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, BodyCb);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(e.h, CURLOPT_HEADERFUNCTION, HeaderCb);
  curl_easy_setopt(e.h, CURLOPT_HEADERDATA, &r.headers);
  CURLcode c = curl_easy_perform(e.h);
  if (st.too_big) return Status::OutOfRange(url + ": the answer is over " + std::to_string(max_body) + " bytes");
  if (c == CURLE_OPERATION_TIMEDOUT)
    return Status::Unavailable("no answer from " + HostOf(url) + " for " + std::to_string(cfg.stall_timeout_s) +
                               " s (" + CurlReason(c, errbuf) + ")");
  if (c != CURLE_OK) return Status::Unavailable("cannot reach " + HostOf(url) + ": " + CurlReason(c, errbuf));
  curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &r.status);
  return r;
}

RangeResult FetchRange(const Config& cfg, const std::string& url, int fd, std::atomic<int64_t>* pos, int64_t end,
                       int64_t total, const std::atomic<bool>* cancel) {
  Easy e;
  if (!e.h) return {Status::Internal("curl_easy_init failed"), false};
  Common(e, cfg, url);
  RangeState st;
  st.fd = fd;
  st.pos = pos;
  st.end = end;
  st.total = total;
  st.first = pos->load();
  st.h = e.h;
  st.cancel = cancel;
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string range = std::to_string(pos->load()) + "-" + std::to_string(end - 1);
  curl_easy_setopt(e.h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(e.h, CURLOPT_ACCEPT_ENCODING, nullptr);  // byte ranges of the file itself
  curl_easy_setopt(e.h, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(e.h, CURLOPT_WRITEFUNCTION, RangeCb);
  curl_easy_setopt(e.h, CURLOPT_WRITEDATA, &st);
  curl_easy_setopt(e.h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(e.h, CURLOPT_XFERINFOFUNCTION, XferCb);
  curl_easy_setopt(e.h, CURLOPT_XFERINFODATA, &st);
  CURLcode c = curl_easy_perform(e.h);
  if (st.write_errno)
    return {Status::ResourceExhausted(std::string(std::strerror(st.write_errno)) +
                                      (st.write_errno == ENOSPC || st.write_errno == EFBIG || st.write_errno == EDQUOT
                                           ? " (the disk is full or over quota)"
                                           : "")),
            false};
  if (!st.protocol_error.empty()) return {Status::DataLoss(HostOf(url) + ": " + st.protocol_error), false};
  if (c == CURLE_ABORTED_BY_CALLBACK && cancel && cancel->load()) return {Status::Cancelled("cancelled"), false};
  if (c == CURLE_OK) curl_easy_getinfo(e.h, CURLINFO_RESPONSE_CODE, &st.status);
  if (st.status >= 400) {
    std::string body = st.error_body;
    for (char& ch : body)
      if (ch == '\n' || ch == '\r') ch = ' ';
    return {Status::Unavailable("HTTP " + std::to_string(st.status) + " from " + HostOf(url) +
                                (body.empty() ? "" : ": " + body)),
            st.status >= 500 || st.status == 429};
  }
  if (c == CURLE_OPERATION_TIMEDOUT)
    return {Status::Unavailable("no data from " + HostOf(url) + " for " + std::to_string(cfg.stall_timeout_s) + " s"),
            true};
  if (c != CURLE_OK) return {Status::Unavailable(HostOf(url) + ": " + CurlReason(c, errbuf)), true};
  if (pos->load() != end)
    return {Status::Unavailable(HostOf(url) + ": the transfer ended at byte " + std::to_string(pos->load()) + " of " +
                                std::to_string(end)),
            true};
  return {Status::Ok(), false};
}

}  // namespace r1::hub::internal
