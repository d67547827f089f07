#include "runtime/generate.h"

#include <algorithm>
#include <chrono>

namespace r1 {

StatusOr<GenerateResult> Generate(Engine& engine, int seq, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, const TokenCallback& on_token) {
  using Clock = std::chrono::steady_clock;
  GenerateResult result;
  result.prompt_tokens = static_cast<int64_t>(prompt.size());
  Sampler sampler(options.sampling);
  for (int32_t t : prompt) sampler.Accept(t);

  std::vector<float> logits;
  auto t0 = Clock::now();
  R1_RETURN_IF_ERROR(engine.Append(seq, prompt, &logits));
  result.prefill_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  t0 = Clock::now();

  std::vector<int32_t> force;
  const int64_t n_vocab = engine.info().n_vocab;
  while (true) {
    if (options.cancel && options.cancel->load()) {
      result.finish = FinishReason::kCancelled;
      break;
    }
    if (result.generated_tokens >= options.max_tokens) {
      result.finish = FinishReason::kLength;
      break;
    }
    const int32_t id = sampler.Sample(logits.data(), n_vocab);
    sampler.Accept(id);
    ++result.generated_tokens;
    const bool is_stop = std::find(options.stop_ids.begin(), options.stop_ids.end(), id) != options.stop_ids.end();
    force.clear();
    if (!on_token({id, false}, &force)) {
      result.finish = FinishReason::kCallback;
      break;
    }
    if (is_stop) {
      result.finish = FinishReason::kStop;
      break;
    }
    std::vector<int32_t> next = {id};
    for (int32_t f : force) {
      std::vector<int32_t> ignored;
      on_token({f, true}, &ignored);
      sampler.Accept(f);
      next.push_back(f);
    }
    Status st = engine.Append(seq, next, &logits);
    if (!st.ok()) {
      if (st.code() == StatusCode::kOutOfRange) {  // context full: stop like max_tokens
        result.finish = FinishReason::kLength;
        break;
      }
      return st;
    }
  }
  result.decode_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return result;
}

}  // namespace r1
