// Tensor names between Hugging Face checkpoints and GGUF (llama.cpp's
// names), for every architecture r1 runs: one table, both directions. The
// conversion (r1 convert) and the export of the trained models use it.
//
//   model.embed_tokens.weight                 token_embd.weight
//   model.layers.L.self_attn.q_proj.weight    blk.L.attn_q.weight
//   model.layers.L.mlp.experts.E.up_proj      blk.L.ffn_up_exps (stacked over E)
//   model.layers.N.eh_proj (the MTP layer)    blk.N.nextn.eh_proj
//
// Shapes: a PyTorch [out, in] matrix is GGUF ne {in, out}: the same bytes.
#pragma once

#include <string>

namespace r1 {

// The GGUF name of a Hugging Face tensor name ("" when it has none). Routed
// experts ("model.layers.L.mlp.experts.E.gate_proj.weight") map to the
// stacked tensor ("blk.L.ffn_gate_exps.weight"), *expert to E.
std::string GgufNameForHf(const std::string& hf, int* expert = nullptr);

// The Hugging Face name of a GGUF tensor name ("" when it has none; the
// stacked experts have no single one).
std::string HfNameForGguf(const std::string& gguf);

// The GGUF architecture of a config.json "architectures" entry
// ("DeepseekV3ForCausalLM" -> "deepseek2"), "" when unsupported.
std::string GgufArchForHf(const std::string& hf_arch);

}  // namespace r1
