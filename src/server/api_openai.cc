// OpenAI Chat Completions and Completions: the request type's native API.
#include <chrono>
#include <ctime>

#include "server/api_adapter.h"

namespace r1::server {

using nlohmann::json;

void ApiAdapter::SendError(httplib::Response& res, int http, const std::string& message, const std::string& param,
                           const std::string& code) const {
  server::SendError(res, http, message, param, code);
}

void ApiAdapter::SendStatus(httplib::Response& res, const Status& st, const std::string& param) const {
  const int http = HttpStatusFor(st.code());
  if (http == 429) res.set_header("Retry-After", "1");
  if (http == 503) res.set_header("Retry-After", "5");
  SendError(res, http, st.message(), param, StatusCodeName(st.code()));
}

std::unique_ptr<ApiAdapter> AdapterForPath(const std::string& path) {
  if (path == "/v1/messages") return MakeAnthropicAdapter();
  if (path.rfind("/api/", 0) == 0) return MakeOllamaAdapter(true);
  return MakeOpenAiAdapter(true);
}

std::string SseData(const json& j) { return "data: " + Dump(j) + "\n\n"; }
std::string SseEvent(const std::string& event, const json& j) { return "event: " + event + "\n" + SseData(j); }

StatusOr<ApiRequest> ParseAsChat(const json& body, bool chat, std::string* param,
                                 const std::function<std::string(const std::string&)>& rename) {
  auto r = ParseApiRequest(body, chat);
  if (r.ok()) return r;
  const std::string from = ErrorParam(r.status());
  *param = rename ? rename(from) : from;
  std::string msg = r.status().message();
  if (*param != from && msg.rfind("'" + from + "'", 0) == 0) msg = "'" + *param + "'" + msg.substr(from.size() + 2);
  return Status(r.status().code(), msg);
}

std::string Rfc3339Now() {
  const auto now = std::chrono::system_clock::now();
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%09lldZ", static_cast<long long>(ns % 1000000000));
  return buf;
}

namespace {

class OpenAiAdapter final : public ApiAdapter {
 public:
  explicit OpenAiAdapter(bool chat) : chat_(chat) {}
  StatusOr<ApiRequest> Parse(const json& body, std::string* param) override { return ParseAsChat(body, chat_, param); }
  std::string IdPrefix() const override { return chat_ ? "chatcmpl-" : "cmpl-"; }
  std::string Begin(const Generation& g) override { return SseData(g.Chunk(TextDelta{}, true)); }
  std::string Delta(const Generation& g, const TextDelta& d) override {
    if (d.reasoning.empty() && d.content.empty() && d.logprobs.empty() && d.tool_calls.empty()) return "";
    return SseData(g.Chunk(d, false));
  }
  std::string End(const Generation& g) override {
    std::string out = SseData(g.FinalChunk());
    if (g.request().include_usage) out += SseData(g.UsageChunk());
    return out + "data: [DONE]\n\n";
  }
  std::string StreamError(const Generation&, const Status& st) override {
    const json err = {{"error", {{"message", st.message()}, {"type", "server_error"}, {"code", "internal_error"}}}};
    return SseData(err) + "data: [DONE]\n\n";
  }
  json Response(const Generation& g, const TextDelta& all) override { return g.Response(all); }

 private:
  bool chat_;
};

}  // namespace

std::unique_ptr<ApiAdapter> MakeOpenAiAdapter(bool chat) { return std::make_unique<OpenAiAdapter>(chat); }

}  // namespace r1::server
