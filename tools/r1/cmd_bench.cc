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
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>

#include "command.h"
#include "common.h"
#include "grammar/grammar.h"
#include "kernels/membw.h"
#include "runtime/engine.h"
#include "runtime/prompt.h"

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
  // Speculative decoding (--spec): generation through the scheduler, with and
  // without speculation, alternated.
  std::string spec_prompt = "Calculate 897 + 489";
  int spec_runs = 3;
  bool ignore_eos = false;
  bool verify_cost = false;  // time one forward of k+1 tokens of one sequence, k = 0..4
  // Constrained decoding (--json-schema / --grammar): generation through the
  // scheduler with and without the constraint, alternated.
  std::string json_schema_file, grammar_file;
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

struct GenResult {
  double decode_tps = 0;     // tokens after the first, over the time since the first
  int64_t tokens = 0, drafted = 0, accepted = 0, steps = 0;
  int64_t grammar_tokens = 0, grammar_ns = 0;  // constrained decoding: tokens under the grammar, time in it
  std::vector<std::vector<int32_t>> outputs;
};

// `parallel` requests of `prompt`, greedy, all at once; decode speed is
// measured from the first token of any of them to the last of all.
r1::StatusOr<GenResult> Generate(r1::Engine& e, const std::vector<int32_t>& prompt, int parallel, int64_t n,
                                 bool speculate, bool ignore_eos, r1::GenerationParams gp = {}) {
  r1::Scheduler& sched = e.scheduler();
  const r1::SchedulerStats before = sched.stats();
  gp.sampling.temperature = 0;
  gp.max_tokens = n;
  gp.speculate = speculate;
  gp.ignore_eos = ignore_eos;
  std::vector<std::shared_ptr<r1::RequestHandle>> hs;
  for (int i = 0; i < parallel; ++i) {
    auto h = sched.Submit(prompt, gp);
    if (!h.ok()) return h.status();
    hs.push_back(*h);
  }
  GenResult r;
  r.outputs.resize(hs.size());
  std::chrono::steady_clock::time_point first{};
  bool started = false;
  int64_t after_first = 0;
  for (size_t i = 0; i < hs.size(); ++i) {
    for (;;) {
      r1::RequestUpdate u;
      if (!hs[i]->Wait(&u, std::chrono::milliseconds(1000))) continue;
      for (const auto& t : u.tokens) {
        if (!started) {
          started = true;
          first = std::chrono::steady_clock::now();
        } else {
          ++after_first;
        }
        r.outputs[i].push_back(t.token);
      }
      if (u.finish == r1::FinishReason::kError) return u.status;
      if (u.finish != r1::FinishReason::kNone) break;
    }
  }
  const double secs = Seconds(first);
  const r1::SchedulerStats after = sched.stats();
  r.decode_tps = secs > 0 ? static_cast<double>(after_first) / secs : 0;
  r.tokens = after.generated_tokens - before.generated_tokens;
  r.drafted = after.draft_tokens - before.draft_tokens;
  r.accepted = after.draft_accepted - before.draft_accepted;
  r.steps = after.spec_steps - before.spec_steps;
  r.grammar_tokens = after.grammar_tokens - before.grammar_tokens;
  r.grammar_ns = after.grammar_ns - before.grammar_ns;
  return r;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// The engine for a generation benchmark through the scheduler (--spec,
// --json-schema/--grammar), with the chat prompt it generates from.
struct ChatBench {
  std::unique_ptr<r1::Engine> engine;
  std::vector<int32_t> prompt;
};

r1::StatusOr<ChatBench> LoadChatBench(const Options& o) {
  r1::EngineOptions eo = o.engine;
  eo.batch_size = o.batch;
  eo.n_seqs = o.parallel;
  eo.ctx_size = 4096;
  eo.verbose = !o.json;
  auto loaded = r1::Engine::Load(eo);
  if (!loaded.ok()) return loaded.status();
  r1::PromptInput in;
  in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", o.spec_prompt}}});
  in.max_tokens = (*loaded)->ctx_size();
  auto prompt = r1::BuildPrompt((*loaded)->tokenizer(), (*loaded)->chat_template(), in);
  if (!prompt.ok()) return prompt.status();
  return ChatBench{std::move(*loaded), std::move(prompt->tokens)};
}

int RunSpec(const Options& o) {
  auto bench = LoadChatBench(o);
  if (!bench.ok()) return r1::cli::Fail(bench.status());
  r1::Engine& e = *bench->engine;
  const r1::EngineOptions& eo = e.options();
  const std::vector<int32_t>& prompt = bench->prompt;
  std::vector<double> off_tps, on_tps;
  int64_t drafted = 0, accepted = 0, steps = 0, tokens_on = 0;
  bool identical = true;
  for (int run = 0; run < o.spec_runs; ++run) {
    auto off = Generate(e, prompt, o.parallel, o.gen, false, o.ignore_eos);
    if (!off.ok()) return r1::cli::Fail(off.status());
    auto on = Generate(e, prompt, o.parallel, o.gen, true, o.ignore_eos);
    if (!on.ok()) return r1::cli::Fail(on.status());
    off_tps.push_back(off->decode_tps);
    on_tps.push_back(on->decode_tps);
    drafted += on->drafted;
    accepted += on->accepted;
    steps += on->steps;
    tokens_on += on->tokens;
    identical = identical && off->outputs == on->outputs;
    if (!o.json)
      std::fprintf(stderr, "r1: run %d: off %.2f tok/s, %s %.2f tok/s, %lld of %lld drafts accepted\n", run + 1,
                   off->decode_tps, r1::SpecMethodName(eo.spec.method), on->decode_tps,
                   static_cast<long long>(on->accepted), static_cast<long long>(on->drafted));
  }
  const double acceptance = drafted > 0 ? static_cast<double>(accepted) / static_cast<double>(drafted) : 0;
  // Tokens per verification step: the accepted drafts plus the target's own.
  const double mean_len = steps > 0 ? static_cast<double>(accepted + steps) / static_cast<double>(steps) : 1;
  const double on = Median(on_tps), off = Median(off_tps);
  if (o.json) {
    std::printf(
        "{\"model\": \"%s\", \"arch\": \"%s\", \"threads\": %d, \"spec\": \"%s\", \"spec_tokens\": %d, "
        "\"parallel\": %d, \"n_gen\": %d, \"runs\": %d, \"decode_tps\": %.3f, \"decode_tps_off\": %.3f, "
        "\"speedup\": %.4f, \"acceptance_rate\": %.4f, \"mean_accepted_length\": %.4f, \"draft_tokens\": %lld, "
        "\"accepted_tokens\": %lld, \"identical\": %s}\n",
        eo.model_path.c_str(), e.info().arch.c_str(), e.pool().size(), r1::SpecMethodName(eo.spec.method),
        eo.spec.max_tokens, o.parallel, o.gen, o.spec_runs, on, off, off > 0 ? on / off : 0, acceptance, mean_len,
        static_cast<long long>(drafted), static_cast<long long>(accepted), identical ? "true" : "false");
  } else {
    std::printf("model            %s (%s)\n", eo.model_path.c_str(), e.info().arch.c_str());
    std::printf("speculation      %s, up to %d draft tokens, %d stream(s), greedy\n",
                r1::SpecMethodName(eo.spec.method), eo.spec.max_tokens, o.parallel);
    std::printf("acceptance       %.1f%% (%lld of %lld drafts), mean accepted length %.2f\n", 100 * acceptance,
                static_cast<long long>(accepted), static_cast<long long>(drafted), mean_len);
    std::printf("decode           %.2f tok/s with, %.2f without (median of %d alternated runs): %.2fx\n", on, off,
                o.spec_runs, off > 0 ? on / off : 0);
    std::printf("outputs          %s\n", identical ? "identical with and without speculation"
                                                    : "DIFFER with and without speculation");
    if (eo.spec.auto_off && tokens_on > 0 && steps * 4 < tokens_on)
      std::printf("note             speculation paused itself: it measured slower than plain decoding here "
                  "(--spec-always to measure it regardless)\n");
  }
  return identical ? 0 : 1;
}

// One forward of k+1 tokens of one sequence at `depth`, against one token:
// what verifying k drafts costs.
int RunVerifyCost(const Options& o) {
  r1::EngineOptions eo = o.engine;
  eo.spec = {};
  eo.batch_size = o.batch;
  eo.ctx_size = std::max(o.depth, 1) + 64;
  eo.verbose = !o.json;
  auto loaded = r1::Engine::Load(eo);
  if (!loaded.ok()) return r1::cli::Fail(loaded.status());
  r1::Engine& e = **loaded;
  const int depth = std::max(1, o.depth);
  r1::Status st = FillRandom(e.cache(), 0, depth);
  if (st.ok()) st = e.cache().Reserve(0, depth + 8);
  if (!st.ok()) return r1::cli::Fail(st);
  std::vector<float> out(static_cast<size_t>(8 * e.info().n_vocab));
  r1::Batch batch;
  std::vector<std::vector<double>> secs(5);
  // Alternate the sizes, so drift hits them alike; median per size.
  for (int i = 0; i < o.gen + 2; ++i) {
    for (int k = 0; k <= 4; ++k) {
      batch.Clear();
      for (int j = 0; j <= k; ++j) batch.Add((7 * i + j) % static_cast<int>(e.info().n_vocab), depth + j, 0, true);
      auto t0 = std::chrono::steady_clock::now();
      st = e.model().Forward(batch, e.cache(), out.data(), e.pool());
      if (!st.ok()) return r1::cli::Fail(st);
      if (i >= 2) secs[static_cast<size_t>(k)].push_back(Seconds(t0));  // two warm-up rounds
    }
  }
  const double one = Median(secs[0]);
  if (o.json) {
    std::printf("{\"model\": \"%s\", \"depth\": %d, \"threads\": %d, \"one_token_ms\": %.3f, \"verify_cost\": [",
                eo.model_path.c_str(), depth, e.pool().size(), one * 1e3);
    for (int k = 1; k <= 4; ++k) std::printf("%s%.4f", k > 1 ? ", " : "", Median(secs[static_cast<size_t>(k)]) / one);
    std::printf("]}\n");
  } else {
    std::printf("one token        %.2f ms (depth %d)\n", one * 1e3, depth);
    for (int k = 1; k <= 4; ++k)
      std::printf("k=%d (%d tokens)  %.3fx one token (target <= %.2f)\n", k, k + 1,
                  Median(secs[static_cast<size_t>(k)]) / one, 1 + 0.15 * k);
  }
  return 0;
}

// Constrained decoding against plain decoding: the same prompt through the
// scheduler, greedy, with and without the grammar, alternated. The thought
// is skipped (a thinking budget of 0) so that every token is constrained.
// Plain runs ignore the end token so that they make -n tokens; constrained
// ones end where the grammar and the model do (tok/s is a rate either way).
int RunConstrained(const Options& o) {
  std::string gbnf;
  if (!o.json_schema_file.empty()) {
    auto text = r1::cli::ReadFile(o.json_schema_file);
    if (!text.ok()) return r1::cli::Fail(text.status());
    nlohmann::ordered_json schema = nlohmann::ordered_json::parse(*text, nullptr, false);
    if (schema.is_discarded()) return r1::cli::Fail(r1::Status::InvalidArgument(o.json_schema_file + ": not valid JSON"));
    auto g = r1::grammar::JsonSchemaToGbnf(schema);
    if (!g.ok()) return r1::cli::Fail(g.status().WithContext(o.json_schema_file));
    gbnf = *g;
  } else {
    auto text = r1::cli::ReadFile(o.grammar_file);
    if (!text.ok()) return r1::cli::Fail(text.status());
    gbnf = *text;
  }
  auto bench = LoadChatBench(o);
  if (!bench.ok()) return r1::cli::Fail(bench.status());
  r1::Engine& e = *bench->engine;
  const r1::EngineOptions& eo = e.options();
  const std::vector<int32_t>& prompt = bench->prompt;
  auto matcher = e.Constraint(gbnf);
  if (!matcher.ok()) return r1::cli::Fail(matcher.status());
  r1::GenerationParams plain;
  plain.max_thinking_tokens = 0;
  r1::GenerationParams constrained = plain;
  constrained.constraint = *matcher;
  std::vector<double> off_tps, on_tps;
  int64_t grammar_tokens = 0, grammar_ns = 0;
  for (int run = 0; run < o.spec_runs; ++run) {
    auto off = Generate(e, prompt, o.parallel, o.gen, true, true, plain);
    if (!off.ok()) return r1::cli::Fail(off.status());
    auto on = Generate(e, prompt, o.parallel, o.gen, true, false, constrained);
    if (!on.ok()) return r1::cli::Fail(on.status());
    off_tps.push_back(off->decode_tps);
    on_tps.push_back(on->decode_tps);
    grammar_tokens += on->grammar_tokens;
    grammar_ns += on->grammar_ns;
    if (!o.json)
      std::fprintf(stderr, "r1: run %d: plain %.2f tok/s, constrained %.2f tok/s (%lld tokens)\n", run + 1,
                   off->decode_tps, on->decode_tps, static_cast<long long>(on->tokens));
  }
  const double on = Median(on_tps), off = Median(off_tps);
  const double mask_ms = grammar_tokens > 0 ? 1e-6 * static_cast<double>(grammar_ns) / static_cast<double>(grammar_tokens) : 0;
  const long long states = static_cast<long long>((*matcher)->n_states());
  if (o.json) {
    std::printf(
        "{\"model\": \"%s\", \"arch\": \"%s\", \"threads\": %d, \"n_vocab\": %lld, \"parallel\": %d, \"n_gen\": %d, "
        "\"runs\": %d, \"decode_tps\": %.3f, \"decode_tps_unconstrained\": %.3f, \"ratio\": %.4f, "
        "\"mask_ms_per_token\": %.4f, \"constrained_tokens\": %lld, \"grammar_states\": %lld}\n",
        eo.model_path.c_str(), e.info().arch.c_str(), e.pool().size(), static_cast<long long>(e.info().n_vocab),
        o.parallel, o.gen, o.spec_runs, on, off, off > 0 ? on / off : 0, mask_ms,
        static_cast<long long>(grammar_tokens), states);
  } else {
    std::printf("model            %s (%s, vocabulary %lld)\n", eo.model_path.c_str(), e.info().arch.c_str(),
                static_cast<long long>(e.info().n_vocab));
    std::printf("constraint       %s, %d stream(s), greedy, no thought\n",
                (o.json_schema_file.empty() ? o.grammar_file : o.json_schema_file).c_str(), o.parallel);
    std::printf("decode           %.2f tok/s constrained, %.2f plain (median of %d alternated runs): %.3fx\n", on, off,
                o.spec_runs, off > 0 ? on / off : 0);
    std::printf("grammar          %.3f ms per constrained token (mask, masking, advance; %lld tokens, %lld states)\n",
                mask_ms, static_cast<long long>(grammar_tokens), states);
  }
  return 0;
}

int Run(const Options& o) {
  if (!o.json_schema_file.empty() || !o.grammar_file.empty()) return RunConstrained(o);
  if (o.verify_cost) return RunVerifyCost(o);
  if (o.engine.spec.method != r1::SpecMethod::kOff) return RunSpec(o);
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
      app.add_option("--spec-prompt", o->spec_prompt, "With --spec, --json-schema or --grammar: the chat prompt generated from")
          ->capture_default_str();
      app.add_option("--spec-runs", o->spec_runs, "With --spec, --json-schema or --grammar: alternated runs with and without it")
          ->capture_default_str()
          ->check(CLI::Range(1, 100));
      app.add_flag("--ignore-eos", o->ignore_eos, "With --spec: generate -n tokens even past the end token");
      app.add_option("--json-schema", o->json_schema_file,
                     "Constrained decoding against plain decoding, under this JSON Schema (file)");
      app.add_option("--grammar", o->grammar_file, "Constrained decoding against plain decoding, under this GBNF grammar (file)");
      app.add_flag("--verify-cost", o->verify_cost,
                   "Time one forward of k+1 tokens (k = 1..4) of one sequence against one token, at --depth");
      return [o] { return Run(*o); };
    });

}  // namespace
