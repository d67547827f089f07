// The forward-pass scaffolding shared by the model files: batch checks and
// per-sequence grouping.
#include "models/forward.h"

#include <gtest/gtest.h>

namespace r1 {
namespace {

std::unique_ptr<KvCache> Cache() {
  KvCacheConfig c;
  c.n_layer = 1;
  c.k_row = c.v_row = 8;
  c.head_dim_k = c.head_dim_v = 8;
  c.block_size = 16;
  c.n_blocks = 4;
  auto kv = KvCache::Create(c);
  EXPECT_TRUE(kv.ok()) << kv.status().ToString();
  return std::move(*kv);
}

TEST(ForwardTest, ValidateBatchNamesTheBadTokenAndPosition) {
  auto kv = Cache();
  ASSERT_TRUE(kv->Reserve(0, 16).ok());
  Batch b;
  b.Add(3, 0, 0, false);
  b.Add(9, 1, 0, true);
  EXPECT_TRUE(ValidateBatch(b, 10, *kv).ok());

  Batch bad_token = b;
  bad_token.tokens[1] = 10;
  Status s = ValidateBatch(bad_token, 10, *kv);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("token id 10"), std::string::npos) << s.message();

  Batch negative = b;
  negative.tokens[0] = -1;
  EXPECT_FALSE(ValidateBatch(negative, 10, *kv).ok());

  Batch no_room = b;
  no_room.Add(1, 16, 0, true);  // sequence 0 has 16 positions reserved
  s = ValidateBatch(no_room, 10, *kv);
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("position 16 of sequence 0"), std::string::npos) << s.message();

  Batch other_seq = b;
  other_seq.Add(1, 0, 1, true);  // sequence 1 has nothing reserved
  EXPECT_EQ(ValidateBatch(other_seq, 10, *kv).code(), StatusCode::kOutOfRange);

  Batch ragged = b;
  ragged.pos.pop_back();
  EXPECT_EQ(ValidateBatch(ragged, 10, *kv).code(), StatusCode::kInvalidArgument);
}

TEST(ForwardTest, GroupBySequenceKeepsFirstAppearanceAndBatchOrder) {
  Batch b;
  b.Add(1, 5, 2, false);
  b.Add(1, 0, 0, true);
  b.Add(1, 6, 2, true);
  b.Add(1, 1, 0, false);
  b.Add(1, 9, 7, true);
  std::vector<SeqRows> g(5);  // stale entries from an earlier, larger batch
  g[0].rows = {42};
  GroupBySequence(b, &g);
  ASSERT_EQ(g.size(), 3u);
  EXPECT_EQ(g[0].seq, 2);
  EXPECT_EQ(g[0].rows, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(g[0].pos, (std::vector<int32_t>{5, 6}));
  EXPECT_EQ(g[0].n_kv(), 7);
  EXPECT_EQ(g[1].seq, 0);
  EXPECT_EQ(g[1].rows, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(g[1].n_kv(), 2);
  EXPECT_EQ(g[2].seq, 7);
  EXPECT_EQ(g[2].rows, (std::vector<int64_t>{4}));
  EXPECT_EQ(g[2].n_kv(), 10);

  GroupBySequence(Batch{}, &g);
  EXPECT_TRUE(g.empty());
}

}  // namespace
}  // namespace r1
