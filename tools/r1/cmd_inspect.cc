// r1 inspect: a GGUF file's metadata, tensor table and memory needs.
#include <sys/stat.h>

#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <vector>

#include "command.h"
#include "common.h"
#include "gguf/gguf.h"
#include "models/model.h"
#include "safetensors/safetensors.h"

namespace {

struct Options {
  std::string file;
  bool all_tensors = false;
};

// A Hugging Face directory or one .safetensors file: the config's
// architecture, the shards and the tensor table.
int RunSafetensors(const Options& o, bool dir) {
  std::unique_ptr<r1::safetensors::Checkpoint> ckpt;
  std::unique_ptr<r1::safetensors::File> one;
  std::vector<const r1::safetensors::File*> files;
  if (dir) {
    auto c = r1::safetensors::Checkpoint::Open(o.file);
    if (!c.ok()) return r1::cli::Fail(c.status());
    ckpt = std::move(*c);
    for (const auto& f : ckpt->shards()) files.push_back(f.get());
    if (auto cfg = r1::cli::ReadFile(o.file + "/config.json"); cfg.ok()) {
      const auto j = nlohmann::json::parse(*cfg, nullptr, false);
      if (j.is_object() && j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty())
        std::printf("%s: Hugging Face directory, %s\n", o.file.c_str(), j["architectures"][0].dump().c_str());
    }
  } else {
    auto f = r1::safetensors::File::Open(o.file);
    if (!f.ok()) return r1::cli::Fail(f.status());
    one = std::move(*f);
    files.push_back(one.get());
  }
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  size_t shown = 0, total = 0;
  for (const auto* f : files) {
    std::printf("\n%s: %zu tensors, %.2f MiB\n", f->path().c_str(), f->tensors().size(),
                static_cast<double>(f->file_size()) / (1 << 20));
    for (const auto& [k, v] : f->metadata()) std::printf("  metadata %-30s %s\n", k.c_str(), v.c_str());
    for (const auto& t : f->tensors()) {
      auto& bt = by_type[r1::safetensors::DtypeName(t.dtype)];
      ++bt.first;
      bt.second += t.nbytes();
      ++total;
      if (!o.all_tensors && shown >= 40) continue;
      ++shown;
      std::printf("  %-52s %-8s %-20s %12llu\n", t.name.c_str(), r1::safetensors::DtypeName(t.dtype),
                  t.ShapeString().c_str(), static_cast<unsigned long long>(t.nbytes()));
    }
  }
  if (shown < total) std::printf("  ... %zu more (--all to list them)\n", total - shown);
  std::printf("\nby dtype:\n");
  for (const auto& [type, v] : by_type)
    std::printf("  %-8s %5d tensors %10.2f MiB\n", type.c_str(), v.first, static_cast<double>(v.second) / (1 << 20));
  return 0;
}

int Run(const Options& o) {
  struct stat st;
  const bool is_dir = ::stat(o.file.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  if (is_dir || (o.file.size() > 12 && o.file.compare(o.file.size() - 12, 12, ".safetensors") == 0))
    return RunSafetensors(o, is_dir);
  auto f = r1::gguf::File::Open(o.file);
  if (!f.ok()) return r1::cli::Fail(f.status());
  const auto& file = **f;
  std::printf("%s: GGUF v%u, %zu metadata keys, %zu tensors, alignment %llu, %.2f GiB\n", o.file.c_str(),
              file.version(), file.metadata().size(), file.tensors().size(),
              static_cast<unsigned long long>(file.alignment()), static_cast<double>(file.file_size()) / (1 << 30));
  if (file.part_paths().size() > 1) {
    std::printf("\nparts:\n");
    std::vector<int> n_tensors(file.part_paths().size(), 0);
    for (const auto& t : file.tensors()) ++n_tensors[static_cast<size_t>(t.part)];
    for (size_t k = 0; k < file.part_paths().size(); ++k)
      std::printf("  %-60s %6d tensors %10.2f MiB\n", file.part_paths()[k].c_str(), n_tensors[k],
                  static_cast<double>(file.part_sizes()[k]) / (1 << 20));
  }
  std::printf("\nmetadata:\n");
  for (const auto& [key, v] : file.metadata())
    std::printf("  %-48s %-6s %s\n", key.c_str(), r1::gguf::ValueTypeName(v.type), v.Summary().c_str());

  std::printf("\ntensors:\n  %-40s %-8s %-28s %12s\n", "name", "type", "shape (ne0 first)", "bytes");
  std::map<std::string, std::pair<int, uint64_t>> by_type;
  size_t shown = 0;
  for (const auto& t : file.tensors()) {
    auto& bt = by_type[r1::GgmlTypeName(t.type)];
    ++bt.first;
    bt.second += t.nbytes;
    if (!o.all_tensors && shown >= 40) continue;
    ++shown;
    std::printf("  %-40s %-8s %-28s %12llu\n", t.name.c_str(), r1::GgmlTypeName(t.type).c_str(),
                t.ShapeString().c_str(), static_cast<unsigned long long>(t.nbytes));
  }
  if (shown < file.tensors().size())
    std::printf("  ... %zu more (--all to list them)\n", file.tensors().size() - shown);
  std::printf("\nby type:\n");
  for (const auto& [type, v] : by_type)
    std::printf("  %-8s %5d tensors %10.2f MiB\n", type.c_str(), v.first, static_cast<double>(v.second) / (1 << 20));

  r1::LoadOptions info_only;
  info_only.repack = false;
  auto model = r1::LoadModel(file, info_only);
  if (!model.ok()) {
    std::printf("\nmodel: not loadable: %s\n", model.status().message().c_str());
    return 0;
  }
  const r1::ModelInfo& i = (*model)->info();
  const double kv_per_token =
      static_cast<double>(i.n_layer) * static_cast<double>(i.kv.k_row + i.kv.v_row) * 2;  // F16
  std::printf("\nmodel: %s, %d layers, n_embd %lld, vocab %lld, trained context %lld\n", i.arch.c_str(), i.n_layer,
              static_cast<long long>(i.n_embd), static_cast<long long>(i.n_vocab),
              static_cast<long long>(i.n_ctx_train));
  std::printf("  weights: %.2f GiB (mmapped), read per decoded token: %.2f GiB\n",
              static_cast<double>(i.weight_bytes) / (1 << 30), static_cast<double>(i.active_weight_bytes) / (1 << 30));
  std::printf("  KV cache: %lld values per token per layer (F16), %.1f KiB per token\n",
              static_cast<long long>(i.kv.k_row + i.kv.v_row), kv_per_token / 1024);
  std::vector<long long> contexts = {4096LL, 32768LL};
  if (i.n_ctx_train != 4096 && i.n_ctx_train != 32768) contexts.push_back(static_cast<long long>(i.n_ctx_train));
  for (long long ctx : contexts)
    std::printf("  expected resident memory at %lld tokens of context: %.2f GiB\n", static_cast<long long>(ctx),
                (static_cast<double>(i.weight_bytes) + kv_per_token * static_cast<double>(ctx)) / (1 << 30));
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "inspect", "Print a GGUF file's (or a safetensors file's or Hugging Face directory's) metadata, tensors and memory needs", [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("file", o->file, "GGUF file (the first part of a split one), .safetensors file or Hugging Face directory")->required();
      app.add_flag("--all", o->all_tensors, "List every tensor");
      return [o] { return Run(*o); };
    });

}  // namespace
