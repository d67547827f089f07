// GET / : the web chat (src/server/webui/index.html, embedded at build time
// by cmake/embed.cmake). The page is public; it asks for the API key when
// the server has one and sends it with its API calls.
#include <cstddef>
#include <string>

#include "server/context.h"

namespace r1::server {

extern const char kWebUiPage[];
extern const size_t kWebUiPageSize;

bool IsWebUiPath(const std::string& path) { return path == "/" || path == "/index.html" || path == "/favicon.ico"; }

void RegisterWebUiRoutes(httplib::Server& http) {
  const auto page = [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-cache");
    res.set_header("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
    res.set_content(std::string(kWebUiPage, kWebUiPageSize), "text/html; charset=utf-8");
  };
  http.Get("/", page);
  http.Get("/index.html", page);
  http.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
}

}  // namespace r1::server
