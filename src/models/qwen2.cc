// Qwen2 / Qwen2.5 (DeepSeek-R1-Distill-Qwen-1.5B/7B/14B/32B).
//
// Qwen2 is the dense decoder with NEOX rope (first half of each head rotates
// against the second half, HF's rotate_half, weights unpermuted) and biases on
// the Q, K and V projections (attn_{q,k,v}.bias). Embeddings may be tied
// (no output.weight).
#include "models/dense.h"

namespace r1 {

StatusOr<std::unique_ptr<Model>> LoadQwen2(const gguf::File& f, const LoadOptions& o) {
  DenseSpec spec;
  spec.arch = "qwen2";
  spec.rope_style = kernels::RopeStyle::kNeox;
  spec.qkv_bias = true;
  return LoadDense(f, spec, o);
}

}  // namespace r1
