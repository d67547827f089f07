// Downloads into the Hugging Face cache, and what the cache holds.
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "hub/http.h"
#include "hub/hub.h"

namespace fs = std::filesystem;

namespace r1::hub {
namespace {

using internal::HostOf;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string ReadSmall(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// Writes `text` to `path` through a temporary name and a rename.
Status WriteAtomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp-r1";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << text;
    if (!f) return Status::ResourceExhausted("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::Internal("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

bool IsCommitHash(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

std::string HumanBytes(int64_t b) {
  char buf[32];
  if (b >= (1ll << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ll << 30));
  else if (b >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", b / double(1 << 20));
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

// Hex digest of `path` under `md` (SHA-256, or SHA-1 of git's "blob N\0" header + content).
StatusOr<std::string> HashFile(const std::string& path, const EVP_MD* md, const std::string& prefix,
                               const std::function<void(int64_t)>& progress) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound("cannot open " + path + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size());
  std::vector<unsigned char> buf(4 << 20);
  int64_t done = 0;
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::DataLoss("reading " + path + ": " + std::strerror(err));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    done += n;
    if (progress) progress(done);
  }
  close(fd);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(ctx.get(), out, &len);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 15];
  }
  return hex;
}

// The state of a parallel download, kept beside the .incomplete file so that
// a later run resumes each range where it stopped: "r1-ranges SIZE" then one
// "NEXT END" line per range (bytes before NEXT are written).
struct Ranges {
  std::vector<std::pair<int64_t, int64_t>> r;  // next, end
};

std::string FormatRanges(int64_t size, const std::vector<std::unique_ptr<std::atomic<int64_t>>>& next,
                         const std::vector<int64_t>& end) {
  std::string s = "r1-ranges " + std::to_string(size) + "\n";
  for (size_t i = 0; i < end.size(); ++i) s += std::to_string(next[i]->load()) + " " + std::to_string(end[i]) + "\n";
  return s;
}

bool LoadRanges(const std::string& path, int64_t size, Ranges* out) {
  std::ifstream f(path);
  std::string magic;
  int64_t sz = -1;
  if (!(f >> magic >> sz) || magic != "r1-ranges" || sz != size) return false;
  int64_t a, b, prev_end = 0;
  while (f >> a >> b) {
    if (a < prev_end || a > b || b > size) return false;  // ranges in order, inside the file
    out->r.push_back({a, b});
    prev_end = b;
  }
  return !out->r.empty() && out->r.back().second == size;
}

struct RepoPaths {
  std::string dir, blobs, snapshots, refs;
};

RepoPaths PathsFor(const Config& cfg, const std::string& repo) {
  RepoPaths p;
  p.dir = cfg.cache_dir + "/" + RepoFolderName(repo);
  p.blobs = p.dir + "/blobs";
  p.snapshots = p.dir + "/snapshots";
  p.refs = p.dir + "/refs";
  return p;
}

// snapshots/COMMIT/PATH -> ../../blobs/ID (one more ../ per directory in PATH).
Status LinkSnapshot(const std::string& snapshot, const RemoteFile& f) {
  std::string link = snapshot + "/" + f.path;
  std::error_code ec;
  fs::create_directories(fs::path(link).parent_path(), ec);
  if (ec) return Status::ResourceExhausted("cannot create " + fs::path(link).parent_path().string() + ": " + ec.message());
  std::string target;
  for (int i = 0; i < 2 + static_cast<int>(std::count(f.path.begin(), f.path.end(), '/')); ++i) target += "../";
  target += "blobs/" + f.blob_id();
  std::string tmp = link + ".tmp-r1";
  fs::remove(tmp, ec);
  fs::create_symlink(target, tmp, ec);
  if (ec) return Status::Internal("cannot create the link " + tmp + ": " + ec.message());
  fs::rename(tmp, link, ec);
  if (ec) return Status::Internal("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}

std::string ApiError(const Config& cfg, const Ref& ref, long status, const std::string& what) {
  if (status == 401 || status == 403)
    return "HTTP " + std::to_string(status) + " from " + HostOf(cfg.endpoint) + " for " + ref.repo + " (" + what +
           "): " +
           (cfg.token.empty() ? "the repository is gated or private; accept its terms on the Hub and set HF_TOKEN"
                              : "HF_TOKEN was not accepted for it (no access, or a wrong token)");
  if (status == 404)
    return ref.repo + ": not found on " + HostOf(cfg.endpoint) + " (HTTP 404 for the " + what +
           "; check the repository name" + (ref.revision == "main" ? "" : " and the revision") + ")";
  return "HTTP " + std::to_string(status) + " from " + HostOf(cfg.endpoint) + " for " + ref.repo + " (" + what + ")";
}

StatusOr<std::string> ResolveCommit(const Config& cfg, const Ref& ref) {
  std::string url = cfg.endpoint + "/api/models/" + ref.repo + "/revision/" + ref.revision;
  auto r = internal::Get(cfg, url, 64 << 20);
  if (!r.ok()) return r.status().WithContext(ref.repo);
  if (r->status != 200) return Status::NotFound(ApiError(cfg, ref, r->status, "revision " + ref.revision));
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("sha") || !j["sha"].is_string() ||
      !IsCommitHash(j["sha"].get<std::string>()))
    return Status::InvalidArgument(url + ": the answer has no 'sha' (a 40-digit commit id)");
  return j["sha"].get<std::string>();
}

StatusOr<std::vector<RemoteFile>> ListRemote(const Config& cfg, const Ref& ref, const std::string& commit) {
  std::string url = cfg.endpoint + "/api/models/" + ref.repo + "/tree/" + commit + "?recursive=true";
  std::vector<RemoteFile> all;
  for (int page = 0; page < 1000 && !url.empty(); ++page) {
    auto r = internal::Get(cfg, url, 64 << 20);
    if (!r.ok()) return r.status().WithContext(ref.repo);
    if (r->status != 200) return Status::NotFound(ApiError(cfg, ref, r->status, "listing"));
    auto files = ParseTree(r->body);
    if (!files.ok()) return files.status().WithContext(url);
    all.insert(all.end(), files->begin(), files->end());
    // Pagination: Link: <URL>; rel="next"
    url.clear();
    auto link = r->headers.find("link");
    if (link != r->headers.end()) {
      const std::string& v = link->second;
      size_t rel = v.find("rel=\"next\"");
      if (rel != std::string::npos) {
        size_t lt = v.rfind('<', rel), gt = v.find('>', lt);
        if (lt != std::string::npos && gt != std::string::npos && gt < rel) url = v.substr(lt + 1, gt - lt - 1);
      }
    }
  }
  return all;
}

struct FileTask {
  const Config* cfg;
  const Ref* ref;
  RemoteFile f;
  std::string url;
  std::string blob;
  int index, n_files;
  const ProgressFn* progress;
};

// Downloads one blob (resuming), checks its hash, renames it into place.
Status DownloadBlob(const FileTask& t, int64_t* downloaded, int64_t* resumed) {
  const Config& cfg = *t.cfg;
  const std::string incomplete = t.blob + ".incomplete", state = t.blob + ".incomplete.ranges";
  const std::string name = t.ref->repo + "/" + t.f.path;
  const int64_t size = t.f.size;
  struct stat st;
  int64_t have = stat(incomplete.c_str(), &st) == 0 ? st.st_size : 0;
  if (have > size) {  // not ours, or another version of the file
    unlink(incomplete.c_str());
    have = 0;
  }
  Ranges plan;
  if (!LoadRanges(state, size, &plan)) {
    plan.r.clear();
    int64_t rest = size - have;
    int k = rest >= cfg.parallel_min_bytes ? std::max(1, cfg.connections) : 1;
    for (int i = 0; i < k; ++i) {
      int64_t a = have + rest * i / k, b = have + rest * (i + 1) / k;
      plan.r.push_back({a, b});
    }
    if (rest == 0) plan.r = {{size, size}};
  }
  int64_t remaining = 0;
  for (auto [a, b] : plan.r) remaining += b - a;
  *resumed = size - remaining;
  struct statvfs vfs;
  if (statvfs(fs::path(t.blob).parent_path().c_str(), &vfs) == 0) {
    int64_t free_bytes = static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
    if (free_bytes < remaining)
      return Status::ResourceExhausted(name + ": not enough disk space in " + cfg.cache_dir + ": " +
                                       HumanBytes(remaining) + " to download, " + HumanBytes(free_bytes) + " free");
  }
  int fd = open(incomplete.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::ResourceExhausted(name + ": cannot create " + incomplete + ": " + std::strerror(errno));
  std::vector<std::unique_ptr<std::atomic<int64_t>>> next;
  std::vector<int64_t> end;
  for (auto [a, b] : plan.r) {
    next.push_back(std::make_unique<std::atomic<int64_t>>(a));
    end.push_back(b);
  }
  if (plan.r.size() > 1) {
    Status s = WriteAtomic(state, FormatRanges(size, next, end));
    if (!s.ok()) {
      close(fd);
      return s.WithContext(name);
    }
  }
  std::atomic<bool> cancel{false};
  std::vector<Status> errors(plan.r.size());
  std::vector<std::thread> workers;
  for (size_t i = 0; i < plan.r.size(); ++i) {
    workers.emplace_back([&, i] {
      for (int attempt = 0; next[i]->load() < end[i] && !cancel.load(); ++attempt) {
        internal::RangeResult r = internal::FetchRange(cfg, t.url, fd, next[i].get(), end[i], size, &cancel);
        if (r.status.ok()) break;
        if (!r.retriable || attempt >= cfg.retries) {
          errors[i] = r.status;
          cancel = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300 * (attempt + 1)));
      }
    });
  }
  auto done_bytes = [&] {
    int64_t left = 0;
    for (size_t i = 0; i < end.size(); ++i) left += end[i] - next[i]->load();
    return size - left;
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto last_state = t0;
  int64_t speed_base = done_bytes();
  auto speed_t = t0;
  double speed = 0;
  auto all_done = [&] {
    for (size_t i = 0; i < end.size(); ++i)
      if (next[i]->load() < end[i] && !cancel.load()) return false;
    return true;
  };
  while (!all_done()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto now = std::chrono::steady_clock::now();
    double dt = std::chrono::duration<double>(now - speed_t).count();
    if (dt >= 0.5) {
      int64_t d = done_bytes();
      double inst = (d - speed_base) / dt;
      speed = speed == 0 ? inst : 0.7 * speed + 0.3 * inst;
      speed_base = d;
      speed_t = now;
      if (*t.progress) (*t.progress)({t.f.path, d, size, speed, t.index, t.n_files, false, false, false});
    }
    if (plan.r.size() > 1 && now - last_state > std::chrono::seconds(1)) {
      (void)WriteAtomic(state, FormatRanges(size, next, end));
      last_state = now;
    }
  }
  for (auto& w : workers) w.join();
  if (plan.r.size() > 1) (void)WriteAtomic(state, FormatRanges(size, next, end));
  *downloaded = done_bytes() - *resumed;
  for (const Status& e : errors) {
    if (!e.ok() && e.code() != StatusCode::kCancelled) {
      close(fd);
      return Status(e.code(), name + ": " + e.message() + " (at " + HumanBytes(done_bytes()) + " of " +
                                  HumanBytes(size) + "; the partial download is kept: run again to resume)");
    }
  }
  if (fsync(fd) != 0 || close(fd) != 0)
    return Status::ResourceExhausted(name + ": writing " + incomplete + " failed: " + std::strerror(errno));
  double total_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  FileProgress vp{t.f.path, size, size, total_s > 0 ? (size - *resumed) / total_s : 0, t.index, t.n_files, true, false, false};
  auto last = std::chrono::steady_clock::now();
  auto hashed = [&](int64_t n) {
    auto now = std::chrono::steady_clock::now();
    if (*t.progress && now - last > std::chrono::milliseconds(200)) {
      last = now;
      FileProgress p = vp;
      p.done = n;
      (*t.progress)(p);
    }
  };
  std::string want, got;
  if (!t.f.sha256.empty()) {
    auto h = HashFile(incomplete, EVP_sha256(), "", hashed);
    if (!h.ok()) return h.status().WithContext(name);
    want = t.f.sha256;
    got = *h;
  } else {
    auto h = HashFile(incomplete, EVP_sha1(), "blob " + std::to_string(size) + std::string(1, '\0'), hashed);
    if (!h.ok()) return h.status().WithContext(name);
    want = t.f.git_oid;
    got = *h;
  }
  if (want != got) {
    unlink(incomplete.c_str());
    unlink(state.c_str());
    return Status::DataLoss(name + ": " + (t.f.sha256.empty() ? "git blob id" : "SHA-256") + " mismatch: the Hub says " +
                            want + ", the download is " + got + "; the file was discarded (run again to download it anew)");
  }
  if (rename(incomplete.c_str(), t.blob.c_str()) != 0)
    return Status::Internal(name + ": cannot rename " + incomplete + ": " + std::strerror(errno));
  unlink(state.c_str());
  if (*t.progress) {
    vp.verifying = false;
    vp.finished = true;
    (*t.progress)(vp);
  }
  return Status::Ok();
}

// The snapshot's files as a listing (sizes of what the links point to).
std::vector<RemoteFile> SnapshotListing(const std::string& snapshot) {
  std::vector<RemoteFile> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(snapshot, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::error_code ec2;
    if (!fs::is_regular_file(it->path(), ec2)) continue;  // follows the link; a dangling one is skipped
    std::string rel = it->path().lexically_relative(snapshot).string();
    if (rel.find(".tmp-r1") != std::string::npos) continue;
    RemoteFile f;
    f.path = rel;
    f.size = static_cast<int64_t>(fs::file_size(it->path(), ec2));
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(), [](const RemoteFile& a, const RemoteFile& b) { return a.path < b.path; });
  return out;
}

PullResult ResultFor(const RepoPaths& p, const std::string& commit, const std::vector<RemoteFile>& files) {
  PullResult r;
  r.repo_dir = p.dir;
  r.commit = commit;
  r.snapshot = p.snapshots + "/" + commit;
  for (const RemoteFile& f : files) r.files.push_back(r.snapshot + "/" + f.path);
  r.path = r.snapshot;
  for (const RemoteFile& f : files) {
    if (f.path.size() > 5 && f.path.compare(f.path.size() - 5, 5, ".gguf") == 0) {
      r.path = r.snapshot + "/" + f.path;
      break;
    }
  }
  return r;
}

}  // namespace

Config Config::FromEnvironment() {
  Config c;
  if (std::string e = Env("HF_ENDPOINT"); !e.empty()) {
    while (!e.empty() && e.back() == '/') e.pop_back();
    c.endpoint = e;
  }
  c.token = Env("HF_TOKEN");
  if (c.token.empty()) c.token = Env("HUGGING_FACE_HUB_TOKEN");
  std::string home = Env("HF_HOME");
  if (home.empty()) {
    std::string xdg = Env("XDG_CACHE_HOME");
    home = (xdg.empty() ? Env("HOME") + "/.cache" : xdg) + "/huggingface";
  }
  c.cache_dir = Env("HF_HUB_CACHE");
  if (c.cache_dir.empty()) c.cache_dir = home + "/hub";
  if (std::string v = Env("R1_HUB_TIMEOUT"); !v.empty()) c.stall_timeout_s = std::clamp(std::atoi(v.c_str()), 1, 3600);
  if (std::string v = Env("R1_HUB_CONNECTIONS"); !v.empty()) c.connections = std::clamp(std::atoi(v.c_str()), 1, 16);
  if (std::string v = Env("R1_HUB_PARALLEL_MIN"); !v.empty()) c.parallel_min_bytes = std::max<int64_t>(1, std::atoll(v.c_str()));
  return c;
}

StatusOr<std::string> Sha256File(const std::string& path, const std::function<void(int64_t)>& progress) {
  return HashFile(path, EVP_sha256(), "", progress);
}

StatusOr<PullResult> Pull(const Config& cfg, const Ref& ref, const ProgressFn& progress) {
  // A write past a file-size limit (a quota) must fail as EFBIG, not kill us.
  std::signal(SIGXFSZ, SIG_IGN);
  auto commit = ResolveCommit(cfg, ref);
  if (!commit.ok()) return commit.status();
  auto listing = ListRemote(cfg, ref, *commit);
  if (!listing.ok()) return listing.status();
  auto files = SelectFiles(*listing, ref);
  if (!files.ok()) return files.status();
  const RepoPaths p = PathsFor(cfg, ref.repo);
  std::error_code ec;
  for (const std::string& d : {p.blobs, p.snapshots + "/" + *commit, p.refs}) {
    fs::create_directories(d, ec);
    if (ec) return Status::ResourceExhausted("cannot create " + d + ": " + ec.message());
  }
  PullResult result = ResultFor(p, *commit, *files);
  for (size_t i = 0; i < files->size(); ++i) {
    const RemoteFile& f = (*files)[i];
    std::string blob = p.blobs + "/" + f.blob_id();
    struct stat st;
    if (stat(blob.c_str(), &st) == 0 && st.st_size == f.size) {
      if (progress) progress({f.path, f.size, f.size, 0, static_cast<int>(i), static_cast<int>(files->size()), false, true, true});
    } else {
      FileTask t{&cfg, &ref, f, cfg.endpoint + "/" + ref.repo + "/resolve/" + *commit + "/" + f.path, blob,
                 static_cast<int>(i), static_cast<int>(files->size()), &progress};
      int64_t got = 0, resumed = 0;
      Status s = DownloadBlob(t, &got, &resumed);
      result.downloaded_bytes += got;
      result.resumed_bytes += resumed;
      if (!s.ok()) return s;
    }
    R1_RETURN_IF_ERROR(LinkSnapshot(result.snapshot, f));
  }
  if (!IsCommitHash(ref.revision) || ref.revision != *commit) {
    std::string refp = p.refs + "/" + ref.revision;
    fs::create_directories(fs::path(refp).parent_path(), ec);
    R1_RETURN_IF_ERROR(WriteAtomic(refp, *commit));
  }
  return result;
}

StatusOr<PullResult> FindLocal(const Config& cfg, const Ref& ref) {
  const RepoPaths p = PathsFor(cfg, ref.repo);
  std::string commit = ref.revision;
  if (!IsCommitHash(commit)) {
    commit = ReadSmall(p.refs + "/" + ref.revision);
    if (!IsCommitHash(commit)) return Status::NotFound(ref.text + ": not in the cache " + cfg.cache_dir);
  }
  const std::string snapshot = p.snapshots + "/" + commit;
  auto listing = SnapshotListing(snapshot);
  if (listing.empty()) return Status::NotFound(ref.text + ": not in the cache " + cfg.cache_dir);
  auto files = SelectFiles(listing, ref);
  if (!files.ok()) return files.status();
  // A safetensors snapshot must also hold what its index names.
  return ResultFor(p, commit, *files);
}

StatusOr<std::vector<LocalModel>> ListLocal(const Config& cfg) {
  std::vector<LocalModel> out;
  std::error_code ec;
  if (!fs::is_directory(cfg.cache_dir, ec)) return out;
  for (const auto& repo_dir : fs::directory_iterator(cfg.cache_dir, ec)) {
    std::string folder = repo_dir.path().filename().string();
    if (folder.rfind("models--", 0) != 0) continue;
    std::string rest = folder.substr(8);
    size_t sep = rest.find("--");
    std::string repo = sep == std::string::npos ? rest : rest.substr(0, sep) + "/" + rest.substr(sep + 2);
    std::error_code ec2;
    for (const auto& snap : fs::directory_iterator(repo_dir.path() / "snapshots", ec2)) {
      std::string commit = snap.path().filename().string();
      auto listing = SnapshotListing(snap.path().string());
      std::map<std::string, LocalModel> sets;
      LocalModel st{repo, commit, snap.path().string(), "", 0, 0, false};
      for (const RemoteFile& f : listing) {
        std::string prefix;
        int no, count;
        if (f.path.size() > 5 && f.path.compare(f.path.size() - 5, 5, ".gguf") == 0) {
          bool split = ParseSplitName(f.path, &prefix, &no, &count);
          std::string key = split ? prefix : f.path;
          LocalModel& m = sets[key];
          if (m.repo.empty()) m = {repo, commit, "", "", 0, 0, true};
          if (!split || no == 1) {
            m.path = snap.path().string() + "/" + f.path;
            m.name = f.path;
          }
          m.parts += 1;
          m.bytes += f.size;
        } else if (f.path.size() > 12 && f.path.compare(f.path.size() - 12, 12, ".safetensors") == 0) {
          st.parts += 1;
          st.bytes += f.size;
        }
      }
      for (auto& [key, m] : sets)
        if (!m.path.empty()) out.push_back(m);
      if (st.parts > 0) out.push_back(st);
    }
  }
  std::sort(out.begin(), out.end(), [](const LocalModel& a, const LocalModel& b) {
    return std::tie(a.repo, a.name) < std::tie(b.repo, b.name);
  });
  return out;
}

Status Remove(const Config& cfg, const Ref& ref, std::vector<std::string>* removed) {
  const RepoPaths p = PathsFor(cfg, ref.repo);
  std::error_code ec;
  if (!fs::is_directory(p.dir, ec)) return Status::NotFound(ref.repo + ": not in the cache " + cfg.cache_dir);
  if (ref.quant.empty() && ref.file.empty()) {
    fs::remove_all(p.dir, ec);
    if (ec) return Status::Internal("cannot remove " + p.dir + ": " + ec.message());
    removed->push_back(p.dir);
    return Status::Ok();
  }
  auto local = FindLocal(cfg, ref);
  if (!local.ok()) return local.status();
  // Blobs any other snapshot link still uses are kept.
  std::set<std::string> chosen(local->files.begin(), local->files.end());
  std::set<std::string> in_use;
  for (auto it = fs::recursive_directory_iterator(p.snapshots, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_symlink() || chosen.count(it->path().string())) continue;
    std::error_code ec2;
    in_use.insert(fs::weakly_canonical(it->path(), ec2).string());
  }
  for (const std::string& f : local->files) {
    std::error_code ec2;
    std::string blob = fs::weakly_canonical(f, ec2).string();
    fs::remove(f, ec2);
    removed->push_back(f);
    if (!in_use.count(blob) && fs::remove(blob, ec2)) removed->push_back(blob);
    // Empty directories up to the snapshot.
    for (fs::path d = fs::path(f).parent_path(); d.string().size() > local->snapshot.size(); d = d.parent_path())
      if (!fs::remove(d, ec2)) break;
  }
  if (fs::is_empty(local->snapshot, ec)) fs::remove(local->snapshot, ec);
  return Status::Ok();
}

}  // namespace r1::hub
