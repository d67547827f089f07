#include "runtime/speculative.h"

#include <algorithm>

namespace r1 {
namespace {

// The first maximum (ties go to the lower id), as the greedy sampler picks.
int32_t Argmax(const float* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

StatusOr<std::unique_ptr<KvCache>> DraftCache(KvCacheConfig cfg, int64_t kv_tokens, KvType type) {
  cfg.block_size = 16;
  cfg.n_blocks = (std::max<int64_t>(kv_tokens, 1) + cfg.block_size - 1) / cfg.block_size;
  cfg.type = type;
  R1_RETURN_IF_ERROR(ValidateKvConfig(cfg));
  return KvCache::Create(cfg);
}

}  // namespace

StatusOr<SpecMethod> ParseSpecMethod(const std::string& name) {
  if (name == "off" || name == "none") return SpecMethod::kOff;
  if (name == "ngram") return SpecMethod::kNgram;
  if (name == "draft") return SpecMethod::kDraft;
  if (name == "mtp") return SpecMethod::kMtp;
  return Status::InvalidArgument("--spec: '" + name + "' is not one of mtp, draft, ngram, off");
}

const char* SpecMethodName(SpecMethod m) {
  switch (m) {
    case SpecMethod::kOff: return "off";
    case SpecMethod::kNgram: return "ngram";
    case SpecMethod::kDraft: return "draft";
    case SpecMethod::kMtp: return "mtp";
  }
  return "off";
}

// ---- n-gram -----------------------------------------------------------------

std::vector<int32_t> NgramDrafter::Lookup(const std::vector<int32_t>& tokens, int k, int n_min, int n_max) {
  const int64_t len = static_cast<int64_t>(tokens.size());
  for (int n = std::min<int64_t>(n_max, len - 1); n >= std::max(n_min, 1); --n) {
    const int32_t* suffix = tokens.data() + len - n;
    // The latest earlier occurrence: it starts at i < len − n.
    for (int64_t i = len - n - 1; i >= 0; --i) {
      if (!std::equal(suffix, suffix + n, tokens.data() + i)) continue;
      const int64_t from = i + n, to = std::min(len, from + k);
      return std::vector<int32_t>(tokens.begin() + from, tokens.begin() + to);
    }
  }
  return {};
}

Status NgramDrafter::Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) {
  pool.ParallelFor(static_cast<int64_t>(reqs.size()), [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      DraftRequest& r = reqs[static_cast<size_t>(i)];
      r.draft = r.k > 0 ? Lookup(*r.tokens, r.k, min_, max_) : std::vector<int32_t>{};
    }
  });
  return Status::Ok();
}

// ---- draft model ------------------------------------------------------------

StatusOr<std::unique_ptr<ModelDrafter>> ModelDrafter::Create(Model& model, int64_t kv_tokens, KvType kv_type,
                                                             int64_t n_vocab, int64_t max_batch_tokens) {
  auto cache = DraftCache(model.info().kv, kv_tokens, kv_type);
  if (!cache.ok()) return cache.status().WithContext("draft model KV cache");
  return std::unique_ptr<ModelDrafter>(
      new ModelDrafter(model, std::move(*cache), n_vocab, std::max<int64_t>(max_batch_tokens, 1)));
}

void ModelDrafter::Release(int seq) {
  cache_->Free(seq);
  fed_.erase(seq);
}

Status ModelDrafter::Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) {
  const int64_t nv = model_.info().n_vocab;
  // Per request: the next token index to feed, and whether it may go on.
  std::vector<size_t> next(reqs.size(), 0);
  std::vector<uint8_t> live(reqs.size(), 0);
  for (size_t i = 0; i < reqs.size(); ++i) {
    DraftRequest& r = reqs[i];
    r.draft.clear();
    if (r.k <= 0 || r.tokens->empty()) continue;
    std::vector<int32_t>& fed = fed_[r.seq];
    const auto mismatch = std::mismatch(fed.begin(), fed.end(), r.tokens->begin(), r.tokens->end());
    size_t c = static_cast<size_t>(mismatch.first - fed.begin());
    c = std::min(c, r.tokens->size() - 1);  // the last token is always fed: its logits give the first draft
    fed.resize(c);
    cache_->Truncate(r.seq, static_cast<int64_t>(c));
    next[i] = c;
    live[i] = 1;
  }
  Batch batch;
  std::vector<size_t> owner;  // request of each logits row
  auto run = [&]() -> Status {
    logits_.resize(static_cast<size_t>(batch.n_outputs() * nv));
    R1_RETURN_IF_ERROR(model_.Forward(batch, *cache_, logits_.data(), pool));
    for (size_t o = 0; o < owner.size(); ++o) {
      DraftRequest& r = reqs[owner[o]];
      const int32_t d = Argmax(logits_.data() + static_cast<int64_t>(o) * nv, nv);
      if (d >= n_vocab_) {
        live[owner[o]] = 0;  // outside the target's vocabulary (padding rows)
        continue;
      }
      r.draft.push_back(d);
      if (static_cast<int>(r.draft.size()) >= r.k) live[owner[o]] = 0;
    }
    return Status::Ok();
  };
  // Catch up on the accepted tokens, in chunks of max_batch_tokens.
  for (;;) {
    batch.Clear();
    owner.clear();
    int64_t budget = max_batch_tokens_;
    for (size_t i = 0; i < reqs.size() && budget > 0; ++i) {
      if (!live[i] || next[i] >= reqs[i].tokens->size()) continue;
      DraftRequest& r = reqs[i];
      const size_t n = std::min<size_t>(r.tokens->size() - next[i], static_cast<size_t>(budget));
      if (!cache_->Reserve(r.seq, static_cast<int64_t>(next[i] + n)).ok()) {
        live[i] = 0;  // no room in the draft cache: no draft this time
        continue;
      }
      std::vector<int32_t>& fed = fed_[r.seq];
      for (size_t j = next[i]; j < next[i] + n; ++j) {
        const bool last = j + 1 == r.tokens->size();
        batch.Add((*r.tokens)[j], static_cast<int32_t>(j), r.seq, last);
        fed.push_back((*r.tokens)[j]);
        if (last) owner.push_back(i);
      }
      next[i] += n;
      budget -= static_cast<int64_t>(n);
    }
    if (batch.size() == 0) break;
    R1_RETURN_IF_ERROR(run());
  }
  // Then one token per round, every drafting sequence in the same pass.
  for (;;) {
    batch.Clear();
    owner.clear();
    for (size_t i = 0; i < reqs.size(); ++i) {
      if (!live[i] || reqs[i].draft.empty()) continue;
      DraftRequest& r = reqs[i];
      std::vector<int32_t>& fed = fed_[r.seq];
      if (!cache_->Reserve(r.seq, static_cast<int64_t>(fed.size()) + 1).ok()) {
        live[i] = 0;
        continue;
      }
      batch.Add(r.draft.back(), static_cast<int32_t>(fed.size()), r.seq, true);
      fed.push_back(r.draft.back());
      owner.push_back(i);
    }
    if (batch.size() == 0) break;
    R1_RETURN_IF_ERROR(run());
  }
  return Status::Ok();
}

// ---- MTP --------------------------------------------------------------------

StatusOr<std::unique_ptr<MtpDrafter>> MtpDrafter::Create(Model& model, int64_t kv_tokens, KvType kv_type,
                                                         int64_t max_batch_tokens) {
  const KvCacheConfig cfg = model.mtp_kv();
  if (cfg.n_layer == 0)
    return Status::InvalidArgument("--spec mtp: the model (" + model.info().arch +
                                   ") has no MTP module; it needs a DeepSeek-V3/R1 file with nextn_predict_layers "
                                   "and its blk.N.nextn.* tensors (many converters drop them)");
  auto cache = DraftCache(cfg, kv_tokens, kv_type);
  if (!cache.ok()) return cache.status().WithContext("MTP KV cache");
  return std::unique_ptr<MtpDrafter>(new MtpDrafter(model, std::move(*cache), std::max<int64_t>(max_batch_tokens, 1)));
}

void MtpDrafter::Release(int seq) {
  cache_->Free(seq);
  state_.erase(seq);
}

void MtpDrafter::Observe(int seq, int64_t first_pos, const float* hidden, int64_t n_valid) {
  const int64_t E = model_.info().n_embd;
  State& st = state_[seq];
  if (st.start < 0 || first_pos != st.have) {  // the first rows, or a gap: start afresh here
    cache_->Free(seq);
    st = State{};
    st.start = st.done = st.have = first_pos;
  }
  st.hidden.insert(st.hidden.end(), hidden, hidden + n_valid * E);
  st.have += n_valid;
}

Status MtpDrafter::Propose(std::vector<DraftRequest>& reqs, ThreadPool& pool) {
  const int64_t E = model_.info().n_embd, nv = model_.info().n_vocab;
  // Catch-up rows t = done .. n−2: (hidden h_t, token t+1) at position t,
  // predicting token t+2; the last one's prediction is the first draft.
  std::vector<int64_t> next(reqs.size(), 0), end(reqs.size(), 0);
  std::vector<uint8_t> live(reqs.size(), 0);
  std::vector<std::vector<float>> g(reqs.size());  // each request's newest module output
  for (size_t i = 0; i < reqs.size(); ++i) {
    DraftRequest& r = reqs[i];
    r.draft.clear();
    auto it = state_.find(r.seq);
    if (r.k <= 0 || it == state_.end()) continue;
    const State& st = it->second;
    const int64_t n = static_cast<int64_t>(r.tokens->size());
    if (st.have != n - 1 || st.done >= n - 1) continue;  // no fresh hidden state to draft from
    next[i] = st.done;
    end[i] = n - 1;
    live[i] = 1;
  }
  Batch batch;
  std::vector<size_t> owner;
  auto run = [&]() -> Status {
    logits_.resize(static_cast<size_t>(batch.n_outputs() * nv));
    out_.resize(static_cast<size_t>(batch.size() * E));
    R1_RETURN_IF_ERROR(model_.ForwardMtp(batch, in_.data(), *cache_, logits_.data(), out_.data(), pool));
    int64_t o = 0;
    for (int64_t t = 0; t < batch.size(); ++t) {
      if (!batch.logits[t]) continue;
      const size_t i = owner[static_cast<size_t>(o)];
      DraftRequest& r = reqs[i];
      r.draft.push_back(Argmax(logits_.data() + o * nv, nv));
      g[i].assign(out_.begin() + t * E, out_.begin() + (t + 1) * E);
      if (static_cast<int>(r.draft.size()) >= r.k) live[i] = 0;
      ++o;
    }
    return Status::Ok();
  };
  for (;;) {
    batch.Clear();
    owner.clear();
    in_.clear();
    int64_t budget = max_batch_tokens_;
    for (size_t i = 0; i < reqs.size() && budget > 0; ++i) {
      if (!live[i] || next[i] >= end[i]) continue;
      DraftRequest& r = reqs[i];
      State& st = state_[r.seq];
      const int64_t n = std::min(end[i] - next[i], budget);
      if (!cache_->Reserve(r.seq, next[i] + n - st.start).ok()) {
        live[i] = 0;
        continue;
      }
      for (int64_t t = next[i]; t < next[i] + n; ++t) {
        const bool last = t + 1 == end[i];
        batch.Add((*r.tokens)[static_cast<size_t>(t + 1)], static_cast<int32_t>(t - st.start), r.seq, last);
        const float* h = st.hidden.data() + (t - st.done) * E;
        in_.insert(in_.end(), h, h + E);
        if (last) owner.push_back(i);
      }
      next[i] += n;
      budget -= n;
    }
    if (batch.size() == 0) break;
    R1_RETURN_IF_ERROR(run());
  }
  // The module's KV now covers every position with a true hidden state.
  for (size_t i = 0; i < reqs.size(); ++i) {
    if (end[i] == 0) continue;
    State& st = state_[reqs[i].seq];
    st.hidden.clear();
    st.done = st.have = end[i];
  }
  // Chained drafts: (own output, previous draft) at the following positions.
  // Their KV is provisional: the next catch-up overwrites it.
  for (;;) {
    batch.Clear();
    owner.clear();
    in_.clear();
    for (size_t i = 0; i < reqs.size(); ++i) {
      if (!live[i] || reqs[i].draft.empty()) continue;
      DraftRequest& r = reqs[i];
      const State& st = state_[r.seq];
      const int64_t pos = end[i] - 1 + static_cast<int64_t>(r.draft.size()) - st.start;  // local position
      if (!cache_->Reserve(r.seq, pos + 1).ok()) {
        live[i] = 0;
        continue;
      }
      batch.Add(r.draft.back(), static_cast<int32_t>(pos), r.seq, true);
      in_.insert(in_.end(), g[i].begin(), g[i].end());
      owner.push_back(i);
    }
    if (batch.size() == 0) break;
    R1_RETURN_IF_ERROR(run());
  }
  return Status::Ok();
}

}  // namespace r1
