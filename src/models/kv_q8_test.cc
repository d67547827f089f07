// The Q8_0 KV cache end to end: how far it moves the logits from the F16
// cache, that it keeps batch invariance, and that shapes it cannot hold are
// refused at load with an error naming the dimension.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "gguf/gguf.h"
#include "models/deepseek2.h"
#include "models/model.h"
#include "models/synthetic/synthetic_deepseek2.h"
#include "runtime/engine.h"
#include "util/model_util.h"

namespace r1 {
namespace {

using testing::SmallSpec;
using testing::SyntheticModelPath;

constexpr int kPositions = 64;

std::vector<int32_t> RandomTokens(int n, int64_t n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(n_vocab));
  return t;
}

// Every position's logits for `tokens` fed in chunks of `chunk` tokens
// through a fresh cache of element type `type`.
std::vector<float> RunLogits(Model& m, KvType type, const std::vector<int32_t>& tokens, int64_t chunk,
                       ThreadPool& pool) {
  KvCacheConfig kv = m.info().kv;
  kv.type = type;
  kv.block_size = 16;
  kv.n_blocks = static_cast<int64_t>(tokens.size()) / 16 + 2;
  EXPECT_TRUE(ValidateKvConfig(kv).ok());
  KvCache cache(kv);
  EXPECT_TRUE(cache.Reserve(0, static_cast<int64_t>(tokens.size())).ok());
  const int64_t V = m.info().n_vocab, n = static_cast<int64_t>(tokens.size());
  std::vector<float> out(static_cast<size_t>(n * V)), part;
  Batch b;
  for (int64_t s = 0; s < n; s += chunk) {
    b.Clear();
    for (int64_t i = s; i < std::min(n, s + chunk); ++i) b.Add(tokens[static_cast<size_t>(i)], int32_t(i), 0, true);
    part.resize(static_cast<size_t>(b.size() * V));
    Status st = m.Forward(b, cache, part.data(), pool);
    EXPECT_TRUE(st.ok()) << st.ToString();
    std::copy(part.begin(), part.end(), out.begin() + s * V);
  }
  return out;
}

// max|Δlogit| / max|logit| over every position.
double RelError(const std::vector<float>& ref, const std::vector<float>& got) {
  double d = 0.0, m = 0.0;
  for (size_t i = 0; i < ref.size(); ++i) {
    d = std::max(d, std::abs(double(ref[i]) - double(got[i])));
    m = std::max(m, std::abs(double(ref[i])));
  }
  return d / m;
}

struct Loaded {
  std::unique_ptr<gguf::File> file;
  std::unique_ptr<Model> model;
};

Loaded LoadDense(const std::string& arch) {
  Loaded l;
  auto f = gguf::File::Open(SyntheticModelPath("kvq8_" + arch, SmallSpec(arch, GgmlType::F32)));
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (!f.ok()) return l;
  l.file = std::move(*f);
  auto m = LoadModel(*l.file);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  if (m.ok()) l.model = std::move(*m);
  return l;
}

std::string WriteDeepseek2(const std::string& name, const SyntheticDeepseek2Spec& spec) {
  std::string dir = std::string(R1_BINARY_DIR) + "/testmodels";
  ::mkdir(dir.c_str(), 0755);
  std::string path = dir + "/" + name + ".gguf";
  Status st = WriteSyntheticDeepseek2(spec, path);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return path;
}

// Tiny V3/R1 shape with a latent of whole Q8_0 blocks (c_kv 64 + k_pe 32)
// and every block dense: a routed MoE turns a small difference into a
// different choice of experts, which would measure the router, not the cache.
SyntheticDeepseek2Spec MlaQ8Spec() {
  SyntheticDeepseek2Spec s = SyntheticDeepseek2Spec::Tiny();
  s.kv_lora_rank = 64;
  s.qk_rope = 32;
  s.n_dense_lead = s.n_layer;
  s.type = GgmlType::F32;
  return s;
}

// Q8_0 rounds each K/V value to within 1/254 of its block's largest
// magnitude (~0.1% rms of a block); through softmax, the residual stream and
// the head that moves the logits by about half a percent of their range.
// Measured max|Δlogit|/max|logit|, F16 vs Q8_0 cache, 64 positions, F32
// weights (so the KV type is the only difference):
//   llama 4.7e-3, qwen2 5.9e-3, qwen3 (head_dim 128, QK-norm) 4.5e-3,
//   deepseek2 MLA (dense blocks) absorbed 5.5e-3, expanded 5.6e-3.
// The bound is about twice the largest.
constexpr double kQ8Bound = 1.2e-2;

TEST(KvQ8, DenseLogitsCloseToF16) {
  ThreadPool pool(2);
  for (std::string arch : {"llama", "qwen2", "qwen3"}) {
    SCOPED_TRACE(arch);
    Loaded l = LoadDense(arch);
    ASSERT_TRUE(l.model);
    const auto tokens = RandomTokens(kPositions, l.model->info().n_vocab, 17);
    const auto f16 = RunLogits(*l.model, KvType::kF16, tokens, kPositions, pool);
    const auto q8 = RunLogits(*l.model, KvType::kQ8_0, tokens, kPositions, pool);
    const double err = RelError(f16, q8);
    std::printf("[ kv q8_0 ] %s: max|dlogit|/max|logit| = %.2e over %d positions\n", arch.c_str(), err, kPositions);
    EXPECT_GT(err, 0.0);  // the Q8_0 cache is really in use
    EXPECT_LE(err, kQ8Bound);
  }
}

TEST(KvQ8, MlaLogitsCloseToF16) {
  const std::string path = WriteDeepseek2("kvq8_ds2", MlaQ8Spec());
  ThreadPool pool(2);
  for (MlaMode mode : {MlaMode::kAbsorbed, MlaMode::kExpanded}) {
    const bool absorbed = mode == MlaMode::kAbsorbed;
    SCOPED_TRACE(absorbed ? "absorbed" : "expanded");
    auto f = gguf::File::Open(path);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    LoadOptions opts;
    opts.mla = mode;
    opts.verbose = false;
    auto m = LoadDeepseek2(**f, opts);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const auto tokens = RandomTokens(kPositions, (*m)->info().n_vocab, 23);
    const auto f16 = RunLogits(**m, KvType::kF16, tokens, kPositions, pool);
    const auto q8 = RunLogits(**m, KvType::kQ8_0, tokens, kPositions, pool);
    const double err = RelError(f16, q8);
    std::printf("[ kv q8_0 ] deepseek2 %s: max|dlogit|/max|logit| = %.2e over %d positions\n",
                absorbed ? "absorbed" : "expanded", err, kPositions);
    EXPECT_GT(err, 0.0);
    EXPECT_LE(err, kQ8Bound);
  }
}

// Batch invariance holds with a Q8_0 cache: a row is quantized from its own
// values only, so prefill in one batch, in chunks, or one token at a time
// stores the same bytes and reads the same logits.
TEST(KvQ8, BatchInvariant) {
  ThreadPool pool1(1), pool2(2);
  Loaded l = LoadDense("qwen2");
  ASSERT_TRUE(l.model);
  const auto tokens = RandomTokens(40, l.model->info().n_vocab, 5);
  const auto all = RunLogits(*l.model, KvType::kQ8_0, tokens, 40, pool2);
  const auto one = RunLogits(*l.model, KvType::kQ8_0, tokens, 1, pool2);
  const auto chunks = RunLogits(*l.model, KvType::kQ8_0, tokens, 7, pool1);
  const size_t bytes = all.size() * sizeof(float);
  EXPECT_EQ(0, std::memcmp(all.data(), one.data(), bytes)) << "all vs one at a time";
  EXPECT_EQ(0, std::memcmp(all.data(), chunks.data(), bytes)) << "all vs chunks of 7 on one thread";
}

TEST(KvQ8, HalvesTheMemory) {
  KvCacheConfig c;
  c.n_layer = 2;
  c.k_row = c.v_row = 256;
  c.head_dim_k = c.head_dim_v = 128;
  c.n_blocks = 4;
  KvCache f16(c);
  c.type = KvType::kQ8_0;
  KvCache q8(c);
  EXPECT_EQ(f16.bytes_per_token(), 2u * 512 * 2);
  EXPECT_EQ(q8.bytes_per_token(), 2u * 512 / 32 * 34);  // 53% of F16
}

TEST(KvQ8, ParsesTypeNames) {
  EXPECT_EQ(*ParseKvType("f16"), KvType::kF16);
  EXPECT_EQ(*ParseKvType("q8_0"), KvType::kQ8_0);
  auto bad = ParseKvType("q4_0");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'q4_0'"), std::string::npos) << bad.status().message();
}

// Tiny deepseek2 caches a 40-wide latent (c_kv 32 + k_pe 8): not whole Q8_0
// blocks, so Engine::Load refuses it and says why; F16 loads.
TEST(KvQ8, RejectsShapesNotInBlocksOf32) {
  const std::string path = WriteDeepseek2("kvq8_ds2_tiny", SyntheticDeepseek2Spec::Tiny());
  EngineOptions eo;
  eo.model_path = path;
  eo.threads = 1;
  eo.ctx_size = 64;
  eo.verbose = false;
  eo.kv_type = KvType::kQ8_0;
  auto e = Engine::Load(eo);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("K row is 40"), std::string::npos) << e.status().message();
  eo.kv_type = KvType::kF16;
  EXPECT_TRUE(Engine::Load(eo).ok());

  KvCacheConfig c;
  c.k_row = c.v_row = 64;
  c.head_dim_k = c.head_dim_v = 16;  // rows of whole blocks, heads not
  c.type = KvType::kQ8_0;
  Status st = ValidateKvConfig(c);
  EXPECT_NE(st.message().find("K head dim is 16"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace r1
