// r1 pull against a local hub: an HTTP server of the test's own on loopback
// (cpp-httplib) serving the Hub API routes r1 uses (revision, paginated
// recursive tree, resolve with a redirect to a ranged blob route) with real
// files: the expanded r1-tiny GGUF in three parts and as Q4_K_M, and its
// Hugging Face directory in DeepSeek's FP8 form. The r1 binary is run as a
// user runs it, with HF_ENDPOINT pointing at the local hub.
#include <gtest/gtest.h>
#include <httplib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "util/shell.h"
#include "util/skip.h"

namespace fs = std::filesystem;

namespace {

using Result = r1::testing::ShellResult;

Result Sh(const std::string& cmd) { return r1::testing::RunShell(cmd); }

std::string Bin() {
  const char* b = std::getenv("R1_BIN");
  return b ? b : "";
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string FirstWord(const std::string& s) { return s.substr(0, s.find_first_of(" \n")); }

// The checksums come from coreutils and git, not from the code under test.
std::string Sha256(const std::string& path) { return FirstWord(Sh("sha256sum " + path).out); }
std::string GitOid(const std::string& path) { return FirstWord(Sh("git hash-object " + path).out); }

struct HubFile {
  std::string path;     // in the repository
  std::string content;
  std::string sha256;   // empty: a small file kept in git
  std::string oid;
};

struct HubRepo {
  std::string commit;
  std::vector<HubFile> files;
  std::string token;  // gated: requests need "Authorization: Bearer <token>"
};

// What the hub does to blob downloads, changed by the tests between runs.
struct Faults {
  std::atomic<int64_t> cut_once_at{-1};  // drop the connection once at this offset
  std::atomic<int64_t> stall_at{-1};     // stop sending at this offset (every request reaching it)
  std::atomic<int64_t> corrupt_at{-1};   // flip this byte of what is served
  std::atomic<bool> cut_done{false};
};

class TestHub {
 public:
  TestHub() {
    server_.Get(R"(/api/models/([^/]+)/([^/]+)/revision/(.+))", [this](const httplib::Request& q, httplib::Response& s) {
      const HubRepo* r = Find(q, s);
      if (!r) return;
      s.set_content(nlohmann::json({{"id", Name(q)}, {"sha", r->commit}}).dump(), "application/json");
    });
    server_.Get(R"(/api/models/([^/]+)/([^/]+)/tree/([^/]+))", [this](const httplib::Request& q, httplib::Response& s) {
      const HubRepo* r = Find(q, s);
      if (!r) return;
      // Three entries a page, with a Link header to the next, as the Hub paginates.
      size_t page = q.has_param("page") ? std::stoul(q.get_param_value("page")) : 0;
      nlohmann::json arr = nlohmann::json::array();
      for (size_t i = page * 3; i < r->files.size() && i < page * 3 + 3; ++i) {
        const HubFile& f = r->files[i];
        nlohmann::json e = {{"type", "file"}, {"oid", f.oid}, {"size", f.content.size()}, {"path", f.path}};
        if (!f.sha256.empty()) e["lfs"] = {{"oid", f.sha256}, {"size", f.content.size()}, {"pointerSize", 134}};
        arr.push_back(e);
      }
      if (page == 0) arr.push_back({{"type", "directory"}, {"oid", std::string(40, '0')}, {"path", "sub"}});
      if ((page + 1) * 3 < r->files.size())
        s.set_header("Link", "<" + Url() + "/api/models/" + Name(q) + "/tree/" + q.matches[3].str() +
                                 "?recursive=true&page=" + std::to_string(page + 1) + ">; rel=\"next\"");
      s.set_content(arr.dump(), "application/json");
    });
    server_.Get(R"(/([^/]+)/([^/]+)/resolve/([^/]+)/(.+))", [this](const httplib::Request& q, httplib::Response& s) {
      const HubRepo* r = Find(q, s);
      if (!r) return;
      for (const HubFile& f : r->files) {
        if (f.path != q.matches[4].str()) continue;
        if (f.sha256.empty()) {
          Serve(f, s);
        } else {  // LFS files live elsewhere (the CDN), as on the Hub
          s.status = 302;
          s.set_header("Location", "/cdn/" + f.sha256);
        }
        return;
      }
      s.status = 404;
      s.set_content(R"({"error":"Entry not found"})", "application/json");
    });
    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request& q, httplib::Response& s) {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& [name, r] : repos_)
        for (const HubFile& f : r.files)
          if (f.sha256 == q.matches[1].str()) {
            ranged_requests_ += q.has_header("Range") && q.get_header_value("Range").rfind("bytes=0-", 0) != 0;
            Serve(f, s);
            return;
          }
      s.status = 404;
    });
    server_.set_logger([this](const httplib::Request&, const httplib::Response&) { ++requests_; });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~TestHub() {
    stopping_ = true;
    server_.stop();
    thread_.join();
  }

  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void Add(const std::string& name, HubRepo r) {
    std::lock_guard<std::mutex> l(mu_);
    repos_[name] = std::move(r);
  }
  Faults& faults() { return faults_; }
  int requests() const { return requests_; }
  int ranged_requests() const { return ranged_requests_; }

 private:
  static std::string Name(const httplib::Request& q) { return q.matches[1].str() + "/" + q.matches[2].str(); }

  const HubRepo* Find(const httplib::Request& q, httplib::Response& s) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = repos_.find(Name(q));
    if (it == repos_.end()) {
      s.status = 404;
      s.set_content(R"({"error":"Repository not found"})", "application/json");
      return nullptr;
    }
    if (!it->second.token.empty() && q.get_header_value("Authorization") != "Bearer " + it->second.token) {
      s.status = 401;
      s.set_content(R"({"error":"Access to model )" + Name(q) + R"( is restricted."})", "application/json");
      return nullptr;
    }
    return &it->second;
  }

  void Serve(const HubFile& f, httplib::Response& s) {
    const std::string* content = &f.content;
    s.set_content_provider(content->size(), "application/octet-stream",
                           [this, content](size_t offset, size_t length, httplib::DataSink& sink) {
                             const size_t end = offset + length;
                             while (offset < end) {
                               size_t n = std::min<size_t>(end - offset, 64 << 10);
                               int64_t cut = faults_.cut_once_at.load(), stall = faults_.stall_at.load();
                               if (cut >= 0 && !faults_.cut_done && static_cast<int64_t>(offset + n) > cut) {
                                 faults_.cut_done = true;
                                 return false;  // the connection drops mid-file
                               }
                               if (stall >= 0 && static_cast<int64_t>(offset + n) > stall) {
                                 for (int i = 0; i < 80 && !stopping_; ++i)
                                   std::this_thread::sleep_for(std::chrono::milliseconds(25));
                                 return false;
                               }
                               std::string chunk = content->substr(offset, n);
                               int64_t c = faults_.corrupt_at.load();
                               if (c >= static_cast<int64_t>(offset) && c < static_cast<int64_t>(offset + n))
                                 chunk[c - offset] ^= 0x20;
                               if (!sink.write(chunk.data(), chunk.size())) return false;
                               offset += n;
                             }
                             return true;
                           });
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, HubRepo> repos_;
  Faults faults_;
  std::atomic<int> requests_{0}, ranged_requests_{0};
  std::atomic<bool> stopping_{false};
};

HubFile FileFrom(const std::string& disk, const std::string& repo_path, bool lfs) {
  HubFile f;
  f.path = repo_path;
  f.content = Slurp(disk);
  f.oid = GitOid(disk);
  if (lfs) f.sha256 = Sha256(disk);
  return f;
}

// A Hugging Face directory as a repository: small JSON files in git, the
// tokenizer and weights in LFS. The commit is 40 times `digit`.
HubRepo DirectoryRepo(const std::string& dir, char digit) {
  HubRepo r;
  r.commit = std::string(40, digit);
  for (const char* f : {"config.json", "generation_config.json", "tokenizer_config.json"})
    r.files.push_back(FileFrom(dir + "/" + f, f, false));
  for (const char* f : {"tokenizer.json", "model.safetensors"}) r.files.push_back(FileFrom(dir + "/" + f, f, true));
  return r;
}

// The fixture: r1-tiny expanded and split once, and one hub for the suite.
class HubPull : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Bin().empty()) return;
    dir_ = new std::string(std::string(R1_BINARY_DIR) + "/testmodels/hub");
    const std::string& d = *dir_;
    // Expanded once for all the test processes ctest starts (under a lock:
    // ctest may run them in parallel); the expansion is deterministic.
    Result g = Sh("mkdir -p " + d + " && flock " + d + "/../hub.lock -c 'test -f " + d + "/ready2 || (cd " + d +
                  " && " + Bin() + " gen --trained r1-tiny -o q8.gguf --type q8_0 && " + Bin() + " split q8.gguf -n 3 -o " +
                  d + "/r1-tiny-Q8_0 && " + Bin() + " gen --trained r1-tiny -o q4.gguf --type q4_k_m && rm -rf fp8 && " +
                  Bin() + " gen --trained r1-tiny -o fp8 --fp8 && rm -rf distill && " + Bin() +
                  " gen --trained r1-distill-tiny -o distill && printf \"# r1-tiny\\nA tiny trained model.\\n\" > README.md && touch ready2)'");
    if (g.code != 0) {
      setup_error_ = new std::string("expanding r1-tiny failed (tokenizers: cd tests/js && npm ci):\n" + g.out);
      return;
    }
    hub_ = new TestHub();
    HubRepo gguf;
    gguf.commit = "1111111111111111111111111111111111111111";
    gguf.files.push_back(FileFrom(d + "/README.md", "README.md", false));
    for (int k = 1; k <= 3; ++k) {
      std::string name = "r1-tiny-Q8_0-0000" + std::to_string(k) + "-of-00003.gguf";
      gguf.files.push_back(FileFrom(d + "/" + name, "Q8_0/" + name, true));
    }
    gguf.files.push_back(FileFrom(d + "/q4.gguf", "r1-tiny-Q4_K_M.gguf", true));
    hub_->Add("test/r1-tiny-GGUF", gguf);
    HubRepo gated = gguf;
    gated.token = "hf_secret";
    hub_->Add("test/gated-GGUF", gated);
    hub_->Add("test/r1-tiny-FP8", DirectoryRepo(d + "/fp8", '2'));
    hub_->Add("test/r1-distill-tiny", DirectoryRepo(d + "/distill", '3'));
  }
  static void TearDownTestSuite() {
    delete hub_;
    hub_ = nullptr;
  }
  void SetUp() override {
    if (Bin().empty()) R1_SKIP_OR_FAIL("R1_BIN not set");
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
    Faults& f = hub_->faults();
    f.cut_once_at = -1;
    f.stall_at = -1;
    f.corrupt_at = -1;
    f.cut_done = false;
    home_ = *dir_ + "/home-" + testing::UnitTest::GetInstance()->current_test_info()->name();
    Sh("rm -rf " + home_);
  }
  void TearDown() override {
    if (!home_.empty()) Sh("rm -rf " + home_);
  }
  // r1 with the hub's environment: a fresh HF_HOME per test, small parallel threshold.
  Result R1(const std::string& args, const std::string& extra_env = "") {
    return Sh("HF_HOME=" + home_ + " HF_ENDPOINT=" + hub_->Url() + " R1_HUB_PARALLEL_MIN=4000000 " + extra_env +
              " HF_TOKEN=${HF_TOKEN_FOR_TEST:-} " + Bin() + " " + args);
  }
  std::string Repo(const std::string& name) { return home_ + "/hub/models--test--" + name; }

  static std::string* dir_;
  static std::string* setup_error_;
  static TestHub* hub_;
  std::string home_;
};
std::string* HubPull::dir_ = nullptr;
std::string* HubPull::setup_error_ = nullptr;
TestHub* HubPull::hub_ = nullptr;

TEST_F(HubPull, SplitGgufLandsInTheHfCacheAndRunsFromIt) {
  Result r = R1("pull test/r1-tiny-GGUF:Q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string repo = Repo("r1-tiny-GGUF"), snap = repo + "/snapshots/1111111111111111111111111111111111111111";
  EXPECT_EQ(Slurp(repo + "/refs/main"), "1111111111111111111111111111111111111111");
  for (int k = 1; k <= 3; ++k) {
    std::string name = "r1-tiny-Q8_0-0000" + std::to_string(k) + "-of-00003.gguf";
    std::string link = snap + "/Q8_0/" + name;
    ASSERT_TRUE(fs::is_symlink(link)) << link;
    std::string target = fs::read_symlink(link).string();
    EXPECT_EQ(target, "../../../blobs/" + Sha256(*dir_ + "/" + name)) << "huggingface_hub's relative link";
    EXPECT_EQ(Slurp(link), Slurp(*dir_ + "/" + name));
  }
  EXPECT_FALSE(fs::exists(snap + "/r1-tiny-Q4_K_M.gguf")) << "only the chosen quant";
  EXPECT_NE(r.out.find("[1/3]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hash checked"), std::string::npos) << r.out;
  EXPECT_GT(hub_->ranged_requests(), 0) << "the 22 MB part goes over parallel ranges";

  // Pulling again downloads nothing.
  r = R1("pull test/r1-tiny-GGUF:Q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("in the cache"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0.0 MiB downloaded"), std::string::npos) << r.out;

  // -m takes the reference; the cached copy is used without the network and
  // gives what the local file gives.
  const int before = hub_->requests();
  const std::string args = " -p 'What is 347+589?' --temp 0 -n 48 --json";
  Result hub = R1("run -m test/r1-tiny-GGUF:Q8_0" + args + " 2>/dev/null");
  ASSERT_EQ(hub.code, 0) << hub.out;
  Result local = Sh(Bin() + " run -m " + *dir_ + "/q8.gguf" + args + " 2>/dev/null");
  ASSERT_EQ(local.code, 0) << local.out;
  EXPECT_EQ(hub_->requests(), before) << "a cached model needs no request";
  auto content = [](const std::string& out) {
    auto j = nlohmann::json::parse(out.substr(out.find('{')), nullptr, false);
    return j.is_discarded() ? std::string("?") : j.value("content", "") + "|" + j.value("reasoning_content", "");
  };
  EXPECT_EQ(content(hub.out), content(local.out));
  EXPECT_NE(content(hub.out), "?") << hub.out;

  // r1 list, then r1 rm of the one quant.
  r = R1("list");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("test/r1-tiny-GGUF"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Q8_0/r1-tiny-Q8_0-00001-of-00003.gguf"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("    3 "), std::string::npos) << "three parts\n" << r.out;
  EXPECT_NE(r.out.find("Q8_0\n"), std::string::npos) << "the type holding most bytes\n" << r.out;
  r = R1("rm test/r1-tiny-GGUF:Q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(fs::exists(repo + "/blobs/" + Sha256(*dir_ + "/r1-tiny-Q8_0-00001-of-00003.gguf")));
  r = R1("list");
  EXPECT_EQ(r.out.find("r1-tiny-Q8_0"), std::string::npos) << r.out;
  r = R1("rm test/r1-tiny-GGUF");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_FALSE(fs::exists(repo));
  r = R1("rm test/r1-tiny-GGUF");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("not in the cache"), std::string::npos) << r.out;
}

TEST_F(HubPull, ModelFlagPullsWhatIsMissing) {
  Result r = R1("run -m test/r1-tiny-GGUF -p 'What is 12+30?' --temp 0 -n 40");  // default quant: Q4_K_M
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("pulling it from"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(Repo("r1-tiny-GGUF") + "/snapshots/1111111111111111111111111111111111111111/r1-tiny-Q4_K_M.gguf"));
}

TEST_F(HubPull, SafetensorsRepositoryGetsItsDirectory) {
  Result r = R1("pull test/r1-tiny-FP8");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string snap = Repo("r1-tiny-FP8") + "/snapshots/2222222222222222222222222222222222222222";
  for (const char* f : {"config.json", "generation_config.json", "tokenizer_config.json", "tokenizer.json", "model.safetensors"})
    EXPECT_EQ(Slurp(snap + "/" + f), Slurp(*dir_ + "/fp8/" + f)) << f;
  EXPECT_NE(r.out.find(snap), std::string::npos) << "prints the directory to open\n" << r.out;
  Result i = Sh(Bin() + " inspect " + snap);
  ASSERT_EQ(i.code, 0) << i.out;
  EXPECT_NE(i.out.find("F8_E4M3"), std::string::npos) << i.out;
  r = R1("list");
  EXPECT_NE(r.out.find("safetensors"), std::string::npos) << r.out;
}

TEST_F(HubPull, SafetensorsRepositoryRunsInPlaceFromTheCache) {
  // The vLLM way: a repository of BF16 safetensors, run as it is.
  const std::string args = " -p 'What is 347+589?' --temp 0 -n 200 --json 2>/dev/null";
  Result hub = R1("run -m test/r1-distill-tiny" + args);
  ASSERT_EQ(hub.code, 0) << hub.out;
  Result local = Sh(Bin() + " run -m " + *dir_ + "/distill" + args);
  ASSERT_EQ(local.code, 0) << local.out;
  EXPECT_EQ(hub.out, local.out);
  EXPECT_NE(hub.out.find("boxed{936}"), std::string::npos) << hub.out;
}

TEST_F(HubPull, CutConnectionResumesWithRangeAndTheRightHash) {
  hub_->faults().cut_once_at = 5'000'000;  // inside part 1 (22 MB)
  Result r = R1("pull test/r1-tiny-GGUF:Q8_0 --connections 1");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(hub_->faults().cut_done.load());
  const std::string part = "r1-tiny-Q8_0-00001-of-00003.gguf";
  EXPECT_EQ(Slurp(Repo("r1-tiny-GGUF") + "/blobs/" + Sha256(*dir_ + "/" + part)), Slurp(*dir_ + "/" + part));
}

TEST_F(HubPull, InterruptedDownloadResumesInTheNextRun) {
  // The server stalls at 9 MB of every part: the run gives up (1 s timeout),
  // keeping the partial file; the next run resumes it.
  hub_->faults().stall_at = 9'000'000;
  auto t0 = std::chrono::steady_clock::now();
  Result r = R1("pull test/r1-tiny-GGUF:Q8_0", "R1_HUB_TIMEOUT=1");
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_NE(r.code, 0) << r.out;
  EXPECT_LT(s, 30) << "bounded by the stall timeout and the retries";
  EXPECT_NE(r.out.find("no data from 127.0.0.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run again to resume"), std::string::npos) << r.out;
  const std::string blobs = Repo("r1-tiny-GGUF") + "/blobs/", sha = Sha256(*dir_ + "/r1-tiny-Q8_0-00001-of-00003.gguf");
  EXPECT_TRUE(fs::exists(blobs + sha + ".incomplete"));
  EXPECT_FALSE(fs::exists(blobs + sha)) << "an interrupted download never looks complete";
  EXPECT_FALSE(fs::exists(Repo("r1-tiny-GGUF") + "/snapshots/1111111111111111111111111111111111111111/Q8_0/r1-tiny-Q8_0-00001-of-00003.gguf"));
  hub_->faults().stall_at = -1;
  r = R1("pull test/r1-tiny-GGUF:Q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resumed from an earlier run"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(blobs + sha + ".incomplete"));
  EXPECT_EQ(Sha256(blobs + sha), sha);
}

TEST_F(HubPull, CorruptedByteIsDetectedAndTheFileRefused) {
  hub_->faults().corrupt_at = 12'345'678;
  Result r = R1("pull test/r1-tiny-GGUF:Q8_0");
  ASSERT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("SHA-256 mismatch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Q8_0/r1-tiny-Q8_0-00001-of-00003.gguf"), std::string::npos) << r.out;
  const std::string blobs = Repo("r1-tiny-GGUF") + "/blobs/", sha = Sha256(*dir_ + "/r1-tiny-Q8_0-00001-of-00003.gguf");
  EXPECT_FALSE(fs::exists(blobs + sha));
  EXPECT_FALSE(fs::exists(blobs + sha + ".incomplete"));
  Result run = R1("run -m test/r1-tiny-GGUF:Q8_0 -p hi -n 1", "R1_HUB_TIMEOUT=1");
  EXPECT_NE(run.code, 0) << "a refused file is not in the cache, and the hub still corrupts it\n" << run.out;
}

TEST_F(HubPull, MissingRepositoriesFilesAndQuantsAreNamed) {
  Result r = R1("pull test/nope");
  ASSERT_NE(r.code, 0);
  EXPECT_NE(r.out.find("test/nope: not found on 127.0.0.1"), std::string::npos) << r.out;
  r = R1("pull test/r1-tiny-GGUF:Q3_K_M");
  ASSERT_NE(r.code, 0);
  EXPECT_NE(r.out.find("no GGUF file tagged 'Q3_K_M'; it has Q4_K_M, Q8_0"), std::string::npos) << r.out;
  r = R1("pull test/r1-tiny-GGUF:other.gguf");
  ASSERT_NE(r.code, 0);
  EXPECT_NE(r.out.find("has no file 'other.gguf'"), std::string::npos) << r.out;
  r = R1("pull test/r1-tiny-GGUF", "HF_ENDPOINT=http://127.0.0.1:1");
  ASSERT_NE(r.code, 0);
  EXPECT_NE(r.out.find("cannot reach 127.0.0.1:1"), std::string::npos) << r.out;
}

TEST_F(HubPull, GatedRepositoryNeedsTheToken) {
  Result r = R1("pull test/gated-GGUF:Q4_K_M");
  ASSERT_NE(r.code, 0);
  EXPECT_NE(r.out.find("HTTP 401"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("set HF_TOKEN"), std::string::npos) << r.out;
  r = R1("pull test/gated-GGUF:Q4_K_M", "HF_TOKEN_FOR_TEST=wrong");
  ASSERT_NE(r.code, 0);
  EXPECT_NE(r.out.find("HF_TOKEN was not accepted"), std::string::npos) << r.out;
  r = R1("pull test/gated-GGUF:Q4_K_M", "HF_TOKEN_FOR_TEST=hf_secret");
  ASSERT_EQ(r.code, 0) << r.out;
}

TEST_F(HubPull, FullDiskKeepsThePartialFileForAResume) {
  // A file-size quota (ulimit -f, in KiB) stands in for a full disk: writes
  // past it fail with EFBIG as they would with ENOSPC.
  Result r = Sh("ulimit -f 6000 && HF_HOME=" + home_ + " HF_ENDPOINT=" + hub_->Url() + " " + Bin() +
                " pull test/r1-tiny-GGUF:Q8_0");
  ASSERT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("the disk is full or over quota"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run again to resume"), std::string::npos) << r.out;
  r = R1("pull test/r1-tiny-GGUF:Q8_0");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resumed from an earlier run"), std::string::npos) << r.out;
}

}  // namespace
