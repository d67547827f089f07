// AVX-512 (F/BW/VL/DQ/VNNI, optionally BF16) dot kernels for the float types
// and the 32-element block formats (Q8_0, Q4_0, Q5_0 against Q8_0).
//
// Block formats: two blocks share one 512-bit vector. Weight codes are made
// unsigned (Q8_0: w ^ 0x80 = w + 128; Q4_0/Q5_0: the stored, biased codes)
// so VNNI's vpdpbusd (u8 × s8) applies, and the bias is removed exactly with a
// second vpdpbusd of the bias against the activations:
//   sum (q - bias) * x = dpbusd(q, x) - dpbusd(bias, x)      (int32, exact)
// which, unlike the sign trick, is exact for every activation code (-128
// too). Blocks (4k, 4k+1) go to one float accumulator and (4k+2, 4k+3) to
// another; a leftover single block is zero-extended. The result depends only
// on the two rows.
// GCC 12 warns about its own AVX-512 intrinsics (the _mm512_undefined_*
// placeholders inside them; GCC bug 105593). Must precede <immintrin.h>.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

#include "kernels/blocks.h"
#include "kernels/x86/simd_avx512.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

// sum_i W(i) * X(i) with 4 x 16 float lanes; `loads(i)` returns the pair of
// 16-element vectors at i, `tail(i, sum)` finishes the last n % 16 elements.
template <typename Loads, typename Tail>
R1_INLINE float DotFloat(int64_t n, Loads loads, Tail tail) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    #pragma GCC unroll 8
    for (int k = 0; k < 4; ++k) {
      const auto [a, b] = loads(i + 16 * k);
      acc[k] = _mm512_fmadd_ps(a, b, acc[k]);
    }
  }
  for (; i + 16 <= n; i += 16) {
    const auto [a, b] = loads(i);
    acc[0] = _mm512_fmadd_ps(a, b, acc[0]);
  }
  float sum = Hsum(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum = tail(i, sum);
  return sum;
}

struct Pair {
  __m512 a, b;
};

float DotF32(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const float*>(w);
  const auto* b = static_cast<const float*>(x);
  return DotFloat(
      n, [&](int64_t i) { return Pair{_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i)}; },
      [&](int64_t i, float s) { return __builtin_fmaf(a[i], b[i], s); });
}

float DotF16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const float*>(x);
  return DotFloat(
      n,
      [&](int64_t i) {
        return Pair{_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i))),
                    _mm512_loadu_ps(b + i)};
      },
      [&](int64_t i, float s) { return __builtin_fmaf(HalfToFloat(a[i]), b[i], s); });
}

// BF16 × BF16 with vdpbf16ps: 32 products per instruction, pairs summed in
// float. (Products of two bf16 values are exact in float.)
float DotBF16(int64_t n, const void* w, const void* x) {
  const auto* a = static_cast<const uint16_t*>(w);
  const auto* b = static_cast<const uint16_t*>(x);
  auto load = [](const uint16_t* p) {
    return reinterpret_cast<__m512bh>(_mm512_loadu_si512(p));
  };
  __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc[0] = _mm512_dpbf16_ps(acc[0], load(a + i), load(b + i));
    acc[1] = _mm512_dpbf16_ps(acc[1], load(a + i + 32), load(b + i + 32));
  }
  for (; i + 32 <= n; i += 32) acc[0] = _mm512_dpbf16_ps(acc[0], load(a + i), load(b + i));
  float sum = Hsum(_mm512_add_ps(acc[0], acc[1]));
  for (; i < n; ++i) sum = __builtin_fmaf(BF16ToF32(a[i]), BF16ToF32(b[i]), sum);
  return sum;
}

// Weight decoders: 32 unsigned codes of one block, and the bias to remove.
struct DecodeQ8_0 {
  using Block = BlockQ8_0;
  static constexpr char kBias = static_cast<char>(0x80);
  static R1_INLINE __m256i Codes(const Block& b) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
    return _mm256_xor_si256(v, _mm256_set1_epi8(kBias));  // w + 128 as unsigned
  }
};

R1_INLINE __m256i Nibbles(const uint8_t* qs) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  // Low nibbles are elements 0..15, high nibbles 16..31.
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(b, 4), b), _mm256_set1_epi8(15));
}

struct DecodeQ4_0 {
  using Block = BlockQ4_0;
  static constexpr char kBias = 8;
  static R1_INLINE __m256i Codes(const Block& b) { return Nibbles(b.qs); }
};

struct DecodeQ5_0 {
  using Block = BlockQ5_0;
  static constexpr char kBias = 16;
  static R1_INLINE __m256i Codes(const Block& b) {
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    // Bit i of qh is the fifth bit of element i: a byte mask straight from qh.
    const __m256i high = _mm256_maskz_mov_epi8(static_cast<__mmask32>(qh), _mm256_set1_epi8(16));
    return _mm256_or_si256(Nibbles(b.qs), high);
  }
};

template <typename D>
struct Kernel32 {
  using Block = typename D::Block;

  // Blocks i and i+1 (or i alone when `one`) into acc.
  template <int NW, int NX>
  static R1_INLINE void Step(int64_t i, bool one, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs,
                             __m512 (&acc)[NW * NX]) {
    const __m512i bias = _mm512_set1_epi8(D::kBias);
    __m512i xq[NX], xbias[NX];
    float xd0[NX], xd1[NX];
    #pragma GCC unroll 8
    for (int t = 0; t < NX; ++t) {
      const BlockQ8_0* xb = reinterpret_cast<const BlockQ8_0*>(x + t * xs) + i;
      const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[0].qs));
      xd0[t] = HalfToFloat(xb[0].d);
      if (one) {
        xq[t] = _mm512_zextsi256_si512(lo);
        xd1[t] = 0.0f;
      } else {
        xq[t] = Join(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[1].qs)));
        xd1[t] = HalfToFloat(xb[1].d);
      }
      xbias[t] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, xq[t]);
    }
    #pragma GCC unroll 8
    for (int r = 0; r < NW; ++r) {
      const Block* wb = reinterpret_cast<const Block*>(w + r * ws) + i;
      const float wd0 = HalfToFloat(wb[0].d);
      const float wd1 = one ? 0.0f : HalfToFloat(wb[1].d);
      const __m256i c0 = D::Codes(wb[0]);
      const __m512i wq = one ? _mm512_zextsi256_si512(c0) : Join(c0, D::Codes(wb[1]));
      #pragma GCC unroll 8
      for (int t = 0; t < NX; ++t) {
        const __m512i isum = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, xq[t]), xbias[t]);
        const __m512 scale = JoinScalars(wd0 * xd0[t], wd1 * xd1[t]);
        acc[r * NX + t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), scale, acc[r * NX + t]);
      }
    }
  }

  template <int NW, int NX>
  static void Run(int64_t n, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* out) {
    const int64_t nb = n / kQK0;
    __m512 a0[NW * NX], a1[NW * NX];
    #pragma GCC unroll 8
    for (int k = 0; k < NW * NX; ++k) a0[k] = a1[k] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 4 <= nb; i += 4) {
      Step<NW, NX>(i, false, w, ws, x, xs, a0);
      Step<NW, NX>(i + 2, false, w, ws, x, xs, a1);
    }
    if (i + 2 <= nb) {
      Step<NW, NX>(i, false, w, ws, x, xs, a0);
      i += 2;
    }
    if (i < nb) Step<NW, NX>(i, true, w, ws, x, xs, a1);
    #pragma GCC unroll 8
    for (int k = 0; k < NW * NX; ++k) out[k] = Hsum(_mm512_add_ps(a0[k], a1[k]));
  }
};

}  // namespace

DotKernels Avx512Kernels(GgmlType t, bool has_bf16) {
  switch (t) {
    case GgmlType::F32: return MakeRepeated<DotF32>();
    case GgmlType::F16: return MakeRepeated<DotF16>();
    case GgmlType::BF16: return has_bf16 ? MakeRepeated<DotBF16>() : DotKernels{};
    case GgmlType::Q8_0: return MakeKernels<Kernel32<DecodeQ8_0>>();
    case GgmlType::Q4_0: return MakeKernels<Kernel32<DecodeQ4_0>>();
    case GgmlType::Q5_0: return MakeKernels<Kernel32<DecodeQ5_0>>();
    default: return {};
  }
}

}  // namespace r1::kernels::x86
