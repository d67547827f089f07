#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/attention_impl.h"

namespace r1::kernels {
namespace {

// Exact F16 encoding of k/2048, |k| <= 2048 (always a normal half or zero).
uint16_t HalfOf(int k) {
  if (k == 0) return 0;
  uint16_t sign = k < 0 ? 0x8000 : 0;
  int e;
  double m = std::frexp(std::abs(k) / 2048.0, &e);  // [0.5, 1)
  auto man = static_cast<uint16_t>((m * 2.0 - 1.0) * 1024.0);
  return static_cast<uint16_t>(sign | ((e - 1 + 15) << 10) | man);
}

struct Config {
  std::string name;
  int n_head, n_head_kv, dk, dv;
  bool mla_alias;  // V = first dv elements of the K row (n_head_kv 1)
  float scale_mul = 1.0f;
};

// Q8_0 K/V need head dims that are multiples of 32.
bool Supports(const Config& c, KvType t) { return t == KvType::kF16 || (c.dk % 32 == 0 && c.dv % 32 == 0); }

// One sequence's paged cache with random contents. F16 values are k/2048;
// Q8_0 blocks have scale d = k/2048, 1 <= k <= 16, and q in [-127, 127], so
// every value is in (-1, 1) either way.
struct Cache {
  std::vector<std::vector<uint8_t>> k_store, v_store;
  std::vector<const void*> k_ptr, v_ptr;
  KvView view;

  Cache(const Config& c, int64_t n_kv, int64_t block_size, std::mt19937& rng, KvType type = KvType::kF16) {
    std::uniform_int_distribution<int> val(-2048, 2048), scale(1, 16), q(-127, 127);
    auto fill = [&](std::vector<uint8_t>& bytes) {
      if (type == KvType::kF16) {
        for (size_t i = 0; i < bytes.size(); i += 2) {
          const uint16_t h = HalfOf(val(rng));
          std::memcpy(&bytes[i], &h, 2);
        }
        return;
      }
      for (size_t i = 0; i < bytes.size(); i += kKvQ8Bytes) {
        const uint16_t d = HalfOf(scale(rng));
        std::memcpy(&bytes[i], &d, 2);
        for (int j = 0; j < 32; ++j) bytes[i + 2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q(rng)));
      }
    };
    const int64_t n_blocks = (n_kv + block_size - 1) / block_size;
    const int64_t k_pad = type == KvType::kF16 ? 8 : 32, v_pad = type == KvType::kF16 ? 4 : 64;  // padded rows
    view.type = type;
    view.block_size = block_size;
    view.n_kv = n_kv;
    view.k_row_stride = static_cast<int64_t>(c.n_head_kv) * c.dk + k_pad;
    view.v_row_stride = c.mla_alias ? view.k_row_stride : c.n_head_kv * c.dv + v_pad;
    for (int64_t b = 0; b < n_blocks; ++b) {
      k_store.emplace_back(KvBytes(type, block_size * view.k_row_stride));
      fill(k_store.back());
      if (!c.mla_alias) {
        v_store.emplace_back(KvBytes(type, block_size * view.v_row_stride));
        fill(v_store.back());
      }
    }
    for (int64_t b = 0; b < n_blocks; ++b) {
      k_ptr.push_back(k_store[b].data());
      v_ptr.push_back(c.mla_alias ? k_store[b].data() : v_store[b].data());
    }
    view.k_blocks = k_ptr.data();
    view.v_blocks = v_ptr.data();
  }
};

AttentionParams Params(const Config& c) {
  AttentionParams p;
  p.n_head = c.n_head;
  p.n_head_kv = c.n_head_kv;
  p.head_dim_k = c.dk;
  p.head_dim_v = c.dv;
  p.scale = c.scale_mul / std::sqrt(static_cast<float>(c.dk));
  return p;
}

std::vector<float> RandomQ(const Config& c, int64_t n_q, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> q(n_q * c.n_head * c.dk);
  for (auto& x : q) x = d(rng);
  return q;
}

const std::vector<Config>& Configs() {
  static const std::vector<Config> configs = {
      {"gqa_8x2_d128", 8, 2, 128, 128, false},
      {"gqa_12x2_d128", 12, 2, 128, 128, false},  // Qwen-1.5B shape: group 6
      {"gqa_24x2_d64", 24, 2, 64, 64, false},     // group 12 > kMaxGroup: subgroups
      {"mha_4x4_d64", 4, 4, 64, 64, false},
      {"mqa_8x1_d128", 8, 1, 128, 128, false},
      {"mla_16x1_576_512", 16, 1, 576, 512, true},
      {"sharp_gqa_4x2_d64", 4, 2, 64, 64, false, 16.0f},  // large logits: max moves
      {"odd_dims_3x1_d20_d12", 3, 1, 20, 12, false},      // portable path only
      {"dk192_dv128_6x3", 6, 3, 192, 128, false},          // DeepSeek q/v dims
  };
  return configs;
}

double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(double(a[i]) - double(b[i])));
  return m;
}

// Values are in [-1, 1] and outputs are convex combinations of V rows,
// so an absolute tolerance is meaningful. Float32 accumulation over up to 576
// products and a 2e-7-accurate exp2 stay well inside it (max seen: 4e-6).
constexpr double kTol = 2e-5;  // observed max ~4e-6

class AttentionTypeTest : public ::testing::TestWithParam<KvType> {};

TEST_P(AttentionTypeTest, MatchesReference) {
  const KvType type = GetParam();
  std::mt19937 rng(1234);
  ThreadPool pool(2);
  for (const Config& c : Configs()) {
    if (!Supports(c, type)) continue;
    const AttentionParams p = Params(c);
    for (int64_t block_size : {1, 16, 100}) {
      for (int64_t n_kv : {1, 64, 65, 130, 200}) {
        Cache cache(c, n_kv, block_size, rng, type);
        // Prefill-like tail of positions plus a few random ones.
        std::vector<int32_t> pos;
        for (int64_t i = std::max<int64_t>(0, n_kv - 5); i < n_kv; ++i) pos.push_back(int32_t(i));
        std::uniform_int_distribution<int32_t> rp(0, int32_t(n_kv - 1));
        for (int i = 0; i < 3; ++i) pos.push_back(rp(rng));
        const int64_t n_q = static_cast<int64_t>(pos.size());
        std::vector<float> q = RandomQ(c, n_q, rng);
        std::vector<float> ref(n_q * c.n_head * c.dv), got(ref.size()), scalar(ref.size());
        AttentionRef(p, q.data(), pos.data(), n_q, cache.view, ref.data());
        Attention(p, q.data(), pos.data(), n_q, cache.view, got.data(), pool);
        attn::Run(p, q.data(), pos.data(), n_q, cache.view, scalar.data(), pool,
                  attn::UnitScalar);
        SCOPED_TRACE(c.name + " bs=" + std::to_string(block_size) +
                     " n_kv=" + std::to_string(n_kv));
        EXPECT_LE(MaxAbsDiff(got, ref), kTol);
        EXPECT_LE(MaxAbsDiff(scalar, ref), kTol);
      }
    }
  }
}

TEST(AttentionTest, SingleKeyReturnsItsValue) {
  std::mt19937 rng(7);
  ThreadPool pool(1);
  const Config c{"gqa", 4, 2, 64, 64, false};
  const AttentionParams p = Params(c);
  Cache cache(c, 1, 16, rng);
  std::vector<float> q = RandomQ(c, 1, rng), out(c.n_head * c.dv), ref(out.size());
  int32_t pos = 0;
  Attention(p, q.data(), &pos, 1, cache.view, out.data(), pool);
  AttentionRef(p, q.data(), &pos, 1, cache.view, ref.data());
  EXPECT_EQ(0, std::memcmp(out.data(), ref.data(), out.size() * sizeof(float)));
}

// Runs Attention for positions `pos` split into chunks of `chunk` queries.
std::vector<float> RunChunked(const Config& c, const Cache& cache, const std::vector<float>& q,
                              const std::vector<int32_t>& pos, int64_t chunk, ThreadPool& pool,
                              attn::UnitFn fn) {
  const AttentionParams p = Params(c);
  const int64_t n_q = static_cast<int64_t>(pos.size());
  std::vector<float> out(n_q * c.n_head * c.dv);
  for (int64_t i = 0; i < n_q; i += chunk) {
    const int64_t n = std::min(chunk, n_q - i);
    attn::Run(p, q.data() + i * c.n_head * c.dk, pos.data() + i, n, cache.view,
              out.data() + i * c.n_head * c.dv, pool, fn);
  }
  return out;
}

TEST_P(AttentionTypeTest, BatchAndThreadInvariant) {
  const KvType type = GetParam();
  std::mt19937 rng(99);
  ThreadPool pool1(1), pool2(2), pool3(3);
  for (const Config& c : Configs()) {
    if (!Supports(c, type)) continue;
    const AttentionParams p = Params(c);
    const int64_t n_kv = 200;
    Cache cache(c, n_kv, 32, rng, type);
    // A causal prefill of the last 40 positions, as prefill would issue it.
    std::vector<int32_t> pos;
    for (int32_t i = n_kv - 40; i < n_kv; ++i) pos.push_back(i);
    std::vector<float> q = RandomQ(c, static_cast<int64_t>(pos.size()), rng);
    for (attn::UnitFn fn : {attn::BestUnit(p), attn::UnitScalar}) {
      SCOPED_TRACE(c.name + (fn == attn::UnitScalar ? " scalar" : " best"));
      auto all = RunChunked(c, cache, q, pos, 1 << 20, pool2, fn);
      auto one = RunChunked(c, cache, q, pos, 1, pool2, fn);
      auto chunks = RunChunked(c, cache, q, pos, 13, pool2, fn);
      auto t1 = RunChunked(c, cache, q, pos, 1 << 20, pool1, fn);
      auto t3 = RunChunked(c, cache, q, pos, 7, pool3, fn);
      const size_t bytes = all.size() * sizeof(float);
      EXPECT_EQ(0, std::memcmp(all.data(), one.data(), bytes)) << "all vs one at a time";
      EXPECT_EQ(0, std::memcmp(all.data(), chunks.data(), bytes)) << "all vs chunks of 13";
      EXPECT_EQ(0, std::memcmp(all.data(), t1.data(), bytes)) << "2 threads vs 1";
      EXPECT_EQ(0, std::memcmp(all.data(), t3.data(), bytes)) << "2 threads vs 3";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Types, AttentionTypeTest, ::testing::Values(KvType::kF16, KvType::kQ8_0),
                         [](const ::testing::TestParamInfo<KvType>& i) {
                           return std::string(i.param == KvType::kF16 ? "F16" : "Q8_0");
                         });

TEST(AttentionTest, QueryOrderDoesNotMatter) {
  // The same query at the same position, issued among different companions.
  std::mt19937 rng(5);
  ThreadPool pool(2);
  const Config c{"gqa", 8, 2, 128, 128, false};
  const AttentionParams p = Params(c);
  Cache cache(c, 500, 16, rng);
  std::vector<float> q = RandomQ(c, 3, rng);
  std::vector<int32_t> pos = {499, 10, 250};
  std::vector<float> out(3 * c.n_head * c.dv), alone(c.n_head * c.dv);
  Attention(p, q.data(), pos.data(), 3, cache.view, out.data(), pool);
  for (int i = 0; i < 3; ++i) {
    Attention(p, q.data() + i * c.n_head * c.dk, &pos[i], 1, cache.view, alone.data(), pool);
    EXPECT_EQ(0, std::memcmp(alone.data(), out.data() + i * c.n_head * c.dv,
                             alone.size() * sizeof(float)))
        << "query " << i;
  }
}

}  // namespace
}  // namespace r1::kernels
