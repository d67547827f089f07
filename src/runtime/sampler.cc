#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

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

int32_t Sampler::Sample(const float* logits, int64_t n_vocab) {
  cand_.resize(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) cand_[static_cast<size_t>(i)] = {logits[i], static_cast<int32_t>(i)};
  for (const auto& [tok, count] : counts_) {
    if (tok < 0 || tok >= n_vocab) continue;
    float& l = cand_[static_cast<size_t>(tok)].first;
    if (p_.repetition_penalty != 1.0f) l = l > 0 ? l / p_.repetition_penalty : l * p_.repetition_penalty;
    l -= p_.presence_penalty + p_.frequency_penalty * static_cast<float>(count);
  }
  // Highest logit first; equal logits by lower id, so the order is total.
  auto better = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  if (p_.temperature <= 0.0f) return std::min_element(cand_.begin(), cand_.end(), better)->second;

  size_t n = cand_.size();
  std::vector<double>& prob = prob_;
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), better);
    n = static_cast<size_t>(p_.top_k);
    // Softmax over the survivors, in double.
    prob.resize(n);
    double mx = cand_[0].first, sum = 0;
    for (size_t i = 0; i < n; ++i) sum += prob[i] = std::exp((cand_[i].first - mx) / p_.temperature);
    for (auto& pr : prob) pr /= sum;
  } else {
    // Softmax over the whole vocabulary (normalizer summed in id order), then
    // the candidates in probability order as far as min-p / top-p can reach.
    double mx = cand_[0].first;
    for (const auto& c : cand_) mx = std::max<double>(mx, c.first);
    double sum = 0;
    for (const auto& c : cand_) sum += std::exp((c.first - mx) / p_.temperature);
    const bool cut = p_.min_p > 0 || p_.top_p < 1.0f;
    size_t k = full_sort_ || !cut ? n : std::min<size_t>(n, 64);
    for (;;) {
      if (k == n) {
        std::sort(cand_.begin(), cand_.end(), better);
      } else {
        std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(k), cand_.end(), better);
      }
      prob.resize(k);
      for (size_t i = 0; i < k; ++i) prob[i] = std::exp((cand_[i].first - mx) / p_.temperature) / sum;
      if (k == n) break;
      // Enough when the min-p or top-p cut (computed below) falls inside the prefix.
      bool inside = false;
      if (p_.min_p > 0 && prob[k - 1] < p_.min_p * prob[0]) inside = true;
      if (!inside && p_.top_p < 1.0f) {
        double cum = 0;
        for (size_t i = 0; i + 1 < k && !inside; ++i) inside = (cum += prob[i]) >= p_.top_p;
      }
      if (inside) break;
      k = std::min(n, k * 8);
    }
    n = k;
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
