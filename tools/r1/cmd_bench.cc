// r1 bench: prefill and decode speed, against the memory-bandwidth roofline.
//
// Decode reads every active weight once per token, so its ceiling is
//   bandwidth / bytes_per_token   tokens/s.
// decode_roofline = bytes_per_token × decode tok/s ÷ measured read bandwidth
// (a fresh 1 GiB buffer); weights_roofline divides by the bandwidth measured
// reading the repacked weights themselves, which on some hosts sit in
// slower or faster memory than a fresh buffer.
// bytes_per_token counts the weights a token reads (ModelInfo:
// active_weight_bytes; for MoE only the routed experts' share) plus the KV
// cache it reads at the benchmark's context depth.
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "command.h"
#include "common.h"
#include "kernels/membw.h"
#include "runtime/engine.h"

namespace {

struct Options {
  r1::EngineOptions engine;  // ctx_size and batch_size are set from the workload
  int prompt = 512;
  int gen = 128;
  int depth = 0;      // tokens already in the context before decode is timed
  int parallel = 1;   // sequences decoded together (aggregate tok/s)
  bool fast_depth = false;  // fill the depth with random K/V rows instead of a prefill
  int64_t batch = 512;
  bool json = false;
};

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Writes random K/V rows (standard normal values) for positions [0, n) of
// `seq` in every layer: what a prefill leaves behind, minus the minutes a long
// one takes on a few cores. Decode reads the same bytes with the same
// instructions whatever they hold, so its timing is that of a real context.
r1::Status FillRandom(r1::KvCache& cache, int seq, int64_t n) {
  R1_RETURN_IF_ERROR(cache.Reserve(seq, n));
  const r1::KvCacheConfig& c = cache.config();
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  constexpr int kRows = 61;  // distinct rows, cycled
  const int64_t width = std::max(c.k_row, c.v_row);
  std::vector<float> rows(static_cast<size_t>(kRows * width));
  for (auto& x : rows) x = normal(rng);
  for (int l = 0; l < c.n_layer; ++l) {
    for (int64_t p = 0; p < n; ++p) {
      const float* row = rows.data() + ((p + l) % kRows) * width;
      cache.StoreK(l, seq, p, row);
      if (c.v_row > 0) cache.StoreV(l, seq, p, rows.data() + ((p + l + 7) % kRows) * width);
    }
  }
  return r1::Status::Ok();
}

int Run(const Options& o) {
  r1::EngineOptions eo = o.engine;
  eo.batch_size = o.batch;
  eo.ctx_size = static_cast<int64_t>(o.parallel) * (std::max(o.prompt, o.depth) + o.gen + 16) + 64;
  eo.verbose = !o.json;
  auto loaded = r1::Engine::Load(eo);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  r1::Engine& e = **loaded;
  const r1::ModelInfo& info = e.info();
  std::mt19937 rng(42);
  auto random_tokens = [&](int n) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(info.n_vocab));
    return t;
  };

  if (!o.json) std::fprintf(stderr, "r1: measuring memory read bandwidth...\n");
  const double bw = r1::kernels::MeasureReadBandwidthGBs(e.pool());
  // And the memory the repacked weights were given (0 without repacking).
  const double wbw = r1::kernels::MeasureRegionsReadGBs(e.pool(), e.model().PackedMemory(), 3);

  // Warm up: touches the weights (page cache) and the scratch buffers.
  std::vector<float> logits;
  r1::Status st = e.Append(0, random_tokens(8), &logits);
  if (!st.ok()) return r1::cli::Fail(st);
  e.Reset(0);

  // Prefill.
  double prefill_tps = 0;
  if (o.prompt > 0) {
    auto t0 = std::chrono::steady_clock::now();
    st = e.Append(0, random_tokens(o.prompt), &logits);
    if (!st.ok()) return r1::cli::Fail(st);
    prefill_tps = o.prompt / Seconds(t0);
    e.Reset(0);
  }

  // Decode: `parallel` sequences at depth `depth`, one token each per step.
  const int depth = std::max(1, o.depth);
  r1::Batch batch;
  for (int s = 0; s < o.parallel; ++s) {
    if (o.fast_depth) {
      st = FillRandom(e.cache(), s, depth);
    } else {
      st = e.Append(s, random_tokens(depth), nullptr);
    }
    if (!st.ok()) return r1::cli::Fail(st);
    st = e.cache().Reserve(s, depth + o.gen);
    if (!st.ok()) return r1::cli::Fail(st);
  }
  std::vector<float> out(static_cast<size_t>(o.parallel * info.n_vocab));
  std::vector<int32_t> next = random_tokens(o.parallel);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < o.gen; ++i) {
    batch.Clear();
    for (int s = 0; s < o.parallel; ++s) batch.Add(next[static_cast<size_t>(s)], depth + i, s, true);
    st = e.model().Forward(batch, e.cache(), out.data(), e.pool());
    if (!st.ok()) return r1::cli::Fail(st);
    for (int s = 0; s < o.parallel; ++s) {  // greedy, as a real decode loop would
      const float* row = out.data() + static_cast<size_t>(s) * static_cast<size_t>(info.n_vocab);
      next[static_cast<size_t>(s)] = static_cast<int32_t>(std::max_element(row, row + info.n_vocab) - row);
    }
  }
  const double decode_s = Seconds(t0);
  const double decode_tps = o.parallel * o.gen / decode_s;
  const double kv_bytes = static_cast<double>(e.cache().bytes_per_token()) * (depth + o.gen / 2.0);
  const double bytes_per_step = static_cast<double>(info.active_weight_bytes) + kv_bytes * o.parallel;
  const double steps_per_s = o.gen / decode_s;
  const double roofline = bytes_per_step * steps_per_s / (bw * 1e9);
  const double weights_roofline = wbw > 0 ? bytes_per_step * steps_per_s / (wbw * 1e9) : 0.0;

  if (o.json) {
    std::printf(
        "{\"model\": \"%s\", \"arch\": \"%s\", \"threads\": %d, \"n_prompt\": %d, \"n_gen\": %d, \"depth\": %d, "
        "\"parallel\": %d, \"prefill_tps\": %.3f, \"decode_tps\": %.3f, \"bandwidth_gbs\": %.3f, "
        "\"bytes_per_token\": %.0f, \"decode_roofline\": %.4f, \"roofline_tps\": %.3f, "
        "\"weights_bandwidth_gbs\": %.3f, \"weights_roofline\": %.4f}\n",
        eo.model_path.c_str(), info.arch.c_str(), e.pool().size(), o.prompt, o.gen, depth, o.parallel, prefill_tps,
        decode_tps, bw, bytes_per_step, roofline, bw * 1e9 / bytes_per_step * o.parallel, wbw, weights_roofline);
  } else {
    std::printf("model            %s (%s)\n", eo.model_path.c_str(), info.arch.c_str());
    std::printf("threads          %d\n", e.pool().size());
    std::printf("read bandwidth   %.1f GB/s (measured)\n", bw);
    if (wbw > 0) std::printf("weights memory   %.1f GB/s (reading the repacked copy itself)\n", wbw);
    std::printf("bytes/token      %.1f MB (weights %.1f MB + KV %.1f MB)\n", bytes_per_step / 1e6,
                static_cast<double>(info.active_weight_bytes) / 1e6, kv_bytes * o.parallel / 1e6);
    if (o.prompt > 0) std::printf("prefill          %.2f tok/s (pp%d)\n", prefill_tps, o.prompt);
    std::printf("decode           %.2f tok/s (tg%d at depth %d%s)\n", decode_tps, o.gen, depth,
                o.parallel > 1 ? (", " + std::to_string(o.parallel) + " sequences, aggregate").c_str() : "");
    std::printf("decode roofline  %.1f%% (ceiling %.1f tok/s)\n", 100 * roofline,
                bw * 1e9 / bytes_per_step * o.parallel);
    if (wbw > 0)
      std::printf("  of weights mem %.1f%% (ceiling %.1f tok/s)\n", 100 * weights_roofline,
                  wbw * 1e9 / bytes_per_step * o.parallel);
  }
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "bench", "Measure prefill and decode tokens/s and the decode roofline fraction",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-p,--prompt", o->prompt, "Prompt tokens for the prefill test (0 = skip)")->capture_default_str();
      app.add_option("-n,--gen", o->gen, "Tokens to decode")->capture_default_str();
      r1::cli::AddEngineOptions(app, &o->engine);
      app.add_option("-d,--depth", o->depth, "Context depth before the decode test")->capture_default_str();
      app.add_flag("--fast-depth", o->fast_depth,
                   "Fill the depth with random K/V rows instead of a prefill (same decode timing, seconds not minutes)");
      app.add_option("--parallel", o->parallel, "Sequences decoded together")->capture_default_str();
      app.add_option("-b,--batch", o->batch, "Prefill chunk size")->capture_default_str();
      app.add_flag("--json", o->json, "Print one JSON object");
      return [o] { return Run(*o); };
    });

}  // namespace
