#include "common.h"
#include "hub_cli.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

namespace r1::cli {

namespace {

// A flag whose value `parse` checks (a bad one is a parse error with its
// message) and `apply` stores.
template <typename T>
CLI::Option* AddParsed(CLI::App& app, const std::string& name, StatusOr<T> (*parse)(const std::string&),
                       std::function<void(const T&)> apply, const std::string& help, const std::string& choices) {
  return app
      .add_option_function<std::string>(
          name,
          [parse, apply](const std::string& s) {
            if (auto v = parse(s); v.ok()) apply(*v);
          },
          help)
      ->check(CLI::Validator(
          [parse](std::string& s) {
            auto v = parse(s);
            return v.ok() ? std::string() : v.status().message();
          },
          choices));
}

}  // namespace

StatusOr<std::vector<int32_t>> ParseTokenList(const std::string& s) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    item = a == std::string::npos ? "" : item.substr(a, b - a + 1);
    char* end = nullptr;
    errno = 0;
    long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno || v < 0 || v > INT32_MAX)
      return Status::InvalidArgument("--tokens: '" + item + "' is not a token id");
    out.push_back(static_cast<int32_t>(v));
    i = j + 1;
  }
  if (out.empty()) return Status::InvalidArgument("--tokens: no token ids given");
  return out;
}

void AddSamplingOptions(CLI::App& app, SamplerParams* p) {
  app.add_option("--temp", p->temperature, "Temperature (0 = greedy)")->capture_default_str();
  app.add_option("--top-k", p->top_k, "Top-k (0 = off)")->capture_default_str();
  app.add_option("--top-p", p->top_p, "Top-p (1 = off)")->capture_default_str();
  app.add_option("--min-p", p->min_p, "Min-p (0 = off)")->capture_default_str();
  app.add_option("--repeat-penalty", p->repetition_penalty, "Repetition penalty (1 = off)")->capture_default_str();
  app.add_option("--presence-penalty", p->presence_penalty, "Presence penalty")->capture_default_str();
  app.add_option("--frequency-penalty", p->frequency_penalty, "Frequency penalty")->capture_default_str();
  app.add_option("--seed", p->seed, "Random seed")->capture_default_str();
}

void AddKvTypeOption(CLI::App& app, KvType* t) {
  AddParsed<KvType>(app, "--kv-type", ParseKvType, [t](const KvType& v) { *t = v; },
                    "KV cache element type: f16, or q8_0 (half the memory; logits move ~0.5% of their range)", "f16|q8_0")
      ->default_str(KvTypeName(*t));
}

StatusOr<MlaMode> ParseMlaMode(const std::string& s) {
  if (s == "auto") return MlaMode::kAuto;
  if (s == "absorbed") return MlaMode::kAbsorbed;
  if (s == "expanded") return MlaMode::kExpanded;
  return Status::InvalidArgument("--mla: '" + s + "' is not one of auto, absorbed, expanded");
}

// "G,K" (n_group G, topk_group K) or "none" (no group limit: 1,1).
StatusOr<std::pair<int, int>> ParseExpertGroups(const std::string& s) {
  if (s == "none") return std::pair<int, int>{1, 1};
  const size_t comma = s.find(',');
  if (comma != std::string::npos) {
    auto g = ParseTokenList(s.substr(0, comma)), k = ParseTokenList(s.substr(comma + 1));
    if (g.ok() && k.ok() && g->size() == 1 && k->size() == 1 && (*g)[0] > 0 && (*k)[0] > 0 && (*k)[0] <= (*g)[0])
      return std::pair<int, int>{(*g)[0], (*k)[0]};
  }
  return Status::InvalidArgument("--expert-groups: '" + s + "' is not G,K (0 < K <= G) or none");
}

void AddLoadOptions(CLI::App& app, LoadOptions* lo) {
  app.add_flag_callback("--no-repack", [lo] { lo->repack = false; },
                        "Do not repack weights for the kernels at load (less memory, slower matmuls)");
  AddParsed<MlaMode>(app, "--mla", ParseMlaMode, [lo](const MlaMode& m) { lo->mla = m; },
                     "deepseek2 attention form: auto (expanded for long prefill chunks), absorbed, expanded",
                     "auto|absorbed|expanded")
      ->default_str("auto");
  AddParsed<std::pair<int, int>>(
      app, "--expert-groups", ParseExpertGroups,
      [lo](const std::pair<int, int>& g) {
        lo->n_group = g.first;
        lo->topk_group = g.second;
      },
      "deepseek2 group-limited routing override: G,K (n_group, topk_group) or none", "G,K|none");
  app.add_option("--pipeline", lo->pipeline,
                 "Split the model's layers over N MPI ranks: mpirun -np N r1 ... --pipeline N (needs -DR1_MPI=ON)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--stage-layers", lo->stage_layers,
                 "The pipeline's layer ranges, e.g. 0-20,21-40,41-61 (default: balanced by bytes)");
  app.add_option("--stage-timeout", lo->stage_timeout_s,
                 "Seconds rank 0 waits for a pipeline stage before it ends the job")
      ->capture_default_str()
      ->check(CLI::Range(0.1, 86400.0));
}

void AddSpecOptions(CLI::App& app, EngineOptions* eo) {
  AddParsed<SpecMethod>(app, "--spec", ParseSpecMethod, [eo](const SpecMethod& m) { eo->spec.method = m; },
                        "Speculative decoding: mtp (deepseek2's own MTP module), draft (--draft-model), ngram (prompt "
                        "lookup), off",
                        "mtp|draft|ngram|off")
      ->default_str("off");
  app.add_option("--spec-tokens", eo->spec.max_tokens, "Most draft tokens per sequence and step (adapts below it)")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--spec-max-batch", eo->spec.max_batch,
                 "Speculate only while at most this many sequences are decoding")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_flag_callback("--spec-fixed", [eo] { eo->spec.adaptive = false; },
                        "Always draft --spec-tokens tokens (no adaptation to the acceptance rate)");
  app.add_flag_callback("--spec-always", [eo] { eo->spec.auto_off = false; },
                        "Keep speculating even where it measures slower than plain decoding");
  app.add_option("--draft-model", eo->draft_model, "Draft model for --spec draft (same tokenizer as -m)")
      ->transform(ModelSource());
}

void AddEngineOptions(CLI::App& app, EngineOptions* eo) {
  app.add_option("-m,--model", eo->model_path, "GGUF model, or a Hub reference: ORG/NAME[:QUANT], deepseek-r1:7b (pulled when not cached)")->transform(r1::cli::ModelSource())->required();
  app.add_option("-t,--threads", eo->threads, "Threads (default: physical cores)")->check(CLI::Range(0, kMaxThreads));
  AddKvTypeOption(app, &eo->kv_type);
  AddLoadOptions(app, &eo->load);
  AddSpecOptions(app, eo);
}

int Fail(const Status& s) {
  std::fprintf(stderr, "r1: %s\n", s.message().c_str());
  return 1;
}

Progress::Progress(std::string label) : label_(std::move(label)), tty_(isatty(STDERR_FILENO)) {}

void Progress::Update(int64_t done, int64_t total, const std::string& detail) {
  if (!tty_ || total <= 0) return;
  int pct = static_cast<int>(100 * done / total);
  if (pct == last_pct_ && detail.empty()) return;
  last_pct_ = pct;
  int filled = pct * 30 / 100;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), filled, "==============================",
               30 - filled, "", pct);
  if (!detail.empty()) std::fprintf(stderr, "  %s\033[K", detail.c_str());
  std::fflush(stderr);
}

void Progress::Finish() {
  if (tty_ && last_pct_ >= 0) std::fprintf(stderr, "\n");
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::NotFound("cannot open " + path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace r1::cli
