// Helpers shared by the r1 subcommands.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "r1/status.h"
#include "runtime/engine.h"
#include "models/kv_cache.h"
#include "runtime/sampler.h"

namespace r1::cli {

// "1,2, 3" → {1, 2, 3}; errors name the bad item.
StatusOr<std::vector<int32_t>> ParseTokenList(const std::string& s);

// --temp --top-k --top-p --min-p, the three penalties and --seed, shared by
// every command that samples.
void AddSamplingOptions(CLI::App& app, SamplerParams* p);

// --kv-type f16|q8_0 (KV cache element type); an unknown value is a parse
// error naming the flag.
void AddKvTypeOption(CLI::App& app, KvType* t);

// The model-loading flags (LoadOptions): --no-repack (keep the weights in
// the file's layout), --mla auto|absorbed|expanded and --expert-groups G,K|none
// (deepseek2). A bad value is a parse error naming the flag.
void AddLoadOptions(CLI::App& app, LoadOptions* lo);

// Speculative decoding: --spec mtp|draft|ngram|off, --spec-tokens K,
// --spec-max-batch N, --spec-fixed and --draft-model FILE.
void AddSpecOptions(CLI::App& app, EngineOptions* eo);

// The engine flags every model-running command shares, bound to `eo`:
// -m/--model (required), -t/--threads, --kv-type, the load options and the
// speculative-decoding ones.
void AddEngineOptions(CLI::App& app, EngineOptions* eo);

// The most -t/--threads accepts.
inline constexpr int kMaxThreads = 1024;

// Prints "r1: <message>" to stderr and returns exit code 1.
int Fail(const Status& s);

// The whole file; NotFound naming it when it cannot be opened.
StatusOr<std::string> ReadFile(const std::string& path);

// A one-line progress bar on stderr when it is a terminal. A non-empty
// `detail` ("3/32 chunks, 812 tok/s") follows the percentage and redraws the
// line on every call.
class Progress {
 public:
  explicit Progress(std::string label);
  void Update(int64_t done, int64_t total, const std::string& detail = "");
  void Finish();

 private:
  std::string label_;
  bool tty_;
  int last_pct_ = -1;
};

}  // namespace r1::cli
