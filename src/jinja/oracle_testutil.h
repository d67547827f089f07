// Test helper (header-only, tests only): renders templates with the Python
// reference (testdata/render_oracle.py on Debian's python3-jinja2, set up
// like HF transformers) and with our engine, for byte-for-byte comparison.
#pragma once

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "jinja/jinja.h"

namespace r1::chat::testing {

struct OracleJob {
  std::string tmpl;
  nlohmann::ordered_json context = nlohmann::ordered_json::object();
};

struct OracleResult {
  bool ok = false;
  std::string output;  // when ok
  std::string error;   // when not
};

inline std::string ScratchDir() {
  std::filesystem::path dir = std::filesystem::path(R1_BINARY_DIR) / "chat_test_tmp";
  std::filesystem::create_directories(dir);
  return dir.string();
}

// Empty string if python3 with jinja2 is usable, else the reason.
inline std::string OracleUnavailableReason() {
  std::string cmd = std::string(R1_PYTHON) + " -c 'import jinja2' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return std::string(R1_PYTHON) + " with jinja2 is not available";
  return "";
}

// Runs all jobs in one Python process. Returns false (with *error) if the
// oracle itself could not run.
inline bool RunOracle(const std::vector<OracleJob>& jobs, std::vector<OracleResult>* results,
                      std::string* error) {
  nlohmann::ordered_json j = nlohmann::ordered_json::array();
  for (const auto& job : jobs) j.push_back({{"template", job.tmpl}, {"context", job.context}});
  std::string base = ScratchDir() + "/oracle_" + std::to_string(::getpid()) + "_" +
                     std::to_string(reinterpret_cast<uintptr_t>(&jobs));
  {
    std::ofstream f(base + ".in.json", std::ios::binary);
    f << j.dump();
  }
  std::string cmd = std::string(R1_PYTHON) + " " + R1_SOURCE_DIR + "/src/jinja/testdata/render_oracle.py " +
                    base + ".in.json " + base + ".out.json";
  if (std::system(cmd.c_str()) != 0) {
    *error = "oracle failed: " + cmd;
    return false;
  }
  std::ifstream f(base + ".out.json", std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  auto out = nlohmann::json::parse(ss.str(), nullptr, false);
  std::remove((base + ".in.json").c_str());
  std::remove((base + ".out.json").c_str());
  if (!out.is_array() || out.size() != jobs.size()) {
    *error = "oracle produced bad output";
    return false;
  }
  results->clear();
  for (const auto& r : out) {
    OracleResult res;
    res.ok = r.value("ok", false);
    res.output = r.value("output", "");
    res.error = r.value("error", "");
    results->push_back(std::move(res));
  }
  return true;
}

// Our engine on the same job.
inline OracleResult RenderOurs(const OracleJob& job) {
  OracleResult res;
  auto t = jinja::Template::Parse(job.tmpl);
  if (!t.ok()) {
    res.error = t.status().message();
    return res;
  }
  jinja::Dict vars;
  for (auto it = job.context.begin(); it != job.context.end(); ++it)
    vars.Set(jinja::Value::String(it.key()), jinja::Value::FromJson(it.value()));
  auto out = t->Render(vars);
  if (!out.ok()) {
    res.error = out.status().message();
    return res;
  }
  res.ok = true;
  res.output = *out;
  return res;
}

}  // namespace r1::chat::testing
