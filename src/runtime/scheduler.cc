#include "runtime/scheduler.h"

#include <algorithm>
#include <limits>
#include <cmath>

#include "kernels/ops.h"

namespace r1 {

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kNone: return "";
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "";
}

// ---- RequestHandle ----------------------------------------------------------

bool RequestHandle::Wait(RequestUpdate* out, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return changed_; })) return false;
  for (auto& t : pending_.tokens) out->tokens.push_back(std::move(t));
  pending_.tokens.clear();
  out->finish = pending_.finish;
  out->status = pending_.status;
  out->prompt_tokens = pending_.prompt_tokens;
  out->cached_tokens = pending_.cached_tokens;
  out->completion_tokens = pending_.completion_tokens;
  out->reasoning_tokens = pending_.reasoning_tokens;
  out->draft_tokens = pending_.draft_tokens;
  out->accepted_tokens = pending_.accepted_tokens;
  changed_ = false;
  return true;
}

void RequestHandle::Push(const TokenOutput& t, int64_t completion, int64_t reasoning) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.tokens.push_back(t);
  pending_.completion_tokens = completion;
  pending_.reasoning_tokens = reasoning;
  changed_ = true;
  cv_.notify_all();
}

void RequestHandle::SetSpec(int64_t drafted, int64_t accepted) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.draft_tokens = drafted;
  pending_.accepted_tokens = accepted;
}

void RequestHandle::SetPrompt(int64_t prompt, int64_t cached) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.prompt_tokens = prompt;
  pending_.cached_tokens = cached;
}

void RequestHandle::Finish(FinishReason r, Status st) {
  std::lock_guard<std::mutex> lock(mu_);
  if (done_) return;
  done_ = true;
  pending_.finish = r;
  pending_.status = std::move(st);
  changed_ = true;
  cv_.notify_all();
}

// ---- Scheduler --------------------------------------------------------------

struct Scheduler::Seq {
  std::shared_ptr<RequestHandle> handle;
  GenerationParams params;
  std::unique_ptr<Sampler> sampler;
  std::vector<int32_t> tokens;  // the prompt, then every sampled token
  int64_t n_prompt = 0;
  int64_t n_computed = 0;       // tokens whose KV is in the cache
  int64_t max_total = 0;        // prompt + output limit (context, max_tokens)
  int64_t committed = 0;        // KV blocks reserved for it at admission
  int64_t n_generated = 0;
  int seq = -1;                 // KvCache sequence id
  ThinkingState think;          // the think state, by token id
  FinishReason finish = FinishReason::kNone;  // set by Advance, acted on by Retire
  bool done = false;
  // Speculative decoding.
  std::vector<int32_t> draft;   // this step's proposal
  int spec_k = 0;               // current draft length (adaptive)
  double accept_avg = 0.7;      // recent acceptance rate (exponential average)
  int64_t drafted = 0, accepted = 0;
  // Constrained decoding.
  int32_t grammar_state = 0;
  std::vector<float> masked;    // the logits with disallowed tokens at -inf
  int64_t grammar_ns = 0;       // this step's time in the grammar (mask, masking, advance)
  int64_t grammar_tokens = 0;   // ... and the constrained tokens it covered
  Status error;                 // why it finished with kError
};

Scheduler::Scheduler(Model& model, KvCache& cache, ThreadPool& pool, const SchedulerOptions& opts,
                     Drafter* drafter)
    : model_(model), drafter_(opts.spec.method == SpecMethod::kOff ? nullptr : drafter), cache_(cache),
      pool_(pool), opts_(opts), prefix_(&cache) {
  PublishStats();
}

Scheduler::~Scheduler() {
  if (thread_.joinable()) Shutdown(std::chrono::steady_clock::now());
  for (auto& s : active_) Retire(*s, FinishReason::kCancelled);
  for (auto& s : queue_) s->handle->Finish(FinishReason::kCancelled, Status::Cancelled("server shutting down"));
  prefix_.Clear();
}

int64_t Scheduler::BlocksFor(int64_t tokens) const {
  const int64_t bs = cache_.config().block_size;
  return (tokens + bs - 1) / bs;
}

void Scheduler::Start() { thread_ = std::thread([this] { Loop(); }); }

StatusOr<std::shared_ptr<RequestHandle>> Scheduler::Submit(std::vector<int32_t> prompt,
                                                          const GenerationParams& params) {
  const int64_t n_prompt = static_cast<int64_t>(prompt.size());
  const int64_t limit = std::min(opts_.ctx_size, cache_.blocks_total() * cache_.config().block_size);
  if (n_prompt == 0) return Status::InvalidArgument("the prompt is empty");
  if (n_prompt >= limit)
    return Status::InvalidArgument("the prompt has " + std::to_string(n_prompt) +
                                   " tokens, more than the context of " + std::to_string(limit) +
                                   " allows (leave room for at least one output token)");
  const int64_t n_vocab = model_.info().n_vocab;
  for (int32_t t : prompt)
    if (t < 0 || t >= n_vocab) return Status::InvalidArgument("prompt token " + std::to_string(t) + " out of range");
  auto s = std::make_unique<Seq>();
  s->params = params;
  s->sampler = std::make_unique<Sampler>(params.sampling);
  s->n_prompt = n_prompt;
  s->tokens = std::move(prompt);
  s->max_total = params.max_tokens >= 0 ? std::min(limit, n_prompt + params.max_tokens) : limit;
  s->think = ThinkingState(opts_.thinking, s->tokens, params.max_thinking_tokens);
  s->spec_k = std::clamp(opts_.spec.max_tokens, 1, 16);
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) return Status::Unavailable("the server is shutting down");
  if (static_cast<int64_t>(queue_.size()) >= opts_.max_queue)
    return Status::ResourceExhausted("too many requests waiting (" + std::to_string(queue_.size()) + ")");
  s->handle = std::make_shared<RequestHandle>(next_id_++);
  s->handle->SetPrompt(n_prompt, 0);
  auto handle = s->handle;
  stats_.prompt_tokens += n_prompt;
  queue_.push_back(std::move(s));
  stats_.queued = static_cast<int64_t>(queue_.size());
  cv_.notify_all();
  return handle;
}

void Scheduler::Admit() {
  std::lock_guard<std::mutex> lock(mu_);
  while (!queue_.empty()) {
    Seq& s = *queue_.front();
    if (s.handle->cancelled()) {
      s.handle->Finish(FinishReason::kCancelled, Status::Cancelled("cancelled while queued"));
      queue_.pop_front();
      continue;
    }
    if (static_cast<int>(active_.size()) >= opts_.max_seqs) break;
    const int64_t need = BlocksFor(s.max_total);
    if (committed_blocks_ + need > cache_.blocks_total()) break;  // first come, first served
    s.committed = need;
    committed_blocks_ += need;
    s.seq = next_seq_++;
    if (next_seq_ < 0) next_seq_ = 0;
    PrefixCache::Match m;
    if (opts_.prefix_cache) m = prefix_.Lookup(s.tokens, s.n_prompt - 1);  // keep one token to compute
    cache_.Adopt(s.seq, m.blocks);
    s.n_computed = m.n_tokens;
    s.handle->SetPrompt(s.n_prompt, m.n_tokens);
    stats_.prefix_hit_tokens += m.n_tokens;
    active_.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

void Scheduler::Retire(Seq& s, FinishReason r, Status st) {
  if (s.done) return;
  s.done = true;
  if (opts_.prefix_cache && r != FinishReason::kError) prefix_.Insert(s.tokens, s.n_computed, cache_.Blocks(s.seq));
  cache_.Free(s.seq);
  if (drafter_) drafter_->Release(s.seq);
  committed_blocks_ -= s.committed;
  s.handle->Finish(r, std::move(st));
}

bool Scheduler::EnsureFree(int64_t n_blocks) {
  if (cache_.blocks_free() < n_blocks) prefix_.EvictUntilFree(n_blocks);
  return cache_.blocks_free() >= n_blocks;
}

// Asks the drafter for each decoding sequence's proposal, unless the batch
// is already large or the sequence's next token is forced.
void Scheduler::Propose() {
  for (auto& s : active_) s->draft.clear();
  gate_.drafted = false;
  ++gate_.step;
  if (!drafter_) return;
  if (opts_.spec.auto_off) {
    if (gate_.step < gate_.paused_until) return;
    if (opts_.spec.probe_every > 0 && gate_.step % opts_.spec.probe_every == 0) return;  // a plain step, measured
  }
  int64_t decoding = 0;
  for (const auto& s : active_) decoding += s->n_computed >= s->n_prompt;
  if (decoding == 0 || decoding > opts_.spec.max_batch) return;
  std::vector<DraftRequest> reqs;
  std::vector<Seq*> of;
  int64_t room = opts_.max_batch_tokens - decoding;  // draft rows share the batch with the others
  for (auto& sp : active_) {
    Seq& s = *sp;
    if (s.n_computed < s.n_prompt || s.think.has_forced() || !s.params.speculate) continue;
    const int64_t left = s.max_total - static_cast<int64_t>(s.tokens.size());  // positions the drafts may take
    const int k = static_cast<int>(std::min<int64_t>({s.spec_k, left, room}));
    if (k <= 0) continue;
    room -= k;
    DraftRequest r;
    r.seq = s.seq;
    r.tokens = &s.tokens;
    r.k = k;
    reqs.push_back(std::move(r));
    of.push_back(&s);
  }
  if (reqs.empty()) return;
  if (!drafter_->Propose(reqs, pool_).ok()) return;  // no drafts this step; decoding goes on
  const int64_t n_vocab = model_.info().n_vocab;
  for (size_t i = 0; i < reqs.size(); ++i) {
    std::vector<int32_t>& d = reqs[i].draft;
    if (static_cast<int>(d.size()) > reqs[i].k) d.resize(static_cast<size_t>(reqs[i].k));
    const auto bad = std::find_if(d.begin(), d.end(), [&](int32_t t) { return t < 0 || t >= n_vocab; });
    d.erase(bad, d.end());
    gate_.drafted = gate_.drafted || !d.empty();
    of[i]->draft = std::move(d);
  }
}

bool Scheduler::Step() {
  Admit();
  for (auto& s : active_)
    if (s->handle->cancelled()) Retire(*s, FinishReason::kCancelled);
  std::erase_if(active_, [](const auto& s) { return s->done; });
  if (active_.empty()) {
    PublishStats();
    return false;
  }
  const auto t_start = std::chrono::steady_clock::now();
  Propose();

  // Decoding sequences first (one token each, and their drafts), then prompt chunks.
  // Per active sequence, in step_ so that a decode step allocates nothing.
  const size_t n_active = active_.size();
  auto& fed = step_.fed;
  fed.assign(n_active, 0);
  int64_t n_batch = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    Seq& s = *active_[i];
    if (s.n_computed >= s.n_prompt) fed[i] = 1 + static_cast<int64_t>(s.draft.size()), n_batch += fed[i];
  }
  for (size_t i = 0; i < active_.size(); ++i) {
    Seq& s = *active_[i];
    if (s.n_computed >= s.n_prompt) continue;
    const int64_t room = opts_.max_batch_tokens - n_batch;
    if (room <= 0) break;
    fed[i] = std::min(room, s.n_prompt - s.n_computed);
    n_batch += fed[i];
  }
  int64_t need_blocks = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    const Seq& s = *active_[i];
    if (fed[i])
      need_blocks += std::max<int64_t>(
          0, BlocksFor(s.n_computed + fed[i]) - static_cast<int64_t>(cache_.Blocks(s.seq).size()));
  }
  // Admission committed every block a sequence can need (drafts stay within
  // max_total), so this only fails if that accounting is broken.
  Status st = EnsureFree(need_blocks) ? Status::Ok() : Status::Internal("KV cache accounting: no free block");
  batch_.Clear();
  auto& first_row = step_.first_row;
  auto& first_tok = step_.first_tok;
  first_row.assign(n_active, -1);
  first_tok.assign(n_active, 0);
  int64_t n_rows = 0;
  for (size_t i = 0; i < active_.size() && st.ok(); ++i) {
    Seq& s = *active_[i];
    if (!fed[i]) continue;
    st = cache_.Reserve(s.seq, s.n_computed + fed[i]);
    first_tok[i] = batch_.size();
    if (s.n_computed >= s.n_prompt) {  // the next token, then the drafts: every row is verified
      first_row[i] = n_rows;
      batch_.Add(s.tokens[static_cast<size_t>(s.n_computed)], static_cast<int32_t>(s.n_computed), s.seq, true);
      for (size_t d = 0; d < s.draft.size(); ++d)
        batch_.Add(s.draft[d], static_cast<int32_t>(s.n_computed + 1 + static_cast<int64_t>(d)), s.seq, true);
      n_rows += fed[i];
      continue;
    }
    const int64_t end = s.n_computed + fed[i];
    for (int64_t p = s.n_computed; p < end; ++p) {
      const bool last = p + 1 == static_cast<int64_t>(s.tokens.size());
      batch_.Add(s.tokens[static_cast<size_t>(p)], static_cast<int32_t>(p), s.seq, last);
      if (last) first_row[i] = n_rows++;
    }
  }
  const int64_t n_vocab = model_.info().n_vocab, n_embd = model_.info().n_embd;
  const bool want_hidden = drafter_ && drafter_->wants_hidden();
  if (st.ok()) {
    logits_.resize(static_cast<size_t>(batch_.n_outputs() * n_vocab));
    if (want_hidden) {
      hidden_.resize(static_cast<size_t>(batch_.size() * n_embd));
      st = model_.ForwardHidden(batch_, cache_, logits_.data(), hidden_.data(), pool_);
    } else {
      st = model_.Forward(batch_, cache_, logits_.data(), pool_);
    }
  }
  if (!st.ok()) {
    for (auto& s : active_) Retire(*s, FinishReason::kError, st);
    std::erase_if(active_, [](const auto& s) { return s->done; });
    PublishStats();
    return true;
  }
  int64_t computed = 0;
  auto& used = step_.used;  // rows verified (decoding) or tokens fed (prefill)
  auto& before = step_.before;
  auto& picking = step_.picking;  // sequences with logits rows
  used.assign(n_active, 0);
  before.assign(n_active, 0);
  picking.clear();
  for (size_t i = 0; i < active_.size(); ++i) {
    Seq& s = *active_[i];
    before[i] = s.n_computed;
    if (!fed[i]) continue;
    if (s.n_computed < s.n_prompt) {  // a prompt chunk: all of it is computed
      s.n_computed += fed[i];
      computed += fed[i];
      used[i] = fed[i];
      if (s.n_computed == s.n_prompt && opts_.prefix_cache) prefix_.Insert(s.tokens, s.n_prompt, cache_.Blocks(s.seq));
    }
    if (first_row[i] >= 0) picking.push_back(i);
  }
  // Sampling and verification are per sequence (own sampler and RNG), so
  // sequences run in parallel; with a 150k vocabulary each row sorts its
  // candidates.
  auto& pushed = step_.pushed;
  pushed.assign(n_active, 0);
  pool_.ParallelFor(static_cast<int64_t>(picking.size()), [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const size_t i = picking[static_cast<size_t>(r)];
      Seq& s = *active_[i];
      const float* rows = logits_.data() + first_row[i] * n_vocab;
      const int64_t before_gen = s.n_generated;
      if (before[i] >= s.n_prompt) {
        used[i] = Verify(s, rows, fed[i]);
        s.n_computed += used[i];
      } else {
        Advance(s, Pick(s, rows));
      }
      pushed[i] = s.n_generated - before_gen;
    }
  });
  int64_t generated = 0, drafted = 0, accepted = 0, spec_steps = 0, grammar_ns = 0, grammar_tokens = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    Seq& s = *active_[i];
    generated += pushed[i];
    grammar_ns += std::exchange(s.grammar_ns, 0);
    grammar_tokens += std::exchange(s.grammar_tokens, 0);
    if (!s.draft.empty()) {
      const int64_t m = static_cast<int64_t>(s.draft.size()), a = std::max<int64_t>(0, used[i] - 1);
      drafted += m;
      accepted += a;
      ++spec_steps;
      s.drafted += m;
      s.accepted += a;
      s.handle->SetSpec(s.drafted, s.accepted);
      const double rate = static_cast<double>(a) / static_cast<double>(m);
      s.accept_avg = 0.7 * s.accept_avg + 0.3 * rate;
      if (opts_.spec.adaptive) {
        const double avg = std::min(s.accept_avg, 0.95);
        s.spec_k = std::clamp(static_cast<int>(std::ceil(avg / (1.0 - avg))), 1, std::clamp(opts_.spec.max_tokens, 1, 16));
      }
    }
    if (want_hidden && used[i] > 0)
      drafter_->Observe(s.seq, before[i], hidden_.data() + first_tok[i] * n_embd, used[i]);
    if (s.finish != FinishReason::kNone) {
      Retire(s, s.finish, s.error);
    } else if (!s.draft.empty()) {
      cache_.Truncate(s.seq, s.n_computed);  // the rejected drafts' blocks go back to the pool
    }
  }
  if (drafter_ && opts_.spec.auto_off && computed == 0 && generated > 0) {  // a decode-only step
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    const double rate = static_cast<double>(generated) / std::max(dt, 1e-9);
    double& avg = gate_.drafted ? gate_.spec_rate : gate_.plain_rate;
    avg = avg == 0 ? rate : 0.8 * avg + 0.2 * rate;
    if (gate_.spec_rate > 0 && gate_.plain_rate > 0) {
      if (gate_.spec_rate < gate_.plain_rate) {
        gate_.pause = gate_.pause == 0 ? opts_.spec.pause_steps : std::min<int64_t>(gate_.pause * 2, 16 * opts_.spec.pause_steps);
        gate_.paused_until = gate_.step + gate_.pause;
        gate_.spec_rate = 0;  // measured afresh when it resumes
      } else if (gate_.drafted) {
        gate_.pause = 0;  // speculation pays: the next loss starts the backoff again
      }
    }
  }
  std::erase_if(active_, [](const auto& s) { return s->done; });
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.steps += 1;
    stats_.prompt_tokens_computed += computed;
    stats_.generated_tokens += generated;
    stats_.draft_tokens += drafted;
    stats_.draft_accepted += accepted;
    stats_.spec_steps += spec_steps;
    stats_.grammar_ns += grammar_ns;
    stats_.grammar_tokens += grammar_tokens;
  }
  PublishStats();
  return true;
}

int64_t Scheduler::Verify(Seq& s, const float* logits, int64_t n_rows) {
  const int64_t n_vocab = model_.info().n_vocab;
  int64_t r = 0;
  while (r < n_rows) {
    TokenOutput out = Pick(s, logits + r * n_vocab);
    const int32_t token = out.token;
    ++r;
    if (!Advance(s, std::move(out))) break;
    // Row r was fed draft r − 1; its logits count only if that draft is the token just picked.
    if (r == n_rows || token != s.draft[static_cast<size_t>(r - 1)]) break;
  }
  return r;
}

TokenOutput Scheduler::Pick(Seq& s, const float* logits) const {
  const GenerationParams& p = s.params;
  const int64_t n_vocab = model_.info().n_vocab;
  TokenOutput out;
  if (s.think.has_forced()) {
    out.token = s.think.PopForced();
    out.forced = true;
  } else if (p.constraint && !s.think.thinking()) {
    const auto t0 = std::chrono::steady_clock::now();
    auto mask = p.constraint->Mask(s.grammar_state);
    s.masked.assign(logits, logits + n_vocab);
    const int64_t n_mask = static_cast<int64_t>(mask->size()) * 64;
    bool any = false;
    for (int64_t v = 0; v < n_vocab; ++v) {
      if (v < n_mask && grammar::MaskHas(*mask, static_cast<int32_t>(v)))
        any = true;
      else
        s.masked[static_cast<size_t>(v)] = -std::numeric_limits<float>::infinity();
    }
    s.grammar_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    ++s.grammar_tokens;
    // No token can continue (a grammar needing bytes this vocabulary cannot
    // spell): the end token, and Advance reports the error.
    out.token = any ? s.sampler->Sample(s.masked.data(), n_vocab) : (opts_.eos_tokens.empty() ? 0 : opts_.eos_tokens[0]);
  } else {
    out.token = s.sampler->Sample(logits, n_vocab);
  }
  s.sampler->Accept(out.token);
  if (p.logprobs) {
    float mx = logits[0];
    for (int64_t v = 1; v < n_vocab; ++v) mx = std::max(mx, logits[v]);
    const double sum = kernels::ExpShiftSum(logits, n_vocab, mx, 1.0f, nullptr);  // float exp, double sum
    const float lse = mx + static_cast<float>(std::log(sum));
    out.logprob = logits[out.token] - lse;
    const int k = std::clamp<int>(p.top_logprobs, 0, static_cast<int>(std::min<int64_t>(n_vocab, 20)));
    if (k > 0) {
      std::vector<int32_t> ids(static_cast<size_t>(n_vocab));
      for (int64_t v = 0; v < n_vocab; ++v) ids[static_cast<size_t>(v)] = static_cast<int32_t>(v);
      std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
      });
      for (int i = 0; i < k; ++i) {
        const int32_t id = ids[static_cast<size_t>(i)];
        out.top.emplace_back(id, logits[id] - lse);
      }
    }
  }
  return out;
}

bool Scheduler::Advance(Seq& s, TokenOutput out) {
  const GenerationParams& p = s.params;
  ++s.n_generated;
  const bool stop = !out.forced && ((!p.ignore_eos && std::find(opts_.eos_tokens.begin(), opts_.eos_tokens.end(),
                                                                 out.token) != opts_.eos_tokens.end()) ||
                                    std::find(p.stop_tokens.begin(), p.stop_tokens.end(), out.token) !=
                                        p.stop_tokens.end());
  const bool constrained = p.constraint && !out.forced && !s.think.thinking();
  if (stop) {
    s.finish = FinishReason::kStop;
    if (constrained && !p.constraint->Accepting(s.grammar_state)) {
      s.finish = FinishReason::kError;
      s.error = Status::FailedPrecondition("constrained decoding: no token of the vocabulary can continue the grammar");
    }
    return false;
  }
  if (constrained) {
    const auto t0 = std::chrono::steady_clock::now();
    s.grammar_state = p.constraint->AdvanceToken(s.grammar_state, out.token);
    s.grammar_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
    if (s.grammar_state == grammar::Matcher::kDead) {
      s.finish = FinishReason::kError;
      s.error = Status::Internal("constrained decoding: a token outside the grammar was picked");
      return false;
    }
  }
  out.channel = s.think.Next(out.token, out.forced);
  s.tokens.push_back(out.token);
  s.handle->Push(out, s.n_generated, s.think.reasoning_tokens());
  if (static_cast<int64_t>(s.tokens.size()) >= s.max_total) {
    s.finish = FinishReason::kLength;
    return false;
  }
  return true;
}

void Scheduler::PublishStats() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.queued = static_cast<int64_t>(queue_.size());
  stats_.active = static_cast<int64_t>(active_.size());
  stats_.kv_blocks_total = cache_.blocks_total();
  stats_.kv_blocks_used = cache_.blocks_in_use();
  stats_.kv_blocks_cached = prefix_.n_entries();
  stats_.kv_blocks_evictable = prefix_.n_evictable();
  stats_.kv_seqs = cache_.n_seqs();
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Scheduler::Loop() {
  std::chrono::steady_clock::time_point deadline{};
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return exit_ || stopping_ || !queue_.empty() || !active_.empty(); });
      if (exit_) break;
      if (stopping_) {
        deadline = deadline_;
        if (queue_.empty() && active_.empty()) break;
        if (std::chrono::steady_clock::now() >= deadline) {
          for (auto& s : queue_) s->handle->Cancel();
          for (auto& s : active_) s->handle->Cancel();
        }
      }
    }
    Step();
  }
}

void Scheduler::Shutdown(std::chrono::steady_clock::time_point deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    deadline_ = deadline;
    if (!thread_.joinable()) exit_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace r1
