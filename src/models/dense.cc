#include "models/dense.h"

#include <algorithm>
#include <cmath>

#include "kernels/attention.h"
#include "models/forward.h"
#include "models/layers.h"
#include "models/weights.h"

namespace r1 {
namespace {

using kernels::Matrix;

struct Layer {
  std::vector<float> attn_norm;        // (n_embd)
  Matrix wq, wk, wv;                   // (n_head·hd, n_embd), (n_kv·hd, n_embd) ×2
  std::vector<float> bq, bk, bv;       // Qwen2 biases
  std::vector<float> q_norm, k_norm;   // (hd) Qwen3
  Matrix wo;                           // (n_embd, n_head·hd)
  std::vector<float> ffn_norm;         // (n_embd)
  Matrix w_gate, w_up;                 // (n_ff, n_embd)
  Matrix w_down;                       // (n_embd, n_ff)
};

constexpr int64_t kMaxLayers = 4096;  // the largest real model has 126

struct Hparams {
  int64_t n_embd, n_ff, n_vocab;
  int n_layer, n_head, n_head_kv, head_dim;
  float eps;
};

class DenseModel final : public Model {
 public:
  const ModelInfo& info() const override { return info_; }
  Status Forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) override {
    if (!opts_.stage.whole()) return Status::FailedPrecondition("dense: a pipeline stage runs with ForwardStage");
    return ForwardStage(batch, cache, nullptr, nullptr, logits, pool);
  }
  Status ForwardStage(const Batch& batch, KvCache& cache, const float* hidden_in, float* hidden_out, float* logits,
                      ThreadPool& pool) override;
  std::vector<std::pair<const void*, size_t>> PackedMemory() const override {
    return packed_ ? packed_->Regions() : std::vector<std::pair<const void*, size_t>>{};
  }

  Status Load(const gguf::File& f, const DenseSpec& spec, const LoadOptions& opts);

 private:
  void AttentionBlock(const Layer& L, int cache_layer, const Batch& batch, KvCache& cache, ThreadPool& pool);
  void FeedForward(const Layer& L, int64_t n, ThreadPool& pool);

  DenseSpec spec_;
  LoadOptions opts_;
  LayerRange range_;
  Hparams hp_{};
  ModelInfo info_;
  EmbeddingHead head_;
  std::unique_ptr<kernels::PackedWeights> packed_;  // repacked copies of the matrices
  std::vector<Layer> layers_;
  std::vector<float> inv_freq_;
  kernels::RopeParams rope_;

  // Scratch, reused across calls.
  std::vector<float> x_, h_, q_, k_, v_, attn_, ff_gate_, ff_up_, qs_, outs_;
  std::vector<SeqRows> groups_;
  SharedActs acts_;
};

Status DenseModel::Load(const gguf::File& f, const DenseSpec& spec, const LoadOptions& opts) {
  spec_ = spec;
  opts_ = opts;
  opts_.pool = nullptr;
  const std::string a = spec.arch + ".";
  auto get = [&](const std::string& key) { return f.GetInt(a + key); };
  auto n_embd = get("embedding_length"), n_layer = get("block_count"), n_ff = get("feed_forward_length"),
       n_head = get("attention.head_count");
  for (auto* r : {&n_embd, &n_layer, &n_ff, &n_head})
    if (!r->ok()) return r->status();
  hp_.n_embd = *n_embd;
  hp_.n_layer = static_cast<int>(*n_layer);
  hp_.n_ff = *n_ff;
  hp_.n_head = static_cast<int>(*n_head);
  hp_.n_head_kv = static_cast<int>(f.GetIntOr(a + "attention.head_count_kv", hp_.n_head));
  if (*n_layer <= 0 || *n_layer > kMaxLayers)
    return Status::InvalidArgument(f.path() + ": key '" + a + "block_count' = " + std::to_string(*n_layer) +
                                   " is outside 1.." + std::to_string(kMaxLayers));
  if (hp_.n_head <= 0 || hp_.n_head_kv <= 0 || hp_.n_head % hp_.n_head_kv != 0)
    return Status::InvalidArgument(f.path() + ": head_count " + std::to_string(hp_.n_head) +
                                   " must be a positive multiple of head_count_kv " + std::to_string(hp_.n_head_kv));
  hp_.head_dim = static_cast<int>(f.GetIntOr(a + "attention.key_length", hp_.n_embd / hp_.n_head));
  hp_.eps = static_cast<float>(f.GetFloatOr(a + "attention.layer_norm_rms_epsilon", 1e-6));
  const int n_rot = static_cast<int>(f.GetIntOr(a + "rope.dimension_count", hp_.head_dim));
  if (n_rot <= 0 || n_rot > hp_.head_dim || n_rot % 2)
    return Status::InvalidArgument(f.path() + ": key '" + a + "rope.dimension_count' = " + std::to_string(n_rot) +
                                   " is invalid for head size " + std::to_string(hp_.head_dim));

  auto range = StageLayers(opts.stage, hp_.n_layer, f.path());
  if (!range.ok()) return range.status();
  range_ = *range;
  Weights w(f, opts);
  R1_RETURN_IF_ERROR(head_.Load(f, w, hp_.n_embd, opts.stage.head));
  hp_.n_vocab = head_.n_vocab();
  const int64_t q_dim = static_cast<int64_t>(hp_.n_head) * hp_.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(hp_.n_head_kv) * hp_.head_dim;
  layers_.resize(static_cast<size_t>(hp_.n_layer));
  for (int il = range_.first; il < range_.last; ++il) {
    Layer& L = layers_[static_cast<size_t>(il)];
    const std::string p = "blk." + std::to_string(il) + ".";
    R1_RETURN_IF_ERROR(w.Load(p + "attn_norm.weight", hp_.n_embd, &L.attn_norm));
    R1_RETURN_IF_ERROR(w.Load(p + "attn_q.weight", hp_.n_embd, q_dim, &L.wq));
    R1_RETURN_IF_ERROR(w.Load(p + "attn_k.weight", hp_.n_embd, kv_dim, &L.wk));
    R1_RETURN_IF_ERROR(w.Load(p + "attn_v.weight", hp_.n_embd, kv_dim, &L.wv));
    if (spec.qkv_bias) {
      R1_RETURN_IF_ERROR(w.Load(p + "attn_q.bias", q_dim, &L.bq));
      R1_RETURN_IF_ERROR(w.Load(p + "attn_k.bias", kv_dim, &L.bk));
      R1_RETURN_IF_ERROR(w.Load(p + "attn_v.bias", kv_dim, &L.bv));
    }
    if (spec.qk_norm) {
      R1_RETURN_IF_ERROR(w.Load(p + "attn_q_norm.weight", hp_.head_dim, &L.q_norm));
      R1_RETURN_IF_ERROR(w.Load(p + "attn_k_norm.weight", hp_.head_dim, &L.k_norm));
    }
    R1_RETURN_IF_ERROR(w.Load(p + "attn_output.weight", q_dim, hp_.n_embd, &L.wo));
    R1_RETURN_IF_ERROR(w.Load(p + "ffn_norm.weight", hp_.n_embd, &L.ffn_norm));
    R1_RETURN_IF_ERROR(w.Load(p + "ffn_gate.weight", hp_.n_embd, hp_.n_ff, &L.w_gate));
    R1_RETURN_IF_ERROR(w.Load(p + "ffn_up.weight", hp_.n_embd, hp_.n_ff, &L.w_up));
    R1_RETURN_IF_ERROR(w.Load(p + "ffn_down.weight", hp_.n_ff, hp_.n_embd, &L.w_down));
  }

  std::vector<float> factors;
  if (spec.rope_freqs && w.Has("rope_freqs.weight"))
    R1_RETURN_IF_ERROR(w.Load("rope_freqs.weight", n_rot / 2, &factors));
  inv_freq_ = kernels::RopeInvFreq(n_rot, f.GetFloatOr(a + "rope.freq_base", 10000.0),
                                   factors.empty() ? nullptr : factors.data());
  rope_.style = spec.rope_style;
  rope_.n_rot = n_rot;
  rope_.inv_freq = inv_freq_.data();

  info_.arch = spec.arch;
  info_.name = f.GetStringOr("general.name", "");
  info_.n_vocab = hp_.n_vocab;
  info_.n_embd = hp_.n_embd;
  info_.n_layer = hp_.n_layer;
  info_.n_ctx_train = f.GetIntOr(a + "context_length", 4096);
  info_.kv.n_layer = range_.last - range_.first;
  info_.kv.k_row = kv_dim;
  info_.kv.v_row = kv_dim;
  info_.kv.head_dim_k = info_.kv.head_dim_v = hp_.head_dim;
  info_.weight_bytes = w.bytes();
  info_.packed_bytes = w.packed_bytes();
  info_.pack_seconds = w.pack_seconds();
  packed_ = w.TakePacked();
  // Decode reads every weight once per token, except the embedding table, of
  // which it reads one row (unless it is also the output matrix).
  info_.active_weight_bytes = w.bytes() - (head_.tied ? 0 : head_.embd_bytes);
  return Status::Ok();
}

void DenseModel::AttentionBlock(const Layer& L, int cache_layer, const Batch& batch, KvCache& cache, ThreadPool& pool) {
  const int64_t n = batch.size();
  const int hd = hp_.head_dim;
  const int64_t q_dim = static_cast<int64_t>(hp_.n_head) * hd, kv_dim = static_cast<int64_t>(hp_.n_head_kv) * hd;

  // Q, K and V of the normalised rows, in one parallel pass.
  acts_.Set(x_.data(), n, hp_.n_embd, L.attn_norm.data(), hp_.eps);
  const kernels::MatMulJob qkv[] = {{&L.wq, &acts_.For(L.wq, pool), q_.data()},
                                    {&L.wk, &acts_.For(L.wk, pool), k_.data()},
                                    {&L.wv, &acts_.For(L.wv, pool), v_.data()}};
  kernels::MatMulMany(qkv, pool);
  if (spec_.qkv_bias) {
    kernels::AddBias(q_.data(), L.bq.data(), n, q_dim);
    kernels::AddBias(k_.data(), L.bk.data(), n, kv_dim);
    kernels::AddBias(v_.data(), L.bv.data(), n, kv_dim);
  }
  if (spec_.qk_norm) {
    kernels::RmsNorm(q_.data(), L.q_norm.data(), n * hp_.n_head, hd, hp_.eps, q_.data());
    kernels::RmsNorm(k_.data(), L.k_norm.data(), n * hp_.n_head_kv, hd, hp_.eps, k_.data());
  }
  kernels::Rope(rope_, q_.data(), batch.pos.data(), n, hp_.n_head, hd, q_dim);
  kernels::Rope(rope_, k_.data(), batch.pos.data(), n, hp_.n_head_kv, hd, kv_dim);

  for (int64_t t = 0; t < n; ++t) {
    cache.StoreK(cache_layer, batch.seq[t], batch.pos[t], k_.data() + t * kv_dim);
    cache.StoreV(cache_layer, batch.seq[t], batch.pos[t], v_.data() + t * kv_dim);
  }

  kernels::AttentionParams ap;
  ap.n_head = hp_.n_head;
  ap.n_head_kv = hp_.n_head_kv;
  ap.head_dim_k = ap.head_dim_v = hd;
  ap.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  // One attention call per sequence present in the batch, over its own cache.
  KvCache::ViewScratch scratch;
  for (const SeqRows& g : groups_) {
    const int64_t m = static_cast<int64_t>(g.rows.size());
    Fit(qs_, m * q_dim);
    Fit(outs_, m * q_dim);
    for (int64_t i = 0; i < m; ++i) std::copy_n(q_.data() + g.rows[i] * q_dim, q_dim, qs_.data() + i * q_dim);
    kernels::KvView view = cache.View(cache_layer, g.seq, g.n_kv(), 0, &scratch);
    kernels::Attention(ap, qs_.data(), g.pos.data(), m, view, outs_.data(), pool);
    for (int64_t i = 0; i < m; ++i) std::copy_n(outs_.data() + i * q_dim, q_dim, attn_.data() + g.rows[i] * q_dim);
  }
  kernels::MatMul(L.wo, attn_.data(), n, h_.data(), pool);
  kernels::Add(x_.data(), h_.data(), n * hp_.n_embd);
}

void DenseModel::FeedForward(const Layer& L, int64_t n, ThreadPool& pool) {
  acts_.Set(x_.data(), n, hp_.n_embd, L.ffn_norm.data(), hp_.eps);
  acts_.SiluGate(L.w_gate, L.w_up, ff_gate_.data(), ff_up_.data(), pool);
  kernels::MatMul(L.w_down, ff_gate_.data(), n, h_.data(), pool);
  kernels::Add(x_.data(), h_.data(), n * hp_.n_embd);
}

Status DenseModel::ForwardStage(const Batch& batch, KvCache& cache, const float* hidden_in, float* hidden_out,
                                float* logits, ThreadPool& pool) {
  const int64_t n = batch.size();
  if (n == 0) return Status::Ok();
  R1_RETURN_IF_ERROR(ValidateBatch(batch, hp_.n_vocab, cache));
  GroupBySequence(batch, &groups_);
  const int64_t q_dim = static_cast<int64_t>(hp_.n_head) * hp_.head_dim;
  const int64_t kv_dim = static_cast<int64_t>(hp_.n_head_kv) * hp_.head_dim;
  Fit(x_, n * hp_.n_embd);
  Fit(h_, n * std::max(hp_.n_embd, q_dim));
  Fit(q_, n * q_dim);
  Fit(attn_, n * q_dim);
  Fit(k_, n * kv_dim);
  Fit(v_, n * kv_dim);
  Fit(ff_gate_, n * hp_.n_ff);
  Fit(ff_up_, n * hp_.n_ff);

  if (hidden_in) {
    std::copy_n(hidden_in, n * hp_.n_embd, x_.data());
  } else {
    head_.Embed(batch, x_.data());
  }
  for (int il = range_.first; il < range_.last; ++il) {
    const Layer& L = layers_[static_cast<size_t>(il)];
    AttentionBlock(L, il - range_.first, batch, cache, pool);
    FeedForward(L, n, pool);
  }
  if (!opts_.stage.head) {
    std::copy_n(x_.data(), n * hp_.n_embd, hidden_out);
    return Status::Ok();
  }
  head_.Logits(batch, x_.data(), hp_.eps, h_.data(), logits, pool);
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Model>> LoadDense(const gguf::File& f, const DenseSpec& spec, const LoadOptions& opts) {
  auto m = std::make_unique<DenseModel>();
  R1_RETURN_IF_ERROR(m->Load(f, spec, opts));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace r1
