// DeepSeek-V2 / V2-Lite / V3 / R1 (GGUF architecture "deepseek2"): Multi-head
// Latent Attention and DeepSeekMoE (DeepSeek-AI 2024, arXiv:2405.04434;
// DeepSeek-V3 technical report, arXiv:2412.19437).
//
//   x = embed(tokens)
//   for each layer:
//     h = RMSNorm(x)
//     q = W_qb·RMSNorm(W_qa·h)  (q_lora: V2/V3/R1)  or  W_q·h  (V2-Lite)
//         per head [q_nope | q_pe]
//     [c_kv | k_pe] = W_kva·h;  c_kv = RMSNorm(c_kv);  q_pe, k_pe = rope(·)
//     cache ← [c_kv | k_pe]                        kv_lora + rope values per token
//     absorbed:  score = (q_nope·W_kb)·c_kv + q_pe·k_pe,  o = W_vb·Σ p·c_kv
//     expanded:  k = [W_kb·c_kv | k_pe], v = W_vb·c_kv, standard attention
//     x = x + W_o·o
//     x = x + FFN(RMSNorm(x))   dense for the first leading_dense_block_count
//                               layers, then MoE with shared experts (moe.h)
//   logits = RMSNorm(x)·W_out
//
// The MTP block (nextn_predict_layers, last in block_count) is located but not
// run by Forward.
#pragma once

#include <memory>

#include "models/model.h"

namespace r1 {

StatusOr<std::unique_ptr<Model>> LoadDeepseek2(const gguf::File& f, const LoadOptions& opts = {});

}  // namespace r1
