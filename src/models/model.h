// The model interface: a forward pass over a batch of tokens from many
// sequences, each token at its own position.
//
// Conventions used by every model file:
//   - Activations are row-major [n_tokens, width] float32.
//   - Weights are kernels::Matrix views into the mmapped GGUF (ne = {in, out}).
//   - Token t of the batch belongs to sequence batch.seq[t] at position
//     batch.pos[t]; a sequence's positions in one batch must be increasing and
//     continue its cache (0..n-1 the first time, then n, n+1, ...).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "r1/status.h"
#include "models/kv_cache.h"

namespace r1 {

struct Batch {
  std::vector<int32_t> tokens;
  std::vector<int32_t> pos;
  std::vector<int32_t> seq;
  std::vector<uint8_t> logits;  // 1 = return logits for this token

  void Add(int32_t token, int32_t position, int32_t sequence, bool want_logits) {
    tokens.push_back(token);
    pos.push_back(position);
    seq.push_back(sequence);
    logits.push_back(want_logits);
  }
  int64_t size() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_outputs() const;
  void Clear() { tokens.clear(); pos.clear(); seq.clear(); logits.clear(); }
};

// What every architecture reports about itself.
struct ModelInfo {
  std::string arch;            // general.architecture
  std::string name;            // general.name (may be empty)
  int64_t n_vocab = 0;
  int64_t n_embd = 0;
  int n_layer = 0;
  int64_t n_ctx_train = 0;
  KvCacheConfig kv;            // per-token KV layout (n_blocks left 0)
  uint64_t weight_bytes = 0;   // all tensors used by the forward pass
  // Bytes read from weights per decoded token (dense: all of them; MoE: the
  // shared part plus the active experts). Used for the roofline figure.
  uint64_t active_weight_bytes = 0;
  uint64_t packed_bytes = 0;   // repacked copies held in memory (LoadOptions::repack)
  double pack_seconds = 0;     // time spent repacking
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelInfo& info() const = 0;

  // Runs the batch, writing KV into `cache` and logits for every token with
  // batch.logits[t] set, in batch order: [batch.n_outputs(), n_vocab].
  // The cache must have room (KvCache::Reserve) for every position.
  virtual Status Forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) = 0;

  // Multi-token prediction (DeepSeek-V3 §2.2), for speculative drafting.
  // Models without an MTP (next-n) module keep these defaults.
  //
  // The KV layout of the module's one layer (n_layer 1), for a cache of its
  // own; n_layer 0 when the model has no module.
  virtual KvCacheConfig mtp_kv() const { return {}; }
  // Forward, also writing every batch row's final hidden state (before the
  // output norm) to hidden [batch.size(), n_embd].
  virtual Status ForwardHidden(const Batch& batch, KvCache& cache, float* logits, float* hidden, ThreadPool& pool);
  // One pass of the module. Row t combines hidden[t] (the main model's state
  // at position batch.pos[t], or the module's own output when chaining
  // drafts) with the embedding of batch.tokens[t] (the token after it):
  //   h' = block(eh_proj [enorm(embed(token)); hnorm(hidden)])
  // and writes its KV at batch.pos[t] of `mtp_cache`, the logits of the rows
  // with batch.logits set (shared head: shared_head_norm, then the output
  // matrix), and every row's h' to hidden_out [n, n_embd].
  virtual Status ForwardMtp(const Batch& batch, const float* hidden, KvCache& mtp_cache, float* logits,
                            float* hidden_out, ThreadPool& pool);

  // One pipeline stage's share of Forward (LoadOptions::stage): the rows
  // enter as token embeddings (hidden_in null, the first stage) or as the
  // previous stage's output hidden_in [batch.size(), n_embd], pass the
  // stage's layers (writing their KV into `cache`, whose layers are the
  // stage's), and leave as logits of the rows with batch.logits set (the
  // last stage, which holds the head) or as hidden_out [batch.size(), n_embd].
  virtual Status ForwardStage(const Batch& batch, KvCache& cache, const float* hidden_in, float* hidden_out,
                              float* logits, ThreadPool& pool);

  // The memory of the repacked weight copies (LoadOptions::repack), for
  // measuring how fast the weights themselves can be read; empty when
  // nothing was repacked.
  virtual std::vector<std::pair<const void*, size_t>> PackedMemory() const { return {}; }

  // The routed experts of the last Forward, for tests that make a reference
  // follow the engine's routing where it is a near tie: per layer (empty for
  // dense layers and dense models), [batch.size() · n_used] expert ids in
  // batch order.
  virtual std::vector<std::vector<int32_t>> LastRouting() const { return {}; }
};

// Which form of MLA attention (deepseek2) a sequence's chunk uses. Both read
// the same compressed cache. Absorbed does less work per new token (decode);
// expanded does less per (query, key) pair, which wins for long prefill chunks.
enum class MlaMode { kAuto, kAbsorbed, kExpanded };

// The layers one process of a pipeline holds (runtime/pipeline.h). The
// default is the whole model.
struct StageOptions {
  int first = 0;     // layers [first, last)
  int last = -1;     // -1: to the last layer
  bool head = true;  // holds output_norm and the output matrix (the last stage)
  bool whole() const { return first == 0 && last < 0 && head; }
};

// Everything a caller may choose about loading a model. The frontends set
// these from command-line flags (tools/r1/common.cc); models read nothing
// from the environment.
struct LoadOptions {
  // Repack the quantized matmul weights at load time into the kernels'
  // 8-row interleaved layout (kernels/repack.h): faster decode and prefill,
  // for a packed copy of those tensors in memory (the mmapped file stays in
  // use for everything else). --no-repack turns it off.
  bool repack = true;
  ThreadPool* pool = nullptr;  // splits the repacking; a temporary pool when null
  bool verbose = true;         // log load-time decisions (routing, rope) on stderr

  // deepseek2 only.
  MlaMode mla = MlaMode::kAuto;  // --mla
  // kAuto: a sequence's chunk of at least this many tokens uses the expanded
  // form. The choice depends only on that sequence's tokens in the batch, so a
  // batch of many sequences gives each the same result as running it alone.
  int64_t mla_expanded_min_tokens = 128;
  // Overrides expert_group_count / expert_group_used_count (--expert-groups);
  // n_group 1 turns group-limited routing off.
  std::optional<int> n_group, topk_group;

  // This process's part of the model; ModelInfo::kv then has the stage's
  // layers only, and the MTP module is not loaded.
  StageOptions stage;

  // Read by the runtime, not by the models (runtime/pipeline.h): split the
  // model over `pipeline` MPI ranks (--pipeline), at the layer ranges of
  // `stage_layers` ("0-20,21-40,41-61"; empty: balanced by bytes), each
  // stage answering within stage_timeout_s seconds (--stage-timeout).
  int pipeline = 1;
  std::string stage_layers;
  double stage_timeout_s = 300;
};

// Loads the architecture named by general.architecture (see registry.cc).
// The model keeps a reference to `file`, which must outlive it.
StatusOr<std::unique_ptr<Model>> LoadModel(const gguf::File& file, const LoadOptions& opts = {});

// Architectures r1.cpp knows, for help texts.
std::vector<std::string> SupportedArchitectures();

}  // namespace r1
