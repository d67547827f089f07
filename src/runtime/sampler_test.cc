#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
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

// The nucleus is the full sort's: sort by probability, keep p >= min_p·p_max,
// then the smallest prefix whose mass (of the whole softmax) reaches top_p.
// Every sampled token is in it, and tokens come with their renormalised
// probabilities.
TEST(SamplerTest, NucleusMatchesFullSort) {
  std::mt19937 rng(5);
  const int n = 300, draws = 4000;
  for (float scale : {0.01f, 0.5f, 2.0f, 8.0f}) {
    for (float top_p : {1.0f, 0.95f, 0.5f}) {
      for (float min_p : {0.0f, 0.05f}) {
        const std::vector<float> l = Logits(n, scale, rng);
        const float temp = 0.7f;
        // Reference: full sort.
        std::vector<int> order(n);
        for (int i = 0; i < n; ++i) order[i] = i;
        std::sort(order.begin(), order.end(), [&](int a, int b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
        std::vector<double> p(n);
        double sum = 0;
        for (int i = 0; i < n; ++i) sum += p[i] = std::exp((l[i] - l[order[0]]) / temp);
        std::vector<int> kept;
        double cum = 0;
        for (int i : order) {
          if (min_p > 0 && p[i] < min_p) break;
          kept.push_back(i);
          cum += p[i];
          if (top_p < 1 && cum >= top_p * sum) break;
        }
        std::vector<int> count(n, 0);
        SamplerParams sp;
        sp.temperature = temp;
        sp.top_p = top_p;
        sp.min_p = min_p;
        sp.seed = rng();
        Sampler s(sp);
        for (int d = 0; d < draws; ++d) ++count[static_cast<size_t>(s.Sample(l.data(), n))];
        const std::string what = "scale " + std::to_string(scale) + " top_p " + std::to_string(top_p) + " min_p " +
                                 std::to_string(min_p);
        std::vector<bool> in(n, false);
        for (int i : kept) in[i] = true;
        for (int i = 0; i < n; ++i) {
          if (!in[i]) {
            EXPECT_EQ(count[i], 0) << what << ": token " << i << " is outside the nucleus";
          }
        }
        for (int i : kept) {
          const double f = p[i] / cum, obs = count[i] / static_cast<double>(draws);
          EXPECT_NEAR(obs, f, 5 * std::sqrt(f * (1 - f) / draws) + 2e-3) << what << ": token " << i;
        }
      }
    }
  }
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
