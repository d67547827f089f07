// r1 quantize IN.gguf OUT.gguf TYPE: requantizes a GGUF file with r1's own
// quantizer (kernels::Quantize), like llama.cpp's llama-quantize.
//
// TYPE is a single GGML type or one of llama.cpp's named mixes (Q4_K_M,
// Q3_K_L, ...); the per-tensor rules live in models/quant_recipe.h, shared
// with `r1 convert --type` and the synthetic models. --tensor-type
// PATTERN=TYPE overrides come first (the published dynamic R1 mixes are
// `--tensor-type 'ffn_.*_exps=iq1_s'` on top of a Q4_K-class base).
//
// Each tensor is dequantized to float (rows in parallel) and quantized again.
// A tensor already stored in a quantized type other than its target is
// refused unless --allow-requantize (quantizing twice compounds the error),
// and a tensor whose type does not change is copied byte for byte. The
// output is written atomically, in the input's tensor order, with
// general.file_type set as llama.cpp sets it.
//
// --imatrix FILE (llama.cpp's GGUF or legacy .dat importance matrix, e.g.
// from `r1 imatrix` or llama-imatrix) weights each row's error by its
// columns' mean square input; the experts of a 3-D tensor each use their own
// part. Tensors the matrix has no entry for are quantized unweighted (and
// listed), as llama.cpp does for the types that do not require one.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "common.h"
#include "gguf/gguf.h"
#include "gguf/imatrix.h"
#include "kernels/quant.h"
#include "kernels/thread_pool.h"
#include "models/quant_recipe.h"

namespace {

using r1::GgmlType;
using r1::Status;

struct Options {
  std::string in, out, type;
  std::vector<std::string> tensor_types;
  std::string output_type, embedding_type, imatrix;
  bool pure = false;
  bool allow_requantize = false;
  int threads = 0;
};

bool IsFloat(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }

// The architecture's block count and expert count, for the mix rules.
r1::RecipeModelInfo ModelInfo(const r1::gguf::File& f) {
  const std::string arch = f.GetStringOr("general.architecture", "");
  r1::RecipeModelInfo m;
  m.n_layer = static_cast<int>(f.GetIntOr(arch + ".block_count", 0));
  m.n_expert = static_cast<int>(f.GetIntOr(arch + ".expert_count", 0));
  const int64_t heads = f.GetIntOr(arch + ".attention.head_count", 1);
  const int64_t kv = f.GetIntOr(arch + ".attention.head_count_kv", heads);
  m.n_gqa = kv > 0 ? static_cast<int>(heads / kv) : 1;
  return m;
}

r1::StatusOr<GgmlType> ParseType(const std::string& flag, const std::string& s) {
  auto t = r1::ParseGgmlTypeName(s);
  if (!t.ok()) return t.status().WithContext(flag);
  return *t;
}

int Run(const Options& o) {
  auto recipe = r1::ParseQuantRecipe(o.type);
  if (!recipe.ok()) return r1::cli::Fail(recipe.status());
  r1::TensorTypeOptions topt;
  topt.pure = o.pure;
  for (const std::string& spec : o.tensor_types) {
    auto ov = r1::ParseTensorTypeOverride(spec);
    if (!ov.ok()) return r1::cli::Fail(ov.status());
    topt.overrides.push_back(std::move(*ov));
  }
  if (!o.output_type.empty()) {
    auto t = ParseType("--output-tensor-type", o.output_type);
    if (!t.ok()) return r1::cli::Fail(t.status());
    topt.has_output_type = true;
    topt.output_type = *t;
  }
  if (!o.embedding_type.empty()) {
    auto t = ParseType("--token-embedding-type", o.embedding_type);
    if (!t.ok()) return r1::cli::Fail(t.status());
    topt.has_embedding_type = true;
    topt.embedding_type = *t;
  }

  auto f = r1::gguf::File::Open(o.in);
  if (!f.ok()) return r1::cli::Fail(f.status());
  const r1::gguf::File& file = **f;
  const r1::RecipeModelInfo info = ModelInfo(file);
  r1::gguf::Imatrix imatrix;
  if (!o.imatrix.empty()) {
    auto m = r1::gguf::ReadImatrix(o.imatrix);
    if (!m.ok()) return r1::cli::Fail(m.status());
    imatrix = std::move(*m);
    std::fprintf(stderr, "r1: %s: %zu importance matrix entries over %lld chunks of %lld tokens\n",
                 o.imatrix.c_str(), imatrix.entries.size(), static_cast<long long>(imatrix.chunk_count),
                 static_cast<long long>(imatrix.chunk_size));
  }

  // Plan every tensor's type first, so that a refusal comes before any work.
  std::vector<GgmlType> target(file.tensors().size());
  std::vector<std::vector<float>> importance(file.tensors().size());  // per tensor: [n_mat][ne0], or empty
  std::vector<std::string> unweighted;
  std::map<std::string, int64_t> bytes_by_type;
  int64_t total = 0, in_bytes = 0, out_bytes = 0;
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const r1::gguf::TensorInfo& t = file.tensors()[i];
    const GgmlType want = r1::RecipeTensorType(*recipe, t.name, t.ne, t.type, info, topt);
    target[i] = want;
    if (want != t.type) {
      if (!r1::kernels::CanQuantize(want))
        return r1::cli::Fail(Status::Unimplemented(
            "tensor '" + t.name + "': r1 has no quantizer for " + r1::GgmlTypeName(want) +
            " (it loads and runs " + r1::GgmlTypeName(want) + " files; make them with llama.cpp's llama-quantize)"));
      if (!r1::kernels::IsSupported(t.type) && t.type != GgmlType::F32)
        return r1::cli::Fail(Status::Unimplemented(o.in + ": tensor '" + t.name + "' has type " +
                                                   r1::GgmlTypeName(t.type) + ", which r1 cannot dequantize"));
      if (!IsFloat(t.type) && !o.allow_requantize)
        return r1::cli::Fail(Status::InvalidArgument(
            o.in + ": tensor '" + t.name + "' is already " + r1::GgmlTypeName(t.type) + "; quantizing it again to " +
            r1::GgmlTypeName(want) + " compounds the error (start from an F16/BF16/F32 file, or pass "
            "--allow-requantize)"));
      total += t.n_elements();
      if (!o.imatrix.empty() && t.ne.size() >= 2) {
        const r1::gguf::ImatrixEntry* e = imatrix.Find(t.name);
        const int64_t n_mat = t.ne.size() >= 3 ? t.dim(2) : 1;
        if (!e) {
          unweighted.push_back(t.name);
        } else if (static_cast<int64_t>(e->sums.size()) != t.ne[0] * n_mat) {
          return r1::cli::Fail(Status::InvalidArgument(
              o.imatrix + ": entry '" + t.name + "' has " + std::to_string(e->sums.size()) + " values; the tensor " +
              t.ShapeString() + " needs " + std::to_string(t.ne[0] * n_mat) + " (is it the same model?)"));
        } else {
          importance[i] = e->Mean();
        }
      }
    }
    const int64_t rows = t.ne.empty() ? 1 : t.n_elements() / t.ne[0];
    const int64_t nb = static_cast<int64_t>(r1::GgmlRowSize(want, t.ne.empty() ? 1 : t.ne[0])) * rows;
    bytes_by_type[r1::GgmlTypeName(want)] += nb;
    in_bytes += static_cast<int64_t>(t.nbytes);
    out_bytes += nb;
  }

  r1::gguf::Writer w;
  w.set_version(file.version());
  w.set_alignment(file.alignment());
  for (const auto& [key, v] : file.metadata()) {
    if (key.rfind("split.", 0) == 0 || key == "general.alignment") continue;
    w.Set(key, v);
  }
  w.Set("general.file_type", r1::gguf::Value::U32(recipe->llama_ftype));
  w.Set("general.quantization_version", r1::gguf::Value::U32(2));
  for (size_t i = 0; i < file.tensors().size(); ++i) {
    const auto& t = file.tensors()[i];
    if (Status st = w.DeclareTensor(t.name, t.ne, target[i]); !st.ok()) return r1::cli::Fail(st);
  }

  r1::ThreadPool pool(o.threads);
  r1::cli::Progress progress("quantizing to " + recipe->name);
  int64_t done = 0;
  std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()));
  Status st = w.Write(o.out, [&](size_t i, uint8_t* out, size_t nbytes) -> Status {
    const r1::gguf::TensorInfo& t = file.tensors()[i];
    if (target[i] == t.type) {
      std::memcpy(out, t.data, nbytes);
      return Status::Ok();
    }
    const int64_t k = t.ne[0], rows = t.n_elements() / k, rows_per_mat = t.dim(1);
    const std::vector<float>& imp = importance[i];
    const size_t in_row = r1::GgmlRowSize(t.type, k), out_row = r1::GgmlRowSize(target[i], k);
    if (out_row * static_cast<size_t>(rows) != nbytes) return Status::Internal("tensor '" + t.name + "': size mismatch");
    pool.ParallelFor(rows, [&](int64_t r0, int64_t r1_, int chunk) {
      std::vector<float>& buf = scratch[static_cast<size_t>(chunk)];
      buf.resize(static_cast<size_t>(k));
      for (int64_t r = r0; r < r1_; ++r) {
        r1::kernels::Dequantize(t.type, t.data + static_cast<size_t>(r) * in_row, buf.data(), k);
        uint8_t* dst = out + static_cast<size_t>(r) * out_row;
        if (imp.empty()) {
          r1::kernels::Quantize(target[i], buf.data(), dst, k);
        } else {
          r1::kernels::QuantizeWeighted(target[i], buf.data(), dst, k,
                                        imp.data() + static_cast<size_t>(r / rows_per_mat * k));
        }
      }
    });
    done += t.n_elements();
    progress.Update(done, total);
    return Status::Ok();
  });
  progress.Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  std::printf("%s: %s, %.1f MiB -> %.1f MiB\n", o.out.c_str(), recipe->name.c_str(), in_bytes / 1048576.0,
              out_bytes / 1048576.0);
  for (const auto& [type, b] : bytes_by_type) std::printf("  %-8s %10.1f MiB\n", type.c_str(), b / 1048576.0);
  if (!o.imatrix.empty()) {
    std::printf("  importance matrix: %zu tensors weighted, %zu without an entry%s", file.tensors().size() > 0
                    ? static_cast<size_t>(std::count_if(importance.begin(), importance.end(),
                                                        [](const auto& v) { return !v.empty(); }))
                    : 0,
                unweighted.size(), unweighted.empty() ? "\n" : ":");
    for (const std::string& n : unweighted) std::printf(" %s", n.c_str());
    if (!unweighted.empty()) std::printf("\n");
  }
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "quantize", "Quantize a GGUF model to a GGML type or one of llama.cpp's mixes (Q4_K_M, ...)",
    [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("input", o->in, "Input GGUF (F16/BF16/F32 weights; the first part of a split file)")->required();
      app.add_option("output", o->out, "Output GGUF")->required();
      app.add_option("type", o->type, "Type: " + r1::QuantRecipeNames())->required();
      app.add_option("--tensor-type", o->tensor_types,
                     "PATTERN=TYPE: tensors whose name matches PATTERN (a regex) get TYPE; repeatable, first match wins");
      app.add_option("--output-tensor-type", o->output_type, "Type of output.weight");
      app.add_option("--token-embedding-type", o->embedding_type, "Type of token_embd.weight");
      app.add_option("--imatrix", o->imatrix,
                     "Importance matrix (llama.cpp's GGUF or legacy .dat, e.g. from r1 imatrix) to weight the error by");
      app.add_flag("--pure", o->pure, "No mix rules: every matrix gets TYPE (overrides still apply)");
      app.add_flag("--allow-requantize", o->allow_requantize, "Allow quantizing tensors that are already quantized");
      app.add_option("-t,--threads", o->threads, "Threads (default: physical cores)");
      return [o] { return Run(*o); };
    });

}  // namespace
