#include "runtime/hf_model.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "kernels/blocks.h"
#include "kernels/quant.h"
#include "models/hf_names.h"
#include "models/quant_recipe.h"
#include "tokenizer/hf_to_gguf.h"

namespace r1 {
namespace {

using nlohmann::json;
using safetensors::Dtype;
using safetensors::Tensor;

// A tensor's values as float: BF16/F16/F32 exactly, FP8 e4m3 times its
// block's scale (DeepSeek: dequantized = fp8 * weight_scale_inv).
Status Decode(const Tensor& t, const Tensor* scale, const std::string& shard, float* out) {
  const int64_t n = t.n_elements();
  switch (t.dtype) {
    case Dtype::kF32: std::memcpy(out, t.data, static_cast<size_t>(n) * 4); return Status::Ok();
    case Dtype::kF16: kernels::Dequantize(GgmlType::F16, t.data, out, n); return Status::Ok();
    case Dtype::kBF16: kernels::Dequantize(GgmlType::BF16, t.data, out, n); return Status::Ok();
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
          out[r * cols + c] = safetensors::E4M3ToFloat(t.data[r * cols + c]) * s[static_cast<size_t>((r / 128) * bc + c / 128)];
      return Status::Ok();
    }
    default:
      return Status::Unimplemented(shard + ": tensor '" + t.name + "' has dtype " + safetensors::DtypeName(t.dtype) +
                                   " (supported: F32, F16, BF16, F8_E4M3)");
  }
}

// The config's hyperparameters as GGUF keys.
Status SetHyperparameters(const json& cfg, const std::string& arch, int n_nextn, gguf::Writer* w) {
  using gguf::Value;
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


// What an assembled file's tensors point into: the checkpoint's mappings, and
// the copies (stacked experts, F32 vectors).
struct Holder {
  std::unique_ptr<HfModel> model;
  std::vector<std::vector<uint8_t>> stacked;
};

}  // namespace

std::string HfModel::ShardPath(const Tensor& t) const {
  const auto* s = ckpt->ShardOf(t.name);
  return s ? s->path() : dir;
}

StatusOr<std::unique_ptr<HfModel>> ReadHfModel(const std::string& dir) {
  auto m = std::make_unique<HfModel>();
  m->dir = dir;
  std::ifstream cf(dir + "/config.json", std::ios::binary);
  if (!cf) return Status::NotFound(dir + "/config.json: cannot open (not a Hugging Face model directory?)");
  std::stringstream ss;
  ss << cf.rdbuf();
  m->config = json::parse(ss.str(), nullptr, false);
  const json& cfg = m->config;
  if (!cfg.is_object()) return Status::InvalidArgument(dir + "/config.json: not a JSON object");
  const std::string hf_arch = cfg.contains("architectures") && cfg["architectures"].is_array() &&
                                      !cfg["architectures"].empty() && cfg["architectures"][0].is_string()
                                  ? cfg["architectures"][0].get<std::string>() : "";
  m->arch = GgufArchForHf(hf_arch);
  if (m->arch.empty())
    return Status::Unimplemented(dir + "/config.json: architecture '" + hf_arch +
                                 "' (supported: DeepseekV3ForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, "
                                 "LlamaForCausalLM)");
  auto ckpt = safetensors::Checkpoint::Open(dir);
  if (!ckpt.ok()) return ckpt.status();
  m->ckpt = std::move(*ckpt);
  const auto& c = *m->ckpt;

  // Every tensor to its GGUF name; experts stacked; FP8 scales paired.
  std::map<std::string, HfTensor> by_name;
  std::map<std::string, std::map<int, const Tensor*>> experts;
  if (!cfg.contains("num_hidden_layers") || !cfg["num_hidden_layers"].is_number_integer())
    return Status::InvalidArgument(dir + "/config.json: field 'num_hidden_layers' is missing or not an integer");
  m->n_main = cfg["num_hidden_layers"].get<int>();
  int max_layer = -1;
  for (const auto& shard : c.shards()) {
    for (const Tensor& t : shard->tensors()) {
      if (t.name.ends_with("weight_scale_inv")) continue;
      if (t.name.rfind("model.layers.", 0) == 0) max_layer = std::max(max_layer, std::atoi(t.name.c_str() + 13));
      int e = -1;
      const std::string g = GgufNameForHf(t.name, &e);
      if (g.empty()) return Status::Unimplemented(shard->path() + ": tensor '" + t.name + "' has no GGUF name");
      if (e >= 0) {
        if (!experts[g].emplace(e, &t).second)
          return Status::InvalidArgument(shard->path() + ": expert " + std::to_string(e) + " twice in " + g);
        continue;
      }
      HfTensor s;
      s.name = g;
      s.ne.assign(t.shape.rbegin(), t.shape.rend());
      s.parts = {&t};
      by_name[g] = s;
    }
  }
  for (auto& [g, es] : experts) {
    HfTensor s;
    s.name = g;
    int next = 0;
    for (const auto& [e, t] : es) {
      if (e != next++ || t->shape != es.begin()->second->shape || t->shape.size() != 2 ||
          t->dtype != es.begin()->second->dtype)
        return Status::InvalidArgument(dir + ": the experts of " + g +
                                       " are not 0..N-1 matrices of one shape and dtype (at expert " +
                                       std::to_string(e) + ")");
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
        return Status::InvalidArgument(m->ShardPath(*t) + ": FP8 tensor '" + t->name + "' has no '" + sname + "'");
    }
  }
  m->n_nextn = m->arch == "deepseek2" && max_layer >= m->n_main ? max_layer - m->n_main + 1 : 0;

  R1_RETURN_IF_ERROR(SetHyperparameters(cfg, m->arch, m->n_nextn, &m->meta).WithContext(dir));
  m->meta.Set("general.name", gguf::Value::String(std::filesystem::path(dir).filename().string()));
  auto tok = ReadHfTokenizer(dir);
  if (!tok.ok()) return tok.status();
  std::string pre = m->arch == "deepseek2" ? "deepseek-v3" : m->arch == "llama" ? "llama-bpe" : "qwen2";
  if (m->arch == "qwen2" && tok->tokenizer.dump().find("begin\xE2\x96\x81of\xE2\x96\x81sentence") != std::string::npos)
    pre = "deepseek-r1-qwen";  // the R1 distills of Qwen: Qwen's pre-tokenizer, DeepSeek's special tokens
  R1_RETURN_IF_ERROR(HfTokenizerToGguf(*tok, pre, cfg.value("vocab_size", int64_t{0}), &m->meta).WithContext(dir));

  // GGUF order: the embedding, the blocks in order, then the head.
  for (auto& [g, s] : by_name) m->tensors.push_back(std::move(s));
  auto rank = [](const std::string& n) -> std::pair<int, std::string> {
    if (n.rfind("token_embd", 0) == 0) return {-1, n};
    if (n.rfind("blk.", 0) == 0) return {std::atoi(n.c_str() + 4), n};
    return {1 << 30, n};
  };
  std::sort(m->tensors.begin(), m->tensors.end(),
            [&](const HfTensor& x, const HfTensor& y) { return rank(x.name) < rank(y.name); });
  return m;
}

Status DecodeHfTensor(const HfModel& m, const HfTensor& t, float* out) {
  int64_t at = 0;
  for (size_t k = 0; k < t.parts.size(); ++k) {
    const Tensor& p = *t.parts[k];
    R1_RETURN_IF_ERROR(Decode(p, t.scales[k], m.ShardPath(p), out + at));
    at += p.n_elements();
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<gguf::File>> OpenHfDirectory(const std::string& dir) {
  auto m = ReadHfModel(dir);
  if (!m.ok()) return m.status();
  auto holder = std::make_shared<Holder>();
  std::vector<gguf::TensorInfo> infos;
  for (const HfTensor& t : (*m)->tensors) {
    const Tensor& first = *t.parts.front();
    GgmlType type;
    switch (first.dtype) {
      case Dtype::kF32: type = GgmlType::F32; break;
      case Dtype::kF16: type = GgmlType::F16; break;
      case Dtype::kBF16: type = GgmlType::BF16; break;
      case Dtype::kF8E4M3:
        // Rows of 64-element blocks with their scale: 1.06 bytes per weight.
        // A row length that is no multiple of 64 (only tiny test models have
        // them) is decoded to F32 instead, exactly.
        type = t.ne[0] % kernels::kQKF8 == 0 ? GgmlType::F8_E4M3_B64 : GgmlType::F32;
        break;
      default:
        return Status::Unimplemented((*m)->ShardPath(first) + ": tensor '" + first.name + "' has dtype " +
                                     safetensors::DtypeName(first.dtype) + " (supported: F32, F16, BF16)");
    }
    gguf::TensorInfo info;
    info.name = t.name;
    info.ne = t.ne;
    info.type = type;
    for (const Tensor* p : t.parts) info.nbytes += p->nbytes();
    if (type == GgmlType::F8_E4M3_B64) {
      const int64_t k = t.ne[0];
      int64_t rows_total = 1;
      for (size_t d = 1; d < t.ne.size(); ++d) rows_total *= t.ne[d];
      auto& buf = holder->stacked.emplace_back(GgmlRowSize(type, k) * static_cast<size_t>(rows_total));
      auto* blocks = reinterpret_cast<kernels::BlockF8*>(buf.data());
      for (size_t pi = 0; pi < t.parts.size(); ++pi) {
        const Tensor& p = *t.parts[pi];
        const Tensor* sc = t.scales[pi];
        const int64_t rows = p.shape[0], bc = (k + 127) / 128;
        if (p.dtype != Dtype::kF8E4M3 || !sc || sc->dtype != Dtype::kF32 ||
            sc->shape != std::vector<int64_t>{(rows + 127) / 128, bc})
          return Status::InvalidArgument((*m)->ShardPath(p) + ": tensor '" + p.name +
                                         "': FP8 needs an F32 weight_scale_inv of [ceil(rows/128), ceil(cols/128)]");
        std::vector<float> scales(static_cast<size_t>(sc->n_elements()));  // the mapping may be unaligned
        std::memcpy(scales.data(), sc->data, scales.size() * 4);
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < k / kernels::kQKF8; ++j) {
            kernels::BlockF8& b = blocks[(static_cast<int64_t>(pi) * rows + r) * (k / kernels::kQKF8) + j];
            b.d = scales[static_cast<size_t>((r / 128) * bc + (j * kernels::kQKF8) / 128)];
            std::memcpy(b.qs, p.data + r * k + j * kernels::kQKF8, kernels::kQKF8);
          }
      }
      info.nbytes = buf.size();
      info.data = buf.data();
    } else if (first.dtype == Dtype::kF8E4M3 || (!IsQuantizableWeight(t.name, t.ne) && type != GgmlType::F32)) {
      // Norms, biases and the MoE router in F32, as r1 convert writes them
      // (and llama.cpp keeps them): small, and the router's top-k is then
      // decided on the same values whichever way the model was opened.
      int64_t n = 1;
      for (int64_t d : t.ne) n *= d;
      auto& buf = holder->stacked.emplace_back(static_cast<size_t>(n) * 4);
      R1_RETURN_IF_ERROR(DecodeHfTensor(**m, t, reinterpret_cast<float*>(buf.data())));
      info.type = GgmlType::F32;
      info.nbytes = buf.size();
      info.data = buf.data();
    } else if (t.parts.size() == 1) {
      info.data = first.data;  // the safetensors mapping itself: GGML's bytes
    } else {
      auto& buf = holder->stacked.emplace_back(info.nbytes);
      size_t at = 0;
      for (const Tensor* p : t.parts) {
        std::memcpy(buf.data() + at, p->data, p->nbytes());
        at += p->nbytes();
      }
      info.data = buf.data();
    }
    infos.push_back(std::move(info));
  }
  auto kv = (*m)->meta.metadata();
  holder->model = std::move(*m);
  return gguf::File::Assemble(dir, std::move(kv), std::move(infos), holder);
}

StatusOr<std::unique_ptr<gguf::File>> OpenModelFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return OpenHfDirectory(path);
  return gguf::File::Open(path);
}

}  // namespace r1
