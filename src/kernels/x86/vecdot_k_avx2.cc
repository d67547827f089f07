// AVX2 dot kernels for the K-quants (Q4_K, Q5_K, Q6_K against Q8_K).
//
// Per super-block the integer total (sum over sub-blocks of scale × code·act,
// and for Q4_K/Q5_K the mins × bsums term) is computed exactly in int32 lanes
// and reduced; it is then folded into the row sum with the same float
// operations as ref/vecdot.cc, in the same order, so these kernels equal the
// reference bit for bit (and the multi-row instances equal the single one:
// their four outputs are folded in the four lanes of one vector, each lane
// doing exactly the single kernel's scalar operations).
//
// Inner loop (per 32 codes and activation row): one vpmaddubsw (codes ×
// activations → int16 pairs), one vpmaddwd by the sub-block's scale
// broadcast as int16 (a single vpshufb of the unpacked scale bytes), one add.
// The scales are unpacked with vector ops (no GPR round trip).
#include <immintrin.h>

#include <cstddef>
#include <type_traits>

#include "kernels/blocks.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

// Pins v in a register at this point: stops GCC from reassociating the
// integer accumulations across the unrolled loops into a tree of far-apart
// products (which spills most of them to the stack).
R1_INLINE void Pin(__m256i& v) { __asm__("" : "+x"(v)); }

// Software prefetch of the weight stream (a hint: never changes a result).
// dot4 walks four interleaved rows, which the hardware prefetcher follows
// poorly when rows are short; each step therefore prefetches the matching
// slice of the next four rows (w + 4 * ws onwards: the next dot4 call of a
// GEMV), so that a whole group is in flight one group ahead. A single row is
// one stream, which the hardware prefetcher handles (measured: software
// prefetch there gains nothing or loses).

template <size_t kBytes>
R1_INLINE void PrefetchRange(const uint8_t* p) {
  #pragma GCC unroll 16
  for (size_t o = 0; o < kBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + o), _MM_HINT_T0);
}

template <int NW, int NX, size_t kBlock>
R1_INLINE void PrefetchWeights(const uint8_t* w, size_t ws, int64_t i) {
  if constexpr (NW == 4) PrefetchRange<4 * kBlock>(w + 4 * ws + i * 4 * kBlock);
}

R1_INLINE __m256i Load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The 12 scale bytes of a Q4_K/Q5_K block (+ 4 following bytes, ignored) →
// bytes 0..7 = the eight 6-bit scales, 8..15 = the eight mins, in both 128-bit
// lanes. Same bit manipulation as UnpackScalesMinsK4, on 32-bit lanes.
R1_INLINE __m256i ScaleBytesK4(const uint8_t* q) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));  // w0 w1 w2 -
  const __m128i a = _mm_srlv_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4));
  const __m128i lo = _mm_and_si128(a, _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i b = _mm_srli_epi32(_mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0)), 2);
  const __m128i hi = _mm_and_si128(b, _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm256_broadcastsi128_si256(_mm_or_si128(lo, hi));
}

// vpshufb masks: byte s of each 128-bit lane → every int16 lane (zero-extended).
R1_INLINE __m256i ByteToI16Mask(int s) { return _mm256_set1_epi16(static_cast<int16_t>(0x8000 | s)); }

// Sum of the 8 lanes of a (lane 0) and of m (lane 1), in int32.
R1_INLINE __m128i PairSum(__m256i a, __m256i m) {
  const __m256i x = _mm256_add_epi32(_mm256_unpacklo_epi32(a, m), _mm256_unpackhi_epi32(a, m));
  const __m128i y = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
  return _mm_add_epi32(y, _mm_unpackhi_epi64(y, y));
}

// Per-128-bit-lane partial sums of four vectors: lane k of each half holds
// that half's sum of v[k].
R1_INLINE __m256i QuadPartial(const __m256i* v) {
  const __m256i x01 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[0], v[1]), _mm256_unpackhi_epi32(v[0], v[1]));
  const __m256i x23 = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2], v[3]), _mm256_unpackhi_epi32(v[2], v[3]));
  return _mm256_add_epi32(_mm256_unpacklo_epi64(x01, x23), _mm256_unpackhi_epi64(x01, x23));
}

// [sum a[0..3], sum m[0..3]] as 8 int32 lanes.
R1_INLINE __m256i QuadSums(const __m256i* a, const __m256i* m) {
  const __m256i pa = QuadPartial(a), pm = QuadPartial(m);
  return _mm256_add_epi32(_mm256_permute2x128_si256(pa, pm, 0x20), _mm256_permute2x128_si256(pa, pm, 0x31));
}
// [sum a[0..3]] as 4 int32 lanes.
R1_INLINE __m128i QuadSum(const __m256i* a) {
  const __m256i p = QuadPartial(a);
  return _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
}

// The (d, dmin) fp16 pair at p as floats in lanes 0, 1.
R1_INLINE __m128 HalfPair(const void* p) {
  int v;
  __builtin_memcpy(&v, p, 4);
  return _mm_cvtph_ps(_mm_cvtsi32_si128(v));
}

template <int NX>
R1_INLINE __m128 ActScales(const BlockQ8K* const* xb) {
  if constexpr (NX == 4) return _mm_setr_ps(xb[0]->d, xb[1]->d, xb[2]->d, xb[3]->d);
  else return _mm_set1_ps(xb[0]->d);
}

// Q4_K (kFive = false) and Q5_K.
template <bool kFive>
struct KernelQ45K {
  using Block = std::conditional_t<kFive, BlockQ5K, BlockQ4K>;

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    static_assert(NW * NX == 1 || NW * NX == 4);
    constexpr int kOut = NW * NX;
    __m128 sum = _mm_setzero_ps();  // lane k: output k
    const __m256i low4 = _mm256_set1_epi8(15);
    const __m256i mins_mask = _mm256_setr_epi8(8, -128, 8, -128, 9, -128, 9, -128, 10, -128, 10, -128, 11, -128,
                                               11, -128, 12, -128, 12, -128, 13, -128, 13, -128, 14, -128, 14,
                                               -128, 15, -128, 15, -128);
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      PrefetchWeights<NW, NX, sizeof(Block)>(w, ws, i);
      __m256i acc[kOut], mins[kOut];
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const Block& b = reinterpret_cast<const Block*>(w + r * ws)[i];
        const __m256i sb = ScaleBytesK4(b.scales);
        const __m256i mins16 = _mm256_shuffle_epi8(sb, mins_mask);
        __m256i a[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) a[t] = _mm256_setzero_si256();
        __m256i qh;
        if constexpr (kFive) qh = Load256(b.qh);
        #pragma GCC unroll 8
        for (int g = 0; g < 4; ++g) {
          const __m256i q = Load256(b.qs + 32 * g);
          __m256i lo = _mm256_and_si256(q, low4);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
          if constexpr (kFive) {
            // Bit 2g of qh[l] → bit 4 of lo, bit 2g+1 → bit 4 of hi.
            const __m256i b4 = _mm256_set1_epi8(16);
            const __m256i hl = 2 * g <= 4 ? _mm256_slli_epi16(qh, 4 - 2 * g) : _mm256_srli_epi16(qh, 2 * g - 4);
            const __m256i hh = 2 * g + 1 <= 4 ? _mm256_slli_epi16(qh, 3 - 2 * g) : _mm256_srli_epi16(qh, 2 * g - 3);
            lo = _mm256_or_si256(lo, _mm256_and_si256(hl, b4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(hh, b4));
          }
          const __m256i sc_lo = _mm256_shuffle_epi8(sb, ByteToI16Mask(2 * g));
          const __m256i sc_hi = _mm256_shuffle_epi8(sb, ByteToI16Mask(2 * g + 1));
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            const __m256i pl = _mm256_maddubs_epi16(lo, Load256(xb[t]->qs + 64 * g));
            const __m256i ph = _mm256_maddubs_epi16(hi, Load256(xb[t]->qs + 64 * g + 32));
            a[t] = _mm256_add_epi32(a[t], _mm256_add_epi32(_mm256_madd_epi16(pl, sc_lo), _mm256_madd_epi16(ph, sc_hi)));
            Pin(a[t]);
          }
        }
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) {
          acc[r * NX + t] = a[t];
          mins[r * NX + t] = _mm256_madd_epi16(Load256(xb[t]->bsums), mins16);
        }
      }
      // Float fold, per output: sum = fma(d*xd, isum, sum); sum = fma(-dmin*xd, imins, sum).
      if constexpr (kOut == 1) {
        const __m128 f = _mm_cvtepi32_ps(PairSum(acc[0], mins[0]));          // [isum, imins]
        const __m128 dd = _mm_mul_ps(HalfPair(&reinterpret_cast<const Block*>(w)[i].d), ActScales<1>(xb));
        sum = _mm_fmadd_ss(dd, f, sum);
        sum = _mm_fnmadd_ss(_mm_movehdup_ps(dd), _mm_movehdup_ps(f), sum);
      } else {
        const __m256 f = _mm256_cvtepi32_ps(QuadSums(acc, mins));  // [isum 0..3, imins 0..3]
        __m128 d, dm;
        if constexpr (NW == 4) {
          const uint8_t* b0 = w + i * sizeof(Block);  // d, dmin at offset 0
          int h[4];
          #pragma GCC unroll 4
          for (int r = 0; r < 4; ++r) __builtin_memcpy(&h[r], b0 + r * ws, 4);
          const __m256 dp = _mm256_cvtph_ps(_mm_setr_epi32(h[0], h[1], h[2], h[3]));  // d0 m0 d1 m1 ...
          const __m256 dq = _mm256_permutevar8x32_ps(dp, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
          const __m256 dx = _mm256_mul_ps(dq, _mm256_set1_ps(xb[0]->d));
          d = _mm256_castps256_ps128(dx);
          dm = _mm256_extractf128_ps(dx, 1);
        } else {
          const __m128 dp = HalfPair(&reinterpret_cast<const Block*>(w)[i].d);
          const __m128 xd = ActScales<4>(xb);
          d = _mm_mul_ps(_mm_shuffle_ps(dp, dp, 0x00), xd);
          dm = _mm_mul_ps(_mm_shuffle_ps(dp, dp, 0x55), xd);
        }
        sum = _mm_fmadd_ps(d, _mm256_castps256_ps128(f), sum);
        sum = _mm_fnmadd_ps(dm, _mm256_extractf128_ps(f, 1), sum);
      }
    }
    if constexpr (kOut == 1) out[0] = _mm_cvtss_f32(sum);
    else _mm_storeu_ps(out, sum);
  }
};

struct KernelQ6K {
  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    static_assert(NW * NX == 1 || NW * NX == 4);
    constexpr int kOut = NW * NX;
    __m128 sum = _mm_setzero_ps();
    const __m256i low4 = _mm256_set1_epi8(15), bits45 = _mm256_set1_epi8(0x30);
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      PrefetchWeights<NW, NX, sizeof(BlockQ6K)>(w, ws, i);
      __m256i acc[kOut];
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const BlockQ6K& b = reinterpret_cast<const BlockQ6K*>(w + r * ws)[i];
        __m256i a[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) a[t] = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          const __m256i l0 = Load256(b.ql + 64 * h);
          const __m256i l1 = Load256(b.ql + 64 * h + 32);
          const __m256i qh = Load256(b.qh + 32 * h);
          // Elements 32k .. 32k+31 of this half: nibble of l0/l1, bits 2k..2k+1 of qh.
          const __m256i q[4] = {
              _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
              _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(qh, bits45)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                              _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
          };
          // Scales 8h..8h+7 as int16 in both lanes; sub-block pair k is
          // int16 element 2k (low lane) and 2k+1 (high lane).
          const __m256i sc16 = _mm256_broadcastsi128_si256(
              _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b.scales + 8 * h))));
          #pragma GCC unroll 8
          for (int k = 0; k < 4; ++k) {
            const __m256i mask = _mm256_setr_epi8(
                4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k,
                4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2,
                4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3,
                4 * k + 2, 4 * k + 3);
            const __m256i scale16 = _mm256_shuffle_epi8(sc16, mask);
            #pragma GCC unroll 8
            for (int t = 0; t < NX; ++t) {
              const __m256i p = _mm256_maddubs_epi16(q[k], Load256(xb[t]->qs + 128 * h + 32 * k));
              a[t] = _mm256_add_epi32(a[t], _mm256_madd_epi16(p, scale16));
              Pin(a[t]);
            }
          }
        }
        // The codes above are biased by +32: subtract 32 * sum_s sc[s] * bsums[s].
        const __m256i sc_all = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t)
          acc[r * NX + t] =
              _mm256_sub_epi32(a[t], _mm256_slli_epi32(_mm256_madd_epi16(Load256(xb[t]->bsums), sc_all), 5));
      }
      // sum = fma(d * xd, isum, sum), per output.
      if constexpr (kOut == 1) {
        const __m128i s = PairSum(acc[0], acc[0]);
        const float dd = HalfToFloat(reinterpret_cast<const BlockQ6K*>(w)[i].d) * xb[0]->d;
        sum = _mm_fmadd_ss(_mm_set_ss(dd), _mm_cvtepi32_ps(s), sum);
      } else {
        const __m128 f = _mm_cvtepi32_ps(QuadSum(acc));
        __m128 d;
        if constexpr (NW == 4) {
          const auto* b0 = reinterpret_cast<const uint8_t*>(reinterpret_cast<const BlockQ6K*>(w) + i);
          uint16_t h[4];
          #pragma GCC unroll 4
          for (int r = 0; r < 4; ++r) __builtin_memcpy(&h[r], b0 + r * ws + offsetof(BlockQ6K, d), 2);
          uint64_t packed = h[0] | uint64_t{h[1]} << 16 | uint64_t{h[2]} << 32 | uint64_t{h[3]} << 48;
          d = _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi64_si128(static_cast<long long>(packed))), _mm_set1_ps(xb[0]->d));
        } else {
          d = _mm_mul_ps(_mm_set1_ps(HalfToFloat(reinterpret_cast<const BlockQ6K*>(w)[i].d)), ActScales<4>(xb));
        }
        sum = _mm_fmadd_ps(d, f, sum);
      }
    }
    if constexpr (kOut == 1) out[0] = _mm_cvtss_f32(sum);
    else _mm_storeu_ps(out, sum);
  }
};

}  // namespace

DotKernels Avx2KQuantKernels(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_K: return MakeKernels<KernelQ45K<false>>();
    case GgmlType::Q5_K: return MakeKernels<KernelQ45K<true>>();
    case GgmlType::Q6_K: return MakeKernels<KernelQ6K>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
