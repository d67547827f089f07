// Qwen3 (DeepSeek-R1-0528-Qwen3-8B).
//
// Qwen2 without the QKV biases, plus QK-norm: a per-head RMSNorm on q and k
// (attn_q_norm / attn_k_norm, one weight of head_dim shared by all heads)
// before rope. head_dim comes from qwen3.attention.key_length and need not be
// n_embd / n_head.
#include "models/dense.h"

namespace r1 {

StatusOr<std::unique_ptr<Model>> LoadQwen3(const gguf::File& f, const LoadOptions& o) {
  DenseSpec spec;
  spec.arch = "qwen3";
  spec.rope_style = kernels::RopeStyle::kNeox;
  spec.qk_norm = true;
  return LoadDense(f, spec, o);
}

}  // namespace r1
