// Helpers shared by the x86/*_avx512.cc kernels, on top of simd_avx2.h.
// Include only from files compiled with the AVX-512 flags; everything is in an
// anonymous namespace (see x86_kernels.h).
#pragma once

#include <immintrin.h>

#include "kernels/x86/simd_avx2.h"

namespace r1::kernels::x86 {
namespace {

R1_INLINE float Hsum(__m512 v) {
  return Hsum(_mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1)));
}

R1_INLINE int HsumI32(__m512i v) {
  return HsumI32(_mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}

// Two 32-byte halves as one vector: lo in bytes 0..31, hi in 32..63.
R1_INLINE __m512i Join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_zextsi256_si512(lo), hi, 1);
}

// lo broadcast to lanes 0..7, hi to lanes 8..15.
R1_INLINE __m512 JoinScalars(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_zextps256_ps512(_mm256_set1_ps(lo)), _mm256_set1_ps(hi), 1);
}

}  // namespace
}  // namespace r1::kernels::x86
