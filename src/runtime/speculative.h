// Speculative decoding: a drafter proposes the next few tokens of a sequence
// cheaply; the scheduler feeds them to the target model in the same batched
// forward pass as the sequence's next token, and keeps the longest prefix the
// target agrees with, plus the target's own next token.
//
// Verification (in the scheduler) samples each position from the target's
// distribution exactly as non-speculative decoding would, with the same
// sampler state and random stream, and accepts a draft token iff the sample
// equals it. Every drafter here proposes deterministically (greedy, or copied
// from the history), so the proposal q is one-hot and Leviathan et al.'s /
// Chen et al.'s rule "accept d with probability min(1, p(d)/q(d)), else
// sample the residual max(0, p − q)/Z" becomes: accept with probability p(d),
// else sample p with d removed, which is exactly "sample p, keep d if the
// sample is d". The output distribution is the target's at every temperature
// and, for a given seed, the tokens are the ones non-speculative decoding
// gives (bit-identical whenever the model's logits are batch-invariant).
//
// Rejected drafts' KV entries are rolled back (KvCache::Truncate), and the
// prefix cache only ever sees accepted tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/thread_pool.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "r1/status.h"

namespace r1 {

enum class SpecMethod { kOff, kNgram, kDraft, kMtp };
// "off" / "ngram" / "draft" / "mtp" (what --spec takes).
StatusOr<SpecMethod> ParseSpecMethod(const std::string& name);
const char* SpecMethodName(SpecMethod m);

struct SpecOptions {
  SpecMethod method = SpecMethod::kOff;
  int max_tokens = 4;  // --spec-tokens: most draft tokens per sequence per step (1..16)
  // Speculation pauses while more sequences than this are decoding: a batch
  // that size already keeps the matrix kernels busy, so extra rows cost
  // nearly full price.
  int max_batch = 4;
  // Each sequence's draft length follows its recent acceptance (an
  // exponential average a): k = ceil(a / (1 − a)), the expected run of
  // accepted tokens, within 1..max_tokens. Off: always max_tokens.
  bool adaptive = true;
  int ngram_min = 1, ngram_max = 4;  // n-gram: suffix lengths tried, longest first
  // The scheduler measures decode throughput (tokens per second of pure
  // decode steps) with and without drafts, probing a plain step every
  // probe_every steps, and pauses speculation for pause_steps whenever it
  // measures slower than plain decoding (pauses double, up to 16×, while it
  // keeps losing): where verifying k+1 rows costs more
  // than the accepted drafts save (tiny models, big batches), it turns itself
  // off. --spec-always keeps it on.
  bool auto_off = true;
  int probe_every = 16, pause_steps = 256;
};

// One sequence's drafting request.
struct DraftRequest {
  int seq = -1;                                  // the scheduler's KV sequence id
  const std::vector<int32_t>* tokens = nullptr;  // accepted tokens; the target has not yet run the last one
  int k = 0;                                     // propose at most this many
  std::vector<int32_t> draft;                    // out: the proposal (may be shorter, or empty)
};

class Drafter {
 public:
  virtual ~Drafter() = default;
  virtual SpecMethod method() const = 0;
  // Fills every request's draft. A failure leaves drafts empty; the
  // scheduler then decodes without them.
  [[nodiscard]] virtual Status Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) = 0;
  // MTP only: the target's final hidden states, n_valid rows from position
  // first_pos of `seq` on, all of them accepted tokens.
  virtual bool wants_hidden() const { return false; }
  virtual void Observe(int /*seq*/, int64_t /*first_pos*/, const float* /*hidden*/, int64_t /*n_valid*/) {}
  // The sequence is gone; drop its state.
  virtual void Release(int /*seq*/) {}
};

// Prompt lookup: the longest suffix (ngram_max down to ngram_min tokens)
// that occurred earlier in the sequence's own history, prompt and output,
// proposes what followed its latest earlier occurrence. No model cost.
class NgramDrafter final : public Drafter {
 public:
  explicit NgramDrafter(const SpecOptions& opts) : min_(opts.ngram_min), max_(opts.ngram_max) {}
  SpecMethod method() const override { return SpecMethod::kNgram; }
  Status Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) override;
  // The lookup itself, for tests.
  static std::vector<int32_t> Lookup(const std::vector<int32_t>& tokens, int k, int n_min, int n_max);

 private:
  int min_, max_;
};

// Greedy continuation by a smaller model with the target's vocabulary (the
// 1.5B distill for the 7B–32B ones). It runs on the same threads, with a KV
// cache of its own that follows the sequence: each call rolls it back to the
// longest prefix it shares with the accepted tokens, catches up, and drafts.
class ModelDrafter final : public Drafter {
 public:
  // `n_vocab` is the target's: draft ids at or past it end the draft.
  static StatusOr<std::unique_ptr<ModelDrafter>> Create(Model& model, int64_t kv_tokens, KvType kv_type,
                                                        int64_t n_vocab, int64_t max_batch_tokens);
  SpecMethod method() const override { return SpecMethod::kDraft; }
  Status Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) override;
  void Release(int seq) override;

 private:
  ModelDrafter(Model& model, std::unique_ptr<KvCache> cache, int64_t n_vocab, int64_t max_batch_tokens)
      : model_(model), cache_(std::move(cache)), n_vocab_(n_vocab), max_batch_tokens_(max_batch_tokens) {}
  Model& model_;
  std::unique_ptr<KvCache> cache_;
  int64_t n_vocab_, max_batch_tokens_;
  std::unordered_map<int, std::vector<int32_t>> fed_;  // seq → tokens whose KV the draft cache holds
  std::vector<float> logits_;
};

// DeepSeek-V3's own multi-token-prediction module (Model::ForwardMtp), chained
// EAGLE-style: the first draft comes from the target's last hidden state and
// the newest token; each further one from the module's own output state and
// the previous draft. The module's one layer keeps its KV in a cache of its
// own, at positions counted from where the sequence's hidden states start
// (after a prefix-cache hit, the module only sees the positions the target
// computed; rope is relative, so the shift does not change attention).
class MtpDrafter final : public Drafter {
 public:
  static StatusOr<std::unique_ptr<MtpDrafter>> Create(Model& model, int64_t kv_tokens, KvType kv_type,
                                                      int64_t max_batch_tokens);
  SpecMethod method() const override { return SpecMethod::kMtp; }
  Status Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) override;
  bool wants_hidden() const override { return true; }
  void Observe(int seq, int64_t first_pos, const float* hidden, int64_t n_valid) override;
  void Release(int seq) override;

 private:
  struct State {
    int64_t start = -1;        // first position with a target hidden state
    int64_t done = 0;          // positions [start, done) hold the module's KV (from true hidden states)
    int64_t have = 0;          // hidden states known for positions [done, have)
    std::vector<float> hidden;  // (have − done) rows of n_embd
  };
  MtpDrafter(Model& model, std::unique_ptr<KvCache> cache, int64_t max_batch_tokens)
      : model_(model), cache_(std::move(cache)), max_batch_tokens_(max_batch_tokens) {}
  Model& model_;
  std::unique_ptr<KvCache> cache_;
  int64_t max_batch_tokens_;
  std::unordered_map<int, State> state_;
  std::vector<float> logits_, in_, out_;
};

}  // namespace r1
