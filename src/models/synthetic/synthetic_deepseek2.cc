#include "models/synthetic/synthetic_deepseek2.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/quant.h"
#include "models/quant_recipe.h"
#include "kernels/thread_pool.h"
#include "models/synthetic/synthetic.h"
#include "models/synthetic/synthetic_rng.h"
#include "models/synthetic/synthetic_vocab.h"

namespace r1 {
namespace {

using gguf::Value;
using gguf::ValueType;

using Rng = SyntheticRng;

// A type the row length allows: K-quants fall back as llama.cpp does, other
// block types to F16, then F32.
GgmlType Fit(GgmlType t, int64_t k) {
  if (k % GgmlTypeInfo(t).block_size == 0) return t;
  const GgmlType f = kernels::RowFallbackType(t);
  return f != t ? Fit(f, k) : GgmlType::F32;
}

struct Tensor {
  std::string name;
  std::vector<int64_t> ne;
  GgmlType type;
  float scale = 1.0f;           // matrices: N(0, scale²/k)
  bool vector = false;          // vectors: center + spread·N(0,1), F32
  float center = 0, spread = 0;
  size_t nbytes() const {
    int64_t rows = 1;
    for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
    return GgmlRowSize(type, ne[0]) * static_cast<size_t>(rows);
  }
};

// Fills one tensor's bytes (rows generated in parallel, each from its own stream).
using RowPools = std::map<std::string, std::vector<uint8_t>>;  // (k, type, scale) → pre-quantized rows

void Fill(const Tensor& t, const SyntheticDeepseek2Spec& s, uint8_t* out, RowPools& pools, ThreadPool& pool) {
  const int64_t k = t.ne[0];
  const size_t row_bytes = GgmlRowSize(t.type, k);
  const int64_t rows = static_cast<int64_t>(t.nbytes() / row_bytes);
  const uint64_t base = SyntheticSeed(t.name, s.seed);
  if (t.vector) {
    Rng rng{base};
    auto* v = reinterpret_cast<float*>(out);
    for (int64_t i = 0; i < k; ++i) v[i] = t.center + t.spread * rng.Normal();
    return;
  }
  const float std = t.scale / std::sqrt(static_cast<float>(k));
  auto gen = [&](uint64_t stream, uint8_t* dst) {
    std::vector<float> row(static_cast<size_t>(k));
    Rng rng{stream};
    for (auto& x : row) x = rng.Normal() * std;
    kernels::Quantize(t.type, row.data(), dst, k);
  };
  if (s.row_pool > 0 && rows > s.row_pool) {
    // A pool of distinct rows for this (shape, type, scale), then rows picked from it.
    const std::string key = std::to_string(k) + GgmlTypeName(t.type) + std::to_string(t.scale);
    std::vector<uint8_t>& rows_pool = pools[key];
    if (rows_pool.empty()) {
      const uint64_t pool_seed = SyntheticSeed(key, s.seed);
      rows_pool.resize(row_bytes * static_cast<size_t>(s.row_pool));
      pool.ParallelFor(s.row_pool, [&](int64_t b, int64_t e, int) {
        for (int64_t r = b; r < e; ++r) gen(pool_seed + static_cast<uint64_t>(r) * 0x2545F4914F6CDD1Dull,
                                            rows_pool.data() + static_cast<size_t>(r) * row_bytes);
      }, 16);
    }
    Rng pick{base};
    for (int64_t r = 0; r < rows; ++r)
      std::copy_n(rows_pool.data() + (pick.Next() % static_cast<uint64_t>(s.row_pool)) * row_bytes, row_bytes,
                  out + static_cast<size_t>(r) * row_bytes);
    return;
  }
  pool.ParallelFor(rows, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r)
      gen(base + static_cast<uint64_t>(r) * 0x2545F4914F6CDD1Dull, out + static_cast<size_t>(r) * row_bytes);
  }, 8);
}

}  // namespace

SyntheticDeepseek2Spec SyntheticDeepseek2Spec::Tiny() { return SyntheticDeepseek2Spec(); }

SyntheticDeepseek2Spec SyntheticDeepseek2Spec::V2Lite() {
  SyntheticDeepseek2Spec s;
  s.n_vocab = 102400;
  s.n_embd = 2048;
  s.n_layer = 27;
  s.n_nextn = 0;
  s.n_head = 16;
  s.q_lora_rank = 0;
  s.kv_lora_rank = 512;
  s.qk_nope = 128;
  s.qk_rope = 64;
  s.v_head = 128;
  s.n_ff = 10944;
  s.n_ff_exp = 1408;
  s.n_expert = 64;
  s.n_expert_used = 6;
  s.n_expert_shared = 2;
  s.n_dense_lead = 1;
  s.sigmoid_gating = false;
  s.write_group_keys = false;
  s.n_group = s.topk_group = 1;
  s.weights_norm = false;
  s.weights_scale = 1.0f;
  s.split_kv_b = true;
  s.yarn_factor = 40.0;  // V2-Lite's config: factor 40, original 4096, mscale_all_dim 0.707
  s.yarn_orig_ctx = 4096;
  s.yarn_log_multiplier = 0.0707;
  s.n_ctx = 163840;
  s.row_pool = 4096;
  return s;
}

StatusOr<SyntheticDeepseek2Spec> SyntheticDeepseek2Preset(const std::string& size, const std::string& type) {
  SyntheticDeepseek2Spec s;
  if (size == "v2-lite") s = SyntheticDeepseek2Spec::V2Lite();
  else if (size != "tiny") return Status::InvalidArgument("unknown deepseek2 size '" + size + "' (tiny, v2-lite)");
  R1_RETURN_IF_ERROR(ParseSyntheticWeightType(type, &s.type, &s.q4_k_m));
  return s;
}

Status WriteSyntheticDeepseek2(const SyntheticDeepseek2Spec& s, const std::string& path, const ProgressFn& progress) {
  if (s.n_vocab < 262) return Status::InvalidArgument("synthetic models need n_vocab >= 262");
  if (s.n_group > 1 && s.n_expert % s.n_group)
    return Status::InvalidArgument("n_expert must be a multiple of n_group");
  const std::string a = "deepseek2.";
  std::vector<std::pair<std::string, Value>> kv;
  auto set = [&](const std::string& key, Value v) { kv.emplace_back(key, std::move(v)); };
  auto u32 = [](int64_t v) { return Value::U32(static_cast<uint32_t>(v)); };
  set("general.architecture", Value::String("deepseek2"));
  set("general.name", Value::String("r1.cpp synthetic deepseek2"));
  set("general.file_type", u32(s.q4_k_m ? 15 : static_cast<int64_t>(s.type)));
  set(a + "context_length", u32(s.n_ctx));
  set(a + "embedding_length", u32(s.n_embd));
  set(a + "block_count", u32(s.n_layer + s.n_nextn));
  set(a + "feed_forward_length", u32(s.n_ff));
  set(a + "attention.head_count", u32(s.n_head));
  set(a + "attention.head_count_kv", u32(1));  // MLA as MQA
  set(a + "attention.layer_norm_rms_epsilon", Value::F32(1e-6f));
  set(a + "rope.freq_base", Value::F32(static_cast<float>(s.rope_base)));
  set(a + "leading_dense_block_count", u32(s.n_dense_lead));
  set(a + "vocab_size", u32(s.n_vocab));
  if (s.q_lora_rank > 0) set(a + "attention.q_lora_rank", u32(s.q_lora_rank));
  set(a + "attention.kv_lora_rank", u32(s.kv_lora_rank));
  set(a + "attention.key_length", u32(s.kv_lora_rank + s.qk_rope));
  set(a + "attention.value_length", u32(s.kv_lora_rank));
  set(a + "attention.key_length_mla", u32(s.qk_nope + s.qk_rope));
  set(a + "attention.value_length_mla", u32(s.v_head));
  set(a + "expert_feed_forward_length", u32(s.n_ff_exp));
  set(a + "expert_count", u32(s.n_expert));
  set(a + "expert_used_count", u32(s.n_expert_used));
  set(a + "expert_shared_count", u32(s.n_expert_shared));
  set(a + "expert_weights_scale", Value::F32(s.weights_scale));
  set(a + "expert_weights_norm", Value::Bool(s.weights_norm));
  set(a + "expert_gating_func", u32(s.sigmoid_gating ? 2 : 1));
  if (s.write_group_keys) {
    set(a + "expert_group_count", u32(s.n_group));
    set(a + "expert_group_used_count", u32(s.topk_group));
  }
  if (s.n_nextn > 0) set(a + "nextn_predict_layers", u32(s.n_nextn));
  set(a + "rope.dimension_count", u32(s.qk_rope));
  if (s.yarn_factor > 0) {
    set(a + "rope.scaling.type", Value::String("yarn"));
    set(a + "rope.scaling.factor", Value::F32(static_cast<float>(s.yarn_factor)));
    set(a + "rope.scaling.original_context_length", u32(s.yarn_orig_ctx));
    set(a + "rope.scaling.yarn_log_multiplier", Value::F32(static_cast<float>(s.yarn_log_multiplier)));
  }
  if (s.with_tokenizer) {
    SyntheticVocab v = BuildSyntheticVocab(s.n_vocab);
    set("tokenizer.ggml.model", Value::String("gpt2"));
    set("tokenizer.ggml.pre", Value::String("deepseek-v3"));
    set("tokenizer.ggml.tokens", Value::StringArray(v.tokens));
    set("tokenizer.ggml.token_type", Value::I32Array(v.types));
    set("tokenizer.ggml.merges", Value::StringArray(v.merges));
    set("tokenizer.ggml.bos_token_id", u32(v.bos));
    set("tokenizer.ggml.eos_token_id", u32(v.eos));
    set("tokenizer.ggml.add_bos_token", Value::Bool(true));
    set("tokenizer.chat_template", Value::String(v.chat_template));
  }

  // The tensor list, in llama.cpp's order.
  std::vector<Tensor> ts;
  const int n_block = s.n_layer + s.n_nextn;
  const QuantRecipe recipe = s.q4_k_m ? *ParseQuantRecipe("Q4_K_M") : SingleTypeRecipe(s.type);
  const RecipeModelInfo info{n_block, s.n_expert, 1};
  auto mat = [&](const std::string& name, int64_t k, int64_t rows, float scale = 1.0f,
                 int64_t n_expert = 0) {
    // The tensor's role: "blk.3.ffn_down_exps.weight" → "ffn_down_exps", "output.weight" → "output".
    std::string role = name.rfind("blk.", 0) == 0 ? name.substr(name.find('.', 4) + 1) : name;
    role = role.substr(0, role.rfind('.'));
    Tensor t{name, {k, rows}, Fit(RecipeTensorType(recipe, name, {k, rows}, s.type, info), k), scale};
    if (n_expert) t.ne.push_back(n_expert);
    if (role == "ffn_gate_inp") t.type = GgmlType::F32;  // llama.cpp never quantizes the router
    ts.push_back(t);
  };
  auto vec = [&](const std::string& name, int64_t n, float center, float spread) {
    Tensor t{name, {n}, GgmlType::F32};
    t.vector = true;
    t.center = center;
    t.spread = spread;
    ts.push_back(t);
  };
  const int64_t E = s.n_embd, H = s.n_head, qk = s.qk_nope + s.qk_rope, kvl = s.kv_lora_rank;
  mat("token_embd.weight", E, s.n_vocab, std::sqrt(static_cast<float>(E)));
  for (int il = 0; il < n_block; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    vec(p + "attn_norm.weight", E, 1.0f, 0.1f);
    if (s.q_lora_rank > 0) {
      mat(p + "attn_q_a.weight", E, s.q_lora_rank);
      vec(p + "attn_q_a_norm.weight", s.q_lora_rank, 1.0f, 0.1f);
      mat(p + "attn_q_b.weight", s.q_lora_rank, H * qk);
    } else {
      mat(p + "attn_q.weight", E, H * qk);
    }
    mat(p + "attn_kv_a_mqa.weight", E, kvl + s.qk_rope);
    vec(p + "attn_kv_a_norm.weight", kvl, 1.0f, 0.1f);
    if (s.split_kv_b) {
      mat(p + "attn_k_b.weight", s.qk_nope, kvl, std::sqrt(static_cast<float>(s.qk_nope) / kvl), H);
      mat(p + "attn_v_b.weight", kvl, s.v_head, 1.0f, H);
    } else {
      mat(p + "attn_kv_b.weight", kvl, H * (s.qk_nope + s.v_head));
    }
    mat(p + "attn_output.weight", H * s.v_head, E);
    vec(p + "ffn_norm.weight", E, 1.0f, 0.1f);
    if (il < s.n_dense_lead) {
      mat(p + "ffn_gate.weight", E, s.n_ff);
      mat(p + "ffn_up.weight", E, s.n_ff);
      mat(p + "ffn_down.weight", s.n_ff, E);
    } else {
      mat(p + "ffn_gate_inp.weight", E, s.n_expert, 2.0f);
      if (s.sigmoid_gating) vec(p + "exp_probs_b.bias", s.n_expert, 0.0f, 0.05f);
      mat(p + "ffn_gate_exps.weight", E, s.n_ff_exp, 1.0f, s.n_expert);
      mat(p + "ffn_up_exps.weight", E, s.n_ff_exp, 1.0f, s.n_expert);
      mat(p + "ffn_down_exps.weight", s.n_ff_exp, E, 1.0f, s.n_expert);
      if (s.n_expert_shared > 0) {
        const int64_t Fs = s.n_ff_exp * s.n_expert_shared;
        mat(p + "ffn_gate_shexp.weight", E, Fs);
        mat(p + "ffn_up_shexp.weight", E, Fs);
        mat(p + "ffn_down_shexp.weight", Fs, E);
      }
    }
    if (il >= s.n_layer) {  // the MTP block's own tensors
      mat(p + "nextn.eh_proj.weight", 2 * E, E);
      vec(p + "nextn.enorm.weight", E, 1.0f, 0.1f);
      vec(p + "nextn.hnorm.weight", E, 1.0f, 0.1f);
      vec(p + "nextn.shared_head_norm.weight", E, 1.0f, 0.1f);
      if (s.mtp_own_head) {
        mat(p + "nextn.embed_tokens.weight", E, s.n_vocab);
        mat(p + "nextn.shared_head_head.weight", E, s.n_vocab);
      }
    }
  }
  vec("output_norm.weight", E, 1.0f, 0.1f);
  mat("output.weight", E, s.n_vocab);

  gguf::Writer w;
  for (auto& [key, v] : kv) w.Set(key, std::move(v));
  for (const Tensor& t : ts) R1_RETURN_IF_ERROR(w.DeclareTensor(t.name, t.ne, t.type));
  ThreadPool pool;
  RowPools pools;
  return w.Write(path, [&](size_t i, uint8_t* out, size_t) {
    Fill(ts[i], s, out, pools, pool);
    if (progress) progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(ts.size()));
    return Status::Ok();
  });
}

}  // namespace r1
