// The scaffolding every model's Forward shares, so that the model files keep
// only their own maths: the batch checks, the rows of each sequence in a
// batch, and the token embeddings with the logits head.
#pragma once

#include <cstdint>
#include <vector>

#include "gguf/gguf.h"
#include "kernels/matmul.h"
#include "models/kv_cache.h"
#include "models/model.h"
#include "models/weights.h"
#include "r1/status.h"

namespace r1 {

// The layers [first, last) a stage holds, of a model with n_layer layers;
// InvalidArgument naming the file and the range when it does not fit.
struct LayerRange {
  int first = 0, last = 0;
  bool Has(int il) const { return il >= first && il < last; }
};
[[nodiscard]] StatusOr<LayerRange> StageLayers(const StageOptions& stage, int n_layer, const std::string& path);

// Every token id is inside the vocabulary and every position has KV room.
[[nodiscard]] Status ValidateBatch(const Batch& batch, int64_t n_vocab, const KvCache& cache);

// The batch rows of one sequence, in batch order, with their positions.
struct SeqRows {
  int32_t seq = 0;
  std::vector<int64_t> rows;
  std::vector<int32_t> pos;
  int64_t n_kv() const;  // cached positions attention reads: max(pos) + 1
};

// One entry per sequence present, in order of first appearance. Reuses the
// vectors' storage across calls.
void GroupBySequence(const Batch& batch, std::vector<SeqRows>* groups);

// The token embedding table and the head: RMSNorm, then the output matrix,
// which is the embedding table itself when the file has no output.weight.
struct EmbeddingHead {
  kernels::Matrix tok_embd;      // (n_vocab, n_embd), not repacked (row lookups)
  std::vector<float> output_norm;
  kernels::Matrix output;        // (n_vocab, n_embd)
  bool tied = false;
  uint64_t embd_bytes = 0;       // the table's bytes, for the active-bytes figure

  // n_vocab comes from token_embd.weight. Without `with_head` (a pipeline
  // stage before the last) output_norm and the output matrix are not loaded.
  [[nodiscard]] Status Load(const gguf::File& f, Weights& w, int64_t n_embd, bool with_head = true);
  int64_t n_vocab() const { return tok_embd.rows; }

  // x [n, n_embd] = the batch's token embeddings.
  void Embed(const Batch& batch, float* x) const;
  // Logits [n_outputs, n_vocab] of the rows with batch.logits set, in batch
  // order. Compacts those rows to the front of x; h is scratch [n, n_embd].
  // `norm` and `head` replace output_norm and output when given (the MTP
  // module's shared_head_norm and shared_head_head).
  void Logits(const Batch& batch, float* x, float eps, float* h, float* logits, ThreadPool& pool,
              const float* norm = nullptr, const kernels::Matrix* head = nullptr) const;
};

// Grows v to at least n elements (scratch buffers reused across calls).
inline void Fit(std::vector<float>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
}

}  // namespace r1
