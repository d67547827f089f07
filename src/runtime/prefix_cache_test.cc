// Prefix cache without a model: hash-chain lookups, reference counting and
// LRU eviction over a KvCache, for standard K/V and the MLA layout (v_row 0).
#include "runtime/prefix_cache.h"

#include <gtest/gtest.h>

#include <numeric>

namespace r1 {
namespace {

KvCacheConfig Config(int64_t v_row) {
  KvCacheConfig c;
  c.n_layer = 2;
  c.k_row = 8;
  c.v_row = v_row;
  c.block_size = 4;
  c.n_blocks = 8;
  return c;
}

std::vector<int32_t> Iota(int n, int start = 0) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), start);
  return v;
}

class PrefixCacheTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(PrefixCacheTest, SharesFullBlocksOfACommonPrefix) {
  KvCache kv(Config(GetParam()));
  PrefixCache pc(&kv);
  auto a = Iota(10);  // two full blocks and a partial one
  ASSERT_TRUE(kv.Reserve(1, 10).ok());
  kv.KRowData(1, 1, 5)[0] = 123;  // a marker in block 1 of layer 1
  pc.Insert(a, 10, kv.Blocks(1));
  EXPECT_EQ(pc.n_entries(), 2);  // the partial block is not shared
  kv.Free(1);
  EXPECT_EQ(kv.blocks_in_use(), 2);  // the cache keeps the full blocks
  EXPECT_EQ(pc.n_evictable(), 2);

  auto b = Iota(12);
  b[9] = 99;  // same first 9 tokens
  auto m = pc.Lookup(b, static_cast<int64_t>(b.size()) - 1);
  ASSERT_EQ(m.n_tokens, 8);
  kv.Adopt(2, m.blocks);
  EXPECT_EQ(kv.KRowData(1, 2, 5)[0], 123);  // the same storage, nothing copied
  EXPECT_EQ(pc.n_evictable(), 0);
  ASSERT_TRUE(kv.Reserve(2, 12).ok());
  EXPECT_EQ(kv.Blocks(2).size(), 3u);

  // A different first block means no match, whatever follows.
  auto c = b;
  c[0] = 77;
  EXPECT_EQ(pc.Lookup(c, 12).n_tokens, 0);
  // max_tokens limits the match to whole blocks before it.
  EXPECT_EQ(pc.Lookup(b, 7).n_tokens, 4);

  kv.Free(2);
  pc.Clear();
  EXPECT_EQ(kv.blocks_in_use(), 0);
}

TEST_P(PrefixCacheTest, EvictsLeastRecentlyUsedAndNeverBlocksInUse) {
  KvCache kv(Config(GetParam()));
  PrefixCache pc(&kv);
  // Three 2-block prompts fill 6 of 8 blocks in the cache.
  for (int i = 0; i < 3; ++i) {
    auto t = Iota(8, 100 * i);
    ASSERT_TRUE(kv.Reserve(i, 8).ok());
    pc.Insert(t, 8, kv.Blocks(i));
    kv.Free(i);
  }
  EXPECT_EQ(kv.blocks_free(), 2);
  // Prompt 0 is used again: now the most recent, and held by sequence 10.
  auto m = pc.Lookup(Iota(9, 0), 8);
  ASSERT_EQ(m.n_tokens, 8);
  kv.Adopt(10, m.blocks);
  // Need 6 free: evicts prompt 1 then prompt 2 (leaves before roots), never 0.
  EXPECT_EQ(pc.EvictUntilFree(6), 4);
  EXPECT_EQ(kv.blocks_free(), 6);
  EXPECT_EQ(pc.Lookup(Iota(9, 100), 8).n_tokens, 0);
  EXPECT_EQ(pc.Lookup(Iota(9, 200), 8).n_tokens, 0);
  // Asking for more than possible frees nothing held by sequence 10.
  pc.EvictUntilFree(8);
  EXPECT_EQ(pc.Lookup(Iota(9, 0), 8).n_tokens, 8);
  kv.Free(10);
  EXPECT_EQ(pc.EvictUntilFree(8), 2);
  EXPECT_EQ(kv.blocks_free(), 8);
}

TEST_P(PrefixCacheTest, ReinsertingTheSamePrefixKeepsOneCopy) {
  KvCache kv(Config(GetParam()));
  PrefixCache pc(&kv);
  auto t = Iota(8);
  ASSERT_TRUE(kv.Reserve(1, 8).ok());
  ASSERT_TRUE(kv.Reserve(2, 8).ok());  // computed concurrently by two sequences
  pc.Insert(t, 8, kv.Blocks(1));
  pc.Insert(t, 8, kv.Blocks(2));
  EXPECT_EQ(pc.n_entries(), 2);
  kv.Free(1);
  kv.Free(2);
  EXPECT_EQ(kv.blocks_in_use(), 2);
  pc.Clear();
  EXPECT_EQ(kv.blocks_in_use(), 0);
}

INSTANTIATE_TEST_SUITE_P(Layouts, PrefixCacheTest, ::testing::Values(8, 0),
                         [](const auto& info) { return info.param ? std::string("StandardKV") : std::string("MlaLatent"); });

}  // namespace
}  // namespace r1
