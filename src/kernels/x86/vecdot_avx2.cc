// AVX2 + FMA + F16C dot kernels for the float types and the 32-element block
// formats (Q8_0, Q4_0, Q5_0, IQ4_NL against Q8_0 activations).
//
// Block formats: each block's 32 weight codes are decoded to signed bytes and
// dotted with the activation codes exactly (int32 lanes), then folded into a
// float accumulator as cvt(lanes) * (d_w * d_x), in block order, then summed
// across lanes in a fixed order, so the result depends on nothing but the two
// rows.
#include <immintrin.h>

#include <cstring>

#include "kernels/blocks.h"
#include "kernels/iq_tables.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

float DotF32(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    #pragma GCC unroll 8
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8 * k), _mm256_loadu_ps(b + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc[0]);
  float s = Hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s = __builtin_fmaf(a[i], b[i], s);
  return s;
}

float DotF16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  auto load_h = [&](int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + i)));
  };
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    #pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) acc[k] = _mm256_fmadd_ps(load_h(i + 8 * k), _mm256_loadu_ps(b + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load_h(i), _mm256_loadu_ps(b + i), acc[0]);
  float s = Hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s = __builtin_fmaf(HalfToFloat(a[i]), b[i], s);
  return s;
}

R1_INLINE __m256 LoadBF16x8(const uint16_t* p) {
  const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

float DotBF16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    #pragma GCC unroll 8
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(LoadBF16x8(a + i + 8 * k), LoadBF16x8(b + i + 8 * k), acc[k]);
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(LoadBF16x8(a + i), LoadBF16x8(b + i), acc[0]);
  float s = Hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) s = __builtin_fmaf(BF16ToF32(a[i]), BF16ToF32(b[i]), s);
  return s;
}

// Weight decoders: 32 signed codes of one block.
struct DecodeQ8_0 {
  using Block = BlockQ8_0;
  static R1_INLINE __m256i Codes(const Block& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
  }
};

R1_INLINE __m256i Nibbles(const uint8_t* qs) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  // Low nibbles are elements 0..15, high nibbles 16..31.
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

struct DecodeQ4_0 {
  using Block = BlockQ4_0;
  static R1_INLINE __m256i Codes(const Block& b) { return _mm256_sub_epi8(Nibbles(b.qs), _mm256_set1_epi8(8)); }
};

struct DecodeQ5_0 {
  using Block = BlockQ5_0;
  static R1_INLINE __m256i Codes(const Block& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    // Byte i of the vector gets byte i / 8 of qh, then tests bit i % 8.
    const __m256i spread = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                            2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
    __m256i h = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(qh)), spread);
    h = _mm256_cmpeq_epi8(_mm256_and_si256(h, bit), bit);
    const __m256i q = _mm256_or_si256(Nibbles(b.qs), _mm256_and_si256(h, _mm256_set1_epi8(16)));
    return _mm256_sub_epi8(q, _mm256_set1_epi8(16));
  }
};

struct DecodeIq4Nl {
  using Block = BlockIq4Nl;
  static R1_INLINE __m256i Codes(const Block& b) {
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    return _mm256_shuffle_epi8(table, Nibbles(b.qs));
  }
};

// Software prefetch of the weight stream (a hint: never changes a result).
// dot4 walks four interleaved rows, which the hardware prefetcher follows
// poorly; each step prefetches the matching slice of the next four rows
// (w + 4 * ws onwards: the next dot4 call of a GEMV), one group ahead. A
// single row is one stream, left to the hardware prefetcher (software
// prefetch there measured slower).

template <size_t kBytes>
R1_INLINE void PrefetchRange(const uint8_t* p) {
  #pragma GCC unroll 16
  for (size_t o = 0; o < kBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + o), _MM_HINT_T0);
}

// The fp16 scales (offset 0) of eight blocks at p, p + stride, ... as floats.
R1_INLINE __m256 Scales8(const uint8_t* p, size_t stride) {
  uint64_t lo = 0, hi = 0;
  #pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    uint16_t a, b;
    std::memcpy(&a, p + j * stride, 2);
    std::memcpy(&b, p + (4 + j) * stride, 2);
    lo |= uint64_t{a} << (16 * j);
    hi |= uint64_t{b} << (16 * j);
    // Keep this in scalar registers: GCC's SLP vectorizer otherwise turns
    // it into a long chain of vector shuffles.
    __asm__("" : "+r"(lo), "+r"(hi));
  }
  return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)));
}

// Every block's products go to one accumulator per output as
// acc = fma(cvt(int32 lanes), d_w * d_x, acc). (One, not an even/odd pair:
// dot4 and dotx4 have four independent chains anyway, and the pair's extra
// registers made dotx4 spill; measured dotx4 +7%, single row -15% in cache.) The products d_w * d_x
// are formed eight blocks at a time in vector lanes (the same float multiply
// as the scalar one) and broadcast per block with vpermps; dot4 and the blocks
// past the last multiple of eight use scalar conversions, which give the same
// values. So every form runs the same float sequence per output.
template <typename D>
struct Kernel32 {
  using Block = typename D::Block;

  // Block i; scale[k] (k = r * NX + t) is d_w * d_x of output k for this block.
  template <int NW, int NX, typename ScaleFn>
  static R1_INLINE void Step(int64_t i, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs,
                             __m256 (&acc)[NW * NX], ScaleFn scale) {
    __m256i xq[NX], xs_signed[NX];
    #pragma GCC unroll 8
    for (int t = 0; t < NX; ++t) {
      const auto& xb = reinterpret_cast<const BlockQ8_0*>(x + t * xs)[i];
      xq[t] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb.qs));
    }
    #pragma GCC unroll 8
    for (int r = 0; r < NW; ++r) {
      const auto& wb = reinterpret_cast<const Block*>(w + r * ws)[i];
      const __m256i wq = D::Codes(wb);
      const __m256i wabs = _mm256_sign_epi8(wq, wq);
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) {
        xs_signed[t] = _mm256_sign_epi8(xq[t], wq);
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, xs_signed[t]), _mm256_set1_epi16(1));
        acc[r * NX + t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale(r * NX + t), acc[r * NX + t]);
      }
    }
  }

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    const int64_t nb = n / kQK0;
    __m256 acc[NW * NX];
    #pragma GCC unroll 8
    for (int k = 0; k < NW * NX; ++k) acc[k] = _mm256_setzero_ps();
    int64_t i = 0;
    // dot4 (the GEMV kernel) keeps per-block scales: gathering them eight
    // blocks ahead in four rows makes its first products wait for the
    // furthest lines, which measured ~2x slower from memory.
    for (; NW == 1 && i + 8 <= nb; i += 8) {
      __m256 xd[NX], sc[NW * NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xd[t] = Scales8(x + t * xs + i * sizeof(BlockQ8_0), sizeof(BlockQ8_0));
      #pragma GCC unroll 8
      for (int r = 0; r < NW; ++r) {
        const __m256 wd = Scales8(w + r * ws + i * sizeof(Block), sizeof(Block));
        #pragma GCC unroll 8
        for (int t = 0; t < NX; ++t) sc[r * NX + t] = _mm256_mul_ps(wd, xd[t]);
      }
      #pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m256i lane = _mm256_set1_epi32(j);
        auto scale = [&](int k) { return _mm256_permutevar8x32_ps(sc[k], lane); };
        Step<NW, NX>(i + j, w, ws, x, xs, acc, scale);
      }
    }
    for (; i < nb; ++i) {
      if constexpr (NW == 4)
        if (i % 2 == 0) PrefetchRange<8 * sizeof(Block)>(w + 4 * ws + i * 4 * sizeof(Block));
      float xd[NX];
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) xd[t] = HalfToFloat(reinterpret_cast<const BlockQ8_0*>(x + t * xs)[i].d);
      auto scale = [&](int k) {
        const float wd = HalfToFloat(reinterpret_cast<const Block*>(w + (k / NX) * ws)[i].d);
        return _mm256_set1_ps(wd * xd[k % NX]);
      };
      Step<NW, NX>(i, w, ws, x, xs, acc, scale);
    }
    #pragma GCC unroll 8
    for (int k = 0; k < NW * NX; ++k) out[k] = Hsum(acc[k]);
  }
};

}  // namespace

// FP8 e4m3 x F32. Sixteen codes sign-extended to 16 bits and shifted left by
// 7 put the exponent and mantissa into fp16 bit positions and the sign into
// bits 14-15; clearing bit 14 leaves an fp16 that is 2^-8 times the code's
// value. F16C converts, and the products go in as the scalar reference
// defines them (ref/vecdot.cc): accumulator s % 4 for the 8-element step s.
R1_INLINE void LoadF8x16(const uint8_t* p, __m256* lo, __m256* hi) {
  const __m256i h = _mm256_and_si256(
      _mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))), 7),
      _mm256_set1_epi16(static_cast<short>(0xbfff)));
  *lo = _mm256_cvtph_ps(_mm256_castsi256_si128(h));
  *hi = _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1));
}

// One 64-element block of NR rows (row stride `ws` bytes) against one x block.
template <int NR>
R1_INLINE void BlockF8Rows(const uint8_t* w, size_t ws, const float* xb, float* block) {
  __m256 acc[NR][4];
  const __m256 zero = _mm256_setzero_ps();  // fma(w, x, 0) as the reference (signed zeros included)
  for (int half = 0; half < 2; ++half) {
    const __m256 x0 = _mm256_loadu_ps(xb + 32 * half), x1 = _mm256_loadu_ps(xb + 32 * half + 8);
    const __m256 x2 = _mm256_loadu_ps(xb + 32 * half + 16), x3 = _mm256_loadu_ps(xb + 32 * half + 24);
    #pragma GCC unroll 4
    for (int r = 0; r < NR; ++r) {
      const uint8_t* q = w + r * ws + 4 + 32 * half;  // past the block's f32 scale
      __m256 w0, w1, w2, w3;
      LoadF8x16(q, &w0, &w1);
      LoadF8x16(q + 16, &w2, &w3);
      acc[r][0] = _mm256_fmadd_ps(w0, x0, half ? acc[r][0] : zero);
      acc[r][1] = _mm256_fmadd_ps(w1, x1, half ? acc[r][1] : zero);
      acc[r][2] = _mm256_fmadd_ps(w2, x2, half ? acc[r][2] : zero);
      acc[r][3] = _mm256_fmadd_ps(w3, x3, half ? acc[r][3] : zero);
    }
  }
  #pragma GCC unroll 4
  for (int r = 0; r < NR; ++r)
    block[r] = Hsum(_mm256_add_ps(_mm256_add_ps(acc[r][0], acc[r][1]), _mm256_add_ps(acc[r][2], acc[r][3])));
}

float DotF8(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const BlockF8*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum = 0.0f;
  for (int64_t i = 0; i < n / kQKF8; ++i) {
    float block;
    BlockF8Rows<1>(reinterpret_cast<const uint8_t*>(a + i), 0, b + i * kQKF8, &block);
    sum = __builtin_fmaf(a[i].d * 256.0f, block, sum);
  }
  return sum;
}

// Four rows sharing each activation load.
void DotF8x4Rows(int64_t n, const void* w, size_t w_row_bytes, const void* x, float* out4) {
  const auto* base = static_cast<const uint8_t*>(w);
  const auto* b = static_cast<const float*>(x);
  float sum[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int64_t i = 0; i < n / kQKF8; ++i) {
    const uint8_t* blk = base + i * sizeof(BlockF8);
    float block[4];
    BlockF8Rows<4>(blk, w_row_bytes, b + i * kQKF8, block);
    for (int r = 0; r < 4; ++r) {
      float d;
      std::memcpy(&d, blk + r * w_row_bytes, 4);
      sum[r] = __builtin_fmaf(d * 256.0f, block[r], sum[r]);
    }
  }
  std::memcpy(out4, sum, sizeof(sum));
}

DotKernels Avx2Kernels(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return MakeRepeated<DotF32>();
    case GgmlType::F16: return MakeRepeated<DotF16>();
    case GgmlType::BF16: return MakeRepeated<DotBF16>();
    case GgmlType::F8_E4M3_B64: return {DotF8, DotF8x4Rows, RepeatCrossFour<DotF8>};
    case GgmlType::Q8_0: return MakeKernels<Kernel32<DecodeQ8_0>>();
    case GgmlType::Q4_0: return MakeKernels<Kernel32<DecodeQ4_0>>();
    case GgmlType::Q5_0: return MakeKernels<Kernel32<DecodeQ5_0>>();
    case GgmlType::IQ4_NL: return MakeKernels<Kernel32<DecodeIq4Nl>>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
