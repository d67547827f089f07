// Multi-head Latent Attention over the compressed cache (DeepSeek-V2 §2.1).
//
// The cache holds, per token and layer, one latent row [c_kv (kv_lora) |
// k_pe (rope)] in F16 (R1: 576 values instead of 2·128·128 for full K/V).
//
// Absorbed form (decode): W_kb is folded into the query, q'_h = W_kb,hᵀ·q_nope,h
// (kv_lora values), and each head attends over the latent rows directly with
// the query [q'_h | q_pe,h] (head size kv_lora + rope, one shared KV head);
// its values are the c_kv prefix of the same rows (V aliases K). The latent
// output is then mapped by W_vb,h. Per (query, key) pair this costs
// H·(2·kv_lora + rope) multiply-adds.
//
// Expanded form (long prefill chunks): k_nope and v are recomputed for every
// cached token from c_kv with W_kv_b, and standard attention runs with head
// sizes nope + rope and v: H·(nope + rope + v) per pair, plus the expansion.
//
// Both use softmax_scale = mscale² / sqrt(nope + rope).
#include <algorithm>

#include "kernels/attention.h"
#include "kernels/quant.h"
#include "models/deepseek2_impl.h"

namespace r1::deepseek2 {

void PerHeadMatMul(const std::vector<Matrix>& w, const float* x, int64_t x_stride, int64_t x_head, int64_t n,
                   float* y, int64_t y_stride, int64_t y_head, ThreadPool& pool) {
  // One head per task; the nested MatMul runs inline on the task's thread.
  pool.ParallelFor(static_cast<int64_t>(w.size()), [&](int64_t b, int64_t e, int) {
    std::vector<float> xin, yout;
    for (int64_t h = b; h < e; ++h) {
      const Matrix& m = w[static_cast<size_t>(h)];
      xin.resize(static_cast<size_t>(n * m.k));
      yout.resize(static_cast<size_t>(n * m.rows));
      for (int64_t t = 0; t < n; ++t) std::copy_n(x + t * x_stride + h * x_head, m.k, xin.data() + t * m.k);
      kernels::MatMul(m, xin.data(), n, yout.data(), pool);
      for (int64_t t = 0; t < n; ++t) std::copy_n(yout.data() + t * m.rows, m.rows, y + t * y_stride + h * y_head);
    }
  });
}

void MlaAttention::Init(const Hparams& hp, const kernels::RopeParams& rope, MlaMode mode,
                        int64_t expanded_min_tokens) {
  hp_ = hp;
  rope_ = rope;
  mode_ = mode;
  expanded_min_tokens_ = expanded_min_tokens;
}

void MlaAttention::Forward(const MlaWeights& w, int il, const Batch& batch, const std::vector<SeqRows>& groups,
                           const float* h, KvCache& cache, float* out, ThreadPool& pool) {
  const int64_t n = batch.size(), H = hp_.n_head, qk = hp_.qk_head(), kvl = hp_.kv_lora_rank;
  const int64_t lat = hp_.latent();
  auto fit = [](std::vector<float>& v, int64_t size) {
    if (static_cast<int64_t>(v.size()) < size) v.resize(static_cast<size_t>(size));
  };
  fit(q_, n * H * qk);
  fit(kva_, n * lat);
  fit(attn_, n * H * hp_.v_head);

  // Queries: per head [q_nope | q_pe].
  if (hp_.q_lora_rank) {
    fit(qa_, n * *hp_.q_lora_rank);
    kernels::MatMul(w.wq_a, h, n, qa_.data(), pool);
    kernels::RmsNorm(qa_.data(), w.q_a_norm.data(), n, *hp_.q_lora_rank, hp_.eps, qa_.data());
    kernels::MatMul(w.wq_b, qa_.data(), n, q_.data(), pool);
  } else {
    kernels::MatMul(w.wq, h, n, q_.data(), pool);
  }
  // The latent [c_kv | k_pe]: c_kv normalised, k_pe (one head shared by all) roped.
  kernels::MatMul(w.wkv_a, h, n, kva_.data(), pool);
  for (int64_t t = 0; t < n; ++t)
    kernels::RmsNorm(kva_.data() + t * lat, w.kv_a_norm.data(), 1, kvl, hp_.eps, kva_.data() + t * lat);
  const int rot = static_cast<int>(hp_.n_rot);
  kernels::Rope(rope_, kva_.data() + kvl, batch.pos.data(), n, 1, rot, lat);
  kernels::Rope(rope_, q_.data() + hp_.qk_nope, batch.pos.data(), n, static_cast<int>(H), static_cast<int>(qk),
                H * qk);
  for (int64_t t = 0; t < n; ++t)
    cache.StoreK(il, batch.seq[t], batch.pos[t], kva_.data() + t * lat);

  // One attention per sequence present, over its own cache.
  for (const SeqRows& g : groups) {
    const bool expanded = mode_ == MlaMode::kExpanded ||
                          (mode_ == MlaMode::kAuto && static_cast<int64_t>(g.rows.size()) >= expanded_min_tokens_);
    if (expanded) {
      Expanded(w, il, g, cache, pool);
    } else {
      Absorbed(w, il, g, cache, pool);
    }
  }
  kernels::MatMul(w.wo, attn_.data(), n, out, pool);
}

void MlaAttention::Absorbed(const MlaWeights& w, int il, const SeqRows& g, KvCache& cache, ThreadPool& pool) {
  const std::vector<int64_t>& rows = g.rows;
  const int64_t m = static_cast<int64_t>(rows.size()), H = hp_.n_head, qk = hp_.qk_head();
  const int64_t kvl = hp_.kv_lora_rank, lat = hp_.latent(), vh = hp_.v_head;
  qs_.resize(static_cast<size_t>(m * H * qk));
  for (int64_t i = 0; i < m; ++i) std::copy_n(q_.data() + rows[i] * H * qk, H * qk, qs_.data() + i * H * qk);
  // q'_h = W_kb,hᵀ·q_nope,h into [q' | q_pe] rows of H heads × (kv_lora + rope).
  qa_.resize(static_cast<size_t>(m * H * lat));
  PerHeadMatMul(w.k_b, qs_.data(), H * qk, qk, m, qa_.data(), H * lat, lat, pool);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t hh = 0; hh < H; ++hh)
      std::copy_n(qs_.data() + (i * H + hh) * qk + hp_.qk_nope, hp_.n_rot, qa_.data() + (i * H + hh) * lat + kvl);

  kernels::AttentionParams ap;
  ap.n_head = static_cast<int>(H);
  ap.n_head_kv = 1;
  ap.head_dim_k = static_cast<int>(lat);
  ap.head_dim_v = static_cast<int>(kvl);
  ap.scale = hp_.softmax_scale;
  const int64_t n_kv = g.n_kv();
  KvCache::ViewScratch scratch;
  kernels::KvView view = cache.View(il, g.seq, n_kv, 0, &scratch);  // V = the c_kv prefix of each row
  lat_.resize(static_cast<size_t>(m * H * kvl));
  kernels::Attention(ap, qa_.data(), g.pos.data(), m, view, lat_.data(), pool);

  // o_h = W_vb,h · o_latent,h.
  outs_.resize(static_cast<size_t>(m * H * vh));
  PerHeadMatMul(w.v_b, lat_.data(), H * kvl, kvl, m, outs_.data(), H * vh, vh, pool);
  for (int64_t i = 0; i < m; ++i) std::copy_n(outs_.data() + i * H * vh, H * vh, attn_.data() + rows[i] * H * vh);
}

void MlaAttention::Expanded(const MlaWeights& w, int il, const SeqRows& g, KvCache& cache, ThreadPool& pool) {
  const std::vector<int64_t>& rows = g.rows;
  const int64_t m = static_cast<int64_t>(rows.size()), H = hp_.n_head, qk = hp_.qk_head();
  const int64_t kvl = hp_.kv_lora_rank, vh = hp_.v_head, nope = hp_.qk_nope;
  const int64_t n_kv = g.n_kv();

  // Every cached token's c_kv (as stored) expanded to per-head [k_nope | v].
  const int64_t lat = hp_.latent(), rot = hp_.n_rot;
  c_.resize(static_cast<size_t>(n_kv * kvl));
  std::vector<float> row(static_cast<size_t>(lat)), pe(static_cast<size_t>(n_kv * rot));
  for (int64_t j = 0; j < n_kv; ++j) {
    cache.LoadK(il, g.seq, j, row.data());
    std::copy_n(row.data(), kvl, c_.data() + j * kvl);
    std::copy_n(row.data() + kvl, rot, pe.data() + j * rot);
  }
  kvx_.resize(static_cast<size_t>(n_kv * H * (nope + vh)));
  kernels::MatMul(w.kv_b, c_.data(), n_kv, kvx_.data(), pool);

  // K rows [k_nope,h | k_pe] for each head, V rows v_h: one contiguous block.
  kx_.resize(static_cast<size_t>(n_kv * H * qk));
  vx_.resize(static_cast<size_t>(n_kv * H * vh));
  pool.ParallelFor(n_kv, [&](int64_t b, int64_t e, int) {
    for (int64_t j = b; j < e; ++j) {
      for (int64_t hh = 0; hh < H; ++hh) {
        const float* src = kvx_.data() + (j * H + hh) * (nope + vh);
        uint16_t* k = kx_.data() + (j * H + hh) * qk;
        kernels::ToF16(src, k, nope);
        kernels::ToF16(pe.data() + j * rot, k + nope, rot);
        kernels::ToF16(src + nope, vx_.data() + (j * H + hh) * vh, vh);
      }
    }
  }, 16);

  qs_.resize(static_cast<size_t>(m * H * qk));
  for (int64_t i = 0; i < m; ++i) std::copy_n(q_.data() + rows[i] * H * qk, H * qk, qs_.data() + i * H * qk);
  const void* kb = kx_.data();
  const void* vb = vx_.data();
  kernels::KvView view;
  view.k_blocks = &kb;
  view.v_blocks = &vb;
  view.block_size = n_kv;
  view.n_kv = n_kv;
  view.k_row_stride = H * qk;
  view.v_row_stride = H * vh;
  kernels::AttentionParams ap;
  ap.n_head = ap.n_head_kv = static_cast<int>(H);
  ap.head_dim_k = static_cast<int>(qk);
  ap.head_dim_v = static_cast<int>(vh);
  ap.scale = hp_.softmax_scale;
  outs_.resize(static_cast<size_t>(m * H * vh));
  kernels::Attention(ap, qs_.data(), g.pos.data(), m, view, outs_.data(), pool);
  for (int64_t i = 0; i < m; ++i) std::copy_n(outs_.data() + i * H * vh, H * vh, attn_.data() + rows[i] * H * vh);
}

}  // namespace r1::deepseek2
