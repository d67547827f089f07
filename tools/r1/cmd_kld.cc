// r1 kld: the KL divergence of a (quantized) model from a base model over a
// text, llama.cpp's `llama-perplexity --kl-divergence-base` / `--kl-divergence`.
//
//   r1 kld -m BASE.gguf -f TEXT --save-base FILE [-c 512] [--chunks N]
//       tokenizes TEXT (special tokens parsed, BOS per chunk as
//       llama-perplexity puts it), runs each chunk of -c tokens from position
//       0 in a fresh sequence and stores, for the second half of every chunk,
//       the base model's log-probabilities over the whole vocabulary
//       (compressed to 16 bits; runtime/kld.h documents the file). Prints the
//       base perplexity.
//   r1 kld -m QUANT.gguf --base FILE
//       runs the same tokens through the model and reports PPL(Q) against
//       PPL(base), the KLD statistics, the token-probability differences and
//       the top-1 agreement, in llama.cpp's layout (--json: one object).
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "common.h"
#include "hub_cli.h"
#include "runtime/engine.h"
#include "runtime/kld.h"

namespace {

using r1::Status;
namespace kld = r1::kld;

struct Options {
  std::string model, text, save_base, base;
  int64_t ctx = 512;
  int64_t chunks = 0;  // 0: all
  int threads = 0;
  int64_t batch = 512;
  bool json = false;
  bool no_parse_special = false;
  r1::KvType kv_type = r1::KvType::kF16;
  r1::LoadOptions load;
};

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

std::string Rate(int64_t chunk, int64_t n_chunks, int64_t tokens, double seconds) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%lld/%lld chunks, %.0f tok/s", static_cast<long long>(chunk),
                static_cast<long long>(n_chunks), seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0);
  return buf;
}

r1::StatusOr<std::unique_ptr<r1::Engine>> LoadEngine(const Options& o, int64_t ctx) {
  r1::EngineOptions eo;
  eo.model_path = o.model;
  eo.threads = o.threads;
  eo.ctx_size = ctx;
  eo.batch_size = o.batch;
  eo.kv_type = o.kv_type;
  eo.load = o.load;
  eo.verbose = !o.json;
  eo.prefix_cache = false;
  return r1::Engine::Load(eo);
}

// Runs one chunk from position 0 in a fresh sequence: logits [n_ctx, n_vocab].
Status RunChunk(r1::Engine& e, const std::vector<int32_t>& tokens, int64_t chunk, int64_t n_ctx,
                std::vector<float>* logits) {
  const auto begin = tokens.begin() + chunk * n_ctx;
  const std::vector<int32_t> ids(begin, begin + n_ctx);
  e.Reset(0);
  Status st = e.Append(0, ids, nullptr, logits);
  e.Reset(0);
  return st;
}

int SaveBase(const Options& o) {
  auto text = r1::cli::ReadFile(o.text);
  if (!text.ok()) return r1::cli::Fail(text.status());
  auto engine = LoadEngine(o, o.ctx);
  if (!engine.ok()) return r1::cli::Fail(engine.status());
  r1::Engine& e = **engine;
  const r1::Tokenizer& tok = e.tokenizer();
  const bool add_bos = tok.add_bos() && tok.bos_id() >= 0;
  std::vector<int32_t> all;
  if (add_bos) all.push_back(tok.bos_id());
  const std::vector<int32_t> ids = tok.Encode(*text, !o.no_parse_special);
  all.insert(all.end(), ids.begin(), ids.end());
  const int64_t n_ctx = o.ctx, n_vocab = e.info().n_vocab;
  int64_t n_chunks = static_cast<int64_t>(all.size()) / n_ctx;
  if (n_chunks == 0)
    return r1::cli::Fail(Status::InvalidArgument(o.text + " tokenizes to " + std::to_string(all.size()) +
                                                 " tokens, fewer than one chunk of " + std::to_string(n_ctx) +
                                                 " (-c): give a longer text or a smaller -c"));
  if (o.chunks > 0) n_chunks = std::min(n_chunks, o.chunks);
  // The tokens as evaluated: BOS at each chunk's start, as llama-perplexity.
  std::vector<int32_t> tokens(all.begin(), all.begin() + n_chunks * n_ctx);
  for (int64_t c = 0; c < n_chunks && add_bos; ++c) tokens[static_cast<size_t>(c * n_ctx)] = tok.bos_id();
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab)
      return r1::cli::Fail(Status::InvalidArgument(o.text + ": token " + std::to_string(t) +
                                                   " is outside the model's n_vocab " + std::to_string(n_vocab)));
  auto writer = kld::BaseWriter::Create(o.save_base, {n_vocab, n_ctx, n_chunks}, tokens);
  if (!writer.ok()) return r1::cli::Fail(writer.status());

  const int64_t first = n_ctx / 2, scored = kld::ScoredPerChunk(n_ctx);
  const size_t row_bytes = kld::RowBytes(n_vocab);
  if (!o.json)
    std::fprintf(stderr, "r1: %zu tokens, %lld chunks of %lld, scoring %lld positions each\n", all.size(),
                 static_cast<long long>(n_chunks), static_cast<long long>(n_ctx), static_cast<long long>(scored));
  std::vector<float> logits;
  std::vector<uint8_t> rows(static_cast<size_t>(scored) * row_bytes);
  double sum_nll = 0, sum_nll2 = 0;
  r1::cli::Progress progress("kld base");
  const auto t0 = Clock::now();
  for (int64_t c = 0; c < n_chunks; ++c) {
    Status st = RunChunk(e, tokens, c, n_ctx, &logits);
    if (!st.ok()) return r1::cli::Fail(st.WithContext("chunk " + std::to_string(c + 1)));
    const int32_t* chunk = tokens.data() + c * n_ctx;
    e.pool().ParallelFor(scored, [&](int64_t b, int64_t end, int) {
      for (int64_t j = b; j < end; ++j) {
        const float* row = logits.data() + static_cast<size_t>((first + j) * n_vocab);
        kld::EncodeRow({row, static_cast<size_t>(n_vocab)}, chunk[first + j + 1], rows.data() + j * row_bytes);
      }
    });
    for (int64_t j = 0; j < scored; ++j) {
      const double nll = kld::RowNll(rows.data() + j * row_bytes);
      sum_nll += nll;
      sum_nll2 += nll * nll;
    }
    st = (*writer)->WriteChunk(rows);
    if (!st.ok()) return r1::cli::Fail(st);
    progress.Update(c + 1, n_chunks, Rate(c + 1, n_chunks, (c + 1) * n_ctx, Seconds(t0, Clock::now())));
  }
  progress.Finish();
  Status st = (*writer)->Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  const double secs = Seconds(t0, Clock::now());
  const int64_t count = n_chunks * scored;
  const kld::Estimate ln = kld::MeanAndError(sum_nll, sum_nll2, count);
  const double ppl = std::exp(ln.value), ppl_err = ppl * ln.error;
  if (o.json) {
    nlohmann::ordered_json j = {{"model", o.model},   {"base", o.save_base},       {"n_vocab", n_vocab},
                                {"n_ctx", n_ctx},     {"chunks", n_chunks},        {"tokens", count},
                                {"ppl", ppl},         {"ppl_err", ppl_err},        {"seconds", secs}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("saved %lld chunks of %lld tokens (%lld scored positions, n_vocab %lld) to %s in %.1f s\n",
                static_cast<long long>(n_chunks), static_cast<long long>(n_ctx), static_cast<long long>(count),
                static_cast<long long>(n_vocab), o.save_base.c_str(), secs);
    std::printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, ppl_err);
  }
  return 0;
}

void PrintSummary(const kld::KldSummary& s) {
  std::printf("====== Perplexity statistics ======\n");
  std::printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", s.ppl_q.value, s.ppl_q.error);
  std::printf("Mean PPL(base)                : %10.6f ± %10.6f\n", s.ppl_base.value, s.ppl_base.error);
  std::printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * s.cor_ln_ppl);
  std::printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", s.ln_ppl_ratio.value, s.ln_ppl_ratio.error);
  std::printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", s.ppl_ratio.value, s.ppl_ratio.error);
  std::printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n", s.ppl_diff.value, s.ppl_diff.error);
  std::printf("\n====== KL divergence statistics ======\n");
  std::printf("Mean    KLD: %10.6f ± %10.6f\n", s.kld.value, s.kld.error);
  std::printf("Maximum KLD: %10.6f\n", s.kld_max);
  std::printf("99.9%%   KLD: %10.6f\n", s.kld_p999);
  std::printf("99.0%%   KLD: %10.6f\n", s.kld_p99);
  std::printf("95.0%%   KLD: %10.6f\n", s.kld_p95);
  std::printf("90.0%%   KLD: %10.6f\n", s.kld_p90);
  std::printf("Median  KLD: %10.6f\n", s.kld_median);
  std::printf("10.0%%   KLD: %10.6f\n", s.kld_p10);
  std::printf(" 5.0%%   KLD: %10.6f\n", s.kld_p5);
  std::printf(" 1.0%%   KLD: %10.6f\n", s.kld_p1);
  std::printf(" 0.1%%   KLD: %10.6f\n", s.kld_p01);
  std::printf("Minimum KLD: %10.6f\n", s.kld_min);
  std::printf("\n====== Token probability statistics ======\n");
  std::printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100 * s.dp.value, 100 * s.dp.error);
  std::printf("Maximum Δp: %6.3f%%\n", 100 * s.dp_max);
  std::printf("99.9%%   Δp: %6.3f%%\n", 100 * s.dp_p999);
  std::printf("99.0%%   Δp: %6.3f%%\n", 100 * s.dp_p99);
  std::printf("95.0%%   Δp: %6.3f%%\n", 100 * s.dp_p95);
  std::printf("90.0%%   Δp: %6.3f%%\n", 100 * s.dp_p90);
  std::printf("75.0%%   Δp: %6.3f%%\n", 100 * s.dp_p75);
  std::printf("Median  Δp: %6.3f%%\n", 100 * s.dp_median);
  std::printf("25.0%%   Δp: %6.3f%%\n", 100 * s.dp_p25);
  std::printf("10.0%%   Δp: %6.3f%%\n", 100 * s.dp_p10);
  std::printf(" 5.0%%   Δp: %6.3f%%\n", 100 * s.dp_p5);
  std::printf(" 1.0%%   Δp: %6.3f%%\n", 100 * s.dp_p1);
  std::printf(" 0.1%%   Δp: %6.3f%%\n", 100 * s.dp_p01);
  std::printf("Minimum Δp: %6.3f%%\n", 100 * s.dp_min);
  std::printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100 * s.rms_dp.value, 100 * s.rms_dp.error);
  std::printf("Same top p: %6.3f ± %5.3f %%\n", 100 * s.same_top.value, 100 * s.same_top.error);
}

nlohmann::ordered_json SummaryJson(const Options& o, const kld::BaseHeader& h, int64_t chunks,
                                   const kld::KldSummary& s, double secs) {
  return {{"model", o.model},
          {"base", o.base},
          {"n_vocab", h.n_vocab},
          {"n_ctx", h.n_ctx},
          {"chunks", chunks},
          {"tokens", s.count},
          {"ppl_q", s.ppl_q.value},
          {"ppl_q_err", s.ppl_q.error},
          {"ppl_base", s.ppl_base.value},
          {"ppl_base_err", s.ppl_base.error},
          {"cor_ln_ppl", s.cor_ln_ppl},
          {"ln_ppl_ratio", s.ln_ppl_ratio.value},
          {"ln_ppl_ratio_err", s.ln_ppl_ratio.error},
          {"ppl_ratio", s.ppl_ratio.value},
          {"ppl_ratio_err", s.ppl_ratio.error},
          {"ppl_diff", s.ppl_diff.value},
          {"ppl_diff_err", s.ppl_diff.error},
          {"kld_mean", s.kld.value},
          {"kld_err", s.kld.error},
          {"kld_max", s.kld_max},
          {"kld_p99_9", s.kld_p999},
          {"kld_p99", s.kld_p99},
          {"kld_p95", s.kld_p95},
          {"kld_p90", s.kld_p90},
          {"kld_median", s.kld_median},
          {"kld_p10", s.kld_p10},
          {"kld_p5", s.kld_p5},
          {"kld_p1", s.kld_p1},
          {"kld_p0_1", s.kld_p01},
          {"kld_min", s.kld_min},
          {"dp_mean_pct", 100 * s.dp.value},
          {"dp_mean_err_pct", 100 * s.dp.error},
          {"dp_max_pct", 100 * s.dp_max},
          {"dp_median_pct", 100 * s.dp_median},
          {"dp_min_pct", 100 * s.dp_min},
          {"rms_dp_pct", 100 * s.rms_dp.value},
          {"rms_dp_err_pct", 100 * s.rms_dp.error},
          {"same_top_p_pct", 100 * s.same_top.value},
          {"same_top_p_err_pct", 100 * s.same_top.error},
          {"seconds", secs}};
}

int Compare(const Options& o) {
  auto reader = kld::BaseReader::Open(o.base);
  if (!reader.ok()) return r1::cli::Fail(reader.status());
  kld::BaseReader& base = **reader;
  const kld::BaseHeader h = base.header();
  auto engine = LoadEngine(o, h.n_ctx);
  if (!engine.ok()) return r1::cli::Fail(engine.status());
  r1::Engine& e = **engine;
  if (e.info().n_vocab != h.n_vocab)
    return r1::cli::Fail(Status::InvalidArgument(
        o.model + " has n_vocab " + std::to_string(e.info().n_vocab) + " but " + o.base + " was made with n_vocab " +
        std::to_string(h.n_vocab) + ": not the same vocabulary, the distributions cannot be compared"));
  const int64_t n_chunks = o.chunks > 0 ? std::min(h.n_chunks, o.chunks) : h.n_chunks;
  const int64_t n_ctx = h.n_ctx, n_vocab = h.n_vocab, first = n_ctx / 2, scored = kld::ScoredPerChunk(n_ctx);
  const size_t row_bytes = kld::RowBytes(n_vocab);
  if (!o.json)
    std::fprintf(stderr, "r1: %lld chunks of %lld tokens from %s, scoring %lld positions each\n",
                 static_cast<long long>(n_chunks), static_cast<long long>(n_ctx), o.base.c_str(),
                 static_cast<long long>(scored));
  std::vector<float> logits;
  std::vector<uint8_t> rows;
  std::vector<kld::TokenStats> per(static_cast<size_t>(scored));
  kld::KldStats stats;
  r1::cli::Progress progress("kld");
  const auto t0 = Clock::now();
  for (int64_t c = 0; c < n_chunks; ++c) {
    Status st = base.ReadChunk(c, &rows);
    if (!st.ok()) return r1::cli::Fail(st);
    st = RunChunk(e, base.tokens(), c, n_ctx, &logits);
    if (!st.ok()) return r1::cli::Fail(st.WithContext("chunk " + std::to_string(c + 1)));
    const int32_t* chunk = base.tokens().data() + c * n_ctx;
    e.pool().ParallelFor(scored, [&](int64_t b, int64_t end, int) {
      for (int64_t j = b; j < end; ++j) {
        const float* row = logits.data() + static_cast<size_t>((first + j) * n_vocab);
        per[static_cast<size_t>(j)] =
            kld::CompareRow(rows.data() + j * row_bytes, {row, static_cast<size_t>(n_vocab)}, chunk[first + j + 1]);
      }
    });
    for (const kld::TokenStats& t : per) stats.Add(t);
    char detail[96];
    std::snprintf(detail, sizeof detail, ", KLD %.5f, same top %.2f%%", stats.mean_kld(), 100 * stats.same_top());
    progress.Update(c + 1, n_chunks, Rate(c + 1, n_chunks, (c + 1) * n_ctx, Seconds(t0, Clock::now())) + detail);
  }
  progress.Finish();
  const double secs = Seconds(t0, Clock::now());
  const kld::KldSummary s = stats.Summary();
  if (o.json) {
    std::printf("%s\n", SummaryJson(o, h, n_chunks, s, secs).dump(2).c_str());
    return 0;
  }
  std::printf("%lld chunks of %lld tokens, %lld scored positions, %.1f s\n\n", static_cast<long long>(n_chunks),
              static_cast<long long>(n_ctx), static_cast<long long>(s.count), secs);
  PrintSummary(s);
  if (s.count < 100) std::printf("\n(only %lld positions: the statistics are rough)\n", static_cast<long long>(s.count));
  return 0;
}

int Run(const Options& o) {
  if (o.save_base.empty() == o.base.empty())
    return r1::cli::Fail(Status::InvalidArgument("give --save-base FILE (with -f TEXT) or --base FILE"));
  if (!o.save_base.empty()) {
    if (o.text.empty()) return r1::cli::Fail(Status::InvalidArgument("--save-base needs -f TEXT"));
    return SaveBase(o);
  }
  return Compare(o);
}

const bool kRegistered = r1::cli::RegisterCommand(
    "kld", "KL divergence from a base model's saved log-probabilities (llama-perplexity --kl-divergence)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-m,--model", o->model, "GGUF model")->transform(r1::cli::ModelSource())->required();
      auto* text = app.add_option("-f,--file", o->text, "Text to evaluate (with --save-base)");
      auto* save = app.add_option("--save-base", o->save_base,
                                  "Run the base model over -f TEXT and write its log-probabilities to FILE");
      auto* base = app.add_option("--base", o->base, "Compare the model with a file written by --save-base");
      save->excludes(base);
      text->excludes(base);
      auto* ctx = app.add_option("-c,--ctx-size", o->ctx, "Tokens per chunk (with --save-base; --base uses the file's)")
                      ->check(CLI::Range(int64_t{4}, int64_t{1} << 24))
                      ->capture_default_str();
      ctx->excludes(base);
      app.add_option("--chunks", o->chunks, "Use at most N chunks (default: all)")->check(CLI::Range(int64_t{0}, int64_t{1} << 30));
      app.add_option("-t,--threads", o->threads, "Threads (default: physical cores)")
          ->check(CLI::Range(0, r1::cli::kMaxThreads));
      app.add_option("-b,--batch", o->batch, "Prefill chunk size")->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
          ->capture_default_str();
      app.add_flag("--no-parse-special", o->no_parse_special,
                   "Encode special-token text (<｜User｜>, ...) as plain text instead of as the tokens");
      app.add_flag("--json", o->json, "Print one JSON object");
      r1::cli::AddKvTypeOption(app, &o->kv_type);
      r1::cli::AddLoadOptions(app, &o->load);
      return [o] { return Run(*o); };
    });

}  // namespace
