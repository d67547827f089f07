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
#include "hf_export.h"
#include "kernels/quant.h"
#include "models/hf_names.h"
#include "models/quant_recipe.h"
#include "safetensors/safetensors.h"
#include "tokenizer/hf_to_gguf.h"

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

// One GGUF tensor and where its values come from.
struct Source {
  std::string name;                   // GGUF
  std::vector<int64_t> ne;            // GGUF order, innermost first
  std::vector<const Tensor*> parts;   // one, or the experts in order
  std::vector<const Tensor*> scales;  // FP8: weight_scale_inv per part (null otherwise)
  r1::GgmlType type = r1::GgmlType::F32;
};

// A tensor's values as float: BF16/F16/F32 exactly, FP8 e4m3 times its
// block's scale (DeepSeek: dequantized = fp8 * weight_scale_inv).
Status Decode(const Tensor& t, const Tensor* scale, const std::string& shard, float* out) {
  const int64_t n = t.n_elements();
  switch (t.dtype) {
    case Dtype::kF32: std::memcpy(out, t.data, static_cast<size_t>(n) * 4); return Status::Ok();
    case Dtype::kF16: r1::kernels::Dequantize(r1::GgmlType::F16, t.data, out, n); return Status::Ok();
    case Dtype::kBF16: r1::kernels::Dequantize(r1::GgmlType::BF16, t.data, out, n); return Status::Ok();
    case Dtype::kF8E4M3: {
      if (!scale || t.shape.size() != 2)
        return Status::InvalidArgument(shard + ": FP8 tensor '" + t.name + "' has no weight_scale_inv (or is not a matrix)");
      const int64_t rows = t.shape[0], cols = t.shape[1], bc = (cols + 127) / 128;
      if (scale->dtype != Dtype::kF32 || scale->shape != std::vector<int64_t>{(rows + 127) / 128, bc})
        return Status::InvalidArgument(shard + ": tensor '" + scale->name + "' must be F32 " +
                                       "[ceil(rows/128), ceil(cols/128)] for '" + t.name + "' " + t.ShapeString());
      std::vector<float> s(static_cast<size_t>(scale->n_elements()));
      std::memcpy(s.data(), scale->data, s.size() * 4);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
          out[r * cols + c] = r1::cli::E4M3ToFloat(t.data[r * cols + c]) * s[static_cast<size_t>((r / 128) * bc + c / 128)];
      return Status::Ok();
    }
    default:
      return Status::Unimplemented(shard + ": tensor '" + t.name + "' has dtype " + r1::safetensors::DtypeName(t.dtype) +
                                   " (supported: F32, F16, BF16, F8_E4M3)");
  }
}

// The config's hyperparameters as GGUF keys.
Status SetHyperparameters(const json& cfg, const std::string& arch, int n_nextn, r1::gguf::Writer* w) {
  using r1::gguf::Value;
  const std::string a = arch + ".";
  auto need = [&](const char* k) -> Status {
    if (!cfg.contains(k) || !cfg[k].is_number())
      return Status::InvalidArgument("config.json: field '" + std::string(k) + "' is missing or not a number");
    return Status::Ok();
  };
  for (const char* k : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size"})
    R1_RETURN_IF_ERROR(need(k));
  auto U = [&](const std::string& key, const json& v) { w->Set(a + key, Value::U32(v.get<uint32_t>())); };
  auto F = [&](const std::string& key, const json& v) { w->Set(a + key, Value::F32(v.get<float>())); };
  const int64_t n_layer = cfg["num_hidden_layers"].get<int64_t>();
  const int64_t n_head = cfg["num_attention_heads"].get<int64_t>();
  w->Set("general.architecture", Value::String(arch));
  U("context_length", cfg.value("max_position_embeddings", json(4096)));
  U("embedding_length", cfg["hidden_size"]);
  U("block_count", json(n_layer + n_nextn));
  U("feed_forward_length", cfg["intermediate_size"]);
  U("attention.head_count", json(n_head));
  U("attention.head_count_kv", cfg.value("num_key_value_heads", json(n_head)));
  F("attention.layer_norm_rms_epsilon", cfg.value("rms_norm_eps", json(1e-6)));
  F("rope.freq_base", cfg.value("rope_theta", json(10000.0)));
  const json rs = cfg.value("rope_scaling", json());
  if (arch == "deepseek2") {
    for (const char* k : {"moe_intermediate_size", "n_routed_experts", "num_experts_per_tok", "kv_lora_rank",
                          "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim"})
      R1_RETURN_IF_ERROR(need(k));
    U("leading_dense_block_count", cfg.value("first_k_dense_replace", json(0)));
    if (cfg.contains("q_lora_rank") && cfg["q_lora_rank"].is_number()) U("attention.q_lora_rank", cfg["q_lora_rank"]);
    U("attention.kv_lora_rank", cfg["kv_lora_rank"]);
    U("attention.key_length", json(cfg["qk_nope_head_dim"].get<int64_t>() + cfg["qk_rope_head_dim"].get<int64_t>()));
    U("attention.value_length", cfg["v_head_dim"]);
    U("rope.dimension_count", cfg["qk_rope_head_dim"]);
    U("expert_feed_forward_length", cfg["moe_intermediate_size"]);
    U("expert_count", cfg["n_routed_experts"]);
    U("expert_used_count", cfg["num_experts_per_tok"]);
    U("expert_shared_count", cfg.value("n_shared_experts", json(0)));
    F("expert_weights_scale", cfg.value("routed_scaling_factor", json(1.0)));
    w->Set(a + "expert_weights_norm", Value::Bool(cfg.value("norm_topk_prob", false)));
    const std::string scoring = cfg.value("scoring_func", std::string("softmax"));
    if (scoring != "sigmoid" && scoring != "softmax")
      return Status::Unimplemented("config.json: scoring_func '" + scoring + "' (supported: sigmoid, softmax)");
    U("expert_gating_func", json(scoring == "sigmoid" ? 2 : 1));
    U("expert_group_count", cfg.value("n_group", json(1)));
    U("expert_group_used_count", cfg.value("topk_group", json(1)));
    U("nextn_predict_layers", json(n_nextn));
    if (rs.is_object()) {
      const std::string type = rs.value("type", rs.value("rope_type", std::string()));
      if (type != "yarn") return Status::Unimplemented("config.json: rope_scaling type '" + type + "' (supported: yarn)");
      w->Set(a + "rope.scaling.type", Value::String("yarn"));
      F("rope.scaling.factor", rs.value("factor", json(1.0)));
      U("rope.scaling.original_context_length", rs.value("original_max_position_embeddings", json(4096)));
      F("rope.scaling.yarn_log_multiplier", json(0.1 * rs.value("mscale_all_dim", 0.0)));
    }
  } else {
    if (rs.is_object() && !rs.empty())
      return Status::Unimplemented("config.json: rope_scaling " + rs.dump() + " for " + arch + " is not supported yet");
    const int64_t head_dim = cfg.value("head_dim", cfg["hidden_size"].get<int64_t>() / n_head);
    if (arch == "qwen3" || arch == "llama") {
      U("attention.key_length", json(head_dim));
      U("attention.value_length", json(head_dim));
    }
    if (arch == "llama") U("rope.dimension_count", json(head_dim));
  }
  return Status::Ok();
}

int Run(const Options& o) {
  auto cfg_text = r1::cli::ReadFile(o.dir + "/config.json");
  if (!cfg_text.ok()) return r1::cli::Fail(cfg_text.status());
  const json cfg = json::parse(*cfg_text, nullptr, false);
  if (!cfg.is_object()) return r1::cli::Fail(Status::InvalidArgument(o.dir + "/config.json: not a JSON object"));
  const std::string hf_arch = cfg.contains("architectures") && cfg["architectures"].is_array() &&
                                      !cfg["architectures"].empty() && cfg["architectures"][0].is_string()
                                  ? cfg["architectures"][0].get<std::string>() : "";
  const std::string arch = r1::GgufArchForHf(hf_arch);
  if (arch.empty())
    return r1::cli::Fail(Status::Unimplemented(o.dir + "/config.json: architecture '" + hf_arch +
                                               "' (supported: DeepseekV3ForCausalLM, Qwen2ForCausalLM, "
                                               "Qwen3ForCausalLM, LlamaForCausalLM)"));
  auto ckpt = r1::safetensors::Checkpoint::Open(o.dir);
  if (!ckpt.ok()) return r1::cli::Fail(ckpt.status());
  const auto& c = **ckpt;

  // Every tensor to its GGUF name; experts stacked; FP8 scales paired.
  std::map<std::string, Source> by_name;
  std::map<std::string, std::map<int, const Tensor*>> experts;
  const int n_main = cfg.value("num_hidden_layers", 0);
  int max_layer = -1;
  for (const auto& shard : c.shards()) {
    for (const Tensor& t : shard->tensors()) {
      if (t.name.ends_with("weight_scale_inv")) continue;
      if (t.name.rfind("model.layers.", 0) == 0) max_layer = std::max(max_layer, std::atoi(t.name.c_str() + 13));
      int e = -1;
      const std::string g = r1::GgufNameForHf(t.name, &e);
      if (g.empty())
        return r1::cli::Fail(Status::Unimplemented(shard->path() + ": tensor '" + t.name + "' has no GGUF name"));
      if (e >= 0) {
        if (!experts[g].emplace(e, &t).second)
          return r1::cli::Fail(Status::InvalidArgument(shard->path() + ": expert " + std::to_string(e) + " twice in " + g));
        continue;
      }
      Source s;
      s.name = g;
      s.ne.assign(t.shape.rbegin(), t.shape.rend());
      s.parts = {&t};
      by_name[g] = s;
    }
  }
  for (auto& [g, es] : experts) {
    Source s;
    s.name = g;
    int next = 0;
    for (const auto& [e, t] : es) {
      if (e != next++ || t->shape != es.begin()->second->shape || t->shape.size() != 2)
        return r1::cli::Fail(Status::InvalidArgument(o.dir + ": the experts of " + g +
                                                     " are not 0..N-1 matrices of one shape (at expert " +
                                                     std::to_string(e) + ")"));
      s.parts.push_back(t);
    }
    const auto& sh = es.begin()->second->shape;
    s.ne = {sh[1], sh[0], static_cast<int64_t>(es.size())};
    by_name[g] = s;
  }
  for (auto& [g, s] : by_name) {
    for (const Tensor* t : s.parts) {
      const std::string sname = t->name.substr(0, t->name.size() - 6) + "weight_scale_inv";
      s.scales.push_back(t->dtype == Dtype::kF8E4M3 ? c.Find(sname) : nullptr);
      if (t->dtype == Dtype::kF8E4M3 && !s.scales.back())
        return r1::cli::Fail(Status::InvalidArgument(c.ShardOf(t->name)->path() + ": FP8 tensor '" + t->name +
                                                     "' has no '" + sname + "'"));
    }
  }
  const int n_nextn = arch == "deepseek2" && max_layer >= n_main ? max_layer - n_main + 1 : 0;

  // The output type: the source's float type, or a type or mix as in
  // `r1 quantize` (models/quant_recipe.h); norms, biases and the router stay F32.
  std::string type_name = o.type;
  if (type_name == "auto") {
    bool all_f32 = true, any_f16 = false;
    for (const auto& [g, s] : by_name)
      for (const Tensor* t : s.parts) all_f32 &= t->dtype == Dtype::kF32, any_f16 |= t->dtype == Dtype::kF16;
    type_name = all_f32 ? "f32" : any_f16 ? "f16" : "bf16";
  }
  auto recipe = r1::ParseQuantRecipe(type_name);
  if (!recipe.ok()) return r1::cli::Fail(recipe.status().WithContext("--type"));
  const int64_t n_head = cfg.value("num_attention_heads", int64_t{1});
  const r1::RecipeModelInfo info{n_main + n_nextn, static_cast<int>(cfg.value("n_routed_experts", int64_t{0})),
                                 static_cast<int>(n_head / std::max<int64_t>(1, cfg.value("num_key_value_heads", n_head)))};

  r1::gguf::Writer w;
  w.Set("general.file_type", r1::gguf::Value::U32(recipe->llama_ftype));
  if (recipe->base != r1::GgmlType::F32 && recipe->base != r1::GgmlType::F16 && recipe->base != r1::GgmlType::BF16)
    w.Set("general.quantization_version", r1::gguf::Value::U32(2));
  if (Status st = SetHyperparameters(cfg, arch, n_nextn, &w); !st.ok()) return r1::cli::Fail(st.WithContext(o.dir));
  w.Set("general.name", r1::gguf::Value::String(std::filesystem::path(o.dir).filename().string()));
  auto tok = r1::ReadHfTokenizer(o.dir);
  if (!tok.ok()) return r1::cli::Fail(tok.status());
  std::string pre = arch == "deepseek2" ? "deepseek-v3" : arch == "llama" ? "llama-bpe" : "qwen2";
  if (arch == "qwen2" && tok->tokenizer.dump().find("begin\xE2\x96\x81of\xE2\x96\x81sentence") != std::string::npos)
    pre = "deepseek-r1-qwen";  // the R1 distills of Qwen: Qwen's pre-tokenizer, DeepSeek's special tokens
  if (Status st = r1::HfTokenizerToGguf(*tok, pre, cfg.value("vocab_size", int64_t{0}), &w); !st.ok())
    return r1::cli::Fail(st.WithContext(o.dir));

  // GGUF order: the embedding, the blocks in order, then the head.
  std::vector<Source*> order;
  for (auto& [g, s] : by_name) order.push_back(&s);
  auto rank = [](const std::string& n) -> std::pair<int, std::string> {
    if (n.rfind("token_embd", 0) == 0) return {-1, n};
    if (n.rfind("blk.", 0) == 0) return {std::atoi(n.c_str() + 4), n};
    return {1 << 30, n};
  };
  std::sort(order.begin(), order.end(), [&](const Source* x, const Source* y) { return rank(x->name) < rank(y->name); });
  int64_t total = 0;
  for (Source* s : order) {
    s->type = r1::RecipeTensorType(*recipe, s->name, s->ne, r1::GgmlType::F32, info);
    if (!r1::kernels::CanQuantize(s->type))
      return r1::cli::Fail(Status::Unimplemented("--type " + o.type + ": tensor '" + s->name +
                                                 "': r1 has no quantizer for " + r1::GgmlTypeName(s->type)));
    if (Status st = w.DeclareTensor(s->name, s->ne, s->type); !st.ok()) return r1::cli::Fail(st);
    for (const Tensor* t : s->parts) total += static_cast<int64_t>(t->nbytes());
  }
  r1::cli::Progress progress("converting " + o.dir);
  int64_t done = 0;
  std::vector<float> buf;
  Status st = w.Write(o.out, [&](size_t i, uint8_t* out, size_t nbytes) -> Status {
    const Source& s = *order[i];
    int64_t n = 1;
    for (int64_t d : s.ne) n *= d;
    buf.resize(static_cast<size_t>(n));
    int64_t at = 0;
    for (size_t k = 0; k < s.parts.size(); ++k) {
      const Tensor& t = *s.parts[k];
      R1_RETURN_IF_ERROR(Decode(t, s.scales[k], c.ShardOf(t.name)->path(), buf.data() + at));
      at += t.n_elements();
      done += static_cast<int64_t>(t.nbytes());
    }
    const size_t want_bytes = r1::GgmlRowSize(s.type, s.ne[0]) * static_cast<size_t>(n / s.ne[0]);
    if (want_bytes != nbytes) return Status::Internal("tensor '" + s.name + "': size mismatch");
    r1::kernels::Quantize(s.type, buf.data(), out, n);
    progress.Update(done, total);
    return Status::Ok();
  });
  progress.Finish();
  if (!st.ok()) return r1::cli::Fail(st);
  std::fprintf(stderr, "r1: wrote %s (%s, %zu tensors%s)\n", o.out.c_str(), arch.c_str(), order.size(),
               n_nextn ? ", with the MTP layer" : "");
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
