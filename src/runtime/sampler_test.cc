#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace r1 {
namespace {

// Logits shaped like a language model's: a few strong candidates over a long
// tail (scale picks how peaked), or near-uniform (scale 0.01, as the random
// test models produce), so the nucleus is anywhere from 1 to most tokens.
std::vector<float> Logits(int n, float scale, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> l(static_cast<size_t>(n));
  for (auto& x : l) x = scale * d(rng);
  for (int i = 0; i < 5; ++i) l[rng() % n] += 6.0f * scale;
  return l;
}

// The prefix-growing selection gives exactly the full sort's tokens, for every
// combination of the cut-offs and penalties.
TEST(SamplerTest, PrefixSortEqualsFullSort) {
  std::mt19937 rng(5);
  int checked = 0;
  for (float scale : {0.01f, 0.5f, 2.0f, 8.0f}) {
    for (float top_p : {1.0f, 0.95f, 0.5f}) {
      for (float min_p : {0.0f, 0.05f}) {
        for (int top_k : {0, 40}) {
          SamplerParams p;
          p.top_p = top_p;
          p.min_p = min_p;
          p.top_k = top_k;
          p.temperature = 0.7f;
          p.presence_penalty = 0.3f;
          p.seed = rng();
          Sampler fast(p), full(p);
          full.UseFullSortForTesting();
          for (int step = 0; step < 20; ++step) {
            const std::vector<float> l = Logits(5000, scale, rng);
            const int32_t a = fast.Sample(l.data(), 5000), b = full.Sample(l.data(), 5000);
            ASSERT_EQ(a, b) << "scale " << scale << " top_p " << top_p << " min_p " << min_p << " top_k " << top_k
                            << " step " << step;
            fast.Accept(a);
            full.Accept(b);
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 3 * 2 * 2 * 20);
}

// Sampling follows the distribution: with top_p 0.5 over logits [3, 2, 1, 0]
// at temperature 1, only token 0 survives (p0 = 0.64); with top_p 1 every
// token appears with its softmax frequency.
TEST(SamplerTest, FollowsTheDistribution) {
  const float l[4] = {3, 2, 1, 0};
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_p = 0.5f;
  Sampler s(p);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.Sample(l, 4), 0);
  p.top_p = 1.0f;
  Sampler all(p);
  int count[4] = {};
  const int n = 40000;
  for (int i = 0; i < n; ++i) ++count[all.Sample(l, 4)];
  double z = 0;
  for (float x : l) z += std::exp(x);
  for (int t = 0; t < 4; ++t) EXPECT_NEAR(count[t] / static_cast<double>(n), std::exp(l[t]) / z, 0.01) << t;
}

TEST(SamplerTest, GreedyAndSeeds) {
  const float l[5] = {1, 5, 5, 2, 0};
  SamplerParams g;
  g.temperature = 0;
  EXPECT_EQ(Sampler(g).Sample(l, 5), 1);  // ties go to the lowest id
  SamplerParams p;
  p.seed = 42;
  Sampler a(p), b(p);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.Sample(l, 5), b.Sample(l, 5));
}

}  // namespace
}  // namespace r1
