// Internals of the deepseek2 model shared by deepseek2.cc (loading, the layer
// loop) and deepseek2_mla.cc (the attention). Not a public interface.
//
// Shapes are written PyTorch-style (rows, k): a GGUF tensor ne = {k, rows}.
// H = head_count, nope = qk_nope_head_dim, rope = qk_rope_head_dim,
// v = v_head_dim, kv_lora = kv_lora_rank.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "models/deepseek2.h"
#include "models/forward.h"
#include "models/moe.h"

namespace r1::deepseek2 {

using kernels::Matrix;

struct Hparams {
  int64_t n_embd = 0, n_vocab = 0;
  int n_layer = 0;                       // block_count − nextn_predict_layers
  int n_nextn = 0;                       // MTP blocks after the main ones
  int n_head = 0;                        // H
  std::optional<int64_t> q_lora_rank;    // absent in V2-Lite
  int64_t kv_lora_rank = 0;
  int64_t n_rot = 0;                     // qk_rope_head_dim
  int64_t qk_nope = 0, v_head = 0;
  int n_dense_lead = 0;                  // leading_dense_block_count
  int64_t n_ff = 0;                      // dense FFN width
  int64_t n_ff_exp = 0;                  // one routed expert's width
  int n_shared = 0;                      // expert_shared_count
  RouterConfig router;
  float eps = 1e-6f;
  float softmax_scale = 0;               // mscale² / sqrt(nope + rope)

  int64_t qk_head() const { return qk_nope + n_rot; }
  int64_t latent() const { return kv_lora_rank + n_rot; }  // cached values per token per layer
};

// One layer's attention weights. k_b and v_b are per head, in the orientation
// each form needs; one of them may be a load-time conversion of the file's
// layout (attn_kv_b, or the split attn_k_b / attn_v_b), owned by the model.
struct MlaWeights {
  Matrix wq;                        // (H·(nope+rope), n_embd)    no q_lora
  Matrix wq_a;                      // (q_lora, n_embd)           q_lora
  std::vector<float> q_a_norm;      // (q_lora)
  Matrix wq_b;                      // (H·(nope+rope), q_lora)
  Matrix wkv_a;                     // (kv_lora + rope, n_embd)   attn_kv_a_mqa
  std::vector<float> kv_a_norm;     // (kv_lora)
  std::vector<Matrix> k_b;          // absorbed, per head (kv_lora, nope): q' = W·q_nope
  std::vector<Matrix> v_b;          // per head (v, kv_lora): o = W·o_latent
  Matrix kv_b;                      // expanded: (H·(nope+v), kv_lora), head h = [k_nope rows | v rows]
  Matrix wo;                        // (n_embd, H·v)
};

// The compressed-cache attention, absorbed or expanded per sequence.
class MlaAttention {
 public:
  void Init(const Hparams& hp, const kernels::RopeParams& rope, MlaMode mode, int64_t expanded_min_tokens);
  // out [n, n_embd] = attention output (before the residual) for h [n, n_embd].
  // `groups` is the batch's rows per sequence (GroupBySequence).
  void Forward(const MlaWeights& w, int il, const Batch& batch, const std::vector<SeqRows>& groups, const float* h,
               KvCache& cache, float* out, ThreadPool& pool);

 private:
  void Absorbed(const MlaWeights& w, int il, const SeqRows& g, KvCache& cache, ThreadPool& pool);
  void Expanded(const MlaWeights& w, int il, const SeqRows& g, KvCache& cache, ThreadPool& pool);

  Hparams hp_;
  kernels::RopeParams rope_;
  MlaMode mode_ = MlaMode::kAuto;
  int64_t expanded_min_tokens_ = 0;
  // Scratch, reused across calls.
  std::vector<float> q_, qa_, kva_, attn_, qs_, lat_, outs_, c_, kvx_;
  std::vector<uint16_t> kx_, vx_;
};

// y_h = W_h · x_h for every head h, heads in parallel. Row t of head h is read
// at x + t·x_stride + h·x_head and written at y + t·y_stride + h·y_head.
void PerHeadMatMul(const std::vector<Matrix>& w, const float* x, int64_t x_stride, int64_t x_head, int64_t n,
                   float* y, int64_t y_stride, int64_t y_head, ThreadPool& pool);

}  // namespace r1::deepseek2
