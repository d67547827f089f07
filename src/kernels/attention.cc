// Causal attention over a paged F16 or Q8_0 KV cache: scalar reference, portable
// flash-attention unit, and the parallel driver (see attention_impl.h).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "kernels/attention.h"
#include "kernels/attention_impl.h"
#include "kernels/cpu.h"

namespace r1::kernels {
namespace {

// IEEE half → float, exact (no dependency on the quant helpers).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const int exp = (h >> 10) & 0x1f;
  const uint32_t man = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = std::ldexp(static_cast<float>(man), -24);
  } else if (exp == 31) {
    f = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    f = std::ldexp(static_cast<float>(man | 0x400), exp - 25);
  }
  return sign ? -f : f;
}

// Values [0, n) of one head's row, exactly (Q8_0: d·q is exact in float).
void LoadRow(KvType t, const void* row, int n, float* out) {
  if (t == KvType::kF16) {
    const auto* h = static_cast<const uint16_t*>(row);
    for (int c = 0; c < n; ++c) out[c] = HalfToFloat(h[c]);
    return;
  }
  const auto* b = static_cast<const uint8_t*>(row);
  for (int c0 = 0; c0 < n; c0 += kKvQ8Block, b += kKvQ8Bytes) {
    const float d = HalfToFloat(static_cast<uint16_t>(b[0] | b[1] << 8));
    const auto* q = reinterpret_cast<const int8_t*>(b + 2);
    for (int c = 0; c < kKvQ8Block && c0 + c < n; ++c) out[c0 + c] = d * static_cast<float>(q[c]);
  }
}

// Start of row `row` + `value` values into a cache block of type t.
const void* Advance(KvType t, const void* base, int64_t row, int64_t stride, int64_t value) {
  return static_cast<const uint8_t*>(base) + KvBytes(t, row * stride + value);
}

const void* KRow(const KvView& kv, const AttentionParams& p, int64_t key, int kv_head) {
  return Advance(kv.type, kv.k_blocks[key / kv.block_size], key % kv.block_size, kv.k_row_stride,
                 static_cast<int64_t>(kv_head) * (kv.k_head_stride ? kv.k_head_stride : p.head_dim_k));
}

const void* VRow(const KvView& kv, const AttentionParams& p, int64_t key, int kv_head) {
  return Advance(kv.type, kv.v_blocks[key / kv.block_size], key % kv.block_size, kv.v_row_stride,
                 static_cast<int64_t>(kv_head) * (kv.v_head_stride ? kv.v_head_stride : p.head_dim_v));
}

}  // namespace

void AttentionRef(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
                  const KvView& kv, float* out) {
  const int group = p.n_head / p.n_head_kv;
  std::vector<double> s, acc(p.head_dim_v);
  std::vector<float> kf(p.head_dim_k), vf(p.head_dim_v);
  for (int64_t i = 0; i < n_q; ++i) {
    const int64_t n_keys = static_cast<int64_t>(q_pos[i]) + 1;
    s.resize(n_keys);
    for (int h = 0; h < p.n_head; ++h) {
      const float* qh = q + (i * p.n_head + h) * p.head_dim_k;
      const int g = h / group;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n_keys; ++j) {
        LoadRow(kv.type, KRow(kv, p, j, g), p.head_dim_k, kf.data());
        double d = 0.0;
        for (int c = 0; c < p.head_dim_k; ++c) d += static_cast<double>(qh[c]) * kf[c];
        s[j] = d * p.scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n_keys; ++j) {
        const double e = std::exp(s[j] - mx);
        sum += e;
        LoadRow(kv.type, VRow(kv, p, j, g), p.head_dim_v, vf.data());
        for (int c = 0; c < p.head_dim_v; ++c) acc[c] += e * vf[c];
      }
      float* o = out + (i * p.n_head + h) * p.head_dim_v;
      for (int c = 0; c < p.head_dim_v; ++c) o[c] = static_cast<float>(acc[c] / sum);
    }
  }
}

namespace attn {

void TileRows(const KvView& kv, const AttentionParams& p, int kv_head, int64_t t0, int n,
              Scratch& sc) {
  // One division per tile, not per key; byte offsets (F16 or Q8_0 rows).
  int64_t blk = t0 / kv.block_size, row = t0 % kv.block_size;
  const int64_t k_off =
      KvBytes(kv.type, static_cast<int64_t>(kv_head) * (kv.k_head_stride ? kv.k_head_stride : p.head_dim_k));
  const int64_t v_off =
      KvBytes(kv.type, static_cast<int64_t>(kv_head) * (kv.v_head_stride ? kv.v_head_stride : p.head_dim_v));
  const int64_t k_stride = KvBytes(kv.type, kv.k_row_stride), v_stride = KvBytes(kv.type, kv.v_row_stride);
  for (int j = 0; j < n; ++j) {
    sc.krows[j] = static_cast<const uint8_t*>(kv.k_blocks[blk]) + row * k_stride + k_off;
    sc.vrows[j] = static_cast<const uint8_t*>(kv.v_blocks[blk]) + row * v_stride + v_off;
    if (++row == kv.block_size) {
      row = 0;
      ++blk;
    }
  }
}

void UnitScalar(const AttentionParams& p, const KvView& kv, const Unit& u, Scratch& sc) {
  const int dk = p.head_dim_k, dv = p.head_dim_v, nh = u.nh;
  const float scale = p.scale * 1.44269504088896341f;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  float m[kMaxGroup], l[kMaxGroup];
  std::fill(sc.acc, sc.acc + static_cast<int64_t>(nh) * dv, 0.0f);
  std::fill(m, m + nh, kNegInf);
  std::fill(l, l + nh, 0.0f);
  std::vector<float> kf(dk), vf(dv);
  const int64_t n_keys = static_cast<int64_t>(u.pos) + 1;
  for (int64_t t0 = 0; t0 < n_keys; t0 += kTile) {
    const int n = static_cast<int>(std::min<int64_t>(kTile, n_keys - t0));
    TileRows(kv, p, u.kv_head, t0, n, sc);
    for (int j = 0; j < n; ++j) {
      LoadRow(kv.type, sc.krows[j], dk, kf.data());
      for (int h = 0; h < nh; ++h) {
        float d = 0.0f;
        for (int c = 0; c < dk; ++c) d += u.q[h][c] * kf[c];
        sc.s[h * kTile + j] = d * scale;
      }
    }
    float corr[kMaxGroup];
    for (int h = 0; h < nh; ++h) {
      float* s = sc.s + h * kTile;
      const float m_new = std::max(m[h], *std::max_element(s, s + n));
      corr[h] = m[h] == kNegInf ? 0.0f : std::exp2(m[h] - m_new);
      float sum = 0.0f;
      for (int j = 0; j < n; ++j) {
        s[j] = std::exp2(s[j] - m_new);
        sum += s[j];
      }
      l[h] = l[h] * corr[h] + sum;
      m[h] = m_new;
      float* acc = sc.acc + static_cast<int64_t>(h) * dv;
      for (int c = 0; c < dv; ++c) acc[c] *= corr[h];
    }
    for (int j = 0; j < n; ++j) {
      LoadRow(kv.type, sc.vrows[j], dv, vf.data());
      for (int h = 0; h < nh; ++h) {
        float* acc = sc.acc + static_cast<int64_t>(h) * dv;
        const float pj = sc.s[h * kTile + j];
        for (int c = 0; c < dv; ++c) acc[c] += pj * vf[c];
      }
    }
  }
  for (int h = 0; h < nh; ++h) {
    const float* acc = sc.acc + static_cast<int64_t>(h) * dv;
    for (int c = 0; c < dv; ++c) u.out[h][c] = acc[c] / l[h];
  }
}

UnitFn BestUnit(const AttentionParams& p) {
  // Same switch as the dot kernels: AVX2 (+FMA, F16C, OS ymm state) unless
  // R1_FORCE_SCALAR is set.
  static const bool avx2 = GetCpuFeatures().avx2 && !ForceScalar();
  if (avx2 && p.head_dim_k % 8 == 0 && p.head_dim_v % 8 == 0) return UnitAvx2;
  return UnitScalar;
}

void Run(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
         const KvView& kv, float* out, ThreadPool& pool, UnitFn fn) {
  if (n_q <= 0) return;
  const int group = p.n_head / p.n_head_kv;
  const int n_sub = (group + kMaxGroup - 1) / kMaxGroup;  // subgroups per KV head
  const int64_t per_query = static_cast<int64_t>(p.n_head_kv) * n_sub;
  const int64_t n_units = n_q * per_query;
  // Longest queries first, handed out dynamically: balances causal prefill.
  // Who computes a unit never changes how it is computed.
  std::vector<int64_t> order(n_q);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return q_pos[a] > q_pos[b]; });
  std::atomic<int64_t> next{0};
  const int64_t n_workers = std::min<int64_t>(pool.size(), n_units);
  pool.ParallelFor(n_workers, [&](int64_t, int64_t, int) {
    std::vector<float> acc(static_cast<size_t>(kMaxGroup) * p.head_dim_v + 16);
    std::vector<float> s(static_cast<size_t>(kMaxGroup) * kTile);
    std::vector<const void*> rows(2 * kTile);
    Scratch sc{acc.data(), s.data(), rows.data(), rows.data() + kTile};
    for (;;) {
      const int64_t idx = next.fetch_add(1, std::memory_order_relaxed);
      if (idx >= n_units) break;
      const int64_t i = order[idx / per_query];
      const int g = static_cast<int>((idx % per_query) / n_sub);
      const int sub = static_cast<int>(idx % n_sub);
      // Subgroup `sub` of KV head g: heads split as evenly as possible.
      const int base = group / n_sub, extra = group % n_sub;
      const int h0 = g * group + sub * base + std::min(sub, extra);
      Unit u;
      u.pos = q_pos[i];
      u.kv_head = g;
      u.nh = base + (sub < extra ? 1 : 0);
      for (int h = 0; h < u.nh; ++h) {
        u.q[h] = q + (i * p.n_head + h0 + h) * p.head_dim_k;
        u.out[h] = out + (i * p.n_head + h0 + h) * p.head_dim_v;
      }
      fn(p, kv, u, sc);
    }
  });
}

}  // namespace attn

void Attention(const AttentionParams& p, const float* q, const int32_t* q_pos, int64_t n_q,
               const KvView& kv, float* out, ThreadPool& pool) {
  attn::Run(p, q, q_pos, n_q, kv, out, pool, attn::BestUnit(p));
}

}  // namespace r1::kernels
