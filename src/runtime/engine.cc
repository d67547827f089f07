#include "runtime/engine.h"
#include "runtime/hf_model.h"
#include "runtime/pipeline.h"

#include <signal.h>

#include <unordered_set>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
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

Status CheckDraftVocabulary(const Tokenizer& target, const Tokenizer& draft, const std::string& draft_path) {
  const std::string where = "--draft-model " + draft_path + ": ";
  // Padded vocabularies (the 1.5B distill's 151,936 against the 7B's 152,064)
  // differ only past the real tokens; llama.cpp allows 128 ids of slack too.
  if (std::abs(target.n_vocab() - draft.n_vocab()) > 128)
    return Status::InvalidArgument(where + "its vocabulary has " + std::to_string(draft.n_vocab()) +
                                   " tokens, the model's " + std::to_string(target.n_vocab()) +
                                   " (a draft model must share the model's tokenizer)");
  for (int32_t id = 0; id < std::min(target.n_vocab(), draft.n_vocab()); ++id)
    if (target.TokenBytes(id) != draft.TokenBytes(id))
      return Status::InvalidArgument(where + "token " + std::to_string(id) + " differs from the model's (a draft "
                                     "model must share the model's tokenizer)");
  if (target.eos_id() != draft.eos_id())
    return Status::InvalidArgument(where + "its end-of-sequence token " + std::to_string(draft.eos_id()) +
                                   " is not the model's " + std::to_string(target.eos_id()));
  return Status::Ok();
}

StatusOr<std::unique_ptr<Engine>> Engine::Load(const EngineOptions& opts) {
  if (opts.ctx_size < 0 || opts.kv_tokens < 0 || opts.batch_size < 1 || opts.max_queue < 0)
    return Status::InvalidArgument("engine options: ctx_size " + std::to_string(opts.ctx_size) + ", kv_tokens " +
                                   std::to_string(opts.kv_tokens) + ", batch_size " + std::to_string(opts.batch_size) +
                                   ", max_queue " + std::to_string(opts.max_queue) + " (none may be negative)");
  auto e = std::unique_ptr<Engine>(new Engine());
  e->opts_ = opts;
  auto t0 = std::chrono::steady_clock::now();
  auto file = OpenModelFile(opts.model_path);
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
  // Pipeline parallelism (runtime/pipeline.h): this rank's stage only.
  std::unique_ptr<dist::Transport> transport;
  std::vector<StageOptions> stages;
  if (const int launched = dist::LaunchedWorldSize(); lo.pipeline > 1 || launched > 1) {
    if (lo.pipeline <= 1)
      return Status::InvalidArgument("this process was started by mpirun with " + std::to_string(launched) +
                                     " ranks: pass --pipeline " + std::to_string(launched) +
                                     " to split the model over them");
    if (opts.spec.method != SpecMethod::kOff)
      return Status::Unimplemented("--spec with --pipeline: speculative decoding does not run over a pipeline yet");
    auto t = dist::ConnectMpi();
    if (!t.ok()) return t.status();
    transport = std::move(*t);
    if (transport->size() != lo.pipeline)
      return Status::InvalidArgument("--pipeline " + std::to_string(lo.pipeline) + ", but the MPI job has " +
                                     std::to_string(transport->size()) + " ranks (mpirun -np " +
                                     std::to_string(lo.pipeline) + ")");
    auto plan = PlanStages(*e->file_, lo.pipeline, lo.stage_layers);
    if (!plan.ok()) return plan.status();
    stages = std::move(*plan);
    lo.stage = stages[static_cast<size_t>(transport->rank())];
    if (transport->rank() != 0) lo.verbose = false;
  }
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
  if (transport) {
    const int rank = transport->rank(), n_layer = LayerCount(*e->file_);
    if (opts.verbose)
      std::fprintf(stderr, "r1: rank %d of %d (pid %d): stage %d, %s%s, %.1f MiB of weights\n", rank,
                   transport->size(), static_cast<int>(::getpid()), rank, StageName(lo.stage, n_layer).c_str(),
                   lo.stage.head ? " and the head" : rank == 0 ? " and the embeddings" : "",
                   static_cast<double>(StageBytes(*e->file_, lo.stage, n_layer)) / (1 << 20));
    if (rank != 0) {
      // A stage serves rank 0's batches until rank 0 shuts the job down; it
      // never returns to the command that loaded it. SIGTERM (mpirun passes
      // it to every rank) leaves rank 0 time to send the shutdown.
      struct sigaction sa = {};
      sa.sa_handler = [](int) { dist::RequestStop(); };
      sigaction(SIGTERM, &sa, nullptr);
      sigaction(SIGINT, &sa, nullptr);
      const Status st = RunPipelineStage(*transport, *e->model_, *e->cache_, *e->pool_, lo.stage, info.n_embd,
                                         info.n_vocab);
      if (!st.ok()) {
        std::fprintf(stderr, "r1: %s\n", st.ToString().c_str());
        std::fflush(nullptr);
        transport->Abort(1);
      }
      transport.reset();  // MPI_Finalize
      std::fflush(nullptr);
      std::exit(0);
    }
    auto pm = std::make_unique<PipelineModel>(std::move(e->model_), std::move(transport), stages, n_layer,
                                              lo.stage_timeout_s, opts.verbose);
    pm->Attach(*e->cache_);
    e->model_ = std::move(pm);
  }

  const SpecOptions& spec = opts.spec;
  if (spec.max_tokens < 1 || spec.max_tokens > 16)
    return Status::InvalidArgument("--spec-tokens: " + std::to_string(spec.max_tokens) + " is outside 1..16");
  if (spec.method != SpecMethod::kDraft && !opts.draft_model.empty())
    return Status::InvalidArgument("--draft-model needs --spec draft");
  // Draft caches: every sequence's tokens plus its drafts.
  const int64_t draft_tokens = kv.n_blocks * kv.block_size + opts.n_seqs * (spec.max_tokens + 2 * kv.block_size);
  switch (spec.method) {
    case SpecMethod::kOff:
      break;
    case SpecMethod::kNgram:
      e->drafter_ = std::make_unique<NgramDrafter>(spec);
      break;
    case SpecMethod::kMtp: {
      auto d = MtpDrafter::Create(*e->model_, draft_tokens, opts.kv_type, opts.batch_size);
      if (!d.ok()) return d.status();
      e->drafter_ = std::move(*d);
      break;
    }
    case SpecMethod::kDraft: {
      if (opts.draft_model.empty()) return Status::InvalidArgument("--spec draft needs --draft-model FILE");
      auto df = OpenModelFile(opts.draft_model);
      if (!df.ok()) return df.status().WithContext("--draft-model");
      e->draft_file_ = std::move(*df);
      LoadOptions dlo = lo;
      dlo.verbose = false;
      auto dm = LoadModel(*e->draft_file_, dlo);
      if (!dm.ok()) return dm.status().WithContext("--draft-model");
      e->draft_model_ = std::move(*dm);
      auto dt = Tokenizer::FromGguf(*e->draft_file_);
      if (!dt.ok()) return dt.status().WithContext("--draft-model " + opts.draft_model + ": tokenizer");
      R1_RETURN_IF_ERROR(CheckDraftVocabulary(*e->tokenizer_, **dt, opts.draft_model));
      auto d = ModelDrafter::Create(*e->draft_model_, draft_tokens, opts.kv_type, info.n_vocab, opts.batch_size);
      if (!d.ok()) return d.status();
      e->drafter_ = std::move(*d);
      if (opts.verbose)
        std::fprintf(stderr, "r1: draft model %s (%s, %d layers, %.2f GiB)\n", opts.draft_model.c_str(),
                     e->draft_model_->info().arch.c_str(), e->draft_model_->info().n_layer,
                     static_cast<double>(e->draft_model_->info().weight_bytes) / (1 << 30));
      break;
    }
  }
  if (opts.verbose && e->drafter_)
    std::fprintf(stderr, "r1: speculative decoding: %s, up to %d draft tokens per step\n",
                 SpecMethodName(spec.method), spec.max_tokens);
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
  so.spec = opts_.spec;
  scheduler_ = std::make_unique<Scheduler>(*model_, *cache_, *pool_, so, drafter_.get());
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

StatusOr<std::shared_ptr<grammar::Matcher>> Engine::Constraint(const std::string& gbnf) {
  std::lock_guard<std::mutex> lock(grammar_mu_);
  for (auto it = matchers_.begin(); it != matchers_.end(); ++it) {
    if (it->first == gbnf) {
      matchers_.splice(matchers_.begin(), matchers_, it);
      return matchers_.front().second;
    }
  }
  auto g = grammar::ParseGbnf(gbnf);
  if (!g.ok()) return g.status();
  if (!trie_) {
    const Tokenizer& t = *tokenizer_;
    grammar::Vocab v;
    const int32_t n = std::max<int32_t>(t.n_vocab(), static_cast<int32_t>(info().n_vocab));
    v.bytes.resize(static_cast<size_t>(n));
    v.control.assign(static_cast<size_t>(n), false);
    // Added tokens (tool-call markers, <think>) count as control tokens too,
    // control or not in the file: the grammar admits them only where a
    // literal spells them, never as a JSON string's characters.
    std::unordered_set<std::string> added(t.SpecialTokenTexts().begin(), t.SpecialTokenTexts().end());
    for (int32_t id = 0; id < t.n_vocab(); ++id) {
      v.bytes[static_cast<size_t>(id)] = t.TokenBytes(id);
      v.control[static_cast<size_t>(id)] = t.IsControl(id) || added.count(v.bytes[static_cast<size_t>(id)]) > 0;
    }
    if (t.eos_id() >= 0) v.eos.push_back(t.eos_id());
    if (t.eot_id() && *t.eot_id() != t.eos_id()) v.eos.push_back(*t.eot_id());
    trie_ = std::make_shared<grammar::TokenTrie>(v);
  }
  auto m = std::make_shared<grammar::Matcher>(*g, trie_);
  matchers_.emplace_front(gbnf, m);
  if (matchers_.size() > 32) matchers_.pop_back();
  return m;
}

}  // namespace r1
