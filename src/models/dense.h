// The dense pre-norm decoder shared by the llama, qwen2 and qwen3 model files
// (Llama: Touvron et al. 2023; Qwen2: Yang et al. 2024; Qwen3 2025):
//
//   x = embed(tokens)
//   for each layer:
//     h = RMSNorm(x)
//     q, k, v = h·Wq (+bq), h·Wk (+bk), h·Wv (+bv)      Qwen2 has the biases
//     q, k = RMSNorm_head(q), RMSNorm_head(k)           Qwen3 only (QK-norm)
//     q, k = rope(q, pos), rope(k, pos)
//     x = x + Attention(q, K, V)·Wo                     causal, GQA, KV cache
//     x = x + W_down(silu(W_gate·RMSNorm(x)) ⊙ W_up·RMSNorm(x))
//   logits = RMSNorm(x)·W_out                           W_out may be tied to embed
//
// The architecture files fill a DenseSpec from the GGUF keys and hand it here.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "models/model.h"

namespace r1 {

struct DenseSpec {
  std::string arch;             // GGUF key prefix, e.g. "qwen2"
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNeox;
  bool qkv_bias = false;        // Qwen2
  bool qk_norm = false;         // Qwen3
  bool rope_freqs = false;      // llama3 per-dimension divisors in rope_freqs.weight
};

StatusOr<std::unique_ptr<Model>> LoadDense(const gguf::File& f, const DenseSpec& spec, const LoadOptions& opts = {});

}  // namespace r1
