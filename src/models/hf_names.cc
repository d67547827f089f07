#include "models/hf_names.h"

#include <cstdlib>
#include <utility>

namespace r1 {
namespace {

// Per layer: GGUF suffix after "blk.L." and HF suffix after "model.layers.L."
// (both without ".weight"/".bias").
constexpr std::pair<const char*, const char*> kBlock[] = {
    {"attn_norm", "input_layernorm"},
    {"ffn_norm", "post_attention_layernorm"},
    {"attn_q", "self_attn.q_proj"},
    {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},
    {"attn_output", "self_attn.o_proj"},
    {"attn_q_norm", "self_attn.q_norm"},  // qwen3
    {"attn_k_norm", "self_attn.k_norm"},
    {"attn_q_a", "self_attn.q_a_proj"},  // deepseek2 (MLA)
    {"attn_q_a_norm", "self_attn.q_a_layernorm"},
    {"attn_q_b", "self_attn.q_b_proj"},
    {"attn_kv_a_mqa", "self_attn.kv_a_proj_with_mqa"},
    {"attn_kv_a_norm", "self_attn.kv_a_layernorm"},
    {"attn_kv_b", "self_attn.kv_b_proj"},
    {"ffn_gate", "mlp.gate_proj"},
    {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
    {"ffn_gate_inp", "mlp.gate"},  // deepseek2 (MoE)
    {"exp_probs_b", "mlp.gate.e_score_correction"},
    {"ffn_gate_shexp", "mlp.shared_experts.gate_proj"},
    {"ffn_up_shexp", "mlp.shared_experts.up_proj"},
    {"ffn_down_shexp", "mlp.shared_experts.down_proj"},
    {"nextn.eh_proj", "eh_proj"},  // the MTP layer
    {"nextn.enorm", "enorm"},
    {"nextn.hnorm", "hnorm"},
    {"nextn.shared_head_norm", "shared_head.norm"},
    {"nextn.embed_tokens", "embed_tokens"},
    {"nextn.shared_head_head", "shared_head.head"},
};
constexpr std::pair<const char*, const char*> kTop[] = {
    {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"}};
constexpr std::pair<const char*, const char*> kExperts[] = {
    {"ffn_gate_exps", "gate_proj"}, {"ffn_up_exps", "up_proj"}, {"ffn_down_exps", "down_proj"}};

// "name.weight" -> {"name", ".weight"}; exp_probs_b's HF name ends in "_bias".
std::pair<std::string, std::string> SplitSuffix(const std::string& n) {
  for (const char* s : {".weight", ".bias", "_bias"})
    if (n.size() > std::char_traits<char>::length(s) && n.ends_with(s))
      return {n.substr(0, n.size() - std::char_traits<char>::length(s)), s};
  return {n, ""};
}

bool ParseIndex(const std::string& s, size_t* pos, int* out) {
  size_t end = *pos;
  while (end < s.size() && s[end] >= '0' && s[end] <= '9') ++end;
  if (end == *pos || end - *pos > 6) return false;
  *out = std::atoi(s.substr(*pos, end - *pos).c_str());
  *pos = end;
  return true;
}

}  // namespace

std::string GgufNameForHf(const std::string& hf, int* expert) {
  auto [base, suffix] = SplitSuffix(hf);
  const std::string gsuffix = suffix == "_bias" ? ".bias" : suffix;
  for (const auto& [g, h] : kTop)
    if (base == h) return g + gsuffix;
  const std::string pre = "model.layers.";
  if (base.rfind(pre, 0) != 0) return "";
  size_t pos = pre.size();
  int layer = 0;
  if (!ParseIndex(base, &pos, &layer) || pos >= base.size() || base[pos] != '.') return "";
  const std::string rest = base.substr(pos + 1), blk = "blk." + std::to_string(layer) + ".";
  if (suffix == "_bias") return rest == "mlp.gate.e_score_correction" ? blk + "exp_probs_b.bias" : "";
  const std::string ex = "mlp.experts.";
  if (rest.rfind(ex, 0) == 0) {
    size_t p = ex.size();
    int e = 0;
    if (!ParseIndex(rest, &p, &e) || p >= rest.size() || rest[p] != '.') return "";
    for (const auto& [g, h] : kExperts)
      if (rest.substr(p + 1) == h) {
        if (expert) *expert = e;
        return blk + g + gsuffix;
      }
    return "";
  }
  for (const auto& [g, h] : kBlock)
    if (rest == h && std::string(g) != "exp_probs_b") return blk + g + gsuffix;
  return "";
}

std::string HfNameForGguf(const std::string& gguf) {
  auto [base, suffix] = SplitSuffix(gguf);
  for (const auto& [g, h] : kTop)
    if (base == g) return h + suffix;
  if (base.rfind("blk.", 0) != 0) return "";
  size_t pos = 4;
  int layer = 0;
  if (!ParseIndex(base, &pos, &layer) || pos >= base.size() || base[pos] != '.') return "";
  const std::string rest = base.substr(pos + 1), pre = "model.layers." + std::to_string(layer) + ".";
  if (rest == "exp_probs_b") return pre + "mlp.gate.e_score_correction_bias";
  for (const auto& [g, h] : kBlock)
    if (rest == g) return pre + h + suffix;
  return "";
}

std::string GgufArchForHf(const std::string& hf_arch) {
  if (hf_arch == "DeepseekV3ForCausalLM") return "deepseek2";
  if (hf_arch == "Qwen2ForCausalLM") return "qwen2";
  if (hf_arch == "Qwen3ForCausalLM") return "qwen3";
  if (hf_arch == "LlamaForCausalLM") return "llama";
  return "";
}

}  // namespace r1
