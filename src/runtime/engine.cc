#include "runtime/engine.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <system_error>
#include <cstdio>

namespace r1 {

bool RepackFits(uint64_t model_bytes, uint64_t ram_bytes) {
  return ram_bytes == 0 || model_bytes <= ram_bytes / 4 * 3;
}

uint64_t PhysicalMemoryBytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) : 0;
}

StatusOr<std::unique_ptr<Engine>> Engine::Load(const EngineOptions& opts) {
  if (opts.ctx_size < 0 || opts.kv_tokens < 0 || opts.batch_size < 1 || opts.max_queue < 0)
    return Status::InvalidArgument("engine options: ctx_size " + std::to_string(opts.ctx_size) + ", kv_tokens " +
                                   std::to_string(opts.kv_tokens) + ", batch_size " + std::to_string(opts.batch_size) +
                                   ", max_queue " + std::to_string(opts.max_queue) + " (none may be negative)");
  auto e = std::unique_ptr<Engine>(new Engine());
  e->opts_ = opts;
  auto t0 = std::chrono::steady_clock::now();
  auto file = gguf::File::Open(opts.model_path);
  if (!file.ok()) return file.status();
  e->file_ = std::move(*file);
  if (opts.threads < 0 || opts.threads > 1024)
    return Status::InvalidArgument("threads: " + std::to_string(opts.threads) + " is outside 0..1024");
  try {
    e->pool_ = std::make_unique<ThreadPool>(opts.threads);
  } catch (const std::system_error& err) {
    return Status::ResourceExhausted("threads: cannot start " + std::to_string(opts.threads) + " threads (" +
                                     err.what() + ")");
  }
  LoadOptions lo = opts.load;
  lo.verbose = opts.verbose;
  if (const uint64_t ram = PhysicalMemoryBytes(); lo.repack && !RepackFits(e->file_->file_size(), ram)) {
    lo.repack = false;
    if (opts.verbose)
      std::fprintf(stderr, "r1: %s is %.1f GiB, over 3/4 of this machine's %.1f GiB of RAM: its weights stay "
                   "mmapped and are not repacked\n", opts.model_path.c_str(),
                   static_cast<double>(e->file_->file_size()) / (1 << 30), static_cast<double>(ram) / (1 << 30));
  }
  lo.pool = e->pool_.get();
  auto model = LoadModel(*e->file_, lo);
  if (!model.ok()) return model.status();
  e->model_ = std::move(*model);
  auto tok = Tokenizer::FromGguf(*e->file_);
  if (!tok.ok()) return tok.status().WithContext("tokenizer");
  e->tokenizer_ = std::move(*tok);
  const std::string& source = e->tokenizer_->chat_template();
  if (!source.empty()) {
    auto tmpl = chat::ChatTemplate::Parse(source);
    if (tmpl.ok()) {
      e->template_ = std::move(*tmpl);
    } else if (opts.verbose) {
      std::fprintf(stderr, "r1: the model's chat template does not parse (%s); using the built-in R1 format\n",
                   tmpl.status().ToString().c_str());
    }
  }
  if (!e->template_) e->template_ = chat::ChatTemplate::DefaultR1();

  const ModelInfo& info = e->model_->info();
  if (opts.n_seqs < 1) return Status::InvalidArgument("--parallel must be at least 1");
  e->ctx_size_ = opts.ctx_size > 0 ? opts.ctx_size : std::min<int64_t>(info.n_ctx_train > 0 ? info.n_ctx_train : 4096, 4096);
  const int64_t kv_tokens = opts.kv_tokens > 0 ? opts.kv_tokens : e->ctx_size_ * opts.n_seqs;
  KvCacheConfig kv = info.kv;
  kv.block_size = 16;  // tokens per KV block: the prefix cache's granularity
  kv.n_blocks = (kv_tokens + kv.block_size - 1) / kv.block_size;
  kv.type = opts.kv_type;
  R1_RETURN_IF_ERROR(ValidateKvConfig(kv));
  e->cache_ = std::make_unique<KvCache>(kv);
  if (opts.verbose) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr,
                 "r1: loaded %s (%s, %d layers, n_embd %lld, vocab %lld, trained context %lld) in %.0f ms: weights "
                 "%.2f GiB (mmapped), KV %.1f KiB/token (%s), KV cache %.1f MiB for %lld tokens, %d threads\n",
                 opts.model_path.c_str(), info.arch.c_str(), info.n_layer, static_cast<long long>(info.n_embd),
                 static_cast<long long>(info.n_vocab), static_cast<long long>(info.n_ctx_train), ms,
                 static_cast<double>(info.weight_bytes) / (1 << 30),
                 static_cast<double>(e->cache_->bytes_per_token()) / 1024, KvTypeName(kv.type),
                 static_cast<double>(e->cache_->bytes_allocated()) / (1 << 20),
                 static_cast<long long>(kv.n_blocks * kv.block_size), e->pool_->size());
    if (info.packed_bytes > 0)
      std::fprintf(stderr, "r1: repacked %.2f GiB of weights for the kernels in %.2f s (--no-repack to skip)\n",
                   static_cast<double>(info.packed_bytes) / (1 << 30), info.pack_seconds);
  }
  return e;
}

Engine::~Engine() {
  if (scheduler_) scheduler_->Shutdown(std::chrono::steady_clock::now());
  scheduler_.reset();
}

Scheduler& Engine::scheduler() {
  if (scheduler_) return *scheduler_;
  const Tokenizer& t = *tokenizer_;
  SchedulerOptions so;
  so.max_seqs = opts_.n_seqs;
  so.ctx_size = ctx_size_;
  so.max_batch_tokens = opts_.batch_size;
  so.max_queue = opts_.max_queue;
  so.prefix_cache = opts_.prefix_cache;
  if (t.eos_id() >= 0) so.eos_tokens.push_back(t.eos_id());
  if (t.eot_id() && *t.eot_id() != t.eos_id()) so.eos_tokens.push_back(*t.eot_id());
  so.thinking.start_id = t.FindToken("<think>").value_or(-1);
  so.thinking.end_id = t.FindToken("</think>").value_or(-1);
  if (so.thinking.enabled()) {
    so.thinking.budget_close = t.Encode(chat::kBudgetCloseText, /*parse_special=*/true);
    so.thinking.empty_close = t.Encode(chat::kEmptyThoughtCloseText, /*parse_special=*/true);
  }
  scheduler_ = std::make_unique<Scheduler>(*model_, *cache_, *pool_, so);
  scheduler_->Start();
  return *scheduler_;
}

int64_t Engine::Length(int seq) const {
  return seq >= 0 && seq < static_cast<int>(lengths_.size()) ? lengths_[static_cast<size_t>(seq)] : 0;
}

void Engine::Reset(int seq) {
  cache_->Free(seq);
  if (seq >= 0 && seq < static_cast<int>(lengths_.size())) lengths_[static_cast<size_t>(seq)] = 0;
}

Status Engine::Append(int seq, const std::vector<int32_t>& tokens, std::vector<float>* logits,
                      std::vector<float>* all_logits) {
  if (seq < 0) return Status::InvalidArgument("negative sequence id");
  if (seq >= static_cast<int>(lengths_.size())) lengths_.resize(static_cast<size_t>(seq) + 1, 0);
  int64_t& len = lengths_[static_cast<size_t>(seq)];
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) return Status::Ok();
  const int64_t n_vocab = info().n_vocab;
  Status st = cache_->Reserve(seq, len + n);
  if (!st.ok())
    return Status::OutOfRange("context full: " + std::to_string(len + n) + " tokens do not fit in the KV cache of " +
                              std::to_string(cache_->blocks_total() * cache_->config().block_size) +
                              " tokens (raise --ctx-size)");
  if (all_logits) all_logits->resize(static_cast<size_t>(n * n_vocab));
  std::vector<float> out;
  Batch batch;
  for (int64_t start = 0; start < n; start += opts_.batch_size) {
    const int64_t end = std::min(n, start + opts_.batch_size);
    batch.Clear();
    for (int64_t i = start; i < end; ++i)
      batch.Add(tokens[static_cast<size_t>(i)], static_cast<int32_t>(len + i), seq,
                all_logits != nullptr || (logits != nullptr && i == n - 1));
    out.resize(static_cast<size_t>(batch.n_outputs() * n_vocab));
    R1_RETURN_IF_ERROR(model_->Forward(batch, *cache_, out.data(), *pool_));
    if (all_logits) std::copy(out.begin(), out.end(), all_logits->begin() + start * n_vocab);
    if (logits && end == n) logits->assign(out.end() - n_vocab, out.end());
  }
  len += n;
  return Status::Ok();
}

}  // namespace r1
