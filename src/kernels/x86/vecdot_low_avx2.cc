// AVX2 dot kernels for the types of the downloaded low-bit mixes:
//
//   Q4_1, Q5_1 (against Q8_0)   per block, int32 lanes of code·act and of
//                               act sums folded into float lanes (as Q4_0 in
//                               vecdot_avx2.cc: differs from the reference by
//                               float summation order only);
//   Q2_K, Q3_K, IQ4_XS,         per super-block, exact int32 totals reduced
//   TQ1_0, TQ2_0 (against Q8_K) to a scalar and folded with the reference's
//                               scalar FMAs: bit-identical to ref/vecdot.cc.
//
// (IQ4_NL is a 32-element block with signed codes and lives beside Q4_0 in
// vecdot_avx2.cc.)
//
// A super-block is walked in eight chunks of 32 elements. Each type's decoder
// gives a chunk's codes as bytes (unsigned 0..7, or signed codebook values for
// IQ4_XS) and its scales as int16 lanes (the low 128 bits for elements 0..15
// of the chunk, the high ones for 16..31), plus an int16 coefficient per
// 16-element group that multiplies the activation's bsums: the min term of
// Q2_K (folded separately, as in the reference) or the code bias of Q3_K and
// the ternary types (subtracted from the total).
#include <immintrin.h>

#include <cstring>

#include "kernels/blocks.h"
#include "kernels/iq_tables.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

R1_INLINE __m256i Load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
R1_INLINE void Pin(__m256i& v) { __asm__("" : "+x"(v)); }

// int16 lanes: the low 128 bits all take byte lo of `v`, the high ones byte hi
// (zero-extended); v holds the same 16 bytes in both halves.
R1_INLINE __m256i PickBytes16(__m256i v, int lo, int hi) {
  const __m256i mask = _mm256_setr_epi16(
      static_cast<int16_t>(0x8000 | lo), static_cast<int16_t>(0x8000 | lo), static_cast<int16_t>(0x8000 | lo),
      static_cast<int16_t>(0x8000 | lo), static_cast<int16_t>(0x8000 | lo), static_cast<int16_t>(0x8000 | lo),
      static_cast<int16_t>(0x8000 | lo), static_cast<int16_t>(0x8000 | lo), static_cast<int16_t>(0x8000 | hi),
      static_cast<int16_t>(0x8000 | hi), static_cast<int16_t>(0x8000 | hi), static_cast<int16_t>(0x8000 | hi),
      static_cast<int16_t>(0x8000 | hi), static_cast<int16_t>(0x8000 | hi), static_cast<int16_t>(0x8000 | hi),
      static_cast<int16_t>(0x8000 | hi));
  return _mm256_shuffle_epi8(v, mask);
}

// int16 lanes: the low 128 bits all take int16 element lo of `v`, the high
// ones element hi (v holds the same eight int16 in both halves).
R1_INLINE __m256i PickWords16(__m256i v, int lo, int hi) {
  const auto a = static_cast<int16_t>(2 * lo | (2 * lo + 1) << 8);
  const auto b = static_cast<int16_t>(2 * hi | (2 * hi + 1) << 8);
  return _mm256_shuffle_epi8(v, _mm256_setr_epi16(a, a, a, a, a, a, a, a, b, b, b, b, b, b, b, b));
}

// Chunk j (elements 32j .. 32j+31) of the Q2_K / Q3_K / TQ2_0 2-bit layout.
R1_INLINE __m256i Codes2(const uint8_t* qs, int j) {
  const __m256i q = Load256(qs + 32 * (j / 4));
  return _mm256_and_si256(_mm256_srli_epi16(q, 2 * (j % 4)), _mm256_set1_epi8(3));
}

struct ChunkSet {
  __m256i codes[8];
  __m256i scale16[8];
  __m256i bsum_coef;  // 16 x int16, one per 16-element group
};

struct DecodeQ2K {
  using Block = BlockQ2K;
  static constexpr bool kSigned = false, kMinTerm = true, kBiasTerm = false;
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    const __m256i sc = _mm256_broadcastsi128_si256(_mm_and_si128(raw, _mm_set1_epi8(15)));
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      c.codes[j] = Codes2(b.qs, j);
      c.scale16[j] = PickBytes16(sc, 2 * j, 2 * j + 1);
    }
    c.bsum_coef = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(raw, 4), _mm_set1_epi8(15)));
  }
};

struct DecodeQ3K {
  using Block = BlockQ3K;
  static constexpr bool kSigned = false, kMinTerm = false, kBiasTerm = true;
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    int8_t s[16];
    UnpackScalesQ3K(b.scales, s);
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
    const __m256i lo = _mm256_broadcastsi128_si256(_mm256_castsi256_si128(s16));   // sc[0..7]
    const __m256i hi = _mm256_broadcastsi128_si256(_mm256_extracti128_si256(s16, 1));  // sc[8..15]
    const __m256i hm = Load256(b.hmask);
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << j));
      const __m256i h = _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit), _mm256_set1_epi8(4));
      c.codes[j] = _mm256_or_si256(Codes2(b.qs, j), h);
      c.scale16[j] = PickWords16(j < 4 ? lo : hi, (2 * j) % 8, (2 * j + 1) % 8);
    }
    // Codes are biased by +4: subtract 4 * sum_k sc[k] * bsums[k].
    c.bsum_coef = _mm256_slli_epi16(s16, 2);
  }
};

struct DecodeIq4Xs {
  using Block = BlockIq4Xs;
  static constexpr bool kSigned = true, kMinTerm = false, kBiasTerm = false;
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    #pragma GCC unroll 8
    for (int s = 0; s < 8; ++s) {
      const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 16 * s));
      const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(15));
      c.codes[s] = _mm256_shuffle_epi8(table, nib);
      c.scale16[s] = _mm256_set1_epi16(static_cast<int16_t>(ScaleIq4Xs(b, s) - 32));
    }
    c.bsum_coef = _mm256_setzero_si256();
  }
};

struct DecodeTq2_0 {
  using Block = BlockTq2_0;
  static constexpr bool kSigned = false, kMinTerm = false, kBiasTerm = true;
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      c.codes[j] = Codes2(b.qs, j);
      c.scale16[j] = _mm256_set1_epi16(1);
    }
    c.bsum_coef = _mm256_set1_epi16(1);  // codes are biased by +1
  }
};

// Trit n of each byte of v: ((uint8_t)(b * 3^n) * 3) >> 8, in 16-bit halves.
R1_INLINE __m256i Trits(__m256i v, int n) {
  static constexpr int16_t kPow3[5] = {1, 3, 9, 27, 81};
  const __m256i lo_mask = _mm256_set1_epi16(0x00ff);
  const __m256i p = _mm256_set1_epi16(kPow3[n]);
  const __m256i even = _mm256_and_si256(_mm256_mullo_epi16(_mm256_and_si256(v, lo_mask), p), lo_mask);
  const __m256i odd = _mm256_and_si256(_mm256_mullo_epi16(_mm256_srli_epi16(v, 8), p), lo_mask);
  const __m256i three = _mm256_set1_epi16(3);
  const __m256i te = _mm256_srli_epi16(_mm256_mullo_epi16(even, three), 8);
  const __m256i to = _mm256_srli_epi16(_mm256_mullo_epi16(odd, three), 8);
  return _mm256_or_si256(te, _mm256_slli_epi16(to, 8));
}

struct DecodeTq1_0 {
  using Block = BlockTq1_0;
  static constexpr bool kSigned = false, kMinTerm = false, kBiasTerm = true;
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    // Elements 0..159: trit n of qs[0..31] is chunk n.
    const __m256i q0 = Load256(b.qs);
    #pragma GCC unroll 5
    for (int n = 0; n < 5; ++n) c.codes[n] = Trits(q0, n);
    // Elements 160..239: trit n of qs[32..47] holds 160 + 16n .. 160 + 16n + 15;
    // 240..255: trit n of qh[0..3] holds 240 + 4n .. 240 + 4n + 3.
    alignas(32) uint8_t rest[96];
    const __m256i q1 = _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs + 32)));
    #pragma GCC unroll 5
    for (int n = 0; n < 5; ++n)
      _mm_store_si128(reinterpret_cast<__m128i*>(rest + 16 * n), _mm256_castsi256_si128(Trits(q1, n)));
    for (int e = 240; e < 256; ++e) rest[e - 160] = static_cast<uint8_t>(TritTq1(b.qh[e % 4], (e - 240) / 4));
    #pragma GCC unroll 3
    for (int j = 5; j < 8; ++j) c.codes[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(rest + 32 * (j - 5)));
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) c.scale16[j] = _mm256_set1_epi16(1);
    c.bsum_coef = _mm256_set1_epi16(1);
  }
};

template <typename D>
struct KernelLowK {
  using Block = typename D::Block;

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    constexpr int kOut = NW * NX;
    float sum[kOut];
    #pragma GCC unroll 8
    for (int k = 0; k < kOut; ++k) sum[k] = 0.0f;
    for (int64_t i = 0; i < n / kQK; ++i) {
      const BlockQ8K* xb[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      #pragma GCC unroll 4
      for (int r = 0; r < NW; ++r) {
        const Block& b = reinterpret_cast<const Block*>(w + r * ws)[i];
        ChunkSet c;
        D::Decode(b, c);
        __m256i acc[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int j = 0; j < 8; ++j) {
          const __m256i wabs = D::kSigned ? _mm256_sign_epi8(c.codes[j], c.codes[j]) : c.codes[j];
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            __m256i y = Load256(xb[t]->qs + 32 * j);
            if constexpr (D::kSigned) y = _mm256_sign_epi8(y, c.codes[j]);
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, y), c.scale16[j]));
            Pin(acc[t]);
          }
        }
        const float d = HalfToFloat(b.d);
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) {
          int isum = HsumI32(acc[t]);
          int iterm = 0;
          if constexpr (D::kMinTerm || D::kBiasTerm)
            iterm = HsumI32(_mm256_madd_epi16(Load256(xb[t]->bsums), c.bsum_coef));
          if constexpr (D::kBiasTerm) isum -= iterm;
          float& s = sum[r * NX + t];
          s = __builtin_fmaf(d * xb[t]->d, static_cast<float>(isum), s);
          if constexpr (D::kMinTerm) s = __builtin_fmaf(-(HalfToFloat(b.dmin) * xb[t]->d), static_cast<float>(iterm), s);
        }
      }
    }
    #pragma GCC unroll 8
    for (int k = 0; k < kOut; ++k) out[k] = sum[k];
  }
};

// Q4_1 / Q5_1: unsigned codes q, y = d * q + m.
R1_INLINE __m256i Nibbles(const uint8_t* qs) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

struct DecodeQ4_1 {
  using Block = BlockQ4_1;
  static R1_INLINE __m256i Codes(const Block& b) { return Nibbles(b.qs); }
};

struct DecodeQ5_1 {
  using Block = BlockQ5_1;
  static R1_INLINE __m256i Codes(const Block& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
    __m256i h = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), spread);
    h = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit);
    return _mm256_or_si256(Nibbles(b.qs), _mm256_and_si256(h, _mm256_set1_epi8(16)));
  }
};

template <typename D>
struct Kernel32Min {
  using Block = typename D::Block;

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    constexpr int kOut = NW * NX;
    __m256 acc[kOut];
    #pragma GCC unroll 8
    for (int k = 0; k < kOut; ++k) acc[k] = _mm256_setzero_ps();
    const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
    for (int64_t i = 0; i < n / kQK0; ++i) {
      __m256i xq[NX], xsum[NX];
      float xd[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) {
        const auto& xb = reinterpret_cast<const BlockQ8_0*>(x + t * xs)[i];
        xq[t] = Load256(xb.qs);
        xsum[t] = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, xq[t]), ones16);
        xd[t] = HalfToFloat(xb.d);
      }
      #pragma GCC unroll 4
      for (int r = 0; r < NW; ++r) {
        const Block& b = reinterpret_cast<const Block*>(w + r * ws)[i];
        const __m256i q = D::Codes(b);
        const float d = HalfToFloat(b.d), m = HalfToFloat(b.m);
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) {
          const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, xq[t]), ones16);
          __m256& a = acc[r * NX + t];
          a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(d * xd[t]), a);
          a = _mm256_fmadd_ps(_mm256_cvtepi32_ps(xsum[t]), _mm256_set1_ps(m * xd[t]), a);
        }
      }
    }
    #pragma GCC unroll 8
    for (int k = 0; k < kOut; ++k) out[k] = Hsum(acc[k]);
  }
};

}  // namespace

DotKernels Avx2LowBitKernels(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_1: return MakeKernels<Kernel32Min<DecodeQ4_1>>();
    case GgmlType::Q5_1: return MakeKernels<Kernel32Min<DecodeQ5_1>>();
    case GgmlType::Q2_K: return MakeKernels<KernelLowK<DecodeQ2K>>();
    case GgmlType::Q3_K: return MakeKernels<KernelLowK<DecodeQ3K>>();
    case GgmlType::IQ4_XS: return MakeKernels<KernelLowK<DecodeIq4Xs>>();
    case GgmlType::TQ1_0: return MakeKernels<KernelLowK<DecodeTq1_0>>();
    case GgmlType::TQ2_0: return MakeKernels<KernelLowK<DecodeTq2_0>>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
