// r1 logits: float32 logits of every position, for checking against references.
#include <cmath>
#include <cstdio>
#include <memory>

#include "command.h"
#include "common.h"
#include "hub_cli.h"
#include "runtime/engine.h"

namespace {

struct Options {
  std::string model, tokens, out;
  int threads = 0;
  int64_t batch = 512;
  r1::LoadOptions load;
};

int Run(const Options& o) {
  auto tokens = r1::cli::ParseTokenList(o.tokens);
  if (!tokens.ok()) return r1::cli::Fail(tokens.status());
  r1::EngineOptions eo;
  eo.model_path = o.model;
  eo.threads = o.threads;
  eo.ctx_size = static_cast<int64_t>(tokens->size());
  eo.batch_size = o.batch;
  eo.load = o.load;
  auto engine = r1::Engine::Load(eo);
  if (!engine.ok()) return r1::cli::Fail(engine.status());
  std::vector<float> logits;
  r1::Status st = (*engine)->Append(0, *tokens, nullptr, &logits);
  if (!st.ok()) return r1::cli::Fail(st);
  const int64_t n_vocab = (*engine)->info().n_vocab;
  if (!o.out.empty()) {
    std::FILE* f = std::fopen(o.out.c_str(), "wb");
    if (!f || std::fwrite(logits.data(), sizeof(float), logits.size(), f) != logits.size()) {
      if (f) std::fclose(f);
      return r1::cli::Fail(r1::Status::InvalidArgument(o.out + ": cannot write"));
    }
    std::fclose(f);
  }
  for (size_t t = 0; t < tokens->size(); ++t) {
    const float* row = logits.data() + t * static_cast<size_t>(n_vocab);
    int64_t best = 0;
    double sum = 0;
    for (int64_t i = 0; i < n_vocab; ++i) {
      if (row[i] > row[best]) best = i;
      sum += row[i];
    }
    std::printf("pos %zu token %d: argmax %lld (%.4f), mean %.4f\n", t, (*tokens)[t], static_cast<long long>(best),
                row[best], sum / static_cast<double>(n_vocab));
  }
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "logits", "Write the float32 logits of every position ([n_tokens, n_vocab], row-major)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model")->transform(r1::cli::ModelSource())->required();
      app.add_option("--tokens", o->tokens, "Comma-separated token ids")->required();
      app.add_option("--out", o->out, "Binary output file (float32)");
      app.add_option("-t,--threads", o->threads, "Threads (default: physical cores)")
          ->check(CLI::Range(0, r1::cli::kMaxThreads));
      app.add_option("-b,--batch", o->batch, "Prefill chunk size")->capture_default_str();
      r1::cli::AddLoadOptions(app, &o->load);
      return [o] { return Run(*o); };
    });

}  // namespace
