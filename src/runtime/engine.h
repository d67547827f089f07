// A loaded model with its thread pool and KV cache: what the CLI front-ends
// (run, chat, logits, bench) drive one sequence at a time. The server's
// scheduler drives Model::Forward with mixed batches instead.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "models/model.h"
#include "runtime/kv_cache.h"

namespace r1 {

struct EngineOptions {
  std::string model_path;
  int threads = 0;          // 0: physical cores
  int64_t ctx_size = 4096;  // tokens of KV cache in total (all sequences)
  int64_t block_size = 16;
  int64_t batch_size = 512; // prefill chunk
  KvType kv_type = KvType::kF16;  // KV cache element type (q8_0: half the memory)
  bool verbose = true;      // load log on stderr
  bool repack = true;       // repack weights for the kernels at load (LoadOptions::repack)
};

// Whether repacking (a copy of the weights in anonymous memory; the mmapped
// pages are dropped afterwards) fits: the model must take at most 3/4 of the
// machine's RAM. Larger models stay mmapped as they are and run through the
// page cache, even when they exceed RAM.
bool RepackFits(uint64_t model_bytes, uint64_t ram_bytes);
uint64_t PhysicalMemoryBytes();  // 0 when unknown

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Load(const EngineOptions& opts);

  Model& model() { return *model_; }
  const ModelInfo& info() const { return model_->info(); }
  const gguf::File& file() const { return *file_; }
  KvCache& cache() { return *cache_; }
  ThreadPool& pool() { return *pool_; }
  const EngineOptions& options() const { return opts_; }

  // Appends `tokens` to sequence `seq` (positions continue after what it
  // holds), in chunks of batch_size. If `logits` is non-null it receives the
  // last token's logits (n_vocab). If `all_logits` is non-null it receives
  // every token's logits, row-major [n, n_vocab].
  Status Append(int seq, const std::vector<int32_t>& tokens, std::vector<float>* logits,
                std::vector<float>* all_logits = nullptr);
  int64_t Length(int seq) const;
  // Keeps the first n tokens of `seq` (later ones are overwritten by the next
  // Append): re-rendered chat history reuses its common prefix this way.
  void Truncate(int seq, int64_t n);
  void Reset(int seq);

 private:
  EngineOptions opts_;
  std::unique_ptr<gguf::File> file_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int64_t> lengths_;  // per sequence id
};

}  // namespace r1
