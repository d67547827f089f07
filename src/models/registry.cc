// The one table of architectures. Adding one = a model file + a line here.
#include <functional>

#include "models/model.h"

namespace r1 {

StatusOr<std::unique_ptr<Model>> LoadLlama(const gguf::File& f, const LoadOptions& o);
StatusOr<std::unique_ptr<Model>> LoadQwen2(const gguf::File& f, const LoadOptions& o);
StatusOr<std::unique_ptr<Model>> LoadQwen3(const gguf::File& f, const LoadOptions& o);
StatusOr<std::unique_ptr<Model>> LoadDeepseek2(const gguf::File& f, const LoadOptions& o);

namespace {

struct Arch {
  const char* name;
  StatusOr<std::unique_ptr<Model>> (*load)(const gguf::File&, const LoadOptions&);
};

constexpr Arch kArchitectures[] = {
    {"llama", LoadLlama},  // R1-Distill-Llama-8B/70B
    {"qwen2", LoadQwen2},  // R1-Distill-Qwen-1.5B/7B/14B/32B
    {"qwen3", LoadQwen3},  // R1-0528-Qwen3-8B
    {"deepseek2", LoadDeepseek2},  // DeepSeek-R1/V3, V2, V2-Lite
};

}  // namespace

int64_t Batch::n_outputs() const {
  int64_t n = 0;
  for (uint8_t l : logits) n += l;
  return n;
}

Status Model::ForwardHidden(const Batch&, KvCache&, float*, float*, ThreadPool&) {
  return Status::Unimplemented(info().arch + ": no hidden-state output (only models with an MTP module have it)");
}

Status Model::ForwardMtp(const Batch&, const float*, KvCache&, float*, float*, ThreadPool&) {
  return Status::Unimplemented(info().arch + ": the model has no MTP (next-n) module");
}

Status Model::ForwardStage(const Batch&, KvCache&, const float*, float*, float*, ThreadPool&) {
  return Status::Unimplemented(info().arch + ": no pipeline stages (--pipeline) for this architecture");
}

StatusOr<std::unique_ptr<Model>> LoadModel(const gguf::File& file, const LoadOptions& opts) {
  auto arch = file.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  for (const Arch& a : kArchitectures)
    if (*arch == a.name) return a.load(file, opts);
  std::string known;
  for (const Arch& a : kArchitectures) known += std::string(known.empty() ? "" : ", ") + a.name;
  return Status::Unimplemented(file.path() + ": architecture '" + *arch + "' is not supported (supported: " +
                               known + ")");
}

std::vector<std::string> SupportedArchitectures() {
  std::vector<std::string> v;
  for (const Arch& a : kArchitectures) v.push_back(a.name);
  return v;
}

}  // namespace r1
