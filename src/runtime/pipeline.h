// Pipeline parallelism over the ranks of an MPI job (--pipeline N):
//
//   mpirun -np 3 r1 serve -m model.gguf --pipeline 3
//
// Every rank opens the model file and loads only its stage's layers
// (LoadOptions::stage), so each maps and repacks about 1/N of the weights.
// Rank 0 also holds the embeddings and runs the frontends and the scheduler;
// the last rank holds the output head. On rank 0 the Model is a
// PipelineModel: its Forward runs stage 0 and hands the hidden rows on from
// rank to rank, and the last rank sends the logits back. A batch of several
// sequences is cut into micro-batches of whole sequences (up to one per
// stage), so that while stage 2 runs one of them stage 1 runs the next. The
// scheduler sees one Forward, as in one process, and the logits are
// bit-identical to one process's (every kernel is batch-invariant).
//
// Each rank's KV cache holds its own layers. Rank 0's scheduler changes the
// block tables (reserve, free, truncate, prefix sharing); KvCache's journal
// records the changes, they travel with the next batch, and every rank
// replays them before it runs, so the tables agree block for block.
//
// Faults: rank 0 waits for each answer at most LoadOptions::stage_timeout_s;
// a rank that has died or stalled fails the forward pass with a message
// naming the stages, and rank 0 then ends the job (no hang, no wrong output).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dist/transport.h"
#include "gguf/gguf.h"
#include "kernels/thread_pool.h"
#include "models/forward.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "r1/status.h"

namespace r1 {

// The stages of an n_stages pipeline over `f`'s layers: contiguous ranges
// balanced by bytes (the embedding table counts toward the first stage, the
// head toward the last), or the ranges of `spec` ("0-20,21-40,41-61"), which
// must cover every layer in order. InvalidArgument naming the spec otherwise.
StatusOr<std::vector<StageOptions>> PlanStages(const gguf::File& f, int n_stages, const std::string& spec);
// The main layers of `f` (block_count less the MTP blocks), which stages split.
int LayerCount(const gguf::File& f);
// "layers 0-20" for messages.
std::string StageName(const StageOptions& s, int n_layer);

// The weight bytes of one layer range (plus the embedding / the head).
uint64_t StageBytes(const gguf::File& f, const StageOptions& s, int n_layer);

// Per forward pass, what crossed the stage boundaries (for r1 bench).
struct PipelineStats {
  uint64_t forwards = 0, micro_batches = 0, tokens = 0;
  uint64_t bytes_sent = 0;      // by rank 0: the hidden rows and batches it sent
  double stage0_s = 0;          // rank 0 computing its stage
  double wait_s = 0;            // rank 0 waiting for the last stage's logits
};

class PipelineModel final : public Model {
 public:
  // `stage0` is rank 0's stage; `stages` the plan (stages.size() == ranks).
  PipelineModel(std::unique_ptr<Model> stage0, std::unique_ptr<dist::Transport> transport,
                std::vector<StageOptions> stages, int n_layer, double timeout_s, bool verbose);
  ~PipelineModel() override;  // tells every rank to shut down

  const ModelInfo& info() const override { return stage0_->info(); }
  Status Forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) override;
  std::vector<std::pair<const void*, size_t>> PackedMemory() const override { return stage0_->PackedMemory(); }

  // Records rank 0's cache changes for the other ranks (call once, before
  // the first Forward, with the cache Forward will be given).
  void Attach(KvCache& cache) { cache.set_journal(&journal_); }
  const PipelineStats& stats() const { return stats_; }
  int n_stages() const { return static_cast<int>(stages_.size()); }

 private:
  Status Broken(Status s);

  bool verbose_;  // the cost summary on stderr at the end
  std::unique_ptr<Model> stage0_;
  std::unique_ptr<dist::Transport> transport_;
  std::vector<StageOptions> stages_;
  int n_layer_;
  double timeout_s_;
  double slowest_s_ = 0;  // the longest wait for an answer that came
  std::vector<KvOp> journal_;
  Status broken_;  // once a rank has failed, every later Forward fails alike
  PipelineStats stats_;
  std::vector<SeqRows> groups_;
  std::vector<float> hidden_, logits_;
};

// Ranks 1..N-1: runs this rank's stage for every batch rank 0 sends, until
// rank 0 says to stop (Ok) or the transport fails.
Status RunPipelineStage(dist::Transport& transport, Model& stage, KvCache& cache, ThreadPool& pool,
                        const StageOptions& so, int64_t n_embd, int64_t n_vocab);

}  // namespace r1
