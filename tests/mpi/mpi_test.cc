// Pipeline parallelism under mpirun (runtime/pipeline.h), on one machine:
// 2 and 3 ranks over shared memory and over TCP on loopback give logits and
// greedy output bit-identical to one process, for qwen2 and deepseek2;
// `r1 serve` under mpirun passes the openai-client tests; a killed rank ends
// the job with a message from rank 0 naming the ranks; SIGTERM to rank 0
// shuts every rank down cleanly. Label mpi: CI runs these after the rest.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <iterator>
#include <regex>
#include <string>
#include <thread>

#include "dist/transport.h"
#include "util/serve_process.h"
#include "util/shell.h"
#include "util/skip.h"

namespace {

using r1::testing::FreePort;
using r1::testing::R1Bin;
using r1::testing::RunShell;
using r1::testing::ServeProcess;
using r1::testing::Sh;
using r1::testing::WaitHealthy;

const std::string kDir = std::string(R1_BINARY_DIR) + "/mpi_test";

// mpirun as root (CI containers) needs Open MPI's two confirmations; containers often forbid the
// cross-process memory access (CMA) shared memory uses for large messages, so it copies instead.
std::string Mpirun(int np, const std::string& extra = "") {
  return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none "
         "mpirun --oversubscribe -np " +
         std::to_string(np) + " " + extra + " ";
}

bool Ready(std::string* why) {
  if (R1Bin().empty()) {
    *why = "R1_BIN is not set";
    return false;
  }
  if (!r1::dist::MpiAvailable()) {
    *why = "built without MPI (-DR1_MPI=ON, Debian libopenmpi-dev)";
    return false;
  }
  if (Sh("mpirun --version >/dev/null 2>&1") != 0) {
    *why = "mpirun not found (Debian openmpi-bin)";
    return false;
  }
  Sh("mkdir -p " + kDir);
  return true;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

// A build without MPI (the ASan and fuzz presets) skips these even under CI;
// a missing mpirun in an MPI build fails there.
#define R1_MPI_READY()                                                       \
  do {                                                                       \
    if (!r1::dist::MpiAvailable()) GTEST_SKIP() << "built without MPI (-DR1_MPI=ON)"; \
    std::string why_;                                                        \
    if (!Ready(&why_)) R1_SKIP_OR_FAIL(why_);                                \
  } while (0)

// `mpirun -np NP r1 serve` on a fresh small model with `flags`; null (and a
// test failure) when it does not become healthy. *port and *log are set.
std::unique_ptr<ServeProcess> ServeUnderMpirun(const std::string& name, int np, const std::string& flags, int* port,
                                               std::string* log) {
  const std::string m = kDir + "/" + name + ".gguf";
  if (Sh(R1Bin() + " gen --size small -o " + m + " 2>/dev/null") != 0) {
    ADD_FAILURE() << "r1 gen failed";
    return nullptr;
  }
  *port = FreePort();
  *log = kDir + "/" + name + ".log";
  auto serve = std::make_unique<ServeProcess>(
      std::vector<std::string>{"/bin/sh", "-c",
                               "exec " + Mpirun(np) + R1Bin() + " serve -m " + m + " --port " + std::to_string(*port) +
                                   " --pipeline " + std::to_string(np) + " " + flags},
      *log);
  if (!WaitHealthy(*port, 120)) {
    ADD_FAILURE() << Slurp(*log);
    return nullptr;
  }
  return serve;
}

// The pid a rank's load line reports ("rank 1 of 2 (pid 1234)"), -1 if absent.
int RankPid(const std::string& log, int rank, int np) {
  std::smatch pid;
  const std::string text = Slurp(log);
  const std::regex line("rank " + std::to_string(rank) + " of " + std::to_string(np) + " \\(pid ([0-9]+)\\)");
  return std::regex_search(text, pid, line) ? std::stoi(pid[1]) : -1;
}

struct Case {
  const char* name;
  const char* gen;     // r1 arguments writing the model to $M
  const char* stages;  // three --stage-layers ranges over its layers
};

const Case kModels[] = {
    {"qwen2", "gen --arch qwen2 --size small --type q8_0 -o", "0-1,2-2,3-3"},
    {"deepseek2", "gen-deepseek2 --size tiny --type q8_0 -o", "0-0,1-1,2-2"},
};

TEST(Pipeline, LogitsAndGreedyOutputAreBitIdenticalToOneProcess) {
  R1_MPI_READY();
  const std::string bin = R1Bin();
  for (const Case& c : kModels) {
    SCOPED_TRACE(c.name);
    const std::string m = kDir + "/" + c.name + ".gguf";
    ASSERT_EQ(Sh(bin + " " + c.gen + " " + m + " 2>/dev/null"), 0);
    const std::string toks = " --tokens 1,5,9,200,3,4,77,8,9,10,11,12,13,14,15,16,17 -t 1";
    // Prefill: every position's logits. Decode: 40 greedy tokens of `r1 run`.
    const std::string logits = " logits -m " + m + toks + " --out ";
    const std::string run = " run -m " + m + " --tokens 1,5,9,200 --temp 0 -n 40 --ids -t 1";
    ASSERT_EQ(Sh(bin + logits + kDir + "/one.bin >/dev/null 2>&1"), 0);
    auto solo = RunShell(bin + run, /*quiet_stderr=*/true);
    ASSERT_EQ(solo.code, 0);
    struct Launch {
      int np;
      const char* mca;     // transport
      std::string layers;  // --stage-layers, or balanced
    };
    for (const Launch& l : {Launch{2, "", ""}, Launch{3, "", ""}, Launch{2, "--mca btl tcp,self", ""},
                            Launch{3, "--mca btl tcp,self", std::string("--stage-layers ") + c.stages}}) {
      SCOPED_TRACE(std::to_string(l.np) + " ranks " + l.mca + " " + l.layers);
      const std::string flags = " --pipeline " + std::to_string(l.np) + " " + l.layers;
      const std::string log = kDir + "/" + c.name + ".log";
      ASSERT_EQ(Sh(Mpirun(l.np, l.mca) + bin + logits + kDir + "/many.bin" + flags + " >" + log + " 2>&1"), 0)
          << Slurp(log);
      EXPECT_EQ(Sh("cmp " + kDir + "/one.bin " + kDir + "/many.bin"), 0) << "prefill logits differ";
      auto many = RunShell(Mpirun(l.np, l.mca) + bin + run + flags, /*quiet_stderr=*/true);
      ASSERT_EQ(many.code, 0) << many.out;
      EXPECT_EQ(many.out, solo.out) << "greedy decode differs";
    }
  }
}

TEST(Pipeline, BadLaunchesAreNamed) {
  R1_MPI_READY();
  const std::string bin = R1Bin();
  const std::string m = kDir + "/bad.gguf";
  ASSERT_EQ(Sh(bin + " gen --size tiny -o " + m + " 2>/dev/null"), 0);
  const std::string logits = bin + " logits -m " + m + " --tokens 1,2,3 -t 1";
  auto r = RunShell(Mpirun(2) + logits);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("pass --pipeline 2"), std::string::npos) << r.out;
  r = RunShell(Mpirun(2) + logits + " --pipeline 3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("the MPI job has 2 ranks"), std::string::npos) << r.out;
  r = RunShell(Mpirun(2) + logits + " --pipeline 2 --stage-layers 0-0,2-3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--stage-layers '0-0,2-3': '2-3' must be FIRST-LAST starting at 1"), std::string::npos)
      << r.out;
}

// The openai-client tests of tests/server_js against `mpirun -np 2 r1 serve`,
// among them 16 and 32 concurrent streams each equal to its solo run, and
// parity.test.mjs, which compares the server's output with one-process `r1 run`.
TEST(Pipeline, ServesTheOpenAiClientTestsUnderMpirun) {
  R1_MPI_READY();
  ::signal(SIGPIPE, SIG_IGN);
  const std::string bin = R1Bin();
  const std::string js = std::string(R1_SOURCE_DIR) + "/tests/server_js";
  if (Sh("cd " + js + " && node --version >/dev/null 2>&1 && npm ls >/dev/null 2>&1") != 0)
    R1_SKIP_OR_FAIL("node or the pinned tests/server_js packages are missing (npm ci)");
  int port = 0;
  std::string log;
  auto serve = ServeUnderMpirun("serve", 2, "--api-key k --alias model --parallel 32 --ctx-size 4096 --threads 1 "
                                "--max-queue 128", &port, &log);
  ASSERT_TRUE(serve);
  const std::string m = kDir + "/serve.gguf";
  const std::string env = "R1_BASE_URL=http://127.0.0.1:" + std::to_string(port) +
                          " R1_API_KEY=k R1_MODEL=model R1_BIN=" + bin + " R1_MODEL_PATH=" + m;
  EXPECT_EQ(Sh("cd " + js + " && " + env +
               " node --test --test-concurrency=1 --test-reporter=spec chat.test.mjs load.test.mjs parity.test.mjs 2>&1"),
            0)
      << "server log: " << log;
  // SIGTERM to rank 0 (mpirun's own SIGTERM ends the job as killed).
  const int pid0 = RankPid(log, 0, 2);
  ASSERT_GT(pid0, 0) << Slurp(log);
  ASSERT_EQ(::kill(pid0, SIGTERM), 0);
  EXPECT_EQ(serve->Wait(60), 0) << Slurp(log);
}

// A rank killed mid-request: rank 0 fails the request with a message naming
// the ranks and what it waited for, and the job ends within a bounded time.
TEST(Pipeline, AKilledRankEndsTheJobWithAMessage) {
  R1_MPI_READY();
  ::signal(SIGPIPE, SIG_IGN);
  int port = 0;
  std::string log;
  auto serve = ServeUnderMpirun("fault", 2, "--threads 1 --stage-timeout 20", &port, &log);
  ASSERT_TRUE(serve);
  const int pid1 = RankPid(log, 1, 2);
  ASSERT_GT(pid1, 0) << Slurp(log);
  // A long prompt, so that the forward passes are under way when rank 1 dies.
  std::string prompt;
  for (int i = 0; i < 600; ++i) prompt += " w" + std::to_string(i);
  std::mutex mu;
  std::string body;
  std::atomic<bool> started{false};
  std::thread client([&] {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(60, 0);
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/chat/completions";
    req.set_header("Content-Type", "application/json");
    req.body = R"({"stream":true,"max_tokens":3000,"messages":[{"role":"user","content":")" + prompt + "\"}]}";
    req.content_receiver = [&](const char* d, size_t n, uint64_t, uint64_t) {
      std::lock_guard<std::mutex> lock(mu);
      body.append(d, n);
      started = true;
      return true;
    };
    httplib::Response res;
    httplib::Error err;
    cli.send(req, res, err);
    started = true;
  });
  // The stream's first event comes before the prompt's forward passes: kill
  // rank 1 while they are under way.
  for (int i = 0; i < 600 && !started; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(started) << "no response started";
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(pid1, SIGKILL), 0);
  client.join();
  const int code = serve->Wait(30);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_NE(code, -1) << "the job did not end within 30 s";
  EXPECT_NE(code, 0);
  EXPECT_LT(s, 30);
  const std::string out = Slurp(log);
  EXPECT_NE(out.find("r1: rank 0: waiting for rank 1 (the last stage)"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1: layers"), std::string::npos) << out;
  // The request saw the error (a streamed error event), not a silent cut.
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(body.find("waiting for rank 1"), std::string::npos) << body.substr(0, 2000);
}

// SIGTERM to rank 0: it shuts down, sends every rank the shutdown, and the
// whole job exits 0.
TEST(Pipeline, SigtermToRankZeroShutsEveryRankDown) {
  R1_MPI_READY();
  int port = 0;
  std::string log;
  auto serve = ServeUnderMpirun("term", 3, "--threads 1", &port, &log);
  ASSERT_TRUE(serve);
  httplib::Client cli("127.0.0.1", port);
  auto r = cli.Post("/v1/chat/completions", R"({"max_tokens":8,"messages":[{"role":"user","content":"hi"}]})",
                    "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  const int pid0 = RankPid(log, 0, 3);
  ASSERT_GT(pid0, 0) << Slurp(log);
  ASSERT_EQ(::kill(pid0, SIGTERM), 0);
  EXPECT_EQ(serve->Wait(60), 0) << Slurp(log);
  EXPECT_NE(Slurp(log).find("r1 serve: stopped"), std::string::npos);
}

}  // namespace
