// Mixture-of-experts feed-forward with shared experts (DeepSeekMoE, Dai et al.
// 2024), as used by DeepSeek-V2/V3/R1:
//
//   s      = gating(h · W_routerᵀ)                 softmax (V2) or sigmoid (V3/R1)
//   choice = s + exp_probs_b                       V3's correction bias, routing only
//   groups: keep the topk_group best of n_group groups (V3: sum of each group's
//           top-2 choices; V2: group max), mask the others out
//   ids    = top-k of choice (ties to the lower id); w = s[ids]
//   w      = w / Σw if expert_weights_norm;  w *= expert_weights_scale
//   y      = Σ_shared FFN_shexp(h) + Σ_i w_i · FFN_{ids_i}(h)
//
// Every FFN is SwiGLU: W_down(silu(W_gate·h) ⊙ W_up·h).
//
// Execution is expert-batched: the tokens routed to each expert are gathered
// and that expert runs one matmul over them, so a prefill of n tokens reads
// each active expert once, not once per token. Each output element is still
// one fixed dot product and each token's expert outputs are summed in its own
// slot order, so a token's result does not depend on the rest of the batch.
#pragma once

#include <cstdint>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/thread_pool.h"

namespace r1 {

enum class Gating { kSoftmax, kSigmoid };

struct RouterConfig {
  int n_expert = 0;
  int n_used = 0;            // expert_used_count (k)
  Gating gating = Gating::kSoftmax;
  int n_group = 1;           // expert_group_count; no limit when n_group <= 1
  int topk_group = 1;        // expert_group_used_count; no limit when >= n_group
  bool norm_weights = false; // expert_weights_norm
  float scale = 1.0f;        // expert_weights_scale

  bool group_limited() const { return n_group > 1 && topk_group > 0 && topk_group < n_group; }
};

// Routes one token from its n_expert router logits. `bias` (exp_probs_b) may be
// null. Writes n_used expert ids and their weights. Computed in double.
void Route(const RouterConfig& c, const float* logits, const float* bias, int32_t* ids, float* weights);

struct MoeWeights {
  kernels::Matrix router;              // (n_expert, n_embd)        ffn_gate_inp
  std::vector<float> bias;             // (n_expert) or empty        exp_probs_b.bias
  kernels::Matrix gate_exps, up_exps;  // (n_expert·n_ff_exp, n_embd) ffn_{gate,up}_exps
  kernels::Matrix down_exps;           // (n_expert·n_embd, n_ff_exp) ffn_down_exps
  kernels::Matrix gate_shexp, up_shexp;  // (n_ff_sh, n_embd), rows 0 when absent
  kernels::Matrix down_shexp;            // (n_embd, n_ff_sh)
};

class MoeFeedForward {
 public:
  // out [n, n_embd] = MoE(h [n, n_embd]). If `ids_out` is non-null it receives
  // the routed ids, [n, n_used].
  void Forward(const RouterConfig& c, const MoeWeights& w, const float* h, int64_t n, float* out,
               ThreadPool& pool, std::vector<int32_t>* ids_out = nullptr);

 private:
  // Scratch, reused across calls.
  std::vector<float> logits_, weights_, ys_, sg_, su_;
  std::vector<std::vector<float>> g_, u_;    // per active expert [n_e, n_ff_exp]
  std::vector<int32_t> ids_;
  std::vector<int> active_;                  // experts with at least one token
  std::vector<std::vector<int32_t>> slots_;  // expert → (token · n_used + slot) routed to it
  kernels::QuantizedActs hq_, hq_up_;
  bool q_valid_[2] = {false, false};
  std::vector<kernels::QuantizedActs> xe_, xe_up_;  // per active expert, gathered rows
};

}  // namespace r1
