// Engine load policy.
#include "runtime/engine.h"

#include <gtest/gtest.h>

namespace r1 {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;

// A model over 3/4 of RAM is not copied into anonymous memory: it stays
// mmapped, so a model larger than RAM still runs through the page cache.
TEST(Engine, RepackOnlyWhenTheCopyFitsInRam) {
  EXPECT_TRUE(RepackFits(10 * kGiB, 24 * kGiB));    // V2-Lite Q4_K_M on a 24 GiB machine
  EXPECT_TRUE(RepackFits(18 * kGiB, 24 * kGiB));    // exactly 3/4
  EXPECT_FALSE(RepackFits(19 * kGiB, 24 * kGiB));
  EXPECT_FALSE(RepackFits(377 * kGiB, 256 * kGiB)); // R1 Q4_K_M on a 256 GiB machine
  EXPECT_TRUE(RepackFits(377 * kGiB, 0));           // unknown RAM: as asked
  EXPECT_GT(PhysicalMemoryBytes(), 0u);
}

}  // namespace
}  // namespace r1
