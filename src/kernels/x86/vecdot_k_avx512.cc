// AVX-512 dot kernels for the K-quants (Q4_K, Q5_K, Q6_K against Q8_K).
//
// Same arithmetic as vecdot_k_avx2.cc, 64 elements per instruction: codes ×
// activations with vpmaddubsw (u8 × s8 -> int16 pairs; codes < 64 so no
// saturation), then × the sub-block scale and summed into int32 lanes with
// VNNI's vpdpwssd. The integer total of a super-block is reduced to a scalar
// and folded in with the reference's scalar FMAs, so results are bit-identical
// to ref/vecdot.cc.
//
// GCC 12 warns about its own AVX-512 intrinsics (the _mm512_undefined_*
// placeholders inside them; GCC bug 105593). Must precede <immintrin.h>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <type_traits>

#include "kernels/blocks.h"
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

// idx[c]: 16-bit lane i -> element `first + c * per + i / span` of a scale vector.
R1_INLINE __m512i ScaleIndex(int first, int span) {
  alignas(64) int16_t idx[32];
  for (int i = 0; i < 32; ++i) idx[i] = static_cast<int16_t>(first + i / span);
  return _mm512_load_si512(idx);
}

R1_INLINE __m512i Act64(const int8_t* p) { return _mm512_loadu_si512(p); }

template <bool kFive>
struct KernelQ45K {
  using Block = std::conditional_t<kFive, BlockQ5K, BlockQ4K>;

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    float sum[NW * NX] = {};
    const __m256i low4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    // Group g covers sub-blocks 2g (lanes 0..15) and 2g+1 (lanes 16..31).
    const __m512i sc_idx[4] = {ScaleIndex(0, 16), ScaleIndex(2, 16), ScaleIndex(4, 16), ScaleIndex(6, 16)};
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const Block& b = reinterpret_cast<const Block*>(w + r * ws)[i];
        const ScalesMins sm = UnpackK4(b.scales);
        const __m512i sc = _mm512_zextsi128_si512(sm.scales);
        __m512i acc[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) acc[t] = _mm512_setzero_si512();
        __m256i qh = _mm256_setzero_si256();
        if constexpr (kFive) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
        #pragma GCC unroll 8
        for (int g = 0; g < 4; ++g) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
          __m256i lo = _mm256_and_si256(q, low4);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
          if constexpr (kFive) {
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(qh, one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 1), one), 4));
            qh = _mm256_srli_epi16(qh, 2);
          }
          const __m512i codes = Join(lo, hi);  // elements 64g .. 64g+63
          const __m512i scale16 = _mm512_permutexvar_epi16(sc_idx[g], sc);
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            const __m512i p = _mm512_maddubs_epi16(codes, Act64(xb[t]->qs + 64 * g));
            acc[t] = _mm512_dpwssd_epi32(acc[t], p, scale16);
          }
        }
        const float d = HalfToFloat(b.d), dmin = HalfToFloat(b.dmin);
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) {
          const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[t]->bsums));
          const int isum = HsumI32(acc[t]);
          const int imins = HsumI32(_mm256_madd_epi16(bs, sm.mins));
          const float dd = d * xb[t]->d, dm = dmin * xb[t]->d;
          float& s = sum[r * NX + t];
          s = __builtin_fmaf(dd, static_cast<float>(isum), s);
          s = __builtin_fmaf(-dm, static_cast<float>(imins), s);
        }
      }
    }
    #pragma GCC unroll 8
    for (int k = 0; k < NW * NX; ++k) out[k] = sum[k];
  }
};

struct KernelQ6K {
  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    float sum[NW * NX] = {};
    const __m512i low4 = _mm512_set1_epi8(15), bits45 = _mm512_set1_epi8(0x30);
    // 64 elements = 4 sub-blocks of 16 = 8 int16 lanes each; chunk c of the
    // block (elements 64c .. 64c+63) uses scales 4c .. 4c+3.
    const __m512i sc_idx[4] = {ScaleIndex(0, 8), ScaleIndex(4, 8), ScaleIndex(8, 8), ScaleIndex(12, 8)};
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const BlockQ6K& b = reinterpret_cast<const BlockQ6K*>(w + r * ws)[i];
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales)));
        const __m512i sc = _mm512_zextsi256_si512(sc16);
        __m512i acc[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) acc[t] = _mm512_setzero_si512();
        #pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          const __m512i l = _mm512_loadu_si512(b.ql + 64 * h);
          const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
          // Bytes 0..31: qh[l]; bytes 32..63: qh[l] >> 2 (for elements l+32, l+96).
          const __m512i hz = Join(qh, _mm256_srli_epi16(qh, 2));
          // Elements 0..63 of the half: low nibbles of ql[0..63], bits 0..1 of hz.
          const __m512i c0 = _mm512_or_si512(_mm512_and_si512(l, low4),
                                             _mm512_and_si512(_mm512_slli_epi16(hz, 4), bits45));
          // Elements 64..127: high nibbles of ql[0..63], bits 4..5 of hz.
          const __m512i c1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low4),
                                             _mm512_and_si512(hz, bits45));
          const __m512i s0 = _mm512_permutexvar_epi16(sc_idx[2 * h], sc);
          const __m512i s1 = _mm512_permutexvar_epi16(sc_idx[2 * h + 1], sc);
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            const int8_t* a = xb[t]->qs + 128 * h;
            acc[t] = _mm512_dpwssd_epi32(acc[t], _mm512_maddubs_epi16(c0, Act64(a)), s0);
            acc[t] = _mm512_dpwssd_epi32(acc[t], _mm512_maddubs_epi16(c1, Act64(a + 64)), s1);
          }
        }
        // The codes above are biased by +32: subtract 32 * sum_s sc[s] * bsums[s].
        const float d = HalfToFloat(b.d);
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) {
          const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[t]->bsums));
          const int isum = HsumI32(acc[t]) - 32 * HsumI32(_mm256_madd_epi16(bs, sc16));
          float& s = sum[r * NX + t];
          s = __builtin_fmaf(d * xb[t]->d, static_cast<float>(isum), s);
        }
      }
    }
    #pragma GCC unroll 8
    for (int k = 0; k < NW * NX; ++k) out[k] = sum[k];
  }
};

}  // namespace

DotKernels Avx512KQuantKernels(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_K: return MakeKernels<KernelQ45K<false>>();
    case GgmlType::Q5_K: return MakeKernels<KernelQ45K<true>>();
    case GgmlType::Q6_K: return MakeKernels<KernelQ6K>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
