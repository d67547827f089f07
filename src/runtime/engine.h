// A loaded model and everything that runs it: the GGUF file (read once), the
// model, its tokenizer and chat template, the thread pool, the KV cache and
// the scheduler. Every frontend (run, chat, eval, serve) generates through
// scheduler(); logits and bench also drive the model directly with Append.
#pragma once

#include <list>
#include <mutex>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "models/model.h"
#include "models/kv_cache.h"
#include "runtime/scheduler.h"
#include "runtime/speculative.h"
#include "tokenizer/tokenizer.h"

namespace r1 {

struct EngineOptions {
  std::string model_path;
  int threads = 0;          // 0: physical cores
  int n_seqs = 1;           // concurrent sequences of the scheduler (--parallel)
  int64_t ctx_size = 0;     // tokens per sequence; 0: min(trained context, 4096)
  int64_t kv_tokens = 0;    // KV cache tokens over all sequences; 0: ctx_size × n_seqs
  int64_t batch_size = 512; // tokens per forward pass (prefill chunk)
  int64_t max_queue = 64;   // waiting requests before ResourceExhausted
  bool prefix_cache = true;
  KvType kv_type = KvType::kF16;  // KV cache element type (q8_0: half the memory)
  bool verbose = true;      // load log on stderr
  LoadOptions load;         // repack, MLA mode, routing groups (its pool and verbose are set by Load)
  // Speculative decoding (--spec, --spec-tokens); kDraft loads draft_model
  // (--draft-model), which must share the model's vocabulary.
  SpecOptions spec;
  std::string draft_model;
};

// The draft model must tokenize as the target: the same token bytes and end
// token; the vocabularies' sizes may differ by padding (up to 128 ids, whose
// drafts are never proposed). InvalidArgument naming the
// first difference otherwise.
Status CheckDraftVocabulary(const Tokenizer& target, const Tokenizer& draft, const std::string& draft_path);

// Whether repacking (a copy of the weights in anonymous memory; the mmapped
// pages are dropped afterwards) fits: the model must take at most 3/4 of the
// machine's RAM. Larger models stay mmapped as they are and run through the
// page cache, even when they exceed RAM.
bool RepackFits(uint64_t model_bytes, uint64_t ram_bytes);
uint64_t PhysicalMemoryBytes();  // 0 when unknown

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Load(const EngineOptions& opts);
  ~Engine();

  Model& model() { return *model_; }
  const ModelInfo& info() const { return model_->info(); }
  const gguf::File& file() const { return *file_; }
  KvCache& cache() { return *cache_; }
  ThreadPool& pool() { return *pool_; }
  const EngineOptions& options() const { return opts_; }
  Drafter* drafter() { return drafter_.get(); }  // null without --spec

  // What the frontends need from the file.
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  // The model's chat template, or the built-in R1 one when it has none or
  // it does not parse (the load log says which).
  const chat::ChatTemplate& chat_template() const { return *template_; }
  int64_t ctx_size() const { return ctx_size_; }          // tokens per sequence
  int64_t n_ctx_train() const { return info().n_ctx_train; }

  // The one way to generate. Its step thread starts on first use. Sequence
  // ids of the KV cache belong to it from then on (do not mix with Append).
  Scheduler& scheduler();

  // A matcher for a GBNF grammar over this model's vocabulary (the vocabulary
  // trie is built on first use). Matchers, and the token masks they cache,
  // are kept for the 32 most recent grammars, so requests with the same
  // schema share them. InvalidArgument when the grammar does not parse.
  StatusOr<std::shared_ptr<grammar::Matcher>> Constraint(const std::string& gbnf);

  // Appends `tokens` to sequence `seq` (positions continue after what it
  // holds), in chunks of batch_size. If `logits` is non-null it receives the
  // last token's logits (n_vocab). If `all_logits` is non-null it receives
  // every token's logits, row-major [n, n_vocab]. For logits and benchmarks.
  Status Append(int seq, const std::vector<int32_t>& tokens, std::vector<float>* logits,
                std::vector<float>* all_logits = nullptr);
  int64_t Length(int seq) const;
  void Reset(int seq);

 private:
  Engine() = default;

  EngineOptions opts_;
  std::unique_ptr<gguf::File> file_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::optional<chat::ChatTemplate> template_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<KvCache> cache_;
  // Speculative decoding: the draft model (kDraft) and the drafter.
  std::unique_ptr<gguf::File> draft_file_;
  std::unique_ptr<Model> draft_model_;
  std::unique_ptr<Drafter> drafter_;
  std::unique_ptr<Scheduler> scheduler_;
  int64_t ctx_size_ = 0;
  std::vector<int64_t> lengths_;  // per sequence id (Append)
  std::mutex grammar_mu_;
  std::shared_ptr<const grammar::TokenTrie> trie_;  // GUARDED_BY(grammar_mu_)
  std::list<std::pair<std::string, std::shared_ptr<grammar::Matcher>>> matchers_;  // GUARDED_BY(grammar_mu_), newest first
};

}  // namespace r1
