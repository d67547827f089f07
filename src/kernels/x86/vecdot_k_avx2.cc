// AVX2 dot kernels for the K-quants (Q4_K, Q5_K, Q6_K against Q8_K).
//
// Per super-block the integer total (sum over sub-blocks of scale × code·act,
// and for Q4_K/Q5_K the mins × bsums term) is computed exactly in int32 lanes
// and reduced to a scalar; it is then folded into the row sum with the same
// scalar FMAs as ref/vecdot.cc, so these kernels equal the reference bit for
// bit (and the multi-row instances equal the single one).
#include <immintrin.h>

#include <type_traits>

#include "kernels/blocks.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

// 16-bit lane `s` of v broadcast to a whole vector.
template <int s>
R1_INLINE __m256i Broadcast16(__m128i v) {
  return _mm256_broadcastw_epi16(_mm_srli_si128(v, 2 * s));
}

// Adds scale × (codes · acts) over 32 elements (codes unsigned, < 64).
R1_INLINE __m256i MulAddScaled(__m256i acc, __m256i codes, const int8_t* act, __m256i scale16) {
  const __m256i p = _mm256_maddubs_epi16(codes, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(act)));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(p, scale16));
}

// Q4_K (kFive = false) and Q5_K.
template <bool kFive>
struct KernelQ45K {
  using Block = std::conditional_t<kFive, BlockQ5K, BlockQ4K>;

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    float sum[NW * NX] = {};
    const __m256i low4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const Block& b = reinterpret_cast<const Block*>(w + r * ws)[i];
        const ScalesMins sm = UnpackK4(b.scales);
        const __m256i sc[8] = {Broadcast16<0>(sm.scales), Broadcast16<1>(sm.scales), Broadcast16<2>(sm.scales),
                               Broadcast16<3>(sm.scales), Broadcast16<4>(sm.scales), Broadcast16<5>(sm.scales),
                               Broadcast16<6>(sm.scales), Broadcast16<7>(sm.scales)};
        __m256i acc[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_si256();
        __m256i qh = _mm256_setzero_si256();
        if constexpr (kFive) qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh));
        #pragma GCC unroll 8
        for (int g = 0; g < 4; ++g) {
          const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs + 32 * g));
          __m256i lo = _mm256_and_si256(q, low4);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), low4);
          if constexpr (kFive) {
            // Bits 2g and 2g+1 of qh[l]; qh is shifted down by 2 per group.
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(qh, one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 1), one), 4));
            qh = _mm256_srli_epi16(qh, 2);
          }
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            acc[t] = MulAddScaled(acc[t], lo, xb[t]->qs + 64 * g, sc[2 * g]);
            acc[t] = MulAddScaled(acc[t], hi, xb[t]->qs + 64 * g + 32, sc[2 * g + 1]);
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
    const __m256i low4 = _mm256_set1_epi8(15), bits45 = _mm256_set1_epi8(0x30);
    // Byte shuffles putting scale a in bytes 0..7 and a+1 in bytes 8..15.
    const __m128i pair[4] = {
        _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
        _mm_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3),
        _mm_setr_epi8(4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5),
        _mm_setr_epi8(6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7),
    };
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const BlockQ6K& b = reinterpret_cast<const BlockQ6K*>(w + r * ws)[i];
        const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
        __m256i acc[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int h = 0; h < 2; ++h) {
          const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h));
          const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.ql + 64 * h + 32));
          const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qh + 32 * h));
          // Elements 32k .. 32k+31 of this half: nibble of l0/l1, bits 2k..2k+1 of qh.
          const __m256i q[4] = {
              _mm256_or_si256(_mm256_and_si256(l0, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), bits45)),
              _mm256_or_si256(_mm256_and_si256(l1, low4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), bits45)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low4), _mm256_and_si256(qh, bits45)),
              _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low4),
                              _mm256_and_si256(_mm256_srli_epi16(qh, 2), bits45)),
          };
          const __m128i sc_half = _mm_srli_si128(sc8, 8 * h);
          #pragma GCC unroll 8
          for (int k = 0; k < 4; ++k) {
            const __m256i scale16 = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc_half, pair[k]));
            #pragma GCC unroll 8
            for (int t = 0; t < NX; ++t) acc[t] = MulAddScaled(acc[t], q[k], xb[t]->qs + 128 * h + 32 * k, scale16);
          }
        }
        // The codes above are biased by +32: subtract 32 * sum_s sc[s] * bsums[s].
        const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
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

DotKernels Avx2KQuantKernels(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_K: return MakeKernels<KernelQ45K<false>>();
    case GgmlType::Q5_K: return MakeKernels<KernelQ45K<true>>();
    case GgmlType::Q6_K: return MakeKernels<KernelQ6K>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
