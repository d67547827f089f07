#include "hf_export.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "kernels/quant.h"
#include "models/hf_names.h"

namespace r1::cli {

namespace fs = std::filesystem;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

struct StTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;  // PyTorch order (outermost first)
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> ToBf16(const float* x, size_t n) {
  std::vector<uint8_t> out(n * 2);
  kernels::Quantize(GgmlType::BF16, x, out.data(), static_cast<int64_t>(n));
  return out;
}

std::vector<uint8_t> ToF32(const float* x, size_t n) {
  std::vector<uint8_t> out(n * 4);
  std::memcpy(out.data(), x, n * 4);
  return out;
}

Status WriteSafetensors(const std::vector<StTensor>& ts, const std::string& path) {
  ordered_json header = ordered_json::object();
  header["__metadata__"] = {{"format", "pt"}};
  uint64_t off = 0;
  for (const auto& t : ts) {
    header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string h = header.dump();
  while (h.size() % 8) h.push_back(' ');
  std::ofstream out(path, std::ios::binary);
  const uint64_t n = h.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(h.data(), static_cast<std::streamsize>(h.size()));
  for (const auto& t : ts) out.write(reinterpret_cast<const char*>(t.bytes.data()), static_cast<std::streamsize>(t.bytes.size()));
  if (!out) return Status::Internal(path + ": write failed");
  return Status::Ok();
}

// The projections DeepSeek stores in FP8 (the rest stays BF16).
bool Fp8Target(const std::string& hf) {
  if (hf.find("self_attn.") != std::string::npos && hf.find("layernorm") == std::string::npos) return true;
  return hf.find("mlp.") != std::string::npos && hf.find("mlp.gate.") == std::string::npos &&
         hf.ends_with("_proj.weight");
}

void AddMatrix(const std::string& hf, const float* x, int64_t rows, int64_t cols, bool fp8, std::vector<StTensor>* out) {
  const size_t n = static_cast<size_t>(rows * cols);
  if (!fp8 || !Fp8Target(hf)) {
    out->push_back({hf, "BF16", {rows, cols}, ToBf16(x, n)});
    return;
  }
  const int64_t br = (rows + 127) / 128, bc = (cols + 127) / 128;
  std::vector<float> scale(static_cast<size_t>(br * bc));
  std::vector<uint8_t> q(n);
  for (int64_t i = 0; i < br; ++i)
    for (int64_t j = 0; j < bc; ++j) {
      float amax = 0;
      for (int64_t r = i * 128; r < std::min(rows, i * 128 + 128); ++r)
        for (int64_t c = j * 128; c < std::min(cols, j * 128 + 128); ++c) amax = std::max(amax, std::fabs(x[r * cols + c]));
      const float s = amax > 0 ? amax / 448.0f : 1.0f;  // dequantized = fp8 · weight_scale_inv
      scale[static_cast<size_t>(i * bc + j)] = s;
      for (int64_t r = i * 128; r < std::min(rows, i * 128 + 128); ++r)
        for (int64_t c = j * 128; c < std::min(cols, j * 128 + 128); ++c)
          q[static_cast<size_t>(r * cols + c)] = FloatToE4M3(x[r * cols + c] / s);
    }
  out->push_back({hf, "F8_E4M3", {rows, cols}, std::move(q)});
  std::string sname = hf.substr(0, hf.size() - 7) + ".weight_scale_inv";
  out->push_back({sname, "F32", {br, bc}, ToF32(scale.data(), scale.size())});
}

Status WriteJson(const ordered_json& j, const std::string& path) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  return out ? Status::Ok() : Status::Internal(path + ": write failed");
}

}  // namespace

Status WriteHfDirectory(const HfExportInput& in, const std::string& dir) {
  const gguf::File& f = *in.meta;
  auto arch = f.GetString("general.architecture");
  if (!arch.ok()) return arch.status();
  const std::string a = *arch + ".";
  const bool ds = *arch == "deepseek2";
  if (!ds && *arch != "qwen2") return Status::Unimplemented("Hugging Face export of '" + *arch + "' models");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::InvalidArgument(dir + ": " + ec.message());
  const int64_t n_block = f.GetIntOr(a + "block_count", 0), n_nextn = f.GetIntOr(a + "nextn_predict_layers", 0);
  const int n_main = static_cast<int>(n_block - n_nextn);

  std::vector<StTensor> st;
  for (const FloatTensor& t : in.tensors) {
    if (t.name.find("_exps.") != std::string::npos) {
      // Stacked experts [in, out, n_expert] → model.layers.L.mlp.experts.E.{gate,up,down}_proj.
      const std::string layer = t.name.substr(4, t.name.find('.', 4) - 4);
      const std::string proj = t.name.find("gate_exps") != std::string::npos ? "gate_proj"
                               : t.name.find("up_exps") != std::string::npos ? "up_proj" : "down_proj";
      const int64_t per = t.ne[0] * t.ne[1];
      for (int64_t e = 0; e < t.ne[2]; ++e)
        AddMatrix("model.layers." + layer + ".mlp.experts." + std::to_string(e) + "." + proj + ".weight",
                  t.data.data() + e * per, t.ne[1], t.ne[0], in.fp8, &st);
      continue;
    }
    const std::string hf = HfNameForGguf(t.name);
    if (hf.empty()) return Status::Unimplemented("no Hugging Face name for tensor '" + t.name + "'");
    if (t.ne.size() == 1) {
      const bool f32 = hf.ends_with("e_score_correction_bias");
      st.push_back({hf, f32 ? "F32" : "BF16", {t.ne[0]},
                    f32 ? ToF32(t.data.data(), t.data.size()) : ToBf16(t.data.data(), t.data.size())});
    } else {
      AddMatrix(hf, t.data.data(), t.ne[1], t.ne[0], in.fp8, &st);
    }
  }
  R1_RETURN_IF_ERROR(WriteSafetensors(st, dir + "/model.safetensors"));

  ordered_json cfg;
  auto I = [&](const std::string& k) { return f.GetIntOr(a + k, 0); };
  auto F = [&](const std::string& k, double d) { return f.GetFloatOr(a + k, d); };
  if (ds) {
    const int64_t k_len = I("attention.key_length"), rope = I("rope.dimension_count");
    const double log_mul = F("rope.scaling.yarn_log_multiplier", 0.0);
    cfg = {{"architectures", {"DeepseekV3ForCausalLM"}},
           {"model_type", "deepseek_v3"},
           {"vocab_size", in.n_vocab},
           {"hidden_size", I("embedding_length")},
           {"intermediate_size", I("feed_forward_length")},
           {"moe_intermediate_size", I("expert_feed_forward_length")},
           {"num_hidden_layers", n_main},
           {"num_nextn_predict_layers", n_nextn},
           {"num_attention_heads", I("attention.head_count")},
           {"num_key_value_heads", I("attention.head_count")},
           {"n_shared_experts", I("expert_shared_count")},
           {"n_routed_experts", I("expert_count")},
           {"routed_scaling_factor", F("expert_weights_scale", 1.0)},
           {"kv_lora_rank", I("attention.kv_lora_rank")},
           {"q_lora_rank", I("attention.q_lora_rank")},
           {"qk_rope_head_dim", rope},
           {"qk_nope_head_dim", k_len - rope},
           {"v_head_dim", I("attention.value_length")},
           {"topk_method", "noaux_tc"},
           {"n_group", I("expert_group_count")},
           {"topk_group", I("expert_group_used_count")},
           {"num_experts_per_tok", I("expert_used_count")},
           {"moe_layer_freq", 1},
           {"first_k_dense_replace", I("leading_dense_block_count")},
           {"norm_topk_prob", f.GetBoolOr(a + "expert_weights_norm", true)},
           {"scoring_func", I("expert_gating_func") == 2 ? "sigmoid" : "softmax"},
           {"hidden_act", "silu"},
           {"max_position_embeddings", I("context_length")},
           {"rms_norm_eps", F("attention.layer_norm_rms_epsilon", 1e-6)},
           {"rope_theta", F("rope.freq_base", 10000.0)},
           {"attention_bias", false},
           {"attention_dropout", 0.0},
           {"tie_word_embeddings", false}};
    if (f.GetStringOr(a + "rope.scaling.type", "") == "yarn")
      cfg["rope_scaling"] = {{"type", "yarn"},
                             {"factor", F("rope.scaling.factor", 1.0)},
                             {"original_max_position_embeddings", I("rope.scaling.original_context_length")},
                             {"beta_fast", 32},
                             {"beta_slow", 1},
                             {"mscale", log_mul / 0.1},
                             {"mscale_all_dim", log_mul / 0.1}};
    if (in.fp8)
      cfg["quantization_config"] = {{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"},
                                    {"weight_block_size", {128, 128}}};
  } else {
    cfg = {{"architectures", {"Qwen2ForCausalLM"}},
           {"model_type", "qwen2"},
           {"vocab_size", in.n_vocab},
           {"hidden_size", I("embedding_length")},
           {"intermediate_size", I("feed_forward_length")},
           {"num_hidden_layers", n_block},
           {"num_attention_heads", I("attention.head_count")},
           {"num_key_value_heads", I("attention.head_count_kv")},
           {"max_position_embeddings", I("context_length")},
           {"rms_norm_eps", F("attention.layer_norm_rms_epsilon", 1e-6)},
           {"rope_theta", F("rope.freq_base", 10000.0)},
           {"hidden_act", "silu"},
           {"use_sliding_window", false},
           {"tie_word_embeddings", false}};
  }
  cfg["bos_token_id"] = in.bos_id;
  cfg["eos_token_id"] = in.eos_id;
  cfg["torch_dtype"] = "bfloat16";
  R1_RETURN_IF_ERROR(WriteJson(cfg, dir + "/config.json"));
  R1_RETURN_IF_ERROR(WriteJson({{"bos_token_id", in.bos_id}, {"eos_token_id", in.eos_id}, {"do_sample", true},
                                {"temperature", 0.6}, {"top_p", 0.95}},
                               dir + "/generation_config.json"));
  {
    std::ofstream out(dir + "/tokenizer.json");
    out << in.tokenizer.dump(2) << "\n";
    if (!out) return Status::Internal(dir + "/tokenizer.json: write failed");
  }
  std::ofstream out(dir + "/tokenizer_config.json");
  out << in.tokenizer_config.dump(2) << "\n";
  return out ? Status::Ok() : Status::Internal(dir + "/tokenizer_config.json: write failed");
}

}  // namespace r1::cli
