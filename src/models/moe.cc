#include "models/moe.h"

#include <algorithm>
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

// Rows `rows` of `src` (token-major quantized activations) into `dst`.
void GatherRows(const QuantizedActs& src, const std::vector<int32_t>& slots, int n_used, QuantizedActs* dst) {
  dst->type = src.type;
  dst->k = src.k;
  dst->row_bytes = src.row_bytes;
  dst->n_tokens = static_cast<int64_t>(slots.size());
  dst->data.resize(slots.size() * src.row_bytes);
  for (size_t i = 0; i < slots.size(); ++i)
    std::memcpy(dst->data.data() + i * src.row_bytes, src.row(slots[i] / n_used), src.row_bytes);
}

void SwiGlu(const Matrix& gate, const Matrix& up, const Matrix& down, const QuantizedActs& xg,
            const QuantizedActs& xu, int64_t n, std::vector<float>& g, std::vector<float>& u, float* y,
            ThreadPool& pool) {
  g.resize(static_cast<size_t>(n * gate.rows));
  u.resize(g.size());
  kernels::MatMul(gate, xg, g.data(), pool);
  kernels::MatMul(up, xu, u.data(), pool);
  kernels::SiluMul(g.data(), u.data(), n * gate.rows, g.data());
  kernels::MatMul(down, g.data(), n, y, pool);
}

}  // namespace

void MoeFeedForward::RunExpert(const MoeWeights& w, int e, const std::vector<int32_t>& slots, int n_used,
                               ThreadPool& pool) {
  const int64_t n_ff = w.down_exps.k, n_embd = w.gate_exps.k, n_e = static_cast<int64_t>(slots.size());
  GatherRows(hq_, slots, n_used, &xe_);
  const QuantizedActs* xu = &xe_;
  if (hq_up_.type != hq_.type) {
    GatherRows(hq_up_, slots, n_used, &xe_up_);
    xu = &xe_up_;
  }
  y_.resize(static_cast<size_t>(n_e * n_embd));
  SwiGlu(w.gate_exps.Slice(e * n_ff, n_ff), w.up_exps.Slice(e * n_ff, n_ff), w.down_exps.Slice(e * n_embd, n_embd),
         xe_, *xu, n_e, g_, u_, y_.data(), pool);
  for (int64_t i = 0; i < n_e; ++i)
    std::copy_n(y_.data() + i * n_embd, n_embd, ys_.data() + static_cast<size_t>(slots[i]) * n_embd);
}

void MoeFeedForward::Forward(const RouterConfig& c, const MoeWeights& w, const float* h, int64_t n, float* out,
                             ThreadPool& pool, std::vector<int32_t>* ids_out) {
  const int64_t n_embd = w.gate_exps.k, E = c.n_expert, k = c.n_used;
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

  // The input is quantized once for every expert's gate and up projections.
  kernels::QuantizeActs(kernels::VecDotType(w.gate_exps.type), h, n_embd, n, &hq_, pool);
  hq_up_.type = hq_.type;
  if (kernels::VecDotType(w.up_exps.type) != hq_.type)
    kernels::QuantizeActs(kernels::VecDotType(w.up_exps.type), h, n_embd, n, &hq_up_, pool);
  ys_.resize(static_cast<size_t>(n * k * n_embd));
  for (int e = 0; e < E; ++e)
    if (!slots_[e].empty()) RunExpert(w, e, slots_[e], static_cast<int>(k), pool);

  // Shared experts, unweighted; then each token's routed outputs in slot order.
  if (w.gate_shexp.rows > 0) {
    QuantizedActs* xg = &hq_;
    if (kernels::VecDotType(w.gate_shexp.type) != hq_.type) {
      kernels::QuantizeActs(kernels::VecDotType(w.gate_shexp.type), h, n_embd, n, &xe_, pool);
      xg = &xe_;
    }
    QuantizedActs* xu = xg;
    if (kernels::VecDotType(w.up_shexp.type) != xg->type) {
      kernels::QuantizeActs(kernels::VecDotType(w.up_shexp.type), h, n_embd, n, &xe_up_, pool);
      xu = &xe_up_;
    }
    SwiGlu(w.gate_shexp, w.up_shexp, w.down_shexp, *xg, *xu, n, g_, u_, out, pool);
  } else {
    std::fill(out, out + n * n_embd, 0.0f);
  }
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
