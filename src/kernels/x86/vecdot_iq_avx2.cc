// AVX2 dot kernels of the codebook formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS,
// IQ3_S, IQ1_S and IQ1_M (blocks_iq.h) against Q8_K.
//
// A super-block is decoded in eight chunks of 32 elements (one sub-block
// each) to the integer form of ref/iq.cc: signed int8 codes (the grid entries
// gathered into a vector, signs applied as a byte mask; 8 * grid + delta for
// IQ1_*) and the odd scales as int16 lanes (low 128 bits for elements 0..15 of
// the chunk, high for 16..31). The chunk products |code| * sign(x, code) are
// summed in int16 pairs (at most 2 * 62 * 127, no saturation), scaled, summed
// exactly in int32 and reduced to one integer per super-block, which is folded
// with the reference's scalar FMA: the results are bit-identical to the
// reference.
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

// 0xff in each byte whose sign bit is set: byte k of `signs` holds the bits of
// elements 8k .. 8k+7 of the chunk.
R1_INLINE __m256i SignMask(uint32_t signs) {
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(signs)), spread);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

// grid * sign: negate the bytes where the mask is set.
R1_INLINE __m256i Signed(__m256i grid, uint32_t signs) {
  const __m256i m = SignMask(signs);
  return _mm256_sub_epi8(_mm256_xor_si256(grid, m), m);
}

R1_INLINE uint32_t Bytes4(uint32_t s0, uint32_t s1, uint32_t s2, uint32_t s3) {
  return s0 | s1 << 8 | s2 << 16 | s3 << 24;
}

R1_INLINE uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Four 8-byte entries (groups 0..3 of the chunk) / eight 4-byte ones (quads).
R1_INLINE __m256i Grid8(uint64_t e0, uint64_t e1, uint64_t e2, uint64_t e3) {
  return _mm256_set_epi64x(static_cast<int64_t>(e3), static_cast<int64_t>(e2), static_cast<int64_t>(e1),
                           static_cast<int64_t>(e0));
}
template <typename F>
R1_INLINE __m256i Grid4(F entry) {
  return _mm256_set_epi32(static_cast<int>(entry(7)), static_cast<int>(entry(6)), static_cast<int>(entry(5)),
                          static_cast<int>(entry(4)), static_cast<int>(entry(3)), static_cast<int>(entry(2)),
                          static_cast<int>(entry(1)), static_cast<int>(entry(0)));
}

// int16 scales: one for the chunk, or one per 16-element half.
R1_INLINE __m256i Scale32(int ls) { return _mm256_set1_epi16(static_cast<int16_t>(ls)); }
R1_INLINE __m256i Scale16(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

// IQ1 codes 8 * grid + delta; grid bytes are -1, 0, 1 and delta is +1 / -1
// per byte.
R1_INLINE __m256i Iq1Codes(__m256i grid, __m256i delta) {
  return _mm256_add_epi8(_mm256_sign_epi8(_mm256_set1_epi8(8), grid), delta);
}
R1_INLINE int64_t Delta8(int sign) { return sign < 0 ? -1 : 0x0101010101010101; }

struct ChunkSet {
  __m256i codes[8];
  __m256i scale16[8];
};

struct DecodeIq2Xxs {
  using Block = BlockIq2Xxs;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t a0 = Iq2xxsWord(b, ib, 0), a1 = Iq2xxsWord(b, ib, 1);
      const __m256i grid = Grid8(kIq2xxsGrid[a0 & 255], kIq2xxsGrid[(a0 >> 8) & 255], kIq2xxsGrid[(a0 >> 16) & 255],
                                 kIq2xxsGrid[a0 >> 24]);
      const uint32_t signs = Bytes4(kIq2Signs[a1 & 127], kIq2Signs[(a1 >> 7) & 127], kIq2Signs[(a1 >> 14) & 127],
                                    kIq2Signs[(a1 >> 21) & 127]);
      c.codes[ib] = Signed(grid, signs);
      c.scale16[ib] = Scale32(OddScale(static_cast<int>(a1 >> 28)));
    }
  }
};

struct DecodeIq2Xs {
  using Block = BlockIq2Xs;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const int g = 4 * ib;
      const __m256i grid = Grid8(Iq2xsEntry(b, g), Iq2xsEntry(b, g + 1), Iq2xsEntry(b, g + 2), Iq2xsEntry(b, g + 3));
      const uint32_t signs = Bytes4(Iq2xsSigns(b, g), Iq2xsSigns(b, g + 1), Iq2xsSigns(b, g + 2), Iq2xsSigns(b, g + 3));
      c.codes[ib] = Signed(grid, signs);
      c.scale16[ib] = Scale16(Iq2HalfScale(b.scales, 2 * ib), Iq2HalfScale(b.scales, 2 * ib + 1));
    }
  }
};

struct DecodeIq2S {
  using Block = BlockIq2S;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const int g = 4 * ib;
      const __m256i grid = Grid8(Iq2sEntry(b, g), Iq2sEntry(b, g + 1), Iq2sEntry(b, g + 2), Iq2sEntry(b, g + 3));
      c.codes[ib] = Signed(grid, Load32(b.qs + 32 + g));
      c.scale16[ib] = Scale16(Iq2HalfScale(b.scales, 2 * ib), Iq2HalfScale(b.scales, 2 * ib + 1));
    }
  }
};

struct DecodeIq3Xxs {
  using Block = BlockIq3Xxs;
  static constexpr float kScale = 0.25f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const uint32_t w = Iq3xxsWord(b, ib);
      const __m256i grid = Grid4([&](int k) { return Iq3xxsEntry(b, 8 * ib + k); });
      const uint32_t signs = Bytes4(kIq2Signs[w & 127], kIq2Signs[(w >> 7) & 127], kIq2Signs[(w >> 14) & 127],
                                    kIq2Signs[(w >> 21) & 127]);
      c.codes[ib] = Signed(grid, signs);
      c.scale16[ib] = Scale32(OddScale(static_cast<int>(w >> 28)));
    }
  }
};

struct DecodeIq3S {
  using Block = BlockIq3S;
  static constexpr float kScale = 1.0f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const __m256i grid = Grid4([&](int k) { return Iq3sEntry(b, 8 * ib + k); });
      c.codes[ib] = Signed(grid, Load32(b.signs + 4 * ib));
      c.scale16[ib] = Scale32(Iq3sScale(b, ib));
    }
  }
};

struct DecodeIq1S {
  using Block = BlockIq1S;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const int g = 4 * ib;
      const __m256i grid = Grid8(Iq1sEntry(b, g), Iq1sEntry(b, g + 1), Iq1sEntry(b, g + 2), Iq1sEntry(b, g + 3));
      c.codes[ib] = Iq1Codes(grid, _mm256_set1_epi8(static_cast<char>(Iq1sDeltaSign(b, ib))));
      c.scale16[ib] = Scale32(Iq1sScale(b, ib));
    }
  }
};

struct DecodeIq1M {
  using Block = BlockIq1M;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return Iq1mD(b); }
  static R1_INLINE void Decode(const Block& b, ChunkSet& c) {
    #pragma GCC unroll 8
    for (int ib = 0; ib < 8; ++ib) {
      const int g = 4 * ib;
      const __m256i grid = Grid8(Iq1mEntry(b, g), Iq1mEntry(b, g + 1), Iq1mEntry(b, g + 2), Iq1mEntry(b, g + 3));
      const __m256i delta = _mm256_set_epi64x(Delta8(Iq1mDeltaSign(b, g + 3)), Delta8(Iq1mDeltaSign(b, g + 2)),
                                              Delta8(Iq1mDeltaSign(b, g + 1)), Delta8(Iq1mDeltaSign(b, g)));
      c.codes[ib] = Iq1Codes(grid, delta);
      c.scale16[ib] = Scale16(Iq1mScale(b, 2 * ib), Iq1mScale(b, 2 * ib + 1));
    }
  }
};

template <typename D>
struct KernelIq {
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
          const __m256i wabs = _mm256_sign_epi8(c.codes[j], c.codes[j]);
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            const __m256i y = _mm256_sign_epi8(Load256(xb[t]->qs + 32 * j), c.codes[j]);
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, y), c.scale16[j]));
            Pin(acc[t]);
          }
        }
        const float d = HalfToFloat(D::D(b));
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) {
          float& s = sum[r * NX + t];
          s = __builtin_fmaf(d * xb[t]->d * D::kScale, static_cast<float>(HsumI32(acc[t])), s);
        }
      }
    }
    #pragma GCC unroll 8
    for (int k = 0; k < kOut; ++k) out[k] = sum[k];
  }
};

}  // namespace

DotKernels Avx2IqKernels(GgmlType t) {
  switch (t) {
    case GgmlType::IQ2_XXS: return MakeKernels<KernelIq<DecodeIq2Xxs>>();
    case GgmlType::IQ2_XS: return MakeKernels<KernelIq<DecodeIq2Xs>>();
    case GgmlType::IQ2_S: return MakeKernels<KernelIq<DecodeIq2S>>();
    case GgmlType::IQ3_XXS: return MakeKernels<KernelIq<DecodeIq3Xxs>>();
    case GgmlType::IQ3_S: return MakeKernels<KernelIq<DecodeIq3S>>();
    case GgmlType::IQ1_S: return MakeKernels<KernelIq<DecodeIq1S>>();
    case GgmlType::IQ1_M: return MakeKernels<KernelIq<DecodeIq1M>>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
