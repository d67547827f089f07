// The importance-matrix collector against an independent computation: the
// input of layer 0's Q, K and V projections is RMSNorm(embedding) * attn_norm,
// which this test computes in float64 from the GGUF's own tensors; every
// matmul weight gets an entry counting every token, and a MoE layer's experts
// share n_tokens * n_expert_used tokens.
#include "runtime/imatrix_collector.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include "kernels/quant.h"
#include "models/synthetic/synthetic.h"
#include "models/synthetic/synthetic_deepseek2.h"
#include "runtime/engine.h"

namespace r1 {
namespace {

std::string ModelPath(const std::string& name) {
  const std::string dir = std::string(R1_BINARY_DIR) + "/testmodels";
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

gguf::Imatrix Collect(const std::string& path, const std::vector<int32_t>& tokens, std::unique_ptr<Engine>* keep) {
  EngineOptions eo;
  eo.model_path = path;
  eo.threads = 2;
  eo.ctx_size = 64;
  eo.verbose = false;
  auto e = Engine::Load(eo);
  EXPECT_TRUE(e.ok()) << e.status().message();
  if (!e.ok()) return {};
  ImatrixCollector c((*e)->file());
  c.Start();
  (*e)->Reset(0);
  std::vector<float> logits;  // all positions' logits, as r1 imatrix asks for them (the head sees every token)
  EXPECT_TRUE((*e)->Append(0, tokens, nullptr, &logits).ok());
  c.Stop();
  *keep = std::move(*e);
  return c.Result(1, static_cast<int64_t>(tokens.size()), "test");
}

std::vector<double> Row(const gguf::TensorInfo& t, int64_t r) {
  std::vector<float> f(static_cast<size_t>(t.ne[0]));
  kernels::Dequantize(t.type, t.data + static_cast<size_t>(r) * GgmlRowSize(t.type, t.ne[0]), f.data(), t.ne[0]);
  return {f.begin(), f.end()};
}

TEST(ImatrixCollector, Layer0InputsMatchFloat64AndEveryTokenIsCounted) {
  SyntheticSpec spec;  // qwen2, F32
  spec.seed = 11;
  const std::string path = ModelPath("imatrix_collector_qwen2.gguf");
  ASSERT_TRUE(WriteSyntheticModel(spec, path).ok());
  const std::vector<int32_t> tokens = {1, 17, 42, 300, 5, 5, 99, 250, 3, 77, 128};
  std::unique_ptr<Engine> e;
  const gguf::Imatrix m = Collect(path, tokens, &e);
  ASSERT_NE(e, nullptr);
  const gguf::File& f = e->file();
  const gguf::TensorInfo* embd = f.FindTensor("token_embd.weight");
  const gguf::TensorInfo* norm = f.FindTensor("blk.0.attn_norm.weight");
  ASSERT_TRUE(embd && norm);
  const double eps = f.GetFloatOr("qwen2.attention.layer_norm_rms_epsilon", 1e-6);
  const std::vector<double> g = Row(*norm, 0);
  std::vector<double> want(static_cast<size_t>(spec.n_embd), 0.0);
  for (int32_t t : tokens) {
    const std::vector<double> x = Row(*embd, t);
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps);
    for (size_t j = 0; j < x.size(); ++j) want[j] += (x[j] * inv * g[j]) * (x[j] * inv * g[j]);
  }
  for (const char* name : {"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight"}) {
    const gguf::ImatrixEntry* en = m.Find(name);
    ASSERT_NE(en, nullptr) << name;
    ASSERT_EQ(en->counts, std::vector<float>{static_cast<float>(tokens.size())}) << name;
    ASSERT_EQ(en->sums.size(), want.size()) << name;
    for (size_t j = 0; j < want.size(); ++j)
      EXPECT_NEAR(en->sums[j], want[j], 1e-4 * want[j] + 1e-6) << name << " column " << j;
  }
  // Every matmul weight of every layer, and the head; never the embedding (read by row).
  for (int l = 0; l < spec.n_layer; ++l)
    for (const char* w : {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}) {
      const std::string name = "blk." + std::to_string(l) + "." + w + ".weight";
      const gguf::ImatrixEntry* en = m.Find(name);
      ASSERT_NE(en, nullptr) << name;
      EXPECT_EQ(en->counts, std::vector<float>{static_cast<float>(tokens.size())}) << name;
      for (float s : en->sums) EXPECT_GE(s, 0.0f) << name;
    }
  const gguf::ImatrixEntry* head = m.Find("output.weight");
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->counts, std::vector<float>{static_cast<float>(tokens.size())});
  EXPECT_EQ(m.Find("token_embd.weight"), nullptr);
}

TEST(ImatrixCollector, ExpertsShareTheRoutedTokens) {
  auto spec = SyntheticDeepseek2Preset("tiny", "f32");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  const std::string path = ModelPath("imatrix_collector_ds2.gguf");
  ASSERT_TRUE(WriteSyntheticDeepseek2(*spec, path).ok());
  const std::vector<int32_t> tokens = {1, 2, 3, 40, 50, 60, 70, 8, 9};
  std::unique_ptr<Engine> e;
  const gguf::Imatrix m = Collect(path, tokens, &e);
  ASSERT_NE(e, nullptr);
  int moe_layers = 0;
  for (int l = 0; l < spec->n_layer; ++l) {
    const gguf::ImatrixEntry* up = m.Find("blk." + std::to_string(l) + ".ffn_up_exps.weight");
    if (l < spec->n_dense_lead) {
      EXPECT_EQ(up, nullptr);
      continue;
    }
    ASSERT_NE(up, nullptr) << "layer " << l;
    ++moe_layers;
    ASSERT_EQ(up->n_mat(), spec->n_expert);
    const double routed = std::accumulate(up->counts.begin(), up->counts.end(), 0.0);
    EXPECT_EQ(routed, static_cast<double>(tokens.size() * spec->n_expert_used)) << "layer " << l;
    const gguf::ImatrixEntry* down = m.Find("blk." + std::to_string(l) + ".ffn_down_exps.weight");
    ASSERT_NE(down, nullptr);
    EXPECT_EQ(down->counts, up->counts) << "the same tokens reach an expert's up and down";
    const gguf::ImatrixEntry* sh = m.Find("blk." + std::to_string(l) + ".ffn_up_shexp.weight");
    ASSERT_NE(sh, nullptr);
    EXPECT_EQ(sh->counts, std::vector<float>{static_cast<float>(tokens.size())}) << "the shared expert sees every token";
  }
  EXPECT_GT(moe_layers, 0);
}

}  // namespace
}  // namespace r1
