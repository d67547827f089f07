// AVX2 + FMA + F16C flash-attention unit (see attention_impl.h).
//
// Per (head, key) score: one 8-lane FMA accumulator over head_dim_k in order,
// then a fixed horizontal sum. Per (head, lane of V): acc = acc * corr, then
// acc = fma(p_j, v_j, acc) over the tile's keys in order. Register blocking
// (heads × keys, heads × V chunks) only shares loads, so it never changes the
// operations that produce a value.
//
// K/V rows are F16 or Q8_0 (a template parameter, `Elems`); a Q8_0 value is
// converted to float as cvt(q)·d, which is exact, so both types feed the same
// float arithmetic as the scalar reference's dequantized rows.
//
// ODR hygiene: this file is compiled with -mavx2 -mfma -mf16c. Everything but
// UnitAvx2 is in an anonymous namespace and no std:: template is instantiated
// here, so no AVX instruction can reach baseline code through a shared COMDAT.
#include <immintrin.h>

#include <cstdint>

#include "kernels/attention_impl.h"
#include "kernels/x86/simd_avx2.h"

namespace r1::kernels::attn {
namespace {

constexpr float kNegInf = -__builtin_inff();

inline int Min(int a, int b) { return a < b ? a : b; }
inline float Max(float a, float b) { return a < b ? b : a; }

inline float Hsum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// Horizontal sums of eight vectors, out[i] = sum of a[i]'s lanes, always in
// the order ((x0 + x1) + (x2 + x3)) with x_j = lane j + lane j+4. Every score
// goes through this (unused inputs are zero), so blocking cannot change it.
inline __m256 Reduce8(const __m256* a) {
  __m256 p[4];
  for (int i = 0; i < 4; ++i)
    p[i] = _mm256_add_ps(_mm256_permute2f128_ps(a[i], a[i + 4], 0x20),
                         _mm256_permute2f128_ps(a[i], a[i + 4], 0x31));
  return _mm256_hadd_ps(_mm256_hadd_ps(p[0], p[1]), _mm256_hadd_ps(p[2], p[3]));
}

inline float Hmax(__m256 v) {
  __m128 lo = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_max_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_max_ss(lo, _mm_shuffle_ps(lo, lo, 1));
  return _mm_cvtss_f32(lo);
}

// 2^x, relative error ~2e-7; 0 for x < -126 (incl. -inf).
inline __m256 Exp2(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-126.0f);
  __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, lo), _mm256_set1_ps(127.0f));
  __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 f = _mm256_sub_ps(x, n);  // [-0.5, 0.5]
  __m256 r = x86::Exp2Poly(f);
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  r = _mm256_mul_ps(r, _mm256_castsi256_ps(e));
  return _mm256_andnot_ps(under, r);
}

// Values c..c+7 of a row (c a multiple of 8) as floats.
struct F16Elems {
  static __m256 Load(const void* row, int c) {
    return _mm256_cvtph_ps(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(row) + c)));
  }
};

struct Q8Elems {
  static __m256 Load(const void* row, int c) {
    const uint8_t* b = static_cast<const uint8_t*>(row) + (c >> 5) * kKvQ8Bytes;
    uint16_t d;
    __builtin_memcpy(&d, b, 2);
    const __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + 2 + (c & 31))));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(q), _mm256_set1_ps(_cvtsh_ss(d)));
  }
};

// s[h*kTile + kk] = scale * dot(q[h], k[kk]) for NH heads × NK keys.
template <typename E, int NH, int NK>
inline void ScoreBlock(const float* const* q, const void* const* k, int dk, float scale,
                       float* s) {
  __m256 acc[NH][NK];
  for (int h = 0; h < NH; ++h)
    for (int kk = 0; kk < NK; ++kk) acc[h][kk] = _mm256_setzero_ps();
  for (int c = 0; c < dk; c += 8) {
    __m256 kf[NK];
    for (int kk = 0; kk < NK; ++kk) kf[kk] = E::Load(k[kk], c);
    for (int h = 0; h < NH; ++h) {
      __m256 qv = _mm256_loadu_ps(q[h] + c);
      for (int kk = 0; kk < NK; ++kk) acc[h][kk] = _mm256_fmadd_ps(qv, kf[kk], acc[h][kk]);
    }
  }
  constexpr int kN = NH * NK;
  const __m256 sv = _mm256_set1_ps(scale);
  for (int g = 0; g < kN; g += 8) {
    __m256 a[8];
    for (int i = 0; i < 8; ++i)
      a[i] = g + i < kN ? acc[(g + i) / NK][(g + i) % NK] : _mm256_setzero_ps();
    alignas(32) float out[8];
    _mm256_store_ps(out, _mm256_mul_ps(Reduce8(a), sv));
    for (int i = 0; i < 8 && g + i < kN; ++i) s[((g + i) / NK) * kTile + (g + i) % NK] = out[i];
  }
}

template <typename E, int NH, int NK>
void Scores(const float* const* q, const void* const* k, int n, int dk, float scale,
            float* s) {
  int j = 0;
  for (; j + NK <= n; j += NK) ScoreBlock<E, NH, NK>(q, k + j, dk, scale, s + j);
  for (; j < n; ++j) ScoreBlock<E, NH, 1>(q, k + j, dk, scale, s + j);
}

// acc[h][c..c+8*NC) = acc*corr[h] + sum_j p[h][j] * v[j][c..].
template <typename E, int NH, int NC>
inline void VBlock(float* const* acc, const float* p, const void* const* v, int n, int c,
                   const float* corr) {
  __m256 a[NH][NC];
  for (int h = 0; h < NH; ++h) {
    __m256 ch = _mm256_set1_ps(corr[h]);
    for (int cc = 0; cc < NC; ++cc)
      a[h][cc] = _mm256_mul_ps(_mm256_loadu_ps(acc[h] + c + 8 * cc), ch);
  }
  for (int j = 0; j < n; ++j) {
    __m256 vf[NC];
    for (int cc = 0; cc < NC; ++cc) vf[cc] = E::Load(v[j], c + 8 * cc);
    for (int h = 0; h < NH; ++h) {
      __m256 pb = _mm256_broadcast_ss(p + h * kTile + j);
      for (int cc = 0; cc < NC; ++cc) a[h][cc] = _mm256_fmadd_ps(pb, vf[cc], a[h][cc]);
    }
  }
  for (int h = 0; h < NH; ++h)
    for (int cc = 0; cc < NC; ++cc) _mm256_storeu_ps(acc[h] + c + 8 * cc, a[h][cc]);
}

template <typename E, int NH, int NC>
void VAccum(float* const* acc, const float* p, const void* const* v, int n, int dv,
            const float* corr) {
  int c = 0;
  for (; c + 8 * NC <= dv; c += 8 * NC) VBlock<E, NH, NC>(acc, p, v, n, c, corr);
  for (; c < dv; c += 8) VBlock<E, NH, 1>(acc, p, v, n, c, corr);
}

// Heads are processed in register subgroups of up to 4.
// Register blocking: a subgroup of up to 8 heads shares each converted K (V)
// vector; the heads × keys (heads × V chunks) tile keeps 8-12 independent FMA
// chains in 16 ymm registers.
template <typename E>
void ScoresAll(const float* const* q, int nh, const void* const* k, int n, int dk,
               float scale, float* s) {
  for (int h = 0; h < nh; h += 8) {
    const float* const* qh = q + h;
    float* sh = s + h * kTile;
    switch (Min(8, nh - h)) {
      case 8: Scores<E, 8, 1>(qh, k, n, dk, scale, sh); break;
      case 7: Scores<E, 7, 1>(qh, k, n, dk, scale, sh); break;
      case 6: Scores<E, 6, 2>(qh, k, n, dk, scale, sh); break;
      case 5: Scores<E, 5, 2>(qh, k, n, dk, scale, sh); break;
      case 4: Scores<E, 4, 2>(qh, k, n, dk, scale, sh); break;
      case 3: Scores<E, 3, 4>(qh, k, n, dk, scale, sh); break;
      case 2: Scores<E, 2, 4>(qh, k, n, dk, scale, sh); break;
      default: Scores<E, 1, 8>(qh, k, n, dk, scale, sh); break;
    }
  }
}

template <typename E>
void VAccumAll(float* const* acc, int nh, const float* p, const void* const* v, int n,
               int dv, const float* corr) {
  for (int h = 0; h < nh; h += 8) {
    float* const* ah = acc + h;
    const float* ph = p + h * kTile;
    const float* ch = corr + h;
    switch (Min(8, nh - h)) {
      case 8: VAccum<E, 8, 1>(ah, ph, v, n, dv, ch); break;
      case 7: VAccum<E, 7, 1>(ah, ph, v, n, dv, ch); break;
      case 6: VAccum<E, 6, 2>(ah, ph, v, n, dv, ch); break;
      case 5: VAccum<E, 5, 2>(ah, ph, v, n, dv, ch); break;
      case 4: VAccum<E, 4, 2>(ah, ph, v, n, dv, ch); break;
      case 3: VAccum<E, 3, 2>(ah, ph, v, n, dv, ch); break;
      case 2: VAccum<E, 2, 4>(ah, ph, v, n, dv, ch); break;
      default: VAccum<E, 1, 8>(ah, ph, v, n, dv, ch); break;
    }
  }
}

template <typename E>
void UnitImpl(const AttentionParams& p, const KvView& kv, const Unit& u, Scratch& sc) {
  const int dk = p.head_dim_k, dv = p.head_dim_v, nh = u.nh;
  const float scale = p.scale * 1.44269504088896341f;  // softmax in base 2
  float m[kMaxGroup], l[kMaxGroup], corr[kMaxGroup];
  float* acc[kMaxGroup];
  for (int h = 0; h < nh; ++h) {
    m[h] = kNegInf;
    l[h] = 0.0f;
    acc[h] = sc.acc + static_cast<int64_t>(h) * dv;
    for (int c = 0; c < dv; c += 8) _mm256_storeu_ps(acc[h] + c, _mm256_setzero_ps());
  }
  const int64_t n_keys = static_cast<int64_t>(u.pos) + 1;
  // No software prefetch: the paged cache is head-major, so a tile's K (V)
  // rows are one contiguous run that the hardware prefetchers follow; L1
  // prefetches of the next tile were measured 8% slower at 8k context.
  for (int64_t t0 = 0; t0 < n_keys; t0 += kTile) {
    const int n = n_keys - t0 < kTile ? static_cast<int>(n_keys - t0) : kTile;
    const int n8 = (n + 7) & ~7;
    TileRows(kv, p, u.kv_head, t0, n, sc);
    const Scratch& rs = sc;
    ScoresAll<E>(u.q, nh, rs.krows, n, dk, scale, sc.s);
    for (int h = 0; h < nh; ++h) {
      float* s = sc.s + h * kTile;
      for (int j = n; j < n8; ++j) s[j] = kNegInf;
      __m256 mx = _mm256_set1_ps(kNegInf);
      for (int j = 0; j < n8; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(s + j));
      const float m_new = Max(m[h], Hmax(mx));
      corr[h] = m[h] == kNegInf ? 0.0f : _mm256_cvtss_f32(Exp2(_mm256_set1_ps(m[h] - m_new)));
      const __m256 mv = _mm256_set1_ps(m_new);
      __m256 sum = _mm256_setzero_ps();
      for (int j = 0; j < n8; j += 8) {
        __m256 e = Exp2(_mm256_sub_ps(_mm256_loadu_ps(s + j), mv));
        _mm256_storeu_ps(s + j, e);
        sum = _mm256_add_ps(sum, e);
      }
      l[h] = l[h] * corr[h] + Hsum(sum);
      m[h] = m_new;
    }
    VAccumAll<E>(acc, nh, sc.s, rs.vrows, n, dv, corr);
  }
  for (int h = 0; h < nh; ++h) {
    const __m256 lv = _mm256_set1_ps(l[h]);
    for (int c = 0; c < dv; c += 8)
      _mm256_storeu_ps(u.out[h] + c, _mm256_div_ps(_mm256_loadu_ps(acc[h] + c), lv));
  }
}

}  // namespace

void UnitAvx2(const AttentionParams& p, const KvView& kv, const Unit& u, Scratch& sc) {
  if (kv.type == KvType::kQ8_0) {
    UnitImpl<Q8Elems>(p, kv, u, sc);
  } else {
    UnitImpl<F16Elems>(p, kv, u, sc);
  }
}

}  // namespace r1::kernels::attn
