// r1 imatrix -m MODEL -f TEXT: computes an importance matrix for
// `r1 quantize --imatrix` (llama.cpp's llama-imatrix): the text is cut into
// chunks of -c tokens, each run from position 0 with BOS first, and every
// matmul's input squares are summed per weight column
// (runtime/imatrix_collector.h). Writes llama.cpp's GGUF form, or the legacy
// .dat with --output-format dat; both work with llama-quantize too. Also
// reports the perplexity over the second half of each chunk, as llama-imatrix
// does.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "common.h"
#include "hub_cli.h"
#include "gguf/imatrix.h"
#include "runtime/engine.h"
#include "runtime/imatrix_collector.h"

namespace {

using r1::Status;

struct Options {
  std::string model, text, out = "imatrix.gguf", format = "gguf";
  int64_t ctx = 512;
  int64_t chunks = -1;
  int threads = 0;
  bool parse_special = false;
  bool no_ppl = false;
};

// -log p(next) at rows [from, n-1) of one chunk's logits.
double ChunkNll(const std::vector<float>& logits, const std::vector<int32_t>& toks, int64_t V, int64_t from,
                int64_t* count) {
  double nll = 0;
  for (int64_t t = from; t + 1 < static_cast<int64_t>(toks.size()); ++t) {
    const float* row = logits.data() + t * V;
    double mx = row[0];
    for (int64_t i = 1; i < V; ++i) mx = std::max(mx, static_cast<double>(row[i]));
    double z = 0;
    for (int64_t i = 0; i < V; ++i) z += std::exp(row[i] - mx);
    nll += std::log(z) + mx - row[toks[static_cast<size_t>(t + 1)]];
    ++*count;
  }
  return nll;
}

int Run(const Options& o) {
  if (o.format != "gguf" && o.format != "dat")
    return r1::cli::Fail(Status::InvalidArgument("--output-format must be gguf or dat, not '" + o.format + "'"));
  if (o.ctx < 8) return r1::cli::Fail(Status::InvalidArgument("-c/--ctx-size must be at least 8"));
  auto text = r1::cli::ReadFile(o.text);
  if (!text.ok()) return r1::cli::Fail(text.status());
  r1::EngineOptions eo;
  eo.model_path = o.model;
  eo.threads = o.threads;
  eo.ctx_size = o.ctx;
  eo.batch_size = o.ctx;
  auto engine = r1::Engine::Load(eo);
  if (!engine.ok()) return r1::cli::Fail(engine.status());
  r1::Engine& e = **engine;
  const r1::Tokenizer& tok = e.tokenizer();
  const std::vector<int32_t> ids = tok.Encode(*text, o.parse_special);
  int64_t n_chunks = static_cast<int64_t>(ids.size()) / o.ctx;
  if (o.chunks >= 0) n_chunks = std::min(n_chunks, o.chunks);
  if (n_chunks < 1)
    return r1::cli::Fail(Status::InvalidArgument(o.text + ": " + std::to_string(ids.size()) + " tokens, fewer than one chunk of " +
                                                 std::to_string(o.ctx) + " (lower -c)"));
  std::fprintf(stderr, "r1 imatrix: %zu tokens, %lld chunks of %lld\n", ids.size(), static_cast<long long>(n_chunks),
               static_cast<long long>(o.ctx));

  r1::ImatrixCollector collector(e.file());
  collector.Start();
  const int64_t V = e.info().n_vocab;
  r1::cli::Progress progress("imatrix");
  double nll = 0;
  int64_t scored = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t c = 0; c < n_chunks; ++c) {
    std::vector<int32_t> chunk(ids.begin() + c * o.ctx, ids.begin() + (c + 1) * o.ctx);
    if (tok.add_bos() && tok.bos_id() >= 0) chunk[0] = tok.bos_id();
    std::vector<float> logits;
    e.Reset(0);
    Status st = e.Append(0, chunk, nullptr, o.no_ppl ? nullptr : &logits);
    if (!st.ok()) return r1::cli::Fail(st);
    if (!o.no_ppl) nll += ChunkNll(logits, chunk, V, o.ctx / 2, &scored);
    progress.Update(c + 1, n_chunks);
  }
  progress.Finish();
  collector.Stop();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const r1::gguf::Imatrix m = collector.Result(n_chunks, o.ctx, o.text);
  Status st = o.format == "dat" ? r1::gguf::WriteImatrixLegacy(m, o.out) : r1::gguf::WriteImatrix(m, o.out);
  if (!st.ok()) return r1::cli::Fail(st);
  std::printf("%s: %zu entries from %lld chunks of %lld tokens (%.1f tokens/s)\n", o.out.c_str(), m.entries.size(),
              static_cast<long long>(n_chunks), static_cast<long long>(o.ctx),
              static_cast<double>(n_chunks * o.ctx) / secs);
  if (!o.no_ppl && scored > 0)
    std::printf("perplexity over the second half of each chunk: %.4f (%lld tokens)\n", std::exp(nll / scored),
                static_cast<long long>(scored));
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "imatrix", "Compute an importance matrix over a text, for r1 quantize --imatrix (llama.cpp's format)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model (F16/BF16/F32, or Q8_0)")->transform(r1::cli::ModelSource())->required();
      app.add_option("-f,--file", o->text, "Calibration text")->required();
      app.add_option("-o,--output", o->out, "Output file (default imatrix.gguf)");
      app.add_option("--output-format", o->format, "gguf (default) or dat (llama.cpp's legacy format)");
      app.add_option("-c,--ctx-size", o->ctx, "Tokens per chunk (default 512)");
      app.add_option("--chunks", o->chunks, "Use at most this many chunks");
      app.add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
      app.add_flag("--parse-special", o->parse_special, "Match special tokens written in the text");
      app.add_flag("--no-ppl", o->no_ppl, "Do not compute the perplexity");
      return [o] { return Run(*o); };
    });

}  // namespace
