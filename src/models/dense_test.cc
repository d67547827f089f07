// End-to-end checks of the dense architectures (llama, qwen2, qwen3):
//   1. logits against the independent float64 numpy reference (tests/ref/),
//      for every weight type, at every position;
//   2. batch invariance: bit-identical logits under any grouping of tokens;
//   3. clear errors for unsupported tensor types and bad shapes.
#include <gtest/gtest.h>

#include "util/skip.h"

#include <cmath>
#include <cstring>
#include <random>

#include "gguf/gguf.h"
#include "kernels/quant.h"
#include "models/model.h"
#include "util/model_util.h"

namespace r1 {
namespace {

using testing::ReferenceLogits;
using testing::SmallSpec;
using testing::SyntheticModelPath;

struct Case {
  std::string arch;
  GgmlType type;
  bool q4_k_m;
  std::string name() const { return arch + "_" + (q4_k_m ? std::string("Q4_K_M") : GgmlTypeName(type)); }
};

std::vector<Case> AllCases() {
  std::vector<Case> v;
  for (std::string arch : {"llama", "qwen2", "qwen3"}) {
    for (GgmlType t : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0,
                       GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K})
      v.push_back({arch, t, false});
    v.push_back({arch, GgmlType::Q4_K, true});
  }
  // The types of the downloaded low-bit mixes, on the distills' main arch.
  for (GgmlType t : {GgmlType::Q4_1, GgmlType::Q5_1, GgmlType::IQ4_NL, GgmlType::IQ4_XS, GgmlType::Q2_K,
                     GgmlType::Q3_K, GgmlType::TQ1_0, GgmlType::TQ2_0})
    v.push_back({"qwen2", t, false});
  return v;
}

// Runs `tokens` through a fresh cache in one batch and returns every logit row.
std::vector<float> RunAlone(Model& m, const std::vector<int32_t>& tokens, ThreadPool& pool) {
  KvCacheConfig kv = m.info().kv;
  kv.n_blocks = 64;
  KvCache cache(kv);
  EXPECT_TRUE(cache.Reserve(0, static_cast<int64_t>(tokens.size())).ok());
  Batch b;
  for (size_t i = 0; i < tokens.size(); ++i) b.Add(tokens[i], static_cast<int32_t>(i), 0, true);
  std::vector<float> out(tokens.size() * static_cast<size_t>(m.info().n_vocab));
  Status st = m.Forward(b, cache, out.data(), pool);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

std::vector<int32_t> RandomTokens(int n, int n_vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = static_cast<int32_t>(rng() % static_cast<uint32_t>(n_vocab));
  return t;
}

class DenseVsReference : public ::testing::TestWithParam<Case> {};

// Tolerances: with F32/F16 weights the only approximations on our side are
// the F16 KV cache and float32 arithmetic, so max|Δ| ≤ 2e-3·max|logit| and the
// argmax must agree at every position. BF16 weights are dotted against BF16
// activations (vdpbf16ps), whose 8-bit mantissa costs ~0.4%: 6e-3, argmax exact. With quantized weights the reference
// runs on the same dequantized weights, but our dot products also quantize
// the activations (to Q8_0 / Q8_K), which costs about 1% per matmul; the bound
// is 4e-2·max|logit|, and argmax may differ only where the reference's top two
// logits are within that bound.
TEST_P(DenseVsReference, LogitsMatchAtEveryPosition) {
  if (!testing::HaveNumpyReference()) R1_SKIP_OR_FAIL("python3 with numpy not available");
  const Case c = GetParam();
  std::string path = SyntheticModelPath("ref_" + c.name(), SmallSpec(c.arch, c.type, c.q4_k_m));
  auto f = gguf::File::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto m = LoadModel(**f);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const int64_t n_vocab = (*m)->info().n_vocab;
  std::vector<int32_t> tokens = RandomTokens(24, static_cast<int>(n_vocab), 7);
  ThreadPool pool(2);
  std::vector<float> ours = RunAlone(**m, tokens, pool);
  auto ref = ReferenceLogits(path, {tokens});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  ASSERT_EQ(ref->size(), ours.size());

  const bool is_float = !c.q4_k_m && (c.type == GgmlType::F32 || c.type == GgmlType::F16 || c.type == GgmlType::BF16);
  const double rel_tol = !is_float ? 4e-2 : c.type == GgmlType::BF16 ? 6e-3 : 2e-3;
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    max_abs = std::max(max_abs, std::abs((*ref)[i]));
    max_diff = std::max(max_diff, std::abs((*ref)[i] - ours[i]));
  }
  EXPECT_LE(max_diff, rel_tol * max_abs) << c.name() << ": max|Δ| " << max_diff << " vs max|logit| " << max_abs;
  for (size_t t = 0; t < tokens.size(); ++t) {
    const float* o = ours.data() + t * static_cast<size_t>(n_vocab);
    const double* r = ref->data() + t * static_cast<size_t>(n_vocab);
    int64_t ao = std::max_element(o, o + n_vocab) - o, ar = std::max_element(r, r + n_vocab) - r;
    if (is_float) {
      EXPECT_EQ(ao, ar) << c.name() << " position " << t;
    } else if (ao != ar) {
      EXPECT_LE(r[ar] - r[ao], 2 * rel_tol * max_abs) << c.name() << " position " << t;
    }
  }
  RecordProperty("max_rel_error", std::to_string(max_diff / max_abs));
  std::printf("%s: max|Δ| = %.3g (%.3g of max|logit| %.3g)\n", c.name().c_str(), max_diff, max_diff / max_abs, max_abs);
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DenseVsReference, ::testing::ValuesIn(AllCases()),
                         [](const auto& info) { return info.param.name(); });

TEST(DenseVsReference, TiedEmbeddingsMatch) {
  if (!testing::HaveNumpyReference()) R1_SKIP_OR_FAIL("python3 with numpy not available");
  SyntheticSpec s = SmallSpec("qwen2", GgmlType::F32);
  s.tied_embeddings = true;
  std::string path = SyntheticModelPath("ref_qwen2_tied", s);
  auto f = gguf::File::Open(path);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ((*f)->FindTensor("output.weight"), nullptr);
  auto m = LoadModel(**f);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::vector<int32_t> tokens = RandomTokens(9, 512, 3);
  ThreadPool pool(1);
  std::vector<float> ours = RunAlone(**m, tokens, pool);
  auto ref = ReferenceLogits(path, {tokens});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  double max_abs = 0, max_diff = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    max_abs = std::max(max_abs, std::abs((*ref)[i]));
    max_diff = std::max(max_diff, std::abs((*ref)[i] - ours[i]));
  }
  EXPECT_LE(max_diff, 2e-3 * max_abs);
}

// ---- Batch invariance ----------------------------------------------------

class BatchInvariance : public ::testing::TestWithParam<Case> {};

TEST_P(BatchInvariance, LogitsAreBitIdenticalUnderAnyGrouping) {
  const Case c = GetParam();
  std::string path = SyntheticModelPath("inv_" + c.name(), SmallSpec(c.arch, c.type, c.q4_k_m));
  auto f = gguf::File::Open(path);
  ASSERT_TRUE(f.ok());
  auto m = LoadModel(**f);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  Model& model = **m;
  const int64_t V = model.info().n_vocab;
  const std::vector<std::vector<int32_t>> seqs = {RandomTokens(37, static_cast<int>(V), 1),
                                                  RandomTokens(20, static_cast<int>(V), 2),
                                                  RandomTokens(5, static_cast<int>(V), 3)};
  ThreadPool pool2(2), pool1(1);
  const std::vector<float> alone = RunAlone(model, seqs[0], pool2);

  auto row = [&](const std::vector<float>& v, size_t t) { return v.data() + t * static_cast<size_t>(V); };
  auto same = [&](const float* a, const float* b) { return std::memcmp(a, b, static_cast<size_t>(V) * 4) == 0; };

  // Groupings of sequence 0: chunks of 7 / token by token, with and without
  // other sequences interleaved, on 1 and 2 threads.
  for (int chunk : {1, 7, 37}) {
    for (bool mixed : {false, true}) {
      for (ThreadPool* pool : {&pool1, &pool2}) {
        KvCacheConfig kv = model.info().kv;
        kv.n_blocks = 64;
        KvCache cache(kv);
        for (int s = 0; s < 3; ++s) ASSERT_TRUE(cache.Reserve(s, static_cast<int64_t>(seqs[s].size())).ok());
        std::vector<size_t> next(3, 0);
        std::vector<float> got(seqs[0].size() * static_cast<size_t>(V));
        while (next[0] < seqs[0].size()) {
          Batch b;
          std::vector<size_t> rows0;
          // Other sequences go first so sequence 0's rows are never at batch index 0.
          for (int s = mixed ? 1 : 3; s < 3; ++s) {
            for (int k = 0; k < 3 && next[s] < seqs[s].size(); ++k, ++next[s])
              b.Add(seqs[s][next[s]], static_cast<int32_t>(next[s]), s, k % 2 == 0);
          }
          for (int k = 0; k < chunk && next[0] < seqs[0].size(); ++k, ++next[0]) {
            rows0.push_back(static_cast<size_t>(b.n_outputs()));
            b.Add(seqs[0][next[0]], static_cast<int32_t>(next[0]), 0, true);
          }
          std::vector<float> out(static_cast<size_t>(b.n_outputs() * V));
          ASSERT_TRUE(model.Forward(b, cache, out.data(), *pool).ok());
          size_t first = next[0] - rows0.size();
          for (size_t i = 0; i < rows0.size(); ++i)
            std::memcpy(got.data() + (first + i) * static_cast<size_t>(V), row(out, rows0[i]),
                        static_cast<size_t>(V) * 4);
        }
        for (size_t t = 0; t < seqs[0].size(); ++t)
          ASSERT_TRUE(same(row(got, t), row(alone, t)))
              << c.name() << ": chunk " << chunk << (mixed ? " mixed" : "") << " threads " << pool->size()
              << ": position " << t << " differs";
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, BatchInvariance,
                         ::testing::Values(Case{"qwen2", GgmlType::F32, false}, Case{"qwen2", GgmlType::Q4_K, true},
                                           Case{"llama", GgmlType::Q8_0, false}, Case{"qwen3", GgmlType::BF16, false},
                                           Case{"qwen3", GgmlType::F16, false}, Case{"llama", GgmlType::Q5_0, false}),
                         [](const auto& info) { return info.param.name(); });

// ---- Errors --------------------------------------------------------------

// Copies a synthetic model, replacing one tensor's type or shape.
std::string Mutated(const std::string& src, const std::string& tensor, GgmlType type, std::vector<int64_t> ne) {
  auto f = gguf::File::Open(src);
  EXPECT_TRUE(f.ok());
  gguf::Writer w;
  for (const auto& [k, v] : (*f)->metadata()) w.Set(k, v);
  for (const auto& t : (*f)->tensors()) {
    if (t.name != tensor) {
      EXPECT_TRUE(w.AddTensor(t.name, t.ne, t.type, t.data, t.nbytes).ok());
      continue;
    }
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    std::vector<uint8_t> bytes(GgmlRowSize(type, ne[0]) * static_cast<size_t>(n / ne[0]));
    EXPECT_TRUE(w.AddTensor(t.name, ne, type, bytes.data(), bytes.size()).ok());
  }
  // One file per test: ctest runs tests in parallel processes.
  std::string out = src + "." + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".mutated.gguf";
  EXPECT_TRUE(w.Write(out).ok());
  return out;
}

TEST(DenseErrors, UnsupportedTypeNamesTypeAndTensor) {
  std::string src = SyntheticModelPath("err_base", SmallSpec("qwen2", GgmlType::F32));
  auto f = gguf::File::Open(Mutated(src, "blk.1.attn_k.weight", GgmlType::Q8_1, {256, 128}));
  ASSERT_TRUE(f.ok());
  auto m = LoadModel(**f);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("blk.1.attn_k.weight"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("Q8_1"), std::string::npos) << m.status().message();
}

TEST(DenseErrors, WrongShapeNamesTensor) {
  std::string src = SyntheticModelPath("err_base", SmallSpec("qwen2", GgmlType::F32));
  auto f = gguf::File::Open(Mutated(src, "blk.0.ffn_up.weight", GgmlType::F32, {256, 100}));
  ASSERT_TRUE(f.ok());
  auto m = LoadModel(**f);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("blk.0.ffn_up.weight"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("[256, 100]"), std::string::npos) << m.status().message();
}

TEST(DenseErrors, UnknownArchitectureAndMissingKey) {
  gguf::Writer w;
  w.Set("general.architecture", gguf::Value::String("mamba"));
  std::string path = std::string(R1_BINARY_DIR) + "/testmodels/mamba.gguf";
  ASSERT_TRUE(w.Write(path).ok());
  auto f = gguf::File::Open(path);
  ASSERT_TRUE(f.ok());
  auto m = LoadModel(**f);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("mamba"), std::string::npos);

  w.Set("general.architecture", gguf::Value::String("qwen2"));
  ASSERT_TRUE(w.Write(path).ok());
  f = gguf::File::Open(path);
  ASSERT_TRUE(f.ok());
  m = LoadModel(**f);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("qwen2.embedding_length"), std::string::npos) << m.status().message();
}

TEST(DenseErrors, OutOfVocabTokenAndNoCacheRoom) {
  std::string path = SyntheticModelPath("err_base", SmallSpec("qwen2", GgmlType::F32));
  auto f = gguf::File::Open(path);
  ASSERT_TRUE(f.ok());
  auto m = LoadModel(**f);
  ASSERT_TRUE(m.ok());
  KvCacheConfig kv = (*m)->info().kv;
  kv.n_blocks = 1;
  KvCache cache(kv);
  ASSERT_TRUE(cache.Reserve(0, 4).ok());
  ThreadPool pool(1);
  std::vector<float> out(512);
  Batch b;
  b.Add(100000, 0, 0, true);
  EXPECT_EQ((*m)->Forward(b, cache, out.data(), pool).code(), StatusCode::kInvalidArgument);
  b.Clear();
  b.Add(1, 40, 0, true);
  EXPECT_EQ((*m)->Forward(b, cache, out.data(), pool).code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace r1
