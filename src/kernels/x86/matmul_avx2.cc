// AVX2 activation quantizers for QuantizeActs (matmul_internal.h).
//
// Bit-identical to the scalar reference Quantize() (ref/quantize.cc) for
// finite inputs: the block absmax is exact in any order, d = amax / 127 and
// id = 1 / d are the same scalar operations, x * id is one IEEE multiply per
// element either way, and vcvtps2dq rounds to nearest-even like lrintf in the
// default rounding mode. matmul_test.cc checks the equality.
//
// ODR hygiene: compiled with -mavx2 etc.; everything except the entry points
// is in an anonymous namespace and no std:: template is instantiated here.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/matmul_internal.h"
#include "kernels/quant.h"

namespace r1::kernels::internal {
namespace {

inline float AbsMax(const float* x, int n) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
  __m128 r = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  r = _mm_max_ps(r, _mm_movehl_ps(r, r));
  r = _mm_max_ss(r, _mm_shuffle_ps(r, r, 1));
  return _mm_cvtss_f32(r);
}

// q[0..32) = clamp(round_even(x * id), -127, 127) for 32 elements.
inline __m256i Quant32(const float* x, __m256 id) {
  __m256i a = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
  __m256i b = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
  __m256i c = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id));
  __m256i d = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id));
  // packs interleave 128-bit lanes: [a0 b0 a1 b1] -> [a0 c0 ..]; undo with a permute.
  __m256i ab = _mm256_packs_epi32(a, b);
  __m256i cd = _mm256_packs_epi32(c, d);
  __m256i q = _mm256_packs_epi16(ab, cd);
  q = _mm256_permutevar8x32_epi32(q, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
  return _mm256_max_epi8(q, _mm256_set1_epi8(-127));
}

}  // namespace

void QuantizeQ8_0Avx2(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK0; ++i, x += kQK0) {
    const float d = AbsMax(x, kQK0) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs), Quant32(x, _mm256_set1_ps(id)));
  }
}

void QuantizeQ8KAvx2(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8K*>(dst);
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = AbsMax(x, kQK) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = d;
    const __m256 idv = _mm256_set1_ps(id);
    for (int j = 0; j < kQK; j += 32) {
      const __m256i q = Quant32(x + j, idv);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b[i].qs + j), q);
      // Sums of 16 codes: pairwise int8 -> int16 (maddubs with 1 keeps the
      // sign via the signed operand), then int16 pairs -> int32, exact.
      const __m256i s16 = _mm256_maddubs_epi16(ones, q);
      const __m256i s32 = _mm256_madd_epi16(s16, ones16);  // 8 sums of 4
      // Lane 0 holds codes 0..15 (4 sums of 4), lane 1 codes 16..31.
      const __m128i lo = _mm256_castsi256_si128(s32), hi = _mm256_extracti128_si256(s32, 1);
      const __m128i t = _mm_hadd_epi32(lo, hi);  // [l01 l23 h01 h23]
      const __m128i u = _mm_hadd_epi32(t, t);    // [l h l h]
      b[i].bsums[j / 16] = static_cast<int16_t>(_mm_cvtsi128_si32(u));
      b[i].bsums[j / 16 + 1] = static_cast<int16_t>(_mm_extract_epi32(u, 1));
    }
  }
}

void QuantizeBF16Avx2(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i quiet = _mm256_set1_epi32(0x40 << 16);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i r[2];
    for (int k = 0; k < 2; ++k) {
      const __m256i v = _mm256_castps_si256(_mm256_loadu_ps(x + i + 8 * k));
      // Round to nearest even; a NaN is truncated with its quiet bit set.
      const __m256i rounded =
          _mm256_add_epi32(v, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(v, 16), one)));
      const __m256i is_nan = _mm256_cmpgt_epi32(_mm256_and_si256(v, abs_mask), inf);
      const __m256i res = _mm256_blendv_epi8(rounded, _mm256_or_si256(v, quiet), is_nan);
      r[k] = _mm256_srli_epi32(res, 16);
    }
    __m256i p = _mm256_packus_epi32(r[0], r[1]);
    p = _mm256_permute4x64_epi64(p, 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(h + i), p);
  }
  for (; i < n; ++i) h[i] = F32ToBF16(x[i]);
}

}  // namespace r1::kernels::internal
