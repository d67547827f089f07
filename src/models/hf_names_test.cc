#include "models/hf_names.h"

#include <gtest/gtest.h>

namespace r1 {
namespace {

TEST(HfNames, BothDirections) {
  const std::pair<const char*, const char*> cases[] = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"lm_head.weight", "output.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"model.layers.0.self_attn.q_proj.bias", "blk.0.attn_q.bias"},
      {"model.layers.12.self_attn.kv_a_proj_with_mqa.weight", "blk.12.attn_kv_a_mqa.weight"},
      {"model.layers.3.self_attn.k_norm.weight", "blk.3.attn_k_norm.weight"},
      {"model.layers.3.mlp.gate.weight", "blk.3.ffn_gate_inp.weight"},
      {"model.layers.3.mlp.gate.e_score_correction_bias", "blk.3.exp_probs_b.bias"},
      {"model.layers.3.mlp.shared_experts.down_proj.weight", "blk.3.ffn_down_shexp.weight"},
      {"model.layers.61.eh_proj.weight", "blk.61.nextn.eh_proj.weight"},
      {"model.layers.61.shared_head.norm.weight", "blk.61.nextn.shared_head_norm.weight"},
  };
  for (const auto& [hf, gguf] : cases) {
    EXPECT_EQ(GgufNameForHf(hf), gguf) << hf;
    EXPECT_EQ(HfNameForGguf(gguf), hf) << gguf;
  }
  int e = -1;
  EXPECT_EQ(GgufNameForHf("model.layers.5.mlp.experts.17.up_proj.weight", &e), "blk.5.ffn_up_exps.weight");
  EXPECT_EQ(e, 17);
  for (const char* bad : {"model.layers.x.mlp.up_proj.weight", "model.layers.1.mlp.nope.weight", "foo",
                          "model.layers.1.mlp.experts.2.nope.weight", "model.layers.1.mlp.up_proj_bias"})
    EXPECT_EQ(GgufNameForHf(bad), "") << bad;
  EXPECT_EQ(GgufArchForHf("DeepseekV3ForCausalLM"), "deepseek2");
  EXPECT_EQ(GgufArchForHf("MistralForCausalLM"), "");
}

}  // namespace
}  // namespace r1
