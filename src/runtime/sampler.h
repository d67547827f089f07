// Token sampling: penalties, temperature, top-k, top-p, min-p, seeded RNG.
//
// Each sequence owns a Sampler, with its own random stream, so its output
// depends only on its own logits and seed, never on what else is batched with
// it. Temperature 0 is greedy (argmax; ties go to the lowest id).
//
// Cost: without top-k, the top-p / min-p nucleus is found by bucketing the
// probabilities and sorting only the bucket the cut falls in, then sampled in
// id order: O(vocabulary) per token even when the distribution is flat,
// where a full sort of a 152k vocabulary takes ~10 ms. The kept set is the
// full sort's (SamplerTest checks it against one).
#pragma once

#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace r1 {

struct SamplerParams {
  float temperature = 0.6f;  // DeepSeek's recommendation for R1
  int top_k = 0;             // 0 = off
  float top_p = 0.95f;       // 1 = off
  float min_p = 0.0f;        // 0 = off
  float repetition_penalty = 1.0f;  // 1 = off (CTRL-style: divide positive logits)
  float presence_penalty = 0.0f;    // OpenAI semantics
  float frequency_penalty = 0.0f;
  int penalty_last_n = 256;         // window the penalties look at
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);

  // Picks the next token from `logits` (n_vocab values; not modified).
  int32_t Sample(const float* logits, int64_t n_vocab);
  // Records a token in the penalty window (prompt tokens too, if wanted).
  void Accept(int32_t token);

  const SamplerParams& params() const { return p_; }

 private:
  double Uniform();  // [0, 1)

  SamplerParams p_;
  uint64_t state_;
  std::deque<int32_t> recent_;
  std::unordered_map<int32_t, int> counts_;
  std::vector<float> logit_;  // penalised logits, by token id
  std::vector<std::pair<float, int32_t>> cand_;
  std::vector<float> exp_;    // exp((logit - max) / T), by token id
  std::vector<double> prob_, mass_;
  std::vector<int> bucket_;
  std::vector<std::pair<float, int32_t>> edge_;

  template <typename Better>
  int32_t SampleNucleus(const Better& better);
};

}  // namespace r1
