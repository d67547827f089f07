// Random-weight deepseek2 (DeepSeek-V2/V2-Lite/V3/R1-shaped) GGUF models for
// tests and benchmarks.
//
// Keys and tensor names are those of llama.cpp's converter
// (convert_hf_to_gguf.py DeepseekV2Model): attention.q_lora_rank (only with
// q_lora), attention.kv_lora_rank, key_length = kv_lora + rope and
// value_length = kv_lora (the MLA view), key_length_mla / value_length_mla,
// expert_* keys, rope.scaling.* for YaRN, nextn_predict_layers with the MTP
// block appended to block_count. The attention's kv_b is written either as
// attn_kv_b (older files) or split into attn_k_b / attn_v_b (newer ones).
//
// Tensors are generated and written one at a time (the header first, with
// offsets computed from the sizes), so a V2-Lite-sized file never has to fit
// in memory.
#pragma once

#include <cstdint>
#include <string>

#include "gguf/ggml_types.h"
#include "models/synthetic/synthetic.h"
#include "r1/status.h"

namespace r1 {

struct SyntheticDeepseek2Spec {
  int64_t n_vocab = 320;
  int64_t n_embd = 64;
  int n_layer = 3;                 // main blocks
  int n_nextn = 1;                 // MTP blocks appended (nextn_predict_layers)
  bool mtp_own_head = false;       // the MTP block's own nextn.embed_tokens and nextn.shared_head_head
  int n_head = 4;
  int64_t q_lora_rank = 32;        // 0: no q_lora (V2-Lite: attn_q)
  int64_t kv_lora_rank = 32;
  int64_t qk_nope = 16, qk_rope = 8, v_head = 16;
  int64_t n_ff = 96;               // dense layers' FFN
  int64_t n_ff_exp = 32;           // one expert's FFN
  int n_expert = 16, n_expert_used = 4, n_expert_shared = 1;
  int n_dense_lead = 1;            // leading_dense_block_count
  bool sigmoid_gating = true;      // V3/R1 (with exp_probs_b); false: softmax (V2)
  int n_group = 4, topk_group = 2; // written only if write_group_keys
  bool write_group_keys = true;
  bool weights_norm = true;
  float weights_scale = 2.5f;
  bool split_kv_b = false;         // attn_k_b / attn_v_b instead of attn_kv_b
  double rope_base = 10000.0;
  double yarn_factor = 4.0;        // 0: no rope scaling
  int64_t yarn_orig_ctx = 64;
  double yarn_log_multiplier = 0.1;
  int64_t n_ctx = 256;
  GgmlType type = GgmlType::F32;
  bool q4_k_m = false;             // llama.cpp's Q4_K_M mix (overrides type)
  uint64_t seed = 1;
  bool with_tokenizer = true;
  // > 0: rows of big matrices are drawn from this many pre-quantized random
  // rows per (shape, type) instead of generated one by one, so a V2-Lite-sized
  // file is written in minutes. Numerically still random weights.
  int64_t row_pool = 0;

  static SyntheticDeepseek2Spec Tiny();    // V3/R1-shaped, every feature, small
  static SyntheticDeepseek2Spec V2Lite();  // DeepSeek-V2-Lite's shape (15.7B)
};

// "tiny" | "v2-lite" with a weight type (f32, q8_0, q4_k_m, ...).
StatusOr<SyntheticDeepseek2Spec> SyntheticDeepseek2Preset(const std::string& size, const std::string& type);

Status WriteSyntheticDeepseek2(const SyntheticDeepseek2Spec& spec, const std::string& path,
                               const ProgressFn& progress = {});

}  // namespace r1
