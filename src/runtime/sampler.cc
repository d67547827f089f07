#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "kernels/ops.h"

namespace r1 {

Sampler::Sampler(const SamplerParams& p) : p_(p), state_(p.seed ^ 0x853C49E6748FEA9Bull) {}

double Sampler::Uniform() {
  // SplitMix64; 53 random bits → [0, 1). Fully specified, so a seed gives
  // the same tokens on every platform.
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53;
}

void Sampler::Accept(int32_t token) {
  if (p_.penalty_last_n <= 0) return;
  recent_.push_back(token);
  ++counts_[token];
  if (static_cast<int>(recent_.size()) > p_.penalty_last_n) {
    int32_t old = recent_.front();
    recent_.pop_front();
    if (--counts_[old] == 0) counts_.erase(old);
  }
}

// Without top-k: min-p and top-p over the whole vocabulary, sampled in id
// order. The kept set is exactly the full-sort one (the smallest prefix in
// probability order whose mass reaches top_p, among tokens with p ≥ min_p ·
// p_max), but only the tokens of the bucket where the top-p cut falls are
// sorted: probabilities are bucketed by (max - logit) / T, 32 buckets per
// unit, and bucket masses accumulated from the top. A near-uniform
// distribution (random test models) thus costs O(n), not a 152k sort.
template <typename Better>
int32_t Sampler::SampleNucleus(const Better& better) {
  const std::vector<float>& lg = logit_;
  const size_t n = lg.size();
  const double t = p_.temperature;
  float mx = lg[0];
  for (float l : lg) mx = std::max(mx, l);
  // exp((l - max) / T) in single precision (vectorised), summed in double.
  const float inv_t = static_cast<float>(1.0 / t);
  exp_.resize(n);
  const std::vector<float>& prob = exp_;
  const double sum = kernels::ExpShiftSum(lg.data(), static_cast<int64_t>(n), mx, inv_t, exp_.data());
  constexpr int kBuckets = 16384, kExcluded = kBuckets;  // 256 a unit: down to e^-64
  bucket_.resize(n);
  int top_bucket = 0;
  if (mass_.size() != kBuckets) mass_.assign(kBuckets, 0.0);  // all zero between calls
  for (size_t i = 0; i < n; ++i) {
    const float x = (mx - lg[i]) * inv_t * 256.0f;
    int b = x < kBuckets - 1 ? static_cast<int>(x) : kBuckets - 1;
    if (p_.min_p > 0 && prob[i] < p_.min_p) b = kExcluded;  // p / p_max with p_max = 1
    bucket_[i] = b;
    if (b != kExcluded) {
      mass_[static_cast<size_t>(b)] += prob[i];
      top_bucket = std::max(top_bucket, b);
    }
  }
  // The bucket where the running mass reaches top_p (none: keep every bucket).
  const double target = p_.top_p < 1.0f ? p_.top_p * sum : std::numeric_limits<double>::infinity();
  double cum = 0;
  int cut = kBuckets;
  for (int b = 0; b <= top_bucket; ++b) {
    if (cum + mass_[static_cast<size_t>(b)] >= target) {
      cut = b;
      break;
    }
    cum += mass_[static_cast<size_t>(b)];
  }
  // Inside the cut bucket, the top-p boundary in probability order.
  std::pair<float, int32_t> last{0.0f, -1};
  double kept = cum;
  if (cut < kBuckets) {
    edge_.clear();
    for (size_t i = 0; i < n; ++i)
      if (bucket_[i] == cut) edge_.emplace_back(lg[i], static_cast<int32_t>(i));
    std::sort(edge_.begin(), edge_.end(), better);
    for (const auto& c : edge_) {
      kept += prob[static_cast<size_t>(c.second)];
      last = c;
      if (kept >= target) break;
    }
  }
  auto in = [&](size_t i) {
    const int b = bucket_[i];
    return b < cut || (b == cut && cut < kBuckets && !better(last, std::pair<float, int32_t>(lg[i], static_cast<int32_t>(i))));
  };
  double r = Uniform() * kept;
  int32_t pick = -1;
  for (size_t i = 0; i < n; ++i) {
    if (!in(i)) continue;
    pick = static_cast<int32_t>(i);
    r -= prob[i];
    if (r < 0) break;
  }
  for (size_t i = 0; i < n; ++i)
    if (bucket_[i] != kExcluded) mass_[static_cast<size_t>(bucket_[i])] = 0.0;
  return pick;  // ≥ 0: the most probable token (p = 1 ≥ min_p) is always kept
}

int32_t Sampler::Sample(const float* logits, int64_t n_vocab) {
  logit_.assign(logits, logits + n_vocab);
  for (const auto& [tok, count] : counts_) {
    if (tok < 0 || tok >= n_vocab) continue;
    float& l = logit_[static_cast<size_t>(tok)];
    if (p_.repetition_penalty != 1.0f) l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    l -= p_.presence_penalty + p_.frequency_penalty * static_cast<float>(count);
  }
  // Highest logit first; equal logits by lower id, so the order is total.
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (p_.temperature <= 0.0f) {  // the first maximum: ties go to the lower id
    return static_cast<int32_t>(std::max_element(logit_.begin(), logit_.end()) - logit_.begin());
  }
  if (p_.top_k <= 0 || p_.top_k >= n_vocab) return SampleNucleus(better);

  cand_.resize(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) cand_[static_cast<size_t>(i)] = {logit_[static_cast<size_t>(i)], static_cast<int32_t>(i)};
  size_t n = cand_.size();
  std::vector<double>& prob = prob_;
  {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), better);
    n = static_cast<size_t>(p_.top_k);
    // Softmax over the survivors, in double.
    prob.resize(n);
    double mx = cand_[0].first, sum = 0;
    for (size_t i = 0; i < n; ++i) sum += prob[i] = std::exp((cand_[i].first - mx) / p_.temperature);
    for (auto& pr : prob) pr /= sum;
  }
  // min-p: keep tokens with p >= min_p · p_max.
  if (p_.min_p > 0) {
    size_t keep = 1;
    while (keep < n && prob[keep] >= p_.min_p * prob[0]) ++keep;
    n = keep;
  }
  // top-p: the smallest prefix whose mass reaches top_p.
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t keep = 0;
    while (keep < n) {
      cum += prob[keep++];
      if (cum >= p_.top_p) break;
    }
    n = keep;
  }
  double total = 0;
  for (size_t i = 0; i < n; ++i) total += prob[i];
  double r = Uniform() * total;
  for (size_t i = 0; i < n; ++i) {
    r -= prob[i];
    if (r < 0) return cand_[i].second;
  }
  return cand_[n - 1].second;
}

}  // namespace r1
