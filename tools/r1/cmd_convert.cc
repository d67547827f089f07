// r1 convert: a Hugging Face directory (config.json, safetensors, tokenizer)
// to one GGUF with llama.cpp's names and keys, the MTP layer included (the
// nextn convention), which r1 and llama.cpp both load.
//
// Weights are decoded to float exactly (BF16, F16, F32; FP8 e4m3 times its
// 128x128 block's weight_scale_inv), then written as --type through the
// project's quantizer (kernels::Quantize). Vectors (norms, biases, the
// routing bias) stay F32, as llama.cpp keeps them; a matrix whose rows are
// not a whole number of the type's blocks is written F16.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "common.h"
#include "gguf/gguf.h"
#include "kernels/quant.h"
#include "models/quant_recipe.h"
#include "runtime/hf_model.h"
#include "safetensors/safetensors.h"

namespace {

using nlohmann::json;
using r1::Status;
using r1::safetensors::Dtype;
using r1::safetensors::Tensor;

struct Options {
  std::string dir;
  std::string out;
  std::string type = "auto";
};

int Run(const Options& o) {
  auto model = r1::ReadHfModel(o.dir);
  if (!model.ok()) return r1::cli::Fail(model.status());
  const r1::HfModel& m = **model;
  const json& cfg = m.config;

  // The output type: the source's float type, or a type or mix as in
  // `r1 quantize` (models/quant_recipe.h); norms, biases and the router stay F32.
  std::string type_name = o.type;
  if (type_name == "auto") {
    bool all_f32 = true, any_f16 = false;
    for (const auto& s : m.tensors)
      for (const Tensor* t : s.parts) all_f32 &= t->dtype == Dtype::kF32, any_f16 |= t->dtype == Dtype::kF16;
    type_name = all_f32 ? "f32" : any_f16 ? "f16" : "bf16";
  }
  auto recipe = r1::ParseQuantRecipe(type_name);
  if (!recipe.ok()) return r1::cli::Fail(recipe.status().WithContext("--type"));
  const int64_t n_head = cfg.value("num_attention_heads", int64_t{1});
  const r1::RecipeModelInfo info{m.n_main + m.n_nextn, static_cast<int>(cfg.value("n_routed_experts", int64_t{0})),
                                 static_cast<int>(n_head / std::max<int64_t>(1, cfg.value("num_key_value_heads", n_head)))};

  r1::gguf::Writer w;
  w.Set("general.file_type", r1::gguf::Value::U32(recipe->llama_ftype));
  if (recipe->base != r1::GgmlType::F32 && recipe->base != r1::GgmlType::F16 && recipe->base != r1::GgmlType::BF16)
    w.Set("general.quantization_version", r1::gguf::Value::U32(2));
  for (const auto& [k, v] : m.meta.metadata()) w.Set(k, v);

  std::vector<r1::GgmlType> types;
  int64_t total = 0;
  for (const r1::HfTensor& s : m.tensors) {
    types.push_back(r1::RecipeTensorType(*recipe, s.name, s.ne, r1::GgmlType::F32, info));
    if (!r1::kernels::CanQuantize(types.back()))
      return r1::cli::Fail(Status::Unimplemented("--type " + o.type + ": tensor '" + s.name +
                                                 "': r1 has no quantizer for " + r1::GgmlTypeName(types.back())));
    if (Status st = w.DeclareTensor(s.name, s.ne, types.back()); !st.ok()) return r1::cli::Fail(st);
    for (const Tensor* t : s.parts) total += static_cast<int64_t>(t->nbytes());
  }
  r1::cli::Progress progress("converting " + o.dir);
  int64_t done = 0;
  std::vector<float> buf;
  Status st = w.Write(o.out, [&](size_t i, uint8_t* out, size_t nbytes) -> Status {
    const r1::HfTensor& s = m.tensors[i];
    int64_t n = 1;
    for (int64_t d : s.ne) n *= d;
    buf.resize(static_cast<size_t>(n));
    R1_RETURN_IF_ERROR(r1::DecodeHfTensor(m, s, buf.data()));
    for (const Tensor* t : s.parts) done += static_cast<int64_t>(t->nbytes());
    const size_t want_bytes = r1::GgmlRowSize(types[i], s.ne[0]) * static_cast<size_t>(n / s.ne[0]);
    if (want_bytes != nbytes) return Status::Internal("tensor '" + s.name + "': size mismatch");
    r1::kernels::Quantize(types[i], buf.data(), out, n);
    progress.Update(done, total);
    return Status::Ok();
  });
  progress.Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  std::fprintf(stderr, "r1: wrote %s (%s, %zu tensors%s)\n", o.out.c_str(), m.arch.c_str(), m.tensors.size(),
               m.n_nextn ? ", with the MTP layer" : "");
  return 0;
}

const bool kRegistered = r1::cli::RegisterCommand(
    "convert", "Convert a Hugging Face directory (safetensors, FP8 included) to GGUF", [](CLI::App& app) -> r1::cli::RunFn {
      auto o = std::make_shared<Options>();
      app.add_option("dir", o->dir, "Hugging Face model directory (config.json, *.safetensors, tokenizer.json)")->required();
      app.add_option("-o,--out", o->out, "Output GGUF path")->required();
      app.add_option("--type", o->type, "auto (the source's: bf16, f16 or f32), or a type or mix as in r1 quantize: " +
                                             r1::QuantRecipeNames())
          ->capture_default_str();
      return [o] { return Run(*o); };
    });

}  // namespace
