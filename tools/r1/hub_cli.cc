#include "hub_cli.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace r1::cli {
namespace {

std::string Bytes(double b) {
  char buf[32];
  if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (b >= 1e3) std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

std::string Eta(double s) {
  if (s <= 0 || s > 99 * 3600) return "--:--";
  char buf[32];
  int t = static_cast<int>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%d:%02d", t / 60, t % 60);
  return buf;
}

class Display {
 public:
  Display() : tty_(isatty(STDERR_FILENO)) {}
  void operator()(const hub::FileProgress& p) {
    const std::string head = "[" + std::to_string(p.file_index + 1) + "/" + std::to_string(p.n_files) + "] " + p.path;
    if (p.cached) {
      End();
      std::fprintf(stderr, "%s  %s  in the cache\n", head.c_str(), Bytes(static_cast<double>(p.total)).c_str());
      return;
    }
    const int pct = p.total > 0 ? static_cast<int>(100 * p.done / p.total) : 100;
    std::string line;
    if (p.finished) {
      line = head + "  " + Bytes(static_cast<double>(p.total)) + "  done, hash checked" +
             (p.bytes_per_s > 0 ? "  (" + Bytes(p.bytes_per_s) + "/s)" : "");
    } else if (p.verifying) {
      line = head + "  verifying " + std::to_string(pct) + "%";
    } else {
      line = head + "  " + Bytes(static_cast<double>(p.done)) + " / " + Bytes(static_cast<double>(p.total)) + "  " +
             std::to_string(pct) + "%  " + Bytes(p.bytes_per_s) + "/s  ETA " +
             Eta(p.bytes_per_s > 0 ? (p.total - p.done) / p.bytes_per_s : -1);
    }
    if (tty_) {
      std::fprintf(stderr, "\r%s\033[K", line.c_str());
      open_ = true;
      if (p.finished) End();
    } else {
      // Plain lines: every 10 %, and the end.
      if (p.path != last_path_) {
        last_path_ = p.path;
        last_decile_ = -1;
      }
      int decile = p.verifying ? -2 : pct / 10;
      if (p.finished || (decile != last_decile_ && !p.verifying)) {
        std::fprintf(stderr, "%s\n", line.c_str());
        last_decile_ = decile;
      }
    }
    std::fflush(stderr);
  }
  void End() {
    if (open_) std::fprintf(stderr, "\n");
    open_ = false;
  }

 private:
  bool tty_;
  bool open_ = false;
  std::string last_path_;
  int last_decile_ = -1;
};

}  // namespace

StatusOr<hub::PullResult> PullWithProgress(const hub::Config& cfg, const hub::Ref& ref) {
  Display d;
  auto r = hub::Pull(cfg, ref, [&d](const hub::FileProgress& p) { d(p); });
  d.End();
  return r;
}

CLI::Validator ModelSource() {
  return CLI::Validator(
      [](std::string& m) -> std::string {
        if (!hub::LooksLikeRef(m)) return "";
        auto ref = hub::ParseRef(m);
        if (!ref.ok()) return ref.status().message();
        const hub::Config cfg = hub::Config::FromEnvironment();
        auto local = hub::FindLocal(cfg, *ref);
        if (local.ok()) {
          m = local->path;
          return "";
        }
        std::fprintf(stderr, "r1: %s is not in the cache (%s): pulling it from %s\n", ref->text.c_str(),
                     cfg.cache_dir.c_str(), cfg.endpoint.c_str());
        auto pulled = PullWithProgress(cfg, *ref);
        if (!pulled.ok()) return pulled.status().message();
        m = pulled->path;
        return "";
      },
      "", "ModelSource");
}

}  // namespace r1::cli
