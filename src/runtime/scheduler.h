// Continuous batching over one Model: many sequences share each forward pass.
//
// One step thread owns the model, the KV cache and the prefix cache. Each
// step it
//   1. admits queued requests while there are free sequence slots and KV
//      room (each admitted request commits the blocks of its prompt plus
//      max_tokens, so a running sequence never runs out of KV mid-way);
//      the prompt's longest cached prefix is adopted, not recomputed;
//   2. drops cancelled sequences, freeing their blocks;
//   3. builds one Batch: one token for every decoding sequence, then prompt
//      chunks of prefilling sequences up to max_batch_tokens (chunked
//      prefill: a long prompt never stalls the others' decoding);
//   4. runs Model::Forward once and samples each sequence's next token with
//      its own Sampler (own seed), so a request's output does not depend on
//      what it was batched with (the model is batch-invariant).
// With speculative decoding (runtime/speculative.h), a decoding sequence's
// row is followed by its drafter's proposed tokens, every row wants logits,
// and the sequence keeps the drafts its own sampling agrees with, position by
// position, plus one token of its own; rejected drafts' KV is rolled back.
//
// Output goes to a RequestHandle, a thread-safe channel the caller polls.
// The scheduler knows nothing of HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "grammar/grammar.h"
#include "kernels/thread_pool.h"
#include "models/model.h"
#include "r1/status.h"
#include "models/kv_cache.h"
#include "runtime/prefix_cache.h"
#include "runtime/sampler.h"
#include "runtime/speculative.h"
#include "runtime/thinking.h"

namespace r1 {

struct GenerationParams {
  SamplerParams sampling;
  int64_t max_tokens = -1;           // -1: until the context is full
  std::vector<int32_t> stop_tokens;  // more end-of-generation tokens (the model's EOS/EOT always stop)
  int top_logprobs = 0;              // alternatives reported per token (with logprobs)
  bool logprobs = false;
  // Thinking budget in reasoning tokens: -1 unlimited, 0 no thinking (an
  // empty thought is forced), N > 0 closes the thought gracefully after N
  // (runtime/thinking.h). The think state itself comes from the prompt.
  int64_t max_thinking_tokens = -1;
  bool speculate = true;    // take part in speculative decoding when the scheduler has a drafter
  bool ignore_eos = false;  // the model's end tokens do not stop it (benchmarks); stop_tokens still do
  // Constrained decoding (grammar/grammar.h): every token after the thought
  // (from the first one when the output does not start in a thought) is
  // sampled among those the grammar allows; the end token only once it is
  // satisfied. Draft tokens are checked the same way, so it stays exact with
  // speculative decoding.
  std::shared_ptr<grammar::Matcher> constraint;
};

// How a request ended. The one FinishReason of the runtime: every frontend
// reports it (the CLI, the server's finish_reason).
enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
const char* FinishReasonName(FinishReason r);  // "stop", "length", ...

struct TokenOutput {
  int32_t token = -1;
  chat::ThinkChannel channel = chat::ThinkChannel::kContent;  // reasoning, a tag, or content
  bool forced = false;     // inserted by the thinking budget, not sampled
  float logprob = 0;       // log-softmax of the raw logits (when logprobs)
  std::vector<std::pair<int32_t, float>> top;  // top_logprobs alternatives
};

// What a request produced since the caller last looked.
struct RequestUpdate {
  std::vector<TokenOutput> tokens;
  FinishReason finish = FinishReason::kNone;  // set once, with the last update
  Status status;                              // error details when kError
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;       // prompt tokens reused from the prefix cache
  int64_t completion_tokens = 0;   // totals so far
  int64_t reasoning_tokens = 0;
  int64_t draft_tokens = 0;        // speculative: proposed, and accepted by verification
  int64_t accepted_tokens = 0;
};

// The caller's side of a request. Thread-safe.
class RequestHandle {
 public:
  explicit RequestHandle(int64_t id) : id_(id) {}
  int64_t id() const { return id_; }
  // Waits up to `timeout` for new output or the finish; moves what is there
  // into *out (tokens appended). Returns false when nothing came.
  bool Wait(RequestUpdate* out, std::chrono::milliseconds timeout);
  // Asks the scheduler to drop the request at its next step.
  void Cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  friend class Scheduler;
  void Push(const TokenOutput& t, int64_t completion, int64_t reasoning);
  void SetSpec(int64_t drafted, int64_t accepted);
  void Finish(FinishReason r, Status st);
  void SetPrompt(int64_t prompt, int64_t cached);

  const int64_t id_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  RequestUpdate pending_;  // GUARDED_BY(mu_)
  bool changed_ = false;   // GUARDED_BY(mu_)
  bool done_ = false;      // GUARDED_BY(mu_)
};

struct SchedulerOptions {
  int max_seqs = 4;                 // concurrent sequences (--parallel)
  int64_t ctx_size = 4096;          // tokens per sequence, prompt + output
  int64_t max_batch_tokens = 256;   // tokens per forward pass (decode + prefill chunks)
  int64_t max_queue = 64;           // waiting requests before ResourceExhausted
  bool prefix_cache = true;
  // Model-wide, from the tokenizer (Engine fills them).
  std::vector<int32_t> eos_tokens;  // EOS, EOT: finish "stop"
  ThinkingConfig thinking;
  SpecOptions spec;                 // speculative decoding (with a Drafter)
};

struct SchedulerStats {
  int64_t queued = 0;
  int64_t active = 0;
  int64_t kv_blocks_total = 0;
  int64_t kv_blocks_used = 0;     // held by the pool (sequences and cache)
  int64_t kv_blocks_cached = 0;   // entries of the prefix cache
  int64_t kv_blocks_evictable = 0;  // held only by the prefix cache
  int64_t kv_seqs = 0;            // sequences the KV cache knows
  int64_t steps = 0;
  int64_t prompt_tokens = 0;      // submitted prompt tokens
  int64_t prompt_tokens_computed = 0;
  int64_t prefix_hit_tokens = 0;  // prompt tokens reused from the cache
  int64_t generated_tokens = 0;
  int64_t draft_tokens = 0;       // speculative: proposed
  int64_t draft_accepted = 0;     // ... and accepted
  int64_t spec_steps = 0;         // verifications with at least one draft
  int64_t grammar_tokens = 0;     // constrained decoding: tokens picked under a grammar
  int64_t grammar_ns = 0;         // ... and the time spent on them: mask, masking, advance
};

class Scheduler {
 public:
  // `drafter` (may be null: no speculation) must outlive the scheduler.
  Scheduler(Model& model, KvCache& cache, ThreadPool& pool, const SchedulerOptions& opts,
            Drafter* drafter = nullptr);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the step thread. Without it, tests drive Step() themselves.
  void Start();
  // Queues a request. InvalidArgument when the prompt is empty or leaves no
  // room in the context, ResourceExhausted when the queue is full,
  // Unavailable once shutting down.
  StatusOr<std::shared_ptr<RequestHandle>> Submit(std::vector<int32_t> prompt, const GenerationParams& params);
  // Stops admitting; lets running and queued requests finish until
  // `deadline`, then cancels what is left and stops the step thread.
  void Shutdown(std::chrono::steady_clock::time_point deadline);

  // One scheduling step (admit, batch, forward, sample). Returns false when
  // there was nothing to do. Only for tests that do not call Start().
  bool Step();

  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return opts_; }

 private:
  struct Seq;
  void Loop();
  void Admit();
  void Retire(Seq& s, FinishReason r, Status st = Status::Ok());
  TokenOutput Pick(Seq& s, const float* logits) const;  // thread-safe across sequences
  // Records a picked token (stop and length checks, think state, output);
  // false when the sequence is finished (s.finish says why). Thread-safe
  // across sequences; Retire is not, and runs after.
  bool Advance(Seq& s, TokenOutput out);
  // Picks from the sequence's n_rows logits rows (its next token, then one
  // per draft) while its drafts are confirmed; returns the rows used.
  int64_t Verify(Seq& s, const float* logits, int64_t n_rows);
  void Propose();
  int64_t BlocksFor(int64_t tokens) const;
  bool EnsureFree(int64_t n_blocks);
  void PublishStats();

  Model& model_;
  Drafter* drafter_;
  KvCache& cache_;
  ThreadPool& pool_;
  const SchedulerOptions opts_;
  PrefixCache prefix_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Seq>> queue_;  // GUARDED_BY(mu_)
  bool stopping_ = false;                   // GUARDED_BY(mu_): no new requests
  bool exit_ = false;                       // GUARDED_BY(mu_): leave the loop
  std::chrono::steady_clock::time_point deadline_{};  // GUARDED_BY(mu_)
  SchedulerStats stats_;                    // GUARDED_BY(mu_)
  int64_t next_id_ = 1;                     // GUARDED_BY(mu_)

  // Owned by the step thread.
  std::vector<std::unique_ptr<Seq>> active_;
  int64_t committed_blocks_ = 0;
  int next_seq_ = 0;
  // Speculation's measured worth (SpecOptions::auto_off): tokens per second
  // of decode-only steps with drafts and without (exponential averages).
  struct SpecGate {
    double spec_rate = 0, plain_rate = 0;
    int64_t step = 0, paused_until = 0;
    int64_t pause = 0;     // the next pause's length: doubles while speculation keeps losing
    bool drafted = false;  // this step carries drafts
  } gate_;
  std::vector<float> logits_, hidden_;
  Batch batch_;
  struct StepScratch {  // Step()'s per-sequence vectors, reused
    std::vector<int64_t> fed, first_row, first_tok, used, before, pushed;
    std::vector<size_t> picking;
  } step_;
  std::thread thread_;
};

}  // namespace r1
