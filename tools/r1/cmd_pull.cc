// r1 pull / r1 list / r1 rm: models from the Hugging Face Hub, in the
// standard Hugging Face cache (src/hub).
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "command.h"
#include "common.h"
#include "gguf/gguf.h"
#include "hub/hub.h"
#include "hub_cli.h"

namespace {

using r1::cli::Fail;

std::string Gib(int64_t b) {
  char buf[32];
  std::snprintf(buf, sizeof buf, b >= (1ll << 30) ? "%.2f GiB" : "%.1f MiB",
                b >= (1ll << 30) ? b / double(1ll << 30) : b / double(1 << 20));
  return buf;
}

struct PullOptions {
  std::string ref;
  int connections = 0;
};

int RunPull(const PullOptions& o) {
  auto ref = r1::hub::ParseRef(o.ref);
  if (!ref.ok()) return Fail(ref.status());
  r1::hub::Config cfg = r1::hub::Config::FromEnvironment();
  if (o.connections > 0) cfg.connections = o.connections;
  std::fprintf(stderr, "r1: pulling %s from %s into %s\n", ref->repo.c_str(), cfg.endpoint.c_str(), cfg.cache_dir.c_str());
  auto r = r1::cli::PullWithProgress(cfg, *ref);
  if (!r.ok()) return Fail(r.status());
  std::fprintf(stderr, "r1: %s at %s: %zu file(s), %s downloaded%s\n", ref->repo.c_str(), r->commit.substr(0, 12).c_str(),
               r->files.size(), Gib(r->downloaded_bytes).c_str(),
               r->resumed_bytes > 0 ? (", " + Gib(r->resumed_bytes) + " resumed from an earlier run").c_str() : "");
  std::printf("%s\n", r->path.c_str());
  return 0;
}

// The weight type holding most bytes ("Q4_K"), with general.file_type's mix name when set.
std::string MainType(const std::string& path) {
  auto f = r1::gguf::File::Open(path);
  if (!f.ok()) return "?";
  std::map<std::string, uint64_t> bytes;
  for (const auto& t : (*f)->tensors()) bytes[r1::GgmlTypeName(t.type)] += t.nbytes;
  std::string best = "?";
  uint64_t most = 0;
  for (auto& [name, b] : bytes)
    if (b > most) {
      most = b;
      best = name;
    }
  return best;
}

int RunList() {
  const r1::hub::Config cfg = r1::hub::Config::FromEnvironment();
  auto models = r1::hub::ListLocal(cfg);
  if (!models.ok()) return Fail(models.status());
  if (models->empty()) {
    std::printf("no models in %s (r1 pull ORG/NAME[:QUANT] fetches one)\n", cfg.cache_dir.c_str());
    return 0;
  }
  std::printf("%-48s %-44s %5s %11s  %s\n", "REPOSITORY", "FILE", "PARTS", "SIZE", "TYPE");
  int64_t total = 0;
  for (const auto& m : *models) {
    std::string type = m.gguf ? MainType(m.path) : "safetensors";
    std::printf("%-48s %-44s %5d %11s  %s\n", m.repo.c_str(), m.gguf ? m.name.c_str() : "(directory)", m.parts,
                Gib(m.bytes).c_str(), type.c_str());
    total += m.bytes;
  }
  std::printf("%zu model(s), %s in %s\n", models->size(), Gib(total).c_str(), cfg.cache_dir.c_str());
  return 0;
}

int RunRm(const std::string& text) {
  auto ref = r1::hub::ParseRef(text);
  if (!ref.ok()) return Fail(ref.status());
  std::vector<std::string> removed;
  r1::Status s = r1::hub::Remove(r1::hub::Config::FromEnvironment(), *ref, &removed);
  if (!s.ok()) return Fail(s);
  for (const std::string& p : removed) std::printf("removed %s\n", p.c_str());
  return 0;
}

const bool kPull = r1::cli::RegisterCommand(
    "pull", "Download a model from the Hugging Face Hub: ORG/NAME[:QUANT|:FILE] or deepseek-r1:7b",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<PullOptions>();
      std::string names;
      for (const auto& n : r1::hub::ShortNames()) names += std::string("\n  ") + n.name + " -> " + n.repo + ":" + n.quant;
      app.add_option("model", o->ref, "ORG/NAME[@REVISION][:QUANT|:FILE], or a short name:" + names)->required();
      app.add_option("--connections", o->connections, "Parallel connections for a big file (default 4)")
          ->check(CLI::Range(1, 16));
      app.footer(
          "Environment: HF_TOKEN (gated repositories), HF_ENDPOINT (a mirror), HF_HOME / HF_HUB_CACHE (the cache), "
          "R1_HUB_TIMEOUT (seconds without data before giving up, default 30).");
      return [o] { return RunPull(*o); };
    });

const bool kList = r1::cli::RegisterCommand("list", "The models in the Hugging Face cache, with sizes and types",
                                            [](CLI::App&) -> r1::cli::RunFn { return [] { return RunList(); }; });

const bool kRm = r1::cli::RegisterCommand(
    "rm", "Remove a model from the Hugging Face cache (ORG/NAME: all of it; ORG/NAME:QUANT: those files)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto ref = std::make_shared<std::string>();
      app.add_option("model", *ref, "ORG/NAME[:QUANT|:FILE] or a short name")->required();
      return [ref] { return RunRm(*ref); };
    });

}  // namespace
