#include "util/model_util.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <set>

namespace r1::testing {

std::string SyntheticModelPath(const std::string& name, const SyntheticSpec& spec) {
  static std::mutex mu;
  static std::set<std::string> written;
  std::lock_guard<std::mutex> lock(mu);
  std::string dir = std::string(R1_BINARY_DIR) + "/testmodels";
  ::mkdir(dir.c_str(), 0755);
  std::string path = dir + "/" + name + ".gguf";
  if (!written.count(path)) {
    Status st = WriteSyntheticModel(spec, path);
    if (!st.ok()) std::fprintf(stderr, "cannot write %s: %s\n", path.c_str(), st.ToString().c_str());
    written.insert(path);
  }
  return path;
}

bool HaveNumpyReference() {
  static const bool have = std::system(R1_PYTHON " -c 'import numpy' >/dev/null 2>&1") == 0;
  return have;
}

StatusOr<std::vector<double>> ReferenceLogits(const std::string& model, const std::vector<std::vector<int32_t>>& seqs,
                                              const std::string& extra_args) {
  static int counter = 0;
  std::string out = model + ".ref" + std::to_string(counter++) + ".bin";
  std::string cmd = std::string(R1_PYTHON) + " " + R1_SOURCE_DIR + "/tests/ref/reference.py --model " + model;
  for (const auto& s : seqs) {
    cmd += " --tokens ";
    for (size_t i = 0; i < s.size(); ++i) cmd += (i ? "," : "") + std::to_string(s[i]);
  }
  cmd += " --out " + out + " " + extra_args + " 2>" + out + ".log";
  if (std::system(cmd.c_str()) != 0) {
    std::ifstream log(out + ".log");
    std::string text((std::istreambuf_iterator<char>(log)), {});
    return Status::Internal("reference.py failed: " + cmd + "\n" + text);
  }
  std::ifstream in(out, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  std::vector<double> v(bytes.size() / sizeof(double));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(double));
  std::remove(out.c_str());
  std::remove((out + ".log").c_str());
  return v;
}

SyntheticSpec SmallSpec(const std::string& arch, GgmlType type, bool q4_k_m) {
  SyntheticSpec s;
  s.arch = arch;
  s.n_vocab = 512;
  s.n_embd = 256;
  s.n_layer = 2;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 512;
  s.type = type;
  s.q4_k_m = q4_k_m;
  if (arch == "qwen3") s.head_dim = 128;  // qwen3: head_dim ≠ n_embd / n_head
  return s;
}

}  // namespace r1::testing
