// deepseek2: hyperparameters from the GGUF keys, the weights, and the layer
// loop (see deepseek2.h for the maths, deepseek2_mla.cc for the attention and
// moe.cc for the routed experts).
#include "models/deepseek2.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "kernels/quant.h"
#include "models/deepseek2_impl.h"
#include "models/forward.h"
#include "models/layers.h"
#include "models/weights.h"

namespace r1 {
namespace deepseek2 {
namespace {

struct Layer {
  std::vector<float> attn_norm;        // (n_embd)
  MlaWeights mla;
  std::vector<float> ffn_norm;         // (n_embd)
  bool moe = false;
  Matrix ffn_gate, ffn_up;             // dense: (n_ff, n_embd)
  Matrix ffn_down;                     // dense: (n_embd, n_ff)
  MoeWeights experts;
};

// The MTP block (DeepSeek-V3 §2.2), kept for speculative decoding.
struct Mtp {
  Matrix eh_proj;                      // (n_embd, 2·n_embd): [enorm(embed) | hnorm(h)] → n_embd
  std::vector<float> enorm, hnorm;     // (n_embd)
  std::vector<float> shared_head_norm; // (n_embd), may be empty (then output_norm)
  // Optional own copies of the embedding table and the head (llama.cpp's
  // nextn.embed_tokens / nextn.shared_head_head; DeepSeek's HF checkpoints
  // carry both, equal to the main ones). Unset: the main model's are used.
  Matrix embed, head;
  Layer block;
};

void Log(bool on, const std::string& msg) {
  if (on) std::fprintf(stderr, "r1: deepseek2: %s\n", msg.c_str());
}

class Deepseek2Model final : public Model {
 public:
  const ModelInfo& info() const override { return info_; }
  Status Forward(const Batch& batch, KvCache& cache, float* logits, ThreadPool& pool) override {
    return ForwardHidden(batch, cache, logits, nullptr, pool);
  }
  Status ForwardStage(const Batch& batch, KvCache& cache, const float* hidden_in, float* hidden_out, float* logits,
                      ThreadPool& pool) override;
  Status ForwardHidden(const Batch& batch, KvCache& cache, float* logits, float* hidden, ThreadPool& pool) override;
  KvCacheConfig mtp_kv() const override {
    if (mtp_.empty()) return {};
    KvCacheConfig c = info_.kv;
    c.n_layer = 1;
    return c;
  }
  Status ForwardMtp(const Batch& batch, const float* hidden, KvCache& mtp_cache, float* logits, float* hidden_out,
                    ThreadPool& pool) override;
  std::vector<std::pair<const void*, size_t>> PackedMemory() const override {
    return packed_ ? packed_->Regions() : std::vector<std::pair<const void*, size_t>>{};
  }
  std::vector<std::vector<int32_t>> LastRouting() const override { return routing_; }
  Status Load(const gguf::File& f, const LoadOptions& opts);

 private:
  Status ReadHparams(const gguf::File& f, const LoadOptions& opts);
  Status LoadLayer(Weights& w, int il, bool derive, Layer* L);
  Status LoadMla(Weights& w, const std::string& p, bool derive, MlaWeights* a);
  // x [n, n_embd] += one block (attention, then the dense or MoE feed-forward).
  // `routed` (may be null) receives the MoE layer's expert ids.
  void Block(const Layer& L, int cache_layer, const Batch& batch, KvCache& cache, int64_t n, ThreadPool& pool,
             std::vector<int32_t>* routed);

  LoadOptions opts_;
  LayerRange range_;
  Hparams hp_;
  ModelInfo info_;
  EmbeddingHead head_;
  std::unique_ptr<kernels::PackedWeights> packed_;  // repacked copies of the matrices
  std::vector<Layer> layers_;
  std::vector<Mtp> mtp_;
  std::vector<float> inv_freq_;
  std::vector<std::vector<uint8_t>> derived_;  // load-time layout conversions

  MlaAttention attn_;
  MoeFeedForward moe_;
  SharedActs acts_;
  std::vector<float> x_, h_, y_, ff_gate_, ff_up_;
  std::vector<SeqRows> groups_;
  std::vector<std::vector<int32_t>> routing_;  // LastRouting()
};

Status Deepseek2Model::ReadHparams(const gguf::File& f, const LoadOptions& opts) {
  const std::string a = "deepseek2.";
  auto need = [&](const std::string& key, int64_t* out) -> Status {
    auto r = f.GetInt(a + key);
    if (!r.ok()) return r.status();
    *out = *r;
    return Status::Ok();
  };
  int64_t n_block = 0, n_head = 0, n_dense = 0;
  R1_RETURN_IF_ERROR(need("embedding_length", &hp_.n_embd));
  R1_RETURN_IF_ERROR(need("block_count", &n_block));
  R1_RETURN_IF_ERROR(need("attention.head_count", &n_head));
  R1_RETURN_IF_ERROR(need("attention.kv_lora_rank", &hp_.kv_lora_rank));
  R1_RETURN_IF_ERROR(need("rope.dimension_count", &hp_.n_rot));
  if (n_block <= 0 || n_block > 4096)
    return Status::InvalidArgument(f.path() + ": key '" + a + "block_count' = " + std::to_string(n_block) +
                                   " is outside 1..4096");
  hp_.n_nextn = static_cast<int>(f.GetIntOr(a + "nextn_predict_layers", 0));
  hp_.n_layer = static_cast<int>(n_block) - hp_.n_nextn;
  hp_.n_head = static_cast<int>(n_head);
  if (int64_t r = f.GetIntOr(a + "attention.q_lora_rank", 0); r > 0) hp_.q_lora_rank = r;
  // llama.cpp writes key_length = kv_lora + rope (the MLA "MQA" view) and the
  // per-head sizes as *_mla; older files have the per-head sizes in key_length.
  int64_t qk_head = f.GetIntOr(a + "attention.key_length_mla", 0);
  hp_.v_head = f.GetIntOr(a + "attention.value_length_mla", 0);
  if (qk_head == 0) qk_head = f.GetIntOr(a + "attention.key_length", 0);
  if (hp_.v_head == 0) hp_.v_head = f.GetIntOr(a + "attention.value_length", 0);
  hp_.qk_nope = qk_head - hp_.n_rot;
  if (hp_.n_layer <= 0 || hp_.n_head <= 0 || hp_.qk_nope <= 0 || hp_.v_head <= 0 || hp_.n_rot % 2 ||
      hp_.kv_lora_rank <= 0)
    return Status::InvalidArgument(f.path() + ": inconsistent deepseek2 attention sizes (block_count " +
                                   std::to_string(n_block) + ", key_length_mla " + std::to_string(qk_head) +
                                   ", rope.dimension_count " + std::to_string(hp_.n_rot) + ", value_length_mla " +
                                   std::to_string(hp_.v_head) + ")");
  hp_.eps = static_cast<float>(f.GetFloatOr(a + "attention.layer_norm_rms_epsilon", 1e-6));
  n_dense = f.GetIntOr(a + "leading_dense_block_count", 0);
  hp_.n_dense_lead = static_cast<int>(std::min<int64_t>(n_dense, hp_.n_layer));
  hp_.n_ff = f.GetIntOr(a + "feed_forward_length", 0);
  hp_.n_ff_exp = f.GetIntOr(a + "expert_feed_forward_length", 0);
  hp_.n_shared = static_cast<int>(f.GetIntOr(a + "expert_shared_count", 0));

  RouterConfig& r = hp_.router;
  r.n_expert = static_cast<int>(f.GetIntOr(a + "expert_count", 0));
  r.n_used = static_cast<int>(f.GetIntOr(a + "expert_used_count", 0));
  // expert_gating_func: 1 softmax, 2 sigmoid; absent in old V2 files = softmax (as llama.cpp).
  r.gating = f.GetIntOr(a + "expert_gating_func", 1) == 2 ? Gating::kSigmoid : Gating::kSoftmax;
  r.norm_weights = f.GetBoolOr(a + "expert_weights_norm", false);
  r.scale = static_cast<float>(f.GetFloatOr(a + "expert_weights_scale", 1.0));
  if (r.scale == 0) r.scale = 1.0f;
  if (hp_.n_layer > hp_.n_dense_lead && (r.n_expert <= 0 || r.n_used <= 0 || r.n_used > r.n_expert))
    return Status::InvalidArgument(f.path() + ": expert_count " + std::to_string(r.n_expert) +
                                   " / expert_used_count " + std::to_string(r.n_used) + " are invalid");

  // Group-limited routing. Many V3/R1 GGUFs predate expert_group_count /
  // expert_group_used_count; DeepSeek-V3/R1 use 8 and 4 (config.json n_group,
  // topk_group), so a file that looks like V3/R1 (sigmoid gating, 256
  // experts) without the keys gets those, and says so.
  const bool have_keys = f.Find(a + "expert_group_count") != nullptr;
  r.n_group = static_cast<int>(f.GetIntOr(a + "expert_group_count", 1));
  r.topk_group = static_cast<int>(f.GetIntOr(a + "expert_group_used_count", r.n_group));
  std::string why = "from the file";
  if (opts.n_group) {
    r.n_group = *opts.n_group;
    r.topk_group = opts.topk_group.value_or(r.n_group);
    why = "from the override";
  } else if (!have_keys && r.gating == Gating::kSigmoid && r.n_expert == 256) {
    r.n_group = 8;
    r.topk_group = 4;
    why = "expert_group_count/expert_group_used_count absent; the file looks like DeepSeek-V3/R1 (sigmoid gating, "
          "256 experts), so using V3/R1's n_group 8, topk_group 4 (override with --expert-groups G,K)";
  } else if (!have_keys) {
    why = "expert_group_count absent";
  }
  if (r.group_limited() && (r.n_expert % r.n_group != 0 || r.n_expert / r.n_group * r.topk_group < r.n_used))
    return Status::InvalidArgument(f.path() + ": expert groups " + std::to_string(r.n_group) + "/" +
                                   std::to_string(r.topk_group) + " do not fit " + std::to_string(r.n_expert) +
                                   " experts with " + std::to_string(r.n_used) + " used");
  if (hp_.n_layer > hp_.n_dense_lead)
    Log(opts.verbose, r.group_limited() ? "group-limited routing n_group=" + std::to_string(r.n_group) +
                                              " topk_group=" + std::to_string(r.topk_group) + " (" + why + ")"
                                        : "no group limit on routing (" + why + ")");
  return Status::Ok();
}

Status Deepseek2Model::LoadMla(Weights& w, const std::string& p, bool derive, MlaWeights* a) {
  const int64_t E = hp_.n_embd, H = hp_.n_head, qk = hp_.qk_head(), kvl = hp_.kv_lora_rank;
  const int64_t nope = hp_.qk_nope, vh = hp_.v_head;
  auto mat = [&](const std::string& name, int64_t k, int64_t rows, Matrix* out) { return w.Load(p + name, k, rows, out); };
  auto vec = [&](const std::string& name, int64_t n, std::vector<float>* out) { return w.Load(p + name, n, out); };
  if (hp_.q_lora_rank) {
    R1_RETURN_IF_ERROR(mat("attn_q_a.weight", E, *hp_.q_lora_rank, &a->wq_a));
    R1_RETURN_IF_ERROR(vec("attn_q_a_norm.weight", *hp_.q_lora_rank, &a->q_a_norm));
    R1_RETURN_IF_ERROR(mat("attn_q_b.weight", *hp_.q_lora_rank, H * qk, &a->wq_b));
  } else {
    R1_RETURN_IF_ERROR(mat("attn_q.weight", E, H * qk, &a->wq));
  }
  R1_RETURN_IF_ERROR(mat("attn_kv_a_mqa.weight", E, hp_.latent(), &a->wkv_a));
  R1_RETURN_IF_ERROR(vec("attn_kv_a_norm.weight", kvl, &a->kv_a_norm));
  R1_RETURN_IF_ERROR(mat("attn_output.weight", H * vh, E, &a->wo));

  a->k_b.assign(static_cast<size_t>(H), Matrix{});
  a->v_b.assign(static_cast<size_t>(H), Matrix{});
  const bool want_expanded = derive && opts_.mla != MlaMode::kAbsorbed;
  const bool want_absorbed = derive && opts_.mla != MlaMode::kExpanded;
  if (w.Has(p + "attn_kv_b.weight")) {
    // Older layout: HF kv_b_proj, head h = rows [h·(nope+v), +nope) k_nope, then v rows.
    R1_RETURN_IF_ERROR(mat("attn_kv_b.weight", kvl, H * (nope + vh), &a->kv_b));
    for (int64_t h = 0; h < H; ++h) a->v_b[h] = a->kv_b.Slice(h * (nope + vh) + nope, vh);
    if (want_absorbed) {  // W_kb,h transposed to (kv_lora, nope)
      std::vector<float> kvb = ToFloat(a->kv_b), t(static_cast<size_t>(kvl * nope));
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t d = 0; d < nope; ++d)
          for (int64_t c = 0; c < kvl; ++c) t[c * nope + d] = kvb[(h * (nope + vh) + d) * kvl + c];
        a->k_b[h] = DerivedMatrix(t, nope, kvl, a->kv_b.type, derived_);
        w.Pack(&a->k_b[h], /*release=*/false);
      }
    }
  } else {
    // Split layout (llama.cpp since mid-2025): attn_k_b ne = {nope, kv_lora, H},
    // already transposed for absorption; attn_v_b ne = {kv_lora, v, H}.
    auto kb = w.Experts(p + "attn_k_b.weight", nope, kvl, H);
    if (!kb.ok()) return kb.status();
    auto vb = w.Experts(p + "attn_v_b.weight", kvl, vh, H);
    if (!vb.ok()) return vb.status();
    for (int64_t h = 0; h < H; ++h) {
      a->k_b[h] = kb->Slice(h * kvl, kvl);
      a->v_b[h] = vb->Slice(h * vh, vh);
    }
    if (want_expanded) {  // rebuild kv_b: head h = [W_kb,h (nope, kv_lora) | W_vb,h (v, kv_lora)]
      std::vector<float> kf = ToFloat(*kb), vf = ToFloat(*vb), kv(static_cast<size_t>(H * (nope + vh) * kvl));
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t d = 0; d < nope; ++d)
          for (int64_t c = 0; c < kvl; ++c) kv[(h * (nope + vh) + d) * kvl + c] = kf[(h * kvl + c) * nope + d];
        std::copy_n(vf.data() + h * vh * kvl, vh * kvl, kv.data() + (h * (nope + vh) + nope) * kvl);
      }
      a->kv_b = DerivedMatrix(kv, kvl, H * (nope + vh), kb->type, derived_);
      w.Pack(&a->kv_b, /*release=*/false);
    }
  }
  return Status::Ok();
}

Status Deepseek2Model::LoadLayer(Weights& w, int il, bool derive, Layer* L) {
  const std::string p = "blk." + std::to_string(il) + ".";
  const int64_t E = hp_.n_embd;
  auto mat = [&](const std::string& name, int64_t k, int64_t rows, Matrix* out) { return w.Load(p + name, k, rows, out); };
  auto vec = [&](const std::string& name, int64_t n, std::vector<float>* out) { return w.Load(p + name, n, out); };
  auto experts = [&](const std::string& name, int64_t k, int64_t rows, Matrix* out) -> Status {
    auto r = w.Experts(p + name, k, rows, hp_.router.n_expert);
    if (!r.ok()) return r.status();
    *out = *r;
    return Status::Ok();
  };
  R1_RETURN_IF_ERROR(vec("attn_norm.weight", E, &L->attn_norm));
  R1_RETURN_IF_ERROR(LoadMla(w, p, derive, &L->mla));
  R1_RETURN_IF_ERROR(vec("ffn_norm.weight", E, &L->ffn_norm));
  L->moe = il >= hp_.n_dense_lead;
  if (!L->moe) {
    R1_RETURN_IF_ERROR(mat("ffn_gate.weight", E, hp_.n_ff, &L->ffn_gate));
    R1_RETURN_IF_ERROR(mat("ffn_up.weight", E, hp_.n_ff, &L->ffn_up));
    return mat("ffn_down.weight", hp_.n_ff, E, &L->ffn_down);
  }
  MoeWeights& m = L->experts;
  const int64_t F = hp_.n_ff_exp;
  R1_RETURN_IF_ERROR(mat("ffn_gate_inp.weight", E, hp_.router.n_expert, &m.router));
  if (w.Has(p + "exp_probs_b.bias")) R1_RETURN_IF_ERROR(vec("exp_probs_b.bias", hp_.router.n_expert, &m.bias));
  R1_RETURN_IF_ERROR(experts("ffn_gate_exps.weight", E, F, &m.gate_exps));
  R1_RETURN_IF_ERROR(experts("ffn_up_exps.weight", E, F, &m.up_exps));
  R1_RETURN_IF_ERROR(experts("ffn_down_exps.weight", F, E, &m.down_exps));
  if (hp_.n_shared > 0) {
    const int64_t Fs = F * hp_.n_shared;
    R1_RETURN_IF_ERROR(mat("ffn_gate_shexp.weight", E, Fs, &m.gate_shexp));
    R1_RETURN_IF_ERROR(mat("ffn_up_shexp.weight", E, Fs, &m.up_shexp));
    R1_RETURN_IF_ERROR(mat("ffn_down_shexp.weight", Fs, E, &m.down_shexp));
  }
  return Status::Ok();
}

Status Deepseek2Model::Load(const gguf::File& f, const LoadOptions& opts) {
  opts_ = opts;
  R1_RETURN_IF_ERROR(ReadHparams(f, opts));
  const std::string a = "deepseek2.";
  auto range = StageLayers(opts.stage, hp_.n_layer, f.path());
  if (!range.ok()) return range.status();
  range_ = *range;
  Weights w(f, opts);
  R1_RETURN_IF_ERROR(head_.Load(f, w, hp_.n_embd, opts.stage.head));
  hp_.n_vocab = head_.n_vocab();
  if (!hp_.q_lora_rank && w.Has("blk.0.attn_q_a.weight"))
    return Status::InvalidArgument(f.path() + ": has attn_q_a but no key 'deepseek2.attention.q_lora_rank'");

  layers_.resize(static_cast<size_t>(hp_.n_layer));
  uint64_t expert_bytes = 0;
  for (int il = range_.first; il < range_.last; ++il) {
    Layer& L = layers_[static_cast<size_t>(il)];
    R1_RETURN_IF_ERROR(LoadLayer(w, il, /*derive=*/true, &L));
    if (L.moe)
      for (const Matrix* m : {&L.experts.gate_exps, &L.experts.up_exps, &L.experts.down_exps})
        expert_bytes += m->row_bytes * static_cast<uint64_t>(m->rows);
  }
  // MTP blocks: for speculative drafting (ForwardMtp); their bytes are not
  // counted in the forward pass's, and they are not repacked.
  LoadOptions mtp_opts = opts;
  mtp_opts.repack = false;
  Weights mw(f, mtp_opts);
  for (int i = 0; i < (opts.stage.whole() ? hp_.n_nextn : 0); ++i) {
    const int il = hp_.n_layer + i;
    const std::string p = "blk." + std::to_string(il) + ".nextn.";
    Mtp m;
    R1_RETURN_IF_ERROR(mw.Load(p + "eh_proj.weight", 2 * hp_.n_embd, hp_.n_embd, &m.eh_proj));
    R1_RETURN_IF_ERROR(mw.Load(p + "enorm.weight", hp_.n_embd, &m.enorm));
    R1_RETURN_IF_ERROR(mw.Load(p + "hnorm.weight", hp_.n_embd, &m.hnorm));
    if (mw.Has(p + "shared_head_norm.weight"))
      R1_RETURN_IF_ERROR(mw.Load(p + "shared_head_norm.weight", hp_.n_embd, &m.shared_head_norm));
    if (mw.Has(p + "embed_tokens.weight"))
      R1_RETURN_IF_ERROR(mw.Load(p + "embed_tokens.weight", hp_.n_embd, hp_.n_vocab, &m.embed));
    if (mw.Has(p + "shared_head_head.weight"))
      R1_RETURN_IF_ERROR(mw.Load(p + "shared_head_head.weight", hp_.n_embd, hp_.n_vocab, &m.head));
    R1_RETURN_IF_ERROR(LoadLayer(mw, il, /*derive=*/true, &m.block));
    mtp_.push_back(std::move(m));
  }
  if (!mtp_.empty())
    Log(opts.verbose, "MTP block(s) loaded (" + std::to_string(hp_.n_nextn) + "), for --spec mtp; the first is used");

  // Rope on the rope sub-vector, interleaved pairs; YaRN as DeepSeek-V3.
  const double base = f.GetFloatOr(a + "rope.freq_base", 10000.0);
  hp_.softmax_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hp_.qk_head())));
  const std::string scaling = f.GetStringOr(a + "rope.scaling.type", "none");
  const double factor = f.GetFloatOr(a + "rope.scaling.factor", 1.0);
  if (scaling == "yarn" && factor > 1.0) {
    auto orig = f.GetInt(a + "rope.scaling.original_context_length");
    if (!orig.ok()) return orig.status();
    inv_freq_ = kernels::RopeInvFreqYarn(static_cast<int>(hp_.n_rot), base, factor, *orig,
                                         f.GetFloatOr(a + "rope.scaling.yarn_beta_fast", 32.0),
                                         f.GetFloatOr(a + "rope.scaling.yarn_beta_slow", 1.0));
    // yarn_log_multiplier = 0.1·mscale_all_dim; the softmax scale takes
    // mscale² and cos/sin stay unscaled (mscale = mscale_all_dim in V2/V3).
    const double mscale = 1.0 + f.GetFloatOr(a + "rope.scaling.yarn_log_multiplier", 0.0) * std::log(factor);
    hp_.softmax_scale = static_cast<float>(mscale * mscale / std::sqrt(static_cast<double>(hp_.qk_head())));
    Log(opts.verbose, "YaRN factor " + std::to_string(factor) + ", original context " + std::to_string(*orig) +
                          ", softmax scale " + std::to_string(hp_.softmax_scale));
  } else if (scaling != "none" && scaling != "yarn") {
    return Status::Unimplemented(f.path() + ": key '" + a + "rope.scaling.type' = '" + scaling +
                                 "' is not supported for deepseek2 (none, yarn)");
  } else {
    inv_freq_ = kernels::RopeInvFreq(static_cast<int>(hp_.n_rot), base);
  }
  kernels::RopeParams rope;
  rope.style = kernels::RopeStyle::kNormal;
  rope.n_rot = static_cast<int>(hp_.n_rot);
  rope.inv_freq = inv_freq_.data();
  attn_.Init(hp_, rope, opts.mla, opts.mla_expanded_min_tokens);

  info_.arch = "deepseek2";
  info_.name = f.GetStringOr("general.name", "");
  info_.n_vocab = hp_.n_vocab;
  info_.n_embd = hp_.n_embd;
  info_.n_layer = hp_.n_layer;
  info_.n_ctx_train = f.GetIntOr(a + "context_length", 4096);
  info_.kv.n_layer = range_.last - range_.first;
  info_.kv.k_row = hp_.latent();
  info_.kv.v_row = 0;  // V is the c_kv prefix of the latent row
  info_.kv.head_dim_k = hp_.latent();
  info_.kv.head_dim_v = hp_.kv_lora_rank;
  info_.weight_bytes = w.bytes();
  info_.packed_bytes = w.packed_bytes();
  info_.pack_seconds = w.pack_seconds();
  packed_ = w.TakePacked();
  // Per decoded token: everything but the embedding table (one row) and the
  // routed experts, of which expert_used_count of expert_count are read.
  const uint64_t active_experts =
      hp_.router.n_expert > 0 ? expert_bytes / static_cast<uint64_t>(hp_.router.n_expert) *
                                    static_cast<uint64_t>(hp_.router.n_used)
                              : 0;
  info_.active_weight_bytes =
      w.bytes() - expert_bytes + active_experts - (head_.tied ? 0 : head_.embd_bytes);
  return Status::Ok();
}

void Deepseek2Model::Block(const Layer& L, int cache_layer, const Batch& batch, KvCache& cache, int64_t n,
                           ThreadPool& pool, std::vector<int32_t>* routed) {
  const int64_t E = hp_.n_embd;
  kernels::RmsNorm(x_.data(), L.attn_norm.data(), n, E, hp_.eps, h_.data());
  attn_.Forward(L.mla, cache_layer, batch, groups_, h_.data(), cache, y_.data(), pool);
  kernels::Add(x_.data(), y_.data(), n * E);
  if (L.moe) {
    kernels::RmsNorm(x_.data(), L.ffn_norm.data(), n, E, hp_.eps, h_.data());
    moe_.Forward(hp_.router, L.experts, h_.data(), n, y_.data(), pool, routed);
  } else {
    acts_.Set(x_.data(), n, E, L.ffn_norm.data(), hp_.eps);
    acts_.SiluGate(L.ffn_gate, L.ffn_up, ff_gate_.data(), ff_up_.data(), pool);
    kernels::MatMul(L.ffn_down, ff_gate_.data(), n, y_.data(), pool);
  }
  kernels::Add(x_.data(), y_.data(), n * E);
}

Status Deepseek2Model::ForwardHidden(const Batch& batch, KvCache& cache, float* logits, float* hidden,
                                     ThreadPool& pool) {
  if (!opts_.stage.whole()) return Status::FailedPrecondition("deepseek2: a pipeline stage runs with ForwardStage");
  R1_RETURN_IF_ERROR(ForwardStage(batch, cache, nullptr, nullptr, nullptr, pool));
  if (batch.size() == 0) return Status::Ok();
  if (hidden) std::copy_n(x_.data(), batch.size() * hp_.n_embd, hidden);
  head_.Logits(batch, x_.data(), hp_.eps, h_.data(), logits, pool);
  return Status::Ok();
}

// The blocks of this stage on x_; the head is the caller's (ForwardHidden)
// unless this is a pipeline's last stage, which writes the logits itself.
Status Deepseek2Model::ForwardStage(const Batch& batch, KvCache& cache, const float* hidden_in, float* hidden_out,
                                    float* logits, ThreadPool& pool) {
  const int64_t n = batch.size(), E = hp_.n_embd;
  if (n == 0) return Status::Ok();
  R1_RETURN_IF_ERROR(ValidateBatch(batch, hp_.n_vocab, cache));
  GroupBySequence(batch, &groups_);
  Fit(x_, n * E);
  Fit(h_, n * E);
  Fit(y_, n * E);
  Fit(ff_gate_, n * hp_.n_ff);
  Fit(ff_up_, n * hp_.n_ff);

  if (hidden_in) {
    std::copy_n(hidden_in, n * E, x_.data());
  } else {
    head_.Embed(batch, x_.data());
  }
  routing_.assign(static_cast<size_t>(hp_.n_layer), {});
  for (int il = range_.first; il < range_.last; ++il)
    Block(layers_[static_cast<size_t>(il)], il - range_.first, batch, cache, n, pool,
          &routing_[static_cast<size_t>(il)]);
  if (opts_.stage.whole()) return Status::Ok();  // ForwardHidden takes it from here
  if (!opts_.stage.head) {
    std::copy_n(x_.data(), n * E, hidden_out);
    return Status::Ok();
  }
  head_.Logits(batch, x_.data(), hp_.eps, h_.data(), logits, pool);
  return Status::Ok();
}

Status Deepseek2Model::ForwardMtp(const Batch& batch, const float* hidden, KvCache& mtp_cache, float* logits,
                                  float* hidden_out, ThreadPool& pool) {
  if (mtp_.empty()) return Status::Unimplemented("deepseek2: the file has no MTP block (nextn_predict_layers)");
  const Mtp& m = mtp_.front();
  const int64_t n = batch.size(), E = hp_.n_embd;
  if (n == 0) return Status::Ok();
  R1_RETURN_IF_ERROR(ValidateBatch(batch, hp_.n_vocab, mtp_cache));
  GroupBySequence(batch, &groups_);
  Fit(x_, 2 * n * E);
  Fit(h_, n * E);
  Fit(y_, 2 * n * E);
  Fit(ff_gate_, n * hp_.n_ff);
  Fit(ff_up_, n * hp_.n_ff);
  // y = [enorm(embed(token)) | hnorm(hidden)] per row, then x = eh_proj · y.
  if (m.embed.data) {
    kernels::GetRows(m.embed, batch.tokens.data(), n, h_.data());
  } else {
    head_.Embed(batch, h_.data());
  }
  kernels::RmsNorm(h_.data(), m.enorm.data(), n, E, hp_.eps, x_.data());
  kernels::RmsNorm(hidden, m.hnorm.data(), n, E, hp_.eps, x_.data() + n * E);
  for (int64_t t = 0; t < n; ++t) {
    std::copy_n(x_.data() + t * E, E, y_.data() + t * 2 * E);
    std::copy_n(x_.data() + (n + t) * E, E, y_.data() + t * 2 * E + E);
  }
  kernels::MatMul(m.eh_proj, y_.data(), n, x_.data(), pool);
  Block(m.block, 0, batch, mtp_cache, n, pool, nullptr);
  if (hidden_out) std::copy_n(x_.data(), n * E, hidden_out);
  head_.Logits(batch, x_.data(), hp_.eps, h_.data(), logits, pool,
               m.shared_head_norm.empty() ? nullptr : m.shared_head_norm.data(), m.head.data ? &m.head : nullptr);
  return Status::Ok();
}

}  // namespace
}  // namespace deepseek2

StatusOr<std::unique_ptr<Model>> LoadDeepseek2(const gguf::File& f, const LoadOptions& opts) {
  auto m = std::make_unique<deepseek2::Deepseek2Model>();
  R1_RETURN_IF_ERROR(m->Load(f, opts));
  return std::unique_ptr<Model>(std::move(m));
}

}  // namespace r1
