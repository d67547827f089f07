// Helpers shared by the x86/*_avx2.cc kernels. Include only from files
// compiled with the AVX2 flags. Everything is in an anonymous namespace so
// that no copy compiled with -mavx2 is ever shared with another file (see
// x86_kernels.h).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/quant.h"

namespace r1::kernels::x86 {
namespace {

#define R1_INLINE inline __attribute__((always_inline))

R1_INLINE float HalfToFloat(uint16_t h) { return _cvtsh_ss(h); }

// 2^f for f in [-0.5, 0.5], relative error ~2e-7 (degree-6 minimax). The
// exp kernels (attention's softmax, ops' exp) scale it by 2^n.
R1_INLINE __m256 Exp2Poly(__m256 f) {
  __m256 r = _mm256_set1_ps(1.535336188319500e-4f);
  r = _mm256_fmadd_ps(r, f, _mm256_set1_ps(1.339887440266574e-3f));
  r = _mm256_fmadd_ps(r, f, _mm256_set1_ps(9.618437357674640e-3f));
  r = _mm256_fmadd_ps(r, f, _mm256_set1_ps(5.550332471162809e-2f));
  r = _mm256_fmadd_ps(r, f, _mm256_set1_ps(2.402264791363012e-1f));
  r = _mm256_fmadd_ps(r, f, _mm256_set1_ps(6.931472028550421e-1f));
  return _mm256_fmadd_ps(r, f, _mm256_set1_ps(1.0f));
}

// Fixed-order horizontal sums (the order is part of each kernel's result).
R1_INLINE float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

R1_INLINE int HsumI32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
  return _mm_cvtsi128_si32(s);
}

// Sum of w[i] * x[i] over 32 int8 pairs, as 8 int32 lanes. Uses
// |w| * sign(x, w), so x must not be -128 where w < 0; activations from
// Quantize are in [-127, 127].
R1_INLINE __m256i DotI8(__m256i w, __m256i x) {
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

// The eight 6-bit scales and mins of a Q4_K/Q5_K block (layout: blocks.h),
// as 16-bit lanes: scales in the low 128 bits, each min twice in the high
// ones (to pair with the 16 bsums).
struct ScalesMins {
  __m128i scales;  // 8 x int16: sc[0..7]
  __m256i mins;    // 16 x int16: mn[0], mn[0], mn[1], mn[1], ...
};

R1_INLINE ScalesMins UnpackK4(const uint8_t* q) {
  uint32_t w[3];
  __builtin_memcpy(w, q, 12);
  const uint32_t s_lo = w[0] & 0x3f3f3f3fu;
  const uint32_t m_lo = w[1] & 0x3f3f3f3fu;
  const uint32_t s_hi = (w[2] & 0x0f0f0f0fu) | ((w[0] >> 6) & 0x03030303u) << 4;
  const uint32_t m_hi = ((w[2] >> 4) & 0x0f0f0f0fu) | ((w[1] >> 6) & 0x03030303u) << 4;
  const __m128i v = _mm_setr_epi32(static_cast<int>(s_lo), static_cast<int>(s_hi), static_cast<int>(m_lo),
                                   static_cast<int>(m_hi));
  const __m128i twice = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
  return {_mm_cvtepu8_epi16(v), _mm256_cvtepu8_epi16(_mm_shuffle_epi8(v, twice))};
}

// Adapters from a kernel template K<NW, NX>(n, w, w_stride, x, x_stride, out)
// computing the NW x NX dots of weight rows w + r * w_stride and activation
// rows x + t * x_stride into out[r * NX + t].
template <typename K>
float Single(int64_t n, const void* w, const void* x) {
  float out;
  K::template Run<1, 1>(n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(x), 0, &out);
  return out;
}
template <typename K>
void Four(int64_t n, const void* w, size_t ws, const void* x, float* out4) {
  K::template Run<4, 1>(n, static_cast<const uint8_t*>(w), ws, static_cast<const uint8_t*>(x), 0, out4);
}
template <typename K>
void CrossFour(int64_t n, const void* w, const void* x, size_t xs, float* out4) {
  K::template Run<1, 4>(n, static_cast<const uint8_t*>(w), 0, static_cast<const uint8_t*>(x), xs, out4);
}
template <typename K>
DotKernels MakeKernels() {
  return {Single<K>, Four<K>, CrossFour<K>};
}

// For the float types the multi-row forms are repeated single dots: there is
// nothing to share beyond the loads, and it keeps them trivially identical.
template <VecDotFn kDot>
void RepeatFour(int64_t n, const void* w, size_t ws, const void* x, float* out4) {
  for (int r = 0; r < 4; ++r) out4[r] = kDot(n, static_cast<const uint8_t*>(w) + r * ws, x);
}
template <VecDotFn kDot>
void RepeatCrossFour(int64_t n, const void* w, const void* x, size_t xs, float* out4) {
  for (int t = 0; t < 4; ++t) out4[t] = kDot(n, w, static_cast<const uint8_t*>(x) + t * xs);
}
template <VecDotFn kDot>
DotKernels MakeRepeated() {
  return {kDot, RepeatFour<kDot>, RepeatCrossFour<kDot>};
}

}  // namespace
}  // namespace r1::kernels::x86
