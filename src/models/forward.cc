#include "models/forward.h"

#include <algorithm>
#include <string>

#include "kernels/ops.h"

namespace r1 {

Status ValidateBatch(const Batch& batch, int64_t n_vocab, const KvCache& cache) {
  const int64_t n = batch.size();
  if (static_cast<int64_t>(batch.pos.size()) != n || static_cast<int64_t>(batch.seq.size()) != n ||
      static_cast<int64_t>(batch.logits.size()) != n)
    return Status::InvalidArgument("batch: tokens, pos, seq and logits differ in length");
  for (int64_t t = 0; t < n; ++t) {
    if (batch.tokens[t] < 0 || batch.tokens[t] >= n_vocab)
      return Status::InvalidArgument("token id " + std::to_string(batch.tokens[t]) + " is outside the vocabulary (" +
                                     std::to_string(n_vocab) + ")");
    if (batch.pos[t] < 0 || batch.pos[t] >= cache.Capacity(batch.seq[t]))
      return Status::OutOfRange("position " + std::to_string(batch.pos[t]) + " of sequence " +
                                std::to_string(batch.seq[t]) + " has no KV cache room");
  }
  return Status::Ok();
}

int64_t SeqRows::n_kv() const { return pos.empty() ? 0 : *std::max_element(pos.begin(), pos.end()) + 1; }

void GroupBySequence(const Batch& batch, std::vector<SeqRows>* groups) {
  size_t used = 0;
  for (int64_t t = 0; t < batch.size(); ++t) {
    const int32_t s = batch.seq[t];
    size_t g = 0;
    while (g < used && (*groups)[g].seq != s) ++g;
    if (g == used) {
      if (used == groups->size()) groups->emplace_back();
      SeqRows& n = (*groups)[used++];
      n.seq = s;
      n.rows.clear();
      n.pos.clear();
    }
    (*groups)[g].rows.push_back(t);
    (*groups)[g].pos.push_back(batch.pos[t]);
  }
  groups->resize(used);
}

StatusOr<LayerRange> StageLayers(const StageOptions& stage, int n_layer, const std::string& path) {
  LayerRange r{stage.first, stage.last < 0 ? n_layer : stage.last};
  if (r.first < 0 || r.first >= r.last || r.last > n_layer)
    return Status::InvalidArgument(path + ": pipeline stage layers " + std::to_string(r.first) + "-" +
                                   std::to_string(r.last - 1) + " are outside the model's 0-" +
                                   std::to_string(n_layer - 1));
  if (stage.head && r.last != n_layer)
    return Status::InvalidArgument(path + ": the stage with the output head must end at the last layer (" +
                                   std::to_string(n_layer - 1) + ")");
  return r;
}

Status EmbeddingHead::Load(const gguf::File& f, Weights& w, int64_t n_embd, bool with_head) {
  const gguf::TensorInfo* embd = f.FindTensor("token_embd.weight");
  if (!embd) return Status::NotFound(f.path() + ": tensor 'token_embd.weight' not found");
  const uint64_t before = w.bytes();
  auto te = w.Matrix("token_embd.weight", n_embd, embd->dim(1), /*pack=*/false);
  if (!te.ok()) return te.status();
  tok_embd = *te;
  embd_bytes = w.bytes() - before;
  if (!with_head) {
    tied = !w.Has("output.weight");
    return Status::Ok();
  }
  auto norm = w.Vector("output_norm.weight", n_embd);
  if (!norm.ok()) return norm.status();
  output_norm = std::move(*norm);
  tied = !w.Has("output.weight");
  if (tied) {
    output = tok_embd;
    w.Pack(&output);
    return Status::Ok();
  }
  auto o = w.Matrix("output.weight", n_embd, n_vocab());
  if (!o.ok()) return o.status();
  output = *o;
  return Status::Ok();
}

void EmbeddingHead::Embed(const Batch& batch, float* x) const {
  kernels::GetRows(tok_embd, batch.tokens.data(), batch.size(), x);
}

void EmbeddingHead::Logits(const Batch& batch, float* x, float eps, float* h, float* logits, ThreadPool& pool,
                           const float* norm, const kernels::Matrix* head) const {
  const int64_t E = tok_embd.k;
  int64_t n_out = 0;
  for (int64_t t = 0; t < batch.size(); ++t) {
    if (!batch.logits[t]) continue;
    if (n_out != t) std::copy_n(x + t * E, E, x + n_out * E);
    ++n_out;
  }
  if (n_out == 0) return;
  kernels::RmsNorm(x, norm ? norm : output_norm.data(), n_out, E, eps, h);
  kernels::MatMul(head ? *head : output, h, n_out, logits, pool);
}

}  // namespace r1
