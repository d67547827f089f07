// KvCache: block pool bookkeeping (allocation, growth across blocks, Free,
// exhaustion, shared blocks) and allocation failure as an error value.
#include "models/kv_cache.h"

#include <gtest/gtest.h>

#include <vector>

namespace r1 {
namespace {

KvCacheConfig SmallConfig(int64_t n_blocks) {
  KvCacheConfig c;
  c.n_layer = 2;
  c.k_row = 64;
  c.v_row = 64;
  c.head_dim_k = 32;
  c.head_dim_v = 32;
  c.block_size = 16;
  c.n_blocks = n_blocks;
  return c;
}

TEST(KvCacheTest, CreateAllocatesAllLayers) {
  auto cache = KvCache::Create(SmallConfig(4));
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  KvCache& kv = **cache;
  EXPECT_EQ(kv.blocks_total(), 4);
  EXPECT_EQ(kv.blocks_free(), 4);
  EXPECT_EQ(kv.blocks_in_use(), 0);
  EXPECT_EQ(kv.bytes_per_token(), size_t{2} * (64 + 64) * 2);  // 2 layers, K+V, F16
  EXPECT_EQ(kv.bytes_allocated(), kv.bytes_per_token() * 4 * 16);
  // Zero-filled: an unwritten row reads back as zeros.
  ASSERT_TRUE(kv.Reserve(0, 1).ok());
  std::vector<float> k(64, 1.0f);
  kv.LoadK(1, 0, 0, k.data());
  for (float x : k) EXPECT_EQ(x, 0.0f);
}

TEST(KvCacheTest, ReserveGrowsAcrossBlocks) {
  auto cache = KvCache::Create(SmallConfig(8));
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  EXPECT_FALSE(kv.Has(3));
  ASSERT_TRUE(kv.Reserve(3, 1).ok());
  EXPECT_TRUE(kv.Has(3));
  EXPECT_EQ(kv.Capacity(3), 16);
  EXPECT_EQ(kv.Blocks(3).size(), 1u);
  ASSERT_TRUE(kv.Reserve(3, 16).ok());  // still one block
  EXPECT_EQ(kv.Blocks(3).size(), 1u);
  ASSERT_TRUE(kv.Reserve(3, 17).ok());  // crosses into a second
  EXPECT_EQ(kv.Capacity(3), 32);
  ASSERT_TRUE(kv.Reserve(3, 50).ok());
  EXPECT_EQ(kv.Capacity(3), 64);
  EXPECT_EQ(kv.blocks_in_use(), 4);
  // Rows written in different blocks read back.
  std::vector<float> in(64), out(64);
  for (int64_t pos : {0, 15, 16, 49}) {
    for (int i = 0; i < 64; ++i) in[i] = static_cast<float>(pos + i);  // exact in F16
    kv.StoreK(0, 3, pos, in.data());
    kv.LoadK(0, 3, pos, out.data());
    EXPECT_EQ(in, out) << pos;
  }
}

TEST(KvCacheTest, FreeReturnsBlocks) {
  auto cache = KvCache::Create(SmallConfig(4));
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  ASSERT_TRUE(kv.Reserve(0, 40).ok());  // 3 blocks
  ASSERT_TRUE(kv.Reserve(1, 10).ok());  // 1 block
  EXPECT_EQ(kv.blocks_free(), 0);
  EXPECT_EQ(kv.n_seqs(), 2);
  kv.Free(0);
  EXPECT_FALSE(kv.Has(0));
  EXPECT_EQ(kv.blocks_free(), 3);
  kv.Free(0);  // unknown: no-op
  EXPECT_EQ(kv.blocks_free(), 3);
  kv.Free(1);
  EXPECT_EQ(kv.blocks_free(), 4);
  EXPECT_EQ(kv.n_seqs(), 0);
}

TEST(KvCacheTest, ExhaustionIsAnErrorAndChangesNothing) {
  auto cache = KvCache::Create(SmallConfig(2));
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  ASSERT_TRUE(kv.Reserve(0, 20).ok());  // both blocks
  Status s = kv.Reserve(1, 1);
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.ToString();
  EXPECT_NE(s.ToString().find("KV cache full"), std::string::npos) << s.ToString();
  EXPECT_FALSE(kv.Has(1));  // a new sequence that failed is not created
  s = kv.Reserve(0, 33);    // growing an existing one fails too
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(kv.Capacity(0), 32);
  kv.Free(0);
  EXPECT_TRUE(kv.Reserve(1, 32).ok());
}

TEST(KvCacheTest, SharedBlocksAreRefCounted) {
  auto cache = KvCache::Create(SmallConfig(4));
  ASSERT_TRUE(cache.ok());
  KvCache& kv = **cache;
  ASSERT_TRUE(kv.Reserve(0, 32).ok());
  const std::vector<int32_t> prefix = kv.Blocks(0);
  ASSERT_EQ(prefix.size(), 2u);
  kv.Adopt(1, prefix);
  EXPECT_EQ(kv.Blocks(1), prefix);
  for (int32_t b : prefix) EXPECT_EQ(kv.RefCount(b), 2);
  EXPECT_EQ(kv.blocks_in_use(), 2);
  ASSERT_TRUE(kv.Reserve(1, 33).ok());  // appends its own block after the shared prefix
  EXPECT_EQ(kv.blocks_in_use(), 3);
  EXPECT_EQ(kv.RefCount(kv.Blocks(1)[2]), 1);
  kv.Retain(prefix[0]);  // e.g. the prefix cache's reference
  EXPECT_EQ(kv.RefCount(prefix[0]), 3);
  kv.Free(0);
  EXPECT_EQ(kv.RefCount(prefix[0]), 2);
  EXPECT_EQ(kv.RefCount(prefix[1]), 1);
  EXPECT_EQ(kv.blocks_in_use(), 3);
  kv.Free(1);
  EXPECT_EQ(kv.RefCount(prefix[0]), 1);
  EXPECT_EQ(kv.blocks_in_use(), 1);  // only the retained block
  kv.Release(prefix[0]);
  EXPECT_EQ(kv.RefCount(prefix[0]), 0);
  EXPECT_EQ(kv.blocks_free(), 4);
}

TEST(KvCacheTest, TooLargeToMapIsResourceExhausted) {
  // One layer of 2^50 bytes: 2^34 blocks of 16 tokens of 4096-byte rows.
  KvCacheConfig c;
  c.n_layer = 1;
  c.k_row = 2048;  // F16: 4096 bytes per token
  c.v_row = 0;
  c.block_size = 16;
  c.n_blocks = int64_t{1} << 34;  // 2^38 tokens × 2^12 bytes = 2^50 bytes
  auto cache = KvCache::Create(c);
  ASSERT_FALSE(cache.ok());
  const std::string msg = cache.status().ToString();
  EXPECT_EQ(cache.status().code(), StatusCode::kResourceExhausted) << msg;
  EXPECT_NE(msg.find(std::to_string(uint64_t{1} << 50)), std::string::npos) << msg;
  EXPECT_NE(msg.find(std::to_string(int64_t{1} << 38) + " tokens"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--ctx-size / --kv-tokens"), std::string::npos) << msg;
}

}  // namespace
}  // namespace r1
