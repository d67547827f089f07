// End to end: starts `r1 serve` on a small generated model and runs the
// JavaScript tests in tests/server_js with the official openai npm client,
// then checks graceful shutdown on SIGTERM. Skips (with a message) when
// R1_BIN, node or npm are unavailable, or `npm ci` cannot install.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "util/serve_process.h"
#include "util/skip.h"

namespace {

const char kKey[] = "test-key";

using r1::testing::FreePort;
using r1::testing::ServeProcess;
using r1::testing::Sh;
using r1::testing::WaitHealthy;

std::string Bin() { return r1::testing::R1Bin(); }

// node, npm and tests/server_js's pinned packages; "" when ready, else why not.
std::string JsNotReady(const std::string& js) {
  if (Sh("node --version >/dev/null 2>&1") != 0 || Sh("npm --version >/dev/null 2>&1") != 0)
    return "node/npm not available: skipping the openai-client tests";
  // Several tests call this at once under `ctest -j`: one lock, and `npm ci` (which
  // deletes node_modules first) only when `npm ls` finds the pinned tree incomplete.
  const std::string dir = std::string(R1_BINARY_DIR);
  const std::string log = dir + "/server_js-npm.log";
  if (Sh("cd '" + js + "' && flock '" + dir + "/server_js-npm.lock' sh -c 'npm ls >/dev/null 2>&1 || " +
         "npm ci --no-audit --no-fund --loglevel=error' >'" + log + "' 2>&1") != 0)
    return "`npm ci` failed in " + js + " (no registry access?), see " + log + ": skipping";
  return "";
}

// `r1 gen --trained NAME` into the build folder and `r1 serve` on it with the
// test key; null (with a test failure) when either does not come up.
std::unique_ptr<ServeProcess> ServeTrained(const std::string& bin, const std::string& name, const std::string& alias,
                                           int parallel, int ctx, int* port, std::string* log) {
  const std::string dir = std::string(R1_BINARY_DIR);
  const std::string model = dir + "/server_e2e_" + name + ".gguf";
  if (Sh(bin + " gen --trained " + name + " -o " + model + " 2>" + model + ".log") != 0) {
    ADD_FAILURE() << "r1 gen --trained " << name << " failed; see " << model << ".log";
    return nullptr;
  }
  *port = FreePort();
  *log = dir + "/server_e2e_" + name + ".log";
  auto serve = std::make_unique<ServeProcess>(
      std::vector<std::string>{bin, "serve", "-m", model, "--port", std::to_string(*port), "--api-key", kKey, "--alias",
                               alias, "--parallel", std::to_string(parallel), "--ctx-size", std::to_string(ctx),
                               "--threads", "2"},
      *log);
  if (!WaitHealthy(*port, 120)) {
    ADD_FAILURE() << "r1 serve did not become healthy; see " << *log;
    return nullptr;
  }
  return serve;
}

TEST(ServerE2E, OpenAiClientAgainstR1Serve) {
  ::signal(SIGPIPE, SIG_IGN);  // the client below may write to a server that has gone
  const std::string bin = Bin();
  if (bin.empty()) R1_SKIP_OR_FAIL("R1_BIN is not set");
  const std::string js = std::string(R1_SOURCE_DIR) + "/tests/server_js";
  if (const std::string why = JsNotReady(js); !why.empty()) R1_SKIP_OR_FAIL(why);
  const std::string dir = std::string(R1_BINARY_DIR);
  const std::string model = dir + "/server_e2e_small.gguf";
  ASSERT_EQ(Sh(bin + " gen --size small -o " + model + " 2>/dev/null"), 0);

  const int port = FreePort();
  const std::string log = dir + "/server_e2e.log";
  ServeProcess serve({bin, "serve", "-m", model, "--port", std::to_string(port), "--api-key", kKey, "--alias",
                      "model", "--parallel", "32", "--ctx-size", "4096", "--threads", "2", "--max-queue", "128",
                      "--read-timeout", "3"},
                     log);
  ASSERT_TRUE(WaitHealthy(port, 120)) << "r1 serve did not become healthy; see " << log;

  const std::string env = "R1_BASE_URL=http://127.0.0.1:" + std::to_string(port) + " R1_API_KEY=" + kKey +
                          " R1_MODEL=model R1_BIN=" + bin + " R1_MODEL_PATH=" + model;
  const int rc = Sh("cd " + js + " && " + env +
                    " node --test --test-concurrency=1 --test-reporter=spec chat.test.mjs load.test.mjs "
                    "prefix.test.mjs parity.test.mjs apis.test.mjs structured.test.mjs 2>&1");
  EXPECT_EQ(rc, 0) << "node tests failed; server log: " << log;

  // A full queue: a second server with one sequence slot and a queue of one.
  {
    const int qport = FreePort();
    const std::string qlog = dir + "/server_e2e_queue.log";
    ServeProcess queue({bin, "serve", "-m", model, "--port", std::to_string(qport), "--api-key", kKey, "--alias",
                        "model", "--parallel", "1", "--max-queue", "1", "--ctx-size", "2048", "--threads", "2"},
                       qlog);
    ASSERT_TRUE(WaitHealthy(qport, 120)) << "r1 serve did not become healthy; see " << qlog;
    const std::string qenv = "R1_BASE_URL=http://127.0.0.1:" + std::to_string(qport) + " R1_API_KEY=" + kKey +
                             " R1_MODEL=model";
    EXPECT_EQ(Sh("cd " + js + " && " + qenv + " node --test --test-reporter=spec queue.test.mjs 2>&1"), 0)
        << "queue test failed; server log: " << qlog;
    EXPECT_EQ(queue.Terminate(60), 0);
  }

  // Graceful shutdown with a stream in flight: it finishes, the process exits 0.
  httplib::Client cli("127.0.0.1", port);
  cli.set_bearer_token_auth(kKey);
  cli.set_read_timeout(60, 0);
  std::string streamed;
  std::thread client([&] {
    httplib::Headers h;
    cli.Post(
        "/v1/chat/completions", h,
        R"({"messages":[{"role":"user","content":"hello"}],"max_tokens":200,"stream":true,"seed":1})",
        "application/json");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(serve.Terminate(60), 0);
  client.join();
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("r1 serve: stopped"), std::string::npos) << text.substr(text.size() > 4000 ? text.size() - 4000 : 0);
}

// `r1 serve` on the trained r1-tiny (data/trained, expanded here), then one
// file of tests/server_js against it with `env_extra` in its environment.
void JsOnTrainedR1Tiny(int parallel, const std::string& env_extra, const std::string& file) {
  ::signal(SIGPIPE, SIG_IGN);
  const std::string bin = Bin();
  if (bin.empty()) R1_SKIP_OR_FAIL("R1_BIN is not set");
  const std::string js = std::string(R1_SOURCE_DIR) + "/tests/server_js";
  if (const std::string why = JsNotReady(js); !why.empty()) R1_SKIP_OR_FAIL(why);
  int port = 0;
  std::string log;
  auto serve = ServeTrained(bin, "r1-tiny", "model", parallel, 1024, &port, &log);
  ASSERT_TRUE(serve);
  const std::string env = "R1_BASE_URL=http://127.0.0.1:" + std::to_string(port) + " R1_API_KEY=" + kKey +
                          " R1_MODEL=model " + env_extra;
  EXPECT_EQ(Sh("cd " + js + " && " + env + " node --test --test-reporter=spec " + file + " 2>&1"), 0)
      << "server log: " << log;
  EXPECT_EQ(serve->Terminate(60), 0);
}

// response_format json_schema on the trained r1-tiny: its thought stays free
// text and its answer validates (tests/server_js/structured.test.mjs).
TEST(ServerE2E, StructuredOutputOnTrainedR1Tiny) { JsOnTrainedR1Tiny(2, "R1_STRUCTURED=r1-tiny", "structured.test.mjs"); }

// The trained r1-tiny through the server and the openai client: thinking, the
// boxed answer, budget 0, and a raw tool call.
// DISABLED until r1-tiny answers correctly (~3% today, train/REPORT.md).
TEST(ServerE2E, DISABLED_TrainedR1TinyThinksAnswersAndCallsTools) { JsOnTrainedR1Tiny(4, "", "trained.test.mjs"); }

}  // namespace

// Speculative decoding through the server: four concurrent greedy requests
// give the same text with `--spec draft` (the model drafting for itself) and
// `--spec ngram` as without speculation; usage reports the predictions and
// /metrics the acceptance rate.
TEST(ServerE2E, SpeculativeServingGivesThePlainOutput) {
  ::signal(SIGPIPE, SIG_IGN);
  const std::string bin = Bin();
  if (bin.empty()) R1_SKIP_OR_FAIL("R1_BIN is not set");
  const std::string dir = std::string(R1_BINARY_DIR);
  const std::string model = dir + "/server_e2e_spec.gguf";
  ASSERT_EQ(Sh(bin + " gen --size small -o " + model + " 2>/dev/null"), 0);
  auto serve_and_ask = [&](const std::vector<std::string>& extra, std::string* metrics) {
    const int port = FreePort();
    const std::string log = dir + "/server_e2e_spec.log";
    std::vector<std::string> args = {bin, "serve", "-m", model, "--port", std::to_string(port), "--api-key", kKey,
                                     "--parallel", "4", "--ctx-size", "1024", "--threads", "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    ServeProcess serve(args, log);
    EXPECT_TRUE(WaitHealthy(port, 120)) << "see " << log;
    std::vector<nlohmann::json> out(4);
    std::vector<std::thread> clients;
    for (int i = 0; i < 4; ++i) {
      clients.emplace_back([&, i] {
        httplib::Client cli("127.0.0.1", port);
        cli.set_bearer_token_auth(kKey);
        cli.set_read_timeout(120, 0);
        const nlohmann::json body = {
            {"messages", {{{"role", "user"}, {"content", "count with me " + std::to_string(i)}}}},
            {"max_tokens", 40 + 10 * i},
            {"temperature", 0}};
        auto r = cli.Post("/v1/chat/completions", body.dump(), "application/json");
        if (r && r->status == 200) out[static_cast<size_t>(i)] = nlohmann::json::parse(r->body);
      });
    }
    for (auto& c : clients) c.join();
    httplib::Client cli("127.0.0.1", port);
    cli.set_bearer_token_auth(kKey);
    if (auto m = cli.Get("/metrics"); m && metrics) *metrics = m->body;
    EXPECT_EQ(serve.Terminate(60), 0);
    return out;
  };
  const auto plain = serve_and_ask({}, nullptr);
  for (const std::vector<std::string>& spec :
       {std::vector<std::string>{"--spec", "draft", "--draft-model", model, "--spec-tokens", "3", "--spec-always"},
        std::vector<std::string>{"--spec", "ngram", "--spec-always"}}) {
    SCOPED_TRACE(spec[1]);
    std::string metrics;
    const auto got = serve_and_ask(spec, &metrics);
    int64_t accepted = 0;
    for (size_t i = 0; i < 4; ++i) {
      ASSERT_TRUE(got[i].contains("choices")) << got[i].dump();
      ASSERT_TRUE(plain[i].contains("choices")) << plain[i].dump();
      EXPECT_EQ(got[i]["choices"][0]["message"].dump(), plain[i]["choices"][0]["message"].dump()) << "request " << i;
      accepted += got[i]["usage"]["completion_tokens_details"]["accepted_prediction_tokens"].get<int64_t>();
      EXPECT_GE(got[i]["usage"]["completion_tokens_details"]["rejected_prediction_tokens"].get<int64_t>(), 0);
    }
    if (spec[1] == "draft") {
      EXPECT_GT(accepted, 40);
    }
    EXPECT_NE(metrics.find("r1_spec_acceptance_ratio "), std::string::npos) << metrics;
    EXPECT_EQ(metrics.find("r1_spec_draft_tokens_total 0\n"), std::string::npos) << "no drafts were proposed";
  }
}

// The web chat at / in Debian's Chromium (tests/server_js/webui.test.mjs,
// playwright-core), on the trained r1-distill-tiny, which answers 347+589;
// then tool calling through every API on the same server (tools.test.mjs).
// Screenshots: build/webui_*.png.
TEST(ServerE2E, WebChatInChromium) {
  ::signal(SIGPIPE, SIG_IGN);
  const std::string bin = Bin();
  if (bin.empty()) R1_SKIP_OR_FAIL("R1_BIN is not set");
  const std::string js = std::string(R1_SOURCE_DIR) + "/tests/server_js";
  if (const std::string why = JsNotReady(js); !why.empty()) R1_SKIP_OR_FAIL(why);
  if (Sh("test -x /usr/bin/chromium") != 0) R1_SKIP_OR_FAIL("/usr/bin/chromium is missing (scripts/install-deps.sh installs it)");
  const std::string dir = std::string(R1_BINARY_DIR);
  int port = 0;
  std::string log;
  auto serve = ServeTrained(bin, "r1-distill-tiny", "r1-distill-tiny", 2, 2048, &port, &log);
  ASSERT_TRUE(serve);
  const std::string env = "R1_BASE_URL=http://127.0.0.1:" + std::to_string(port) + " R1_API_KEY=" + kKey +
                          " R1_SCREENSHOTS=" + dir;
  EXPECT_EQ(Sh("cd " + js + " && " + env + " node --test --test-reporter=spec webui.test.mjs 2>&1"), 0)
      << "server log: " << log;
  // Tool calling on the same model (it calls a calculator for 4×4-digit products).
  EXPECT_EQ(Sh("cd " + js + " && " + env + " R1_MODEL=r1-distill-tiny node --test --test-reporter=spec tools.test.mjs 2>&1"), 0)
      << "server log: " << log;
  // Forced tool calls (tool_choice required and named), on the same server.
  EXPECT_EQ(Sh("cd " + js + " && " + env +
               " R1_MODEL=r1-distill-tiny R1_STRUCTURED=distill node --test --test-reporter=spec structured.test.mjs 2>&1"),
            0)
      << "server log: " << log;
  EXPECT_EQ(serve->Terminate(60), 0);
}
