// r1 split: a GGUF file into parts, or parts back into one file, as
// llama.cpp's gguf-split does (NAME-00001-of-0000N.gguf; the metadata in the
// first part, split.no / split.count / split.tensors.count in each). Every
// r1 command opens a split file through its first part.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "command.h"
#include "common.h"
#include "gguf/gguf.h"

namespace {

struct Options {
  std::string in;
  std::string out;  // the output prefix (split) or file (merge)
  int parts = 2;
  bool merge = false;
};

int Run(const Options& o) {
  auto f = r1::gguf::File::Open(o.in);
  if (!f.ok()) return r1::cli::Fail(f.status());
  const r1::gguf::File& file = **f;
  r1::gguf::Writer w;
  w.set_version(file.version());
  w.set_alignment(file.alignment());
  for (const auto& [key, v] : file.metadata()) {
    if (key.rfind("split.", 0) == 0 || key == "general.alignment") continue;  // the writer sets these
    w.Set(key, v);
  }
  int64_t total = 0;
  for (const auto& t : file.tensors()) {
    if (auto st = w.DeclareTensor(t.name, t.ne, t.type); !st.ok()) return r1::cli::Fail(st);
    total += static_cast<int64_t>(t.nbytes);
  }
  std::string out = o.out;
  if (!o.merge && out.empty()) {
    out = o.in;
    if (out.size() > 5 && out.compare(out.size() - 5, 5, ".gguf") == 0) out.resize(out.size() - 5);
  }
  if (out.empty()) return r1::cli::Fail(r1::Status::InvalidArgument("--merge needs -o OUT.gguf"));
  r1::cli::Progress progress(o.merge ? "merging into " + out : "splitting into " + std::to_string(o.parts) + " parts");
  int64_t done = 0;
  auto fill = [&](size_t i, uint8_t* dst, size_t n) {
    std::memcpy(dst, file.tensors()[i].data, n);
    done += static_cast<int64_t>(n);
    progress.Update(done, total);
    return r1::Status::Ok();
  };
  const r1::Status st = o.merge ? w.Write(out, fill) : w.WriteSplit(out, o.parts, fill);
  progress.Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  if (o.merge) {
    std::printf("%s: %zu tensors from %zu parts\n", out.c_str(), file.tensors().size(), file.part_paths().size());
  } else {
    for (int k = 0; k < o.parts; ++k) std::printf("%s\n", r1::gguf::File::SplitPath(out, k, o.parts).c_str());
  }
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "split", "Split a GGUF file into parts (NAME-00001-of-0000N.gguf), or merge parts back into one file",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("file", o->in, "GGUF file (with --merge: the first part)")->required();
      app.add_option("-o,--out", o->out, "Output prefix (default: the input without .gguf); with --merge, the output file");
      app.add_option("-n,--parts", o->parts, "Number of parts")->capture_default_str()->check(CLI::Range(1, 9999));
      app.add_flag("--merge", o->merge, "Merge a split file's parts into one file");
      return [o] { return Run(*o); };
    });

}  // namespace
