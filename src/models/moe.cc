#include "models/moe.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "kernels/ops.h"
#include "kernels/quant.h"

namespace r1 {

using kernels::Matrix;
using kernels::QuantizedActs;

void Route(const RouterConfig& c, const float* logits, const float* bias, int32_t* ids, float* weights) {
  const int E = c.n_expert;
  std::vector<double> s(static_cast<size_t>(E)), choice(static_cast<size_t>(E));
  if (c.gating == Gating::kSigmoid) {
    for (int e = 0; e < E; ++e) s[e] = 1.0 / (1.0 + std::exp(-static_cast<double>(logits[e])));
  } else {
    const double mx = *std::max_element(logits, logits + E);
    double sum = 0;
    for (int e = 0; e < E; ++e) sum += s[e] = std::exp(static_cast<double>(logits[e]) - mx);
    for (int e = 0; e < E; ++e) s[e] /= sum;
  }
  for (int e = 0; e < E; ++e) choice[e] = s[e] + (bias ? static_cast<double>(bias[e]) : 0.0);

  // Higher score first, ties to the lower index (a stable sort, as torch.topk
  // and numpy's stable argsort give on CPU).
  auto top = [](const std::vector<double>& v, int k, int32_t* out) {
    std::vector<int32_t> idx(v.size());
    std::iota(idx.begin(), idx.end(), 0);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
    std::copy_n(idx.begin(), k, out);
  };

  if (c.group_limited()) {
    // noaux_tc (sigmoid): a group scores the sum of its two best choices;
    // V2's group_limited_greedy (softmax): its best one. Experts of groups not
    // among the topk_group best are masked to -inf.
    const int G = c.n_group, per = E / G;
    std::vector<double> gscore(static_cast<size_t>(G));
    for (int g = 0; g < G; ++g) {
      std::vector<double> grp(choice.begin() + g * per, choice.begin() + (g + 1) * per);
      std::sort(grp.begin(), grp.end(), std::greater<>());
      gscore[g] = c.gating == Gating::kSigmoid ? grp[0] + (per > 1 ? grp[1] : 0.0) : grp[0];
    }
    std::vector<int32_t> keep(static_cast<size_t>(c.topk_group));
    top(gscore, c.topk_group, keep.data());
    std::vector<bool> kept(static_cast<size_t>(G), false);
    for (int32_t g : keep) kept[g] = true;
    for (int e = 0; e < E; ++e)
      if (!kept[e / per]) choice[e] = -std::numeric_limits<double>::infinity();
  }
  top(choice, c.n_used, ids);

  double sum = 0;
  for (int i = 0; i < c.n_used; ++i) sum += s[ids[i]];
  for (int i = 0; i < c.n_used; ++i) {
    double w = s[ids[i]];
    if (c.norm_weights) w /= sum;
    weights[i] = static_cast<float>(w * c.scale);
  }
}

namespace {

// Rows of `src` (token-major quantized activations) for the given slots.
void GatherRows(const QuantizedActs& src, const std::vector<int32_t>& slots, int n_used, QuantizedActs* dst) {
  dst->type = src.type;
  dst->k = src.k;
  dst->row_bytes = src.row_bytes;
  dst->n_tokens = static_cast<int64_t>(slots.size());
  dst->data.resize(slots.size() * src.row_bytes);
  for (size_t i = 0; i < slots.size(); ++i)
    std::memcpy(dst->data.data() + i * src.row_bytes, src.row(slots[i] / n_used), src.row_bytes);
}

// Runs fn(i) for i in [0, n) on the pool, handed out dynamically (expert
// loads differ); kernels called inside run inline on the task's thread.
void ForTasks(int64_t n, ThreadPool& pool, const std::function<void(int64_t)>& fn) {
  std::atomic<int64_t> next{0};
  pool.ParallelFor(std::min<int64_t>(pool.size(), n), [&](int64_t, int64_t, int) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i);
  });
}

}  // namespace

void MoeFeedForward::Forward(const RouterConfig& c, const MoeWeights& w, const float* h, int64_t n, float* out,
                             ThreadPool& pool, std::vector<int32_t>* ids_out) {
  const int64_t n_embd = w.gate_exps.k, E = c.n_expert, k = c.n_used, F = w.down_exps.k;
  logits_.resize(static_cast<size_t>(n * E));
  ids_.resize(static_cast<size_t>(n * k));
  weights_.resize(ids_.size());
  kernels::MatMul(w.router, h, n, logits_.data(), pool);
  for (int64_t t = 0; t < n; ++t)
    Route(c, logits_.data() + t * E, w.bias.empty() ? nullptr : w.bias.data(), ids_.data() + t * k,
          weights_.data() + t * k);
  if (ids_out) *ids_out = ids_;

  // Group the (token, slot) pairs by expert, in token order.
  slots_.resize(static_cast<size_t>(E));
  for (auto& s : slots_) s.clear();
  for (int64_t i = 0; i < n * k; ++i) slots_[ids_[i]].push_back(static_cast<int32_t>(i));
  active_.clear();
  for (int e = 0; e < E; ++e)
    if (!slots_[e].empty()) active_.push_back(e);
  // Busiest experts first, so the tasks handed out last are the small ones
  // and the two threads finish together (the order never changes a result).
  std::stable_sort(active_.begin(), active_.end(),
                   [&](int a, int b) { return slots_[a].size() > slots_[b].size(); });

  // The input, quantized once, then gathered per active expert.
  auto quantized = [&](GgmlType weight_type, kernels::QuantizedActs* q) -> const QuantizedActs& {
    const GgmlType t = kernels::VecDotType(weight_type);
    if (q->type != t || q->n_tokens != n || !q_valid_[q == &hq_ ? 0 : 1]) {
      kernels::QuantizeActs(t, h, n_embd, n, q, pool);
      q_valid_[q == &hq_ ? 0 : 1] = true;
    }
    return *q;
  };
  q_valid_[0] = q_valid_[1] = false;
  const QuantizedActs& xg = quantized(w.gate_exps.type, &hq_);
  const QuantizedActs& xu = kernels::VecDotType(w.up_exps.type) == xg.type ? xg : quantized(w.up_exps.type, &hq_up_);
  const size_t A = active_.size();
  xe_.resize(A);
  xe_up_.resize(A);
  for (size_t a = 0; a < A; ++a) {
    GatherRows(xg, slots_[active_[a]], static_cast<int>(k), &xe_[a]);
    if (&xu != &xg) GatherRows(xu, slots_[active_[a]], static_cast<int>(k), &xe_up_[a]);
  }
  const bool shared = w.gate_shexp.rows > 0;
  const int64_t Fs = shared ? w.gate_shexp.rows : 0, n_sh = (Fs + F - 1) / F;  // shared FFN in F-row chunks
  const QuantizedActs* xsg = shared ? &quantized(w.gate_shexp.type, &hq_) : nullptr;
  const QuantizedActs* xsu = nullptr;
  if (shared) {
    xsu = kernels::VecDotType(w.up_shexp.type) == xsg->type ? xsg : &quantized(w.up_shexp.type, &hq_up_);
  }

  // Phase 1: gate and up projections, one task per (expert, projection) and
  // per F-row chunk of the shared experts'.
  g_.resize(A);
  u_.resize(A);
  sg_.resize(static_cast<size_t>(n * Fs));
  su_.resize(sg_.size());
  // Shared-expert chunks (every token) first, then the routed experts.
  ForTasks(static_cast<int64_t>(2 * A) + 2 * n_sh, pool, [&](int64_t task) {
    const int64_t i = (task + 2 * n_sh) % (2 * static_cast<int64_t>(A) + 2 * n_sh);
    const bool up = i % 2;
    const int64_t j = i / 2;
    if (j < static_cast<int64_t>(A)) {
      const int e = active_[static_cast<size_t>(j)];
      const int64_t n_e = xe_[j].n_tokens;
      std::vector<float>& y = up ? u_[j] : g_[j];
      y.resize(static_cast<size_t>(n_e * F));
      kernels::MatMul((up ? w.up_exps : w.gate_exps).Slice(e * F, F), up && &xu != &xg ? xe_up_[j] : xe_[j],
                      y.data(), pool);
      return;
    }
    const int64_t r0 = (j - static_cast<int64_t>(A)) * F, rows = std::min(F, Fs - r0);
    std::vector<float> y(static_cast<size_t>(n * rows));
    kernels::MatMul((up ? w.up_shexp : w.gate_shexp).Slice(r0, rows), up ? *xsu : *xsg, y.data(), pool);
    std::vector<float>& dst = up ? su_ : sg_;
    for (int64_t t = 0; t < n; ++t) std::copy_n(y.data() + t * rows, rows, dst.data() + t * Fs + r0);
  });

  // Phase 2: silu(gate)·up and the down projection; routed outputs go to
  // their (token, slot) rows, the shared output straight to `out` in chunks
  // of output rows.
  ys_.resize(static_cast<size_t>(n * k * n_embd));
  const int64_t n_down_sh = shared ? n_sh : 0;
  const int64_t rows_sh = shared ? (n_embd + n_sh - 1) / n_sh : 0;
  if (shared) kernels::SiluMul(sg_.data(), su_.data(), n * Fs, sg_.data(), &pool);
  ForTasks(static_cast<int64_t>(A) + n_down_sh, pool, [&](int64_t task) {
    const int64_t j = (task + n_down_sh) % (static_cast<int64_t>(A) + n_down_sh);
    if (j < static_cast<int64_t>(A)) {
      const int e = active_[static_cast<size_t>(j)];
      const int64_t n_e = xe_[j].n_tokens;
      kernels::SiluMul(g_[j].data(), u_[j].data(), n_e * F, g_[j].data());
      std::vector<float> y(static_cast<size_t>(n_e * n_embd));
      kernels::MatMul(w.down_exps.Slice(e * n_embd, n_embd), g_[j].data(), n_e, y.data(), pool);
      const auto& slots = slots_[e];
      for (int64_t i = 0; i < n_e; ++i)
        std::copy_n(y.data() + i * n_embd, n_embd, ys_.data() + static_cast<size_t>(slots[i]) * n_embd);
      return;
    }
    const int64_t r0 = (j - static_cast<int64_t>(A)) * rows_sh, rows = std::min(rows_sh, n_embd - r0);
    if (rows <= 0) return;
    std::vector<float> y(static_cast<size_t>(n * rows));
    kernels::MatMul(w.down_shexp.Slice(r0, rows), sg_.data(), n, y.data(), pool);
    for (int64_t t = 0; t < n; ++t) std::copy_n(y.data() + t * rows, rows, out + t * n_embd + r0);
  });
  if (!shared) std::fill(out, out + n * n_embd, 0.0f);

  // Each token's routed outputs, weighted, in slot order.
  for (int64_t t = 0; t < n; ++t) {
    float* o = out + t * n_embd;
    for (int64_t s = 0; s < k; ++s) {
      const float wt = weights_[t * k + s];
      const float* y = ys_.data() + (t * k + s) * n_embd;
      for (int64_t i = 0; i < n_embd; ++i) o[i] += wt * y[i];
    }
  }
}

}  // namespace r1
