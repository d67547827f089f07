// r1 gen-deepseek2: writes a random-weight deepseek2 (DeepSeek-V2/V3/R1-shaped) model.
#include <cstdio>
#include <memory>

#include "command.h"
#include "common.h"
#include "models/synthetic/synthetic_deepseek2.h"

namespace {

struct Options {
  std::string out;
  std::string size = "tiny";
  std::string type = "f32";
  std::string layout;   // default: the preset's
  std::string gating;   // default: the preset's
  bool no_group_keys = false;
  uint64_t seed = 1;
};

int Run(const Options& o) {
  auto spec = r1::SyntheticDeepseek2Preset(o.size, o.type);
  if (!spec.ok()) return r1::cli::Fail(spec.status());
  spec->seed = o.seed;
  if (!o.layout.empty()) {
    if (o.layout != "kv_b" && o.layout != "split")
      return r1::cli::Fail(r1::Status::InvalidArgument("--layout must be kv_b or split"));
    spec->split_kv_b = o.layout == "split";
  }
  if (!o.gating.empty()) {
    if (o.gating != "sigmoid" && o.gating != "softmax")
      return r1::cli::Fail(r1::Status::InvalidArgument("--gating must be sigmoid or softmax"));
    spec->sigmoid_gating = o.gating == "sigmoid";
  }
  if (o.no_group_keys) spec->write_group_keys = false;
  r1::cli::Progress progress("writing " + o.out);
  r1::Status st = r1::WriteSyntheticDeepseek2(*spec, o.out, [&](int64_t d, int64_t t) { progress.Update(d, t); });
  progress.Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  std::fprintf(stderr, "r1: wrote %s (deepseek2 %s, %s, %s layout, %s gating)\n", o.out.c_str(), o.size.c_str(),
               o.type.c_str(), spec->split_kv_b ? "split k_b/v_b" : "kv_b", spec->sigmoid_gating ? "sigmoid" : "softmax");
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "gen-deepseek2", "Write a synthetic random-weight deepseek2 model (DeepSeek-V2-Lite/V3/R1 shapes)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("-o,--out", o->out, "Output GGUF path")->required();
      app.add_option("--size", o->size, "tiny (V3/R1-shaped, with MTP) | v2-lite (the 15.7B V2-Lite shape)")
          ->capture_default_str();
      app.add_option("--type", o->type, "f32 f16 bf16 q8_0 q4_0 q5_0 q4_k q5_k q6_k q4_k_m")->capture_default_str();
      app.add_option("--layout", o->layout, "kv_b (older GGUFs) | split (attn_k_b/attn_v_b)");
      app.add_option("--gating", o->gating, "sigmoid (V3/R1, with exp_probs_b) | softmax (V2)");
      app.add_flag("--no-group-keys", o->no_group_keys, "Omit expert_group_count/expert_group_used_count");
      app.add_option("--seed", o->seed, "Weight seed")->capture_default_str();
      return [o] { return Run(*o); };
    });

}  // namespace
