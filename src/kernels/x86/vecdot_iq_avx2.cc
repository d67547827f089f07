// AVX2 dot kernels of the codebook formats IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS,
// IQ3_S, IQ1_S and IQ1_M (blocks_iq.h) against Q8_K.
//
// A super-block is walked in eight chunks of 32 elements (one sub-block each)
// holding the integer form of ref/iq.cc: the code magnitudes (four 8-byte or
// eight 4-byte codebook entries gathered into a vector; |8 * grid + delta| for
// IQ1_*), the codes' signs as +1 / -1 bytes (a table expanded from kIq2Signs
// for the 7-bit sign indices, a byte-mask spread of the stored sign bytes
// otherwise) applied to the activations, and the odd scales as int16 lanes
// (low 128 bits for elements 0..15 of the chunk, high for 16..31). Products
// are summed in int16 pairs (at most 2 * 62 * 127, no saturation), scaled,
// summed exactly in int32 and reduced to one integer per super-block, which is
// folded with the reference's scalar FMA: the results are bit-identical to the
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

// A chunk (sub-block ib, 32 elements) as the kernel consumes it: magnitudes
// |code| (bytes 0..62), a vector whose byte signs are those of the codes
// (applied to the activations with _mm256_sign_epi8; never zero), and the
// int16 scales.
struct Chunk {
  __m256i mag, sgn, scale16;
};

// +1 / -1 per byte from a sign byte: kSignBytes[i] for the 7-bit sign index i
// of the XXS / XS formats (kIq2Signs[i] expanded).
constexpr uint64_t SignBytes(uint8_t s) {
  uint64_t v = 0;
  for (int j = 0; j < 8; ++j) v |= static_cast<uint64_t>((s >> j) & 1 ? 0xff : 0x01) << (8 * j);
  return v;
}
struct SignTable {
  uint64_t v[128];
};
constexpr SignTable MakeSignTable() {
  SignTable t{};
  for (int i = 0; i < 128; ++i) t.v[i] = SignBytes(kIq2Signs[i]);
  return t;
}
constexpr SignTable kSignBytes = MakeSignTable();

R1_INLINE __m256i Set4(uint64_t e0, uint64_t e1, uint64_t e2, uint64_t e3) {
  return _mm256_set_epi64x(static_cast<int64_t>(e3), static_cast<int64_t>(e2), static_cast<int64_t>(e1),
                           static_cast<int64_t>(e0));
}

// The signs of four 7-bit indices (bits 0..27 of w, 7 per group).
R1_INLINE __m256i Signs7(uint32_t w) {
  return Set4(kSignBytes.v[w & 127], kSignBytes.v[(w >> 7) & 127], kSignBytes.v[(w >> 14) & 127],
              kSignBytes.v[(w >> 21) & 127]);
}

// The signs of four full sign bytes (byte k of `signs`: elements 8k .. 8k+7).
R1_INLINE __m256i Signs8(const uint8_t* p) {
  uint32_t signs;
  std::memcpy(&signs, p, 4);
  const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  const __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(signs)), spread);
  return _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit), _mm256_set1_epi8(1));
}

// Eight 4-byte entries (the quads of a chunk).
template <typename F>
R1_INLINE __m256i Quads(F entry) {
  return _mm256_set_epi32(static_cast<int>(entry(7)), static_cast<int>(entry(6)), static_cast<int>(entry(5)),
                          static_cast<int>(entry(4)), static_cast<int>(entry(3)), static_cast<int>(entry(2)),
                          static_cast<int>(entry(1)), static_cast<int>(entry(0)));
}

// int16 scales: one for the chunk, or one per 16-element half.
R1_INLINE __m256i Scale32(int ls) { return _mm256_set1_epi16(static_cast<int16_t>(ls)); }
R1_INLINE __m256i Scale16(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

// IQ1 codes 8 * grid + delta (grid bytes -1, 0, 1; delta +1 / -1 per byte)
// are their own sign vector.
R1_INLINE Chunk Iq1Chunk(__m256i grid, __m256i delta, __m256i scale16) {
  const __m256i code = _mm256_add_epi8(_mm256_sign_epi8(_mm256_set1_epi8(8), grid), delta);
  return {_mm256_sign_epi8(code, code), code, scale16};
}
R1_INLINE uint64_t Delta8(int sign) { return sign < 0 ? ~uint64_t{0} : 0x0101010101010101ull; }

struct DecodeIq2Xxs {
  using Block = BlockIq2Xxs;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    const uint32_t a0 = Iq2xxsWord(b, ib, 0), a1 = Iq2xxsWord(b, ib, 1);
    return {Set4(kIq2xxsGrid[a0 & 255], kIq2xxsGrid[(a0 >> 8) & 255], kIq2xxsGrid[(a0 >> 16) & 255],
                 kIq2xxsGrid[a0 >> 24]),
            Signs7(a1), Scale32(OddScale(static_cast<int>(a1 >> 28)))};
  }
};

struct DecodeIq2Xs {
  using Block = BlockIq2Xs;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    const uint16_t* q = b.qs + 4 * ib;
    return {Set4(kIq2xsGrid[q[0] & 511], kIq2xsGrid[q[1] & 511], kIq2xsGrid[q[2] & 511], kIq2xsGrid[q[3] & 511]),
            Set4(kSignBytes.v[q[0] >> 9], kSignBytes.v[q[1] >> 9], kSignBytes.v[q[2] >> 9], kSignBytes.v[q[3] >> 9]),
            Scale16(Iq2HalfScale(b.scales, 2 * ib), Iq2HalfScale(b.scales, 2 * ib + 1))};
  }
};

struct DecodeIq2S {
  using Block = BlockIq2S;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    const int g = 4 * ib;
    return {Set4(Iq2sEntry(b, g), Iq2sEntry(b, g + 1), Iq2sEntry(b, g + 2), Iq2sEntry(b, g + 3)),
            Signs8(b.qs + 32 + g), Scale16(Iq2HalfScale(b.scales, 2 * ib), Iq2HalfScale(b.scales, 2 * ib + 1))};
  }
};

struct DecodeIq3Xxs {
  using Block = BlockIq3Xxs;
  static constexpr float kScale = 0.25f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    const uint32_t w = Iq3xxsWord(b, ib);
    return {Quads([&](int k) { return Iq3xxsEntry(b, 8 * ib + k); }), Signs7(w),
            Scale32(OddScale(static_cast<int>(w >> 28)))};
  }
};

struct DecodeIq3S {
  using Block = BlockIq3S;
  static constexpr float kScale = 1.0f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    return {Quads([&](int k) { return Iq3sEntry(b, 8 * ib + k); }), Signs8(b.signs + 4 * ib),
            Scale32(Iq3sScale(b, ib))};
  }
};

struct DecodeIq1S {
  using Block = BlockIq1S;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return b.d; }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    const int g = 4 * ib;
    return Iq1Chunk(Set4(Iq1sEntry(b, g), Iq1sEntry(b, g + 1), Iq1sEntry(b, g + 2), Iq1sEntry(b, g + 3)),
                    _mm256_set1_epi8(static_cast<char>(Iq1sDeltaSign(b, ib))), Scale32(Iq1sScale(b, ib)));
  }
};

struct DecodeIq1M {
  using Block = BlockIq1M;
  static constexpr float kScale = 0.125f;
  static R1_INLINE uint16_t D(const Block& b) { return Iq1mD(b); }
  static R1_INLINE Chunk Get(const Block& b, int ib) {
    const int g = 4 * ib;
    return Iq1Chunk(Set4(Iq1mEntry(b, g), Iq1mEntry(b, g + 1), Iq1mEntry(b, g + 2), Iq1mEntry(b, g + 3)),
                    Set4(Delta8(Iq1mDeltaSign(b, g)), Delta8(Iq1mDeltaSign(b, g + 1)), Delta8(Iq1mDeltaSign(b, g + 2)),
                         Delta8(Iq1mDeltaSign(b, g + 3))),
                    Scale16(Iq1mScale(b, 2 * ib), Iq1mScale(b, 2 * ib + 1)));
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
        __m256i acc[NX];
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) acc[t] = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int ib = 0; ib < 8; ++ib) {
          const Chunk c = D::Get(b, ib);
          #pragma GCC unroll 8
          for (int t = 0; t < NX; ++t) {
            const __m256i y = _mm256_sign_epi8(Load256(xb[t]->qs + 32 * ib), c.sgn);
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(c.mag, y), c.scale16));
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
