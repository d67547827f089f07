// AVX2 + FMA element-wise operators (see ops.h; the portable loops in ops.cc
// are their scalar references, ops_test.cc compares the two).
//
// ODR hygiene as in x86_kernels.h: only the table-facing functions leave the
// anonymous namespace.
#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels::x86 {
namespace {

// e^x for float lanes, relative error below 3e-7 over the float range:
// 2^(x·log2 e) split into an integer power (exponent bits) and a degree-6
// polynomial on [-0.5, 0.5]. Like expf, x above 88.72 gives +inf; x below
// -87.3 (incl. -inf) gives 0 where expf would give a denormal.
inline __m256 Exp(__m256 x) {
  const __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(88.72f), _CMP_GT_OQ);
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.72f));
  const __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // f = x·log2e − n, with x·log2e computed in two parts to keep f exact-ish.
  __m256 f = _mm256_fmsub_ps(x, _mm256_set1_ps(1.44269504088896341f), n);
  __m256 r = Exp2Poly(f);
  // 2^n for n in [-126, 128]: split as 2^(n/2)·2^(n - n/2) so n = 128 does not
  // overflow the exponent field.
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i h = _mm256_srai_epi32(ni, 1);
  const __m256 p1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23));
  const __m256 p2 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23));
  return _mm256_andnot_ps(under, _mm256_blendv_ps(_mm256_mul_ps(_mm256_mul_ps(r, p1), p2),
                                                   _mm256_set1_ps(__builtin_inff()), over));
}

void SiluMulImpl(const float* gate, const float* up, int64_t n, float* out) {
  const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 e = Exp(_mm256_sub_ps(zero, g));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), _mm256_loadu_ps(up + i)));
  }
  if (i < n) {  // tail through a zero-padded vector
    alignas(32) float g[8] = {}, u[8] = {}, o[8];
    for (int64_t j = i; j < n; ++j) g[j - i] = gate[j], u[j - i] = up[j];
    SiluMulImpl(g, u, 8, o);
    for (int64_t j = i; j < n; ++j) out[j] = o[j - i];
  }
}

double ExpShiftSumImpl(const float* x, int64_t n, float shift, float scale, float* out) {
  const __m256 sh = _mm256_set1_ps(shift), sc = _mm256_set1_ps(scale);
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), sh), sc));
    if (out != nullptr) _mm256_storeu_ps(out + i, e);
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  if (i < n) {  // tail through a padded vector (padding gives exp(-inf) = 0)
    alignas(32) float v[8], o[8];
    for (int j = 0; j < 8; ++j) v[j] = i + j < n ? x[i + j] : -__builtin_inff();
    const __m256 e = Exp(_mm256_mul_ps(_mm256_sub_ps(_mm256_load_ps(v), sh), sc));
    _mm256_store_ps(o, e);
    for (int64_t j = i; j < n; ++j) {
      if (out != nullptr) out[j] = o[j - i];
      sum += o[j - i];
    }
  }
  return sum;
}

void ToF16Impl(const float* x, uint16_t* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  if (i < n) {
    alignas(32) float v[8] = {};
    alignas(16) uint16_t o[8];
    for (int64_t j = i; j < n; ++j) v[j - i] = x[j];
    _mm_store_si128(reinterpret_cast<__m128i*>(o),
                    _mm256_cvtps_ph(_mm256_load_ps(v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (int64_t j = i; j < n; ++j) out[j] = o[j - i];
  }
}

}  // namespace

void ToF16Avx2(const float* x, uint16_t* out, int64_t n) { ToF16Impl(x, out, n); }

double ExpShiftSumAvx2(const float* x, int64_t n, float shift, float scale, float* out) {
  return ExpShiftSumImpl(x, n, shift, scale, out);
}

void SiluMulAvx2(const float* gate, const float* up, int64_t n, float* out) { SiluMulImpl(gate, up, n, out); }

}  // namespace r1::kernels::x86
