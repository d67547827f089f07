// The single-sequence generation loop used by `r1 run` and `r1 chat`.
//
//   prompt tokens → prefill → repeat { sample → callback → decode one token }
//
// The callback sees each sampled token and may stop generation, or ask for
// extra tokens to be forced into the sequence (the thinking budget injects
// "…</think>" this way).
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "runtime/engine.h"
#include "runtime/sampler.h"

namespace r1 {

struct GenerateOptions {
  SamplerParams sampling;
  int64_t max_tokens = 512;       // sampled tokens (forced ones are not counted)
  std::vector<int32_t> stop_ids;  // end-of-generation tokens (EOS/EOT)
  const std::atomic<bool>* cancel = nullptr;  // set from a signal handler to stop early
};

enum class FinishReason { kStop, kLength, kCancelled, kCallback };

struct TokenEvent {
  int32_t id;
  bool forced;  // injected by the callback, not sampled
};

// Returns false to stop. `force` may be filled with tokens to append next.
using TokenCallback = std::function<bool(const TokenEvent&, std::vector<int32_t>* force)>;

struct GenerateResult {
  FinishReason finish = FinishReason::kStop;
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Appends `prompt` to sequence `seq` of the engine (continuing what it holds)
// and generates. The sampler is created from options.sampling.
StatusOr<GenerateResult> Generate(Engine& engine, int seq, const std::vector<int32_t>& prompt,
                                  const GenerateOptions& options, const TokenCallback& on_token);

}  // namespace r1
