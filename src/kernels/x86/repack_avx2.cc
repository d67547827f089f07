// AVX2 kernels for the 8-row packed layouts of repack.h.
//
// One 32-byte load holds 4 codes of each of 8 rows (row r in bytes 4r..4r+3);
// the matching 4 activation codes are broadcast to every row; vpmaddubsw then
// leaves row r's two pair sums in int16 lanes 2r and 2r+1, and vpmaddwd by a
// vector holding row r's sub-block scale in both of those lanes folds them
// into int32 lane r. So each 32-bit lane is one output row throughout, and
// nothing is ever summed horizontally.
//
// Where the codes are small, several vpmaddubsw results of one sub-block are
// added in int16 before the single vpmaddwd by the scale: Q4_K codes < 16
// give pair sums ≤ 2·15·127 = 3810, so all 8 granules of a 32-element
// sub-block fit (30480 < 32767); Q6_K codes < 64 give ≤ 16002, so two fit.
// Q8_0 (signed × signed) uses |w| · sign(x, w), whose pair sums ≤ 2·128·127
// fit exactly, and widens every product. Q5_0 multiplies the unsigned codes
// (≤ 31: four granules fit) and subtracts 16·Σx.
//
// Every integer total is exact, and the float fold per block / super-block
// is the reference's (ref/vecdot.cc) lane by lane, so each output equals
// RefVecDot on the original row bit for bit, for any number of tokens.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/x86/simd_avx2.h"
#include "kernels/x86/x86_kernels.h"



namespace r1::kernels::x86 {
namespace {

R1_INLINE __m256i Load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// The 4 bytes at p in every 32-bit lane.
R1_INLINE __m256i Bcast32(const void* p) {
  int v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

// Eight fp16 values (one per row) as floats.
R1_INLINE __m256 Halves8(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Eight bytes (one per row, unsigned) → int16 lanes 2r and 2r+1 = byte r.
R1_INLINE __m256i RowScalesU8(const uint8_t* p) {
  const __m128i v = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

// Pins v in a register here (keeps GCC from re-associating the int16 sums
// into a tree that spills).
R1_INLINE void Pin(__m256i& v) { __asm__("" : "+x"(v)); }

// Software prefetch of the next packed block (a hint; never changes a result).
template <size_t kBytes>
R1_INLINE void PrefetchBlock(const uint8_t* p) {
  #pragma GCC unroll 32
  for (size_t o = 0; o < kBytes; o += 64) _mm_prefetch(reinterpret_cast<const char*>(p + o), _MM_HINT_T0);
}

template <int NT>
R1_INLINE void Store(const __m256 (&sum)[NT], float* y, size_t ys) {
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ys, sum[t]);
}

// Bytes of one packed block position (8 rows) per type (repack.h).
constexpr size_t kQ8_0Block = 16 + 256;
constexpr size_t kQ5_0Block = 16 + 32 + 128;
constexpr size_t kQ4KBlock = 16 + 16 + 64 + 64 + 1024;
constexpr size_t kQ5KBlock = kQ4KBlock + 256;
constexpr size_t kQ6KBlock = 16 + 128 + 1024 + 512;

// Two-group kernels (16 rows): zeroed totals, and group g's rows stored at
// y + 8g for each token.
template <int NT>
R1_INLINE void Zero2(__m256 (&sum)[2][NT]) {
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[0][t] = sum[1][t] = _mm256_setzero_ps();
}

template <int NT>
R1_INLINE void Store2(const __m256 (&sum)[2][NT], float* y, size_t ys) {
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    _mm256_storeu_ps(y + t * ys, sum[0][t]);
    _mm256_storeu_ps(y + t * ys + 8, sum[1][t]);
  }
}

template <int NT>
void Q8_0(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys) {
  constexpr size_t kBlock = kQ8_0Block;
  const int64_t nb = k / kQK0;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 sum[NT];
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = w + i * kBlock;
    const BlockQ8_0* xb[NT];
    __m256i acc[NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + t * xs) + i;
      acc[t] = _mm256_setzero_si256();
    }
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m256i wq = Load256(b + 16 + 32 * j);
      const __m256i wa = _mm256_sign_epi8(wq, wq);
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m256i xv = _mm256_sign_epi8(Bcast32(xb[t]->qs + 4 * j), wq);
        acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(_mm256_maddubs_epi16(wa, xv), ones));
      }
    }
    const __m256 wd = Halves8(b);
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      const __m256 dd = _mm256_mul_ps(wd, _mm256_set1_ps(HalfToFloat(xb[t]->d)));
      sum[t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(acc[t]), sum[t]);
    }
  }
  Store<NT>(sum, y, ys);
}

// Q8_0 over two consecutive packed groups (16 rows): each broadcast
// activation word feeds both groups' codes.
template <int NT>
void Q8_0x2(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys) {
  const int64_t nb = k / kQK0;
  const uint8_t* w2 = w + nb * kQ8_0Block;
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 sum[2][NT];
  Zero2<NT>(sum);
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* bb[2] = {w + i * kQ8_0Block, w2 + i * kQ8_0Block};
    const BlockQ8_0* xb[NT];
    __m256i acc[2][NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + t * xs) + i;
      acc[0][t] = acc[1][t] = _mm256_setzero_si256();
    }
    #pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      const __m256i q0 = Load256(bb[0] + 16 + 32 * j), q1 = Load256(bb[1] + 16 + 32 * j);
      const __m256i a0 = _mm256_sign_epi8(q0, q0), a1 = _mm256_sign_epi8(q1, q1);
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m256i xv = Bcast32(xb[t]->qs + 4 * j);
        acc[0][t] = _mm256_add_epi32(acc[0][t], _mm256_madd_epi16(_mm256_maddubs_epi16(a0, _mm256_sign_epi8(xv, q0)), ones));
        acc[1][t] = _mm256_add_epi32(acc[1][t], _mm256_madd_epi16(_mm256_maddubs_epi16(a1, _mm256_sign_epi8(xv, q1)), ones));
      }
    }
    #pragma GCC unroll 2
    for (int g = 0; g < 2; ++g) {
      const __m256 wd = Halves8(bb[g]);
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m256 dd = _mm256_mul_ps(wd, _mm256_set1_ps(HalfToFloat(xb[t]->d)));
        sum[g][t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(acc[g][t]), sum[g][t]);
      }
    }
  }
  Store2<NT>(sum, y, ys);
}

// The unsigned 5-bit codes of granule j of a packed Q5_0 block (`lo`: its
// low nibbles, elements 4j..4j+3 of each row; `hi`: elements 16+4j..).
template <int J>
R1_INLINE void Q5_0Codes(const uint8_t* b, __m256i m4, __m256i m16, __m256i& lo, __m256i& hi) {
  const __m256i hb = Load256(b + 16), q = Load256(b + 48 + 32 * J);
  // Bit J of hb to bit 4 (16-bit shifts: what crosses a byte lands outside
  // bit 4 for shifts ≤ 4 left or ≤ 3 right).
  const __m256i hl = _mm256_slli_epi16(hb, 4 - J);
  const __m256i hh = J == 0 ? hb : _mm256_srli_epi16(hb, J);
  lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_and_si256(hl, m16));
  hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), _mm256_and_si256(hh, m16));
}

// What Q5_0's fold needs of each activation block: its scale as a float and
// 16·Σx (the codes' bias), computed once per call for all the groups.
struct ActBlock {
  float d;
  int32_t sx16;
};

const ActBlock* ActBlocks(const uint8_t* x, size_t xs, int nt, int64_t nb) {
  static thread_local std::vector<ActBlock> buf;
  buf.resize(static_cast<size_t>(nt * nb));
  const __m256i ones8 = _mm256_set1_epi8(1), ones = _mm256_set1_epi16(1);
  for (int t = 0; t < nt; ++t)
    for (int64_t i = 0; i < nb; ++i) {
      const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(x + t * xs)[i];
      const __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(ones8, Load256(b.qs)), ones);
      __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
      h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
      buf[t * nb + i] = ActBlock{HalfToFloat(b.d), 16 * _mm_cvtsi128_si32(h)};
    }
  return buf.data();
}

// Folds one packed Q5_0 block: sum += d·xd·(Σ u·x − 16·Σx). `a` holds
// block i of token 0; token t's is nb further on.
template <int NT>
R1_INLINE void Q5_0Fold(const uint8_t* b, const ActBlock* a, int64_t nb, const __m256i (&lo16)[NT],
                        const __m256i (&hi16)[NT], __m256 (&sum)[NT]) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256 wd = Halves8(b);
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    const __m256i isum = _mm256_sub_epi32(
        _mm256_add_epi32(_mm256_madd_epi16(lo16[t], ones), _mm256_madd_epi16(hi16[t], ones)),
        _mm256_set1_epi32(a[t * nb].sx16));
    const __m256 dd = _mm256_mul_ps(wd, _mm256_set1_ps(a[t * nb].d));
    sum[t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(isum), sum[t]);
  }
}

// Q5_0: unsigned 5-bit codes u = nibble | hb << 4 (value u - 16) against
// Q8_0 activations: Σ u·x by vpmaddubsw (pair sums ≤ 2·31·127, four granules
// per int16 accumulator, low and high nibbles apart), minus 16·Σx. The high
// bits are pre-arranged (repack.h) so that one shift and mask puts each
// granule's bit at bit 4 of its byte. One group, NT tokens: the codes are
// rebuilt once per granule for all of them.
template <int NT>
void Q5_0(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, const ActBlock* a, float* y, size_t ys) {
  const int64_t nb = k / kQK0;
  const __m256i m4 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
  __m256 sum[NT];
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = w + i * kQ5_0Block;
    const BlockQ8_0* xb[NT];
    __m256i lo16[NT], hi16[NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + t * xs) + i;
      lo16[t] = hi16[t] = _mm256_setzero_si256();
    }
    const auto granule = [&]<int J>() {
      __m256i lo, hi;
      Q5_0Codes<J>(b, m4, m16, lo, hi);
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        lo16[t] = _mm256_add_epi16(lo16[t], _mm256_maddubs_epi16(lo, Bcast32(xb[t]->qs + 4 * J)));
        hi16[t] = _mm256_add_epi16(hi16[t], _mm256_maddubs_epi16(hi, Bcast32(xb[t]->qs + 16 + 4 * J)));
        Pin(lo16[t]);
        Pin(hi16[t]);
      }
    };
    granule.template operator()<0>();
    granule.template operator()<1>();
    granule.template operator()<2>();
    granule.template operator()<3>();
    Q5_0Fold<NT>(b, a + i, nb, lo16, hi16, sum);
  }
  Store<NT>(sum, y, ys);
}

// Q5_0 over two consecutive packed groups (16 rows): each broadcast
// activation word feeds both groups' codes.
template <int NT>
void Q5_0x2(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, const ActBlock* a, float* y, size_t ys) {
  const int64_t nb = k / kQK0;
  const uint8_t* w2 = w + nb * kQ5_0Block;
  const __m256i m4 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
  __m256 sum[2][NT];
  Zero2<NT>(sum);
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* bb[2] = {w + i * kQ5_0Block, w2 + i * kQ5_0Block};
    const BlockQ8_0* xb[NT];
    __m256i lo16[2][NT], hi16[2][NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8_0*>(x + t * xs) + i;
      lo16[0][t] = hi16[0][t] = lo16[1][t] = hi16[1][t] = _mm256_setzero_si256();
    }
    const auto granule = [&]<int J>() {
      __m256i lo[2], hi[2];
      Q5_0Codes<J>(bb[0], m4, m16, lo[0], hi[0]);
      Q5_0Codes<J>(bb[1], m4, m16, lo[1], hi[1]);
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) {
        const __m256i al = Bcast32(xb[t]->qs + 4 * J), ah = Bcast32(xb[t]->qs + 16 + 4 * J);
        #pragma GCC unroll 2
        for (int g = 0; g < 2; ++g) {
          lo16[g][t] = _mm256_add_epi16(lo16[g][t], _mm256_maddubs_epi16(lo[g], al));
          hi16[g][t] = _mm256_add_epi16(hi16[g][t], _mm256_maddubs_epi16(hi[g], ah));
          Pin(lo16[g][t]);
          Pin(hi16[g][t]);
        }
      }
    };
    granule.template operator()<0>();
    granule.template operator()<1>();
    granule.template operator()<2>();
    granule.template operator()<3>();
    Q5_0Fold<NT>(bb[0], a + i, nb, lo16[0], hi16[0], sum[0]);
    Q5_0Fold<NT>(bb[1], a + i, nb, lo16[1], hi16[1], sum[1]);
  }
  Store2<NT>(sum, y, ys);
}

// Folds one packed Q4_K block's integer sums into the float totals:
// sum += d·xd·acc − dmin·xd·(mins · bsums of each 32-element sub-block),
// pairs of sub-blocks per vpmaddwd.
template <int NT>
R1_INLINE void Q4KFold(const uint8_t* b, const BlockQ8K* const (&xb)[NT], const __m256i (&acc)[NT],
                       __m256 (&sum)[NT]) {
  __m256i mn[4];
  #pragma GCC unroll 4
  for (int p = 0; p < 4; ++p)
    mn[p] = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 96 + 16 * p)));
  const __m256 d8 = Halves8(b), dm8 = Halves8(b + 16);
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) {
    const __m256i bs = Load256(xb[t]->bsums);
    const __m256i s2 = _mm256_hadd_epi16(bs, bs);  // int32 lanes 0,1,4,5: sub-block sums (2p, 2p+1)
    __m256i im = _mm256_madd_epi16(mn[0], _mm256_permutevar8x32_epi32(s2, _mm256_set1_epi32(0)));
    im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[1], _mm256_permutevar8x32_epi32(s2, _mm256_set1_epi32(1))));
    im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[2], _mm256_permutevar8x32_epi32(s2, _mm256_set1_epi32(4))));
    im = _mm256_add_epi32(im, _mm256_madd_epi16(mn[3], _mm256_permutevar8x32_epi32(s2, _mm256_set1_epi32(5))));
    const __m256 xd = _mm256_set1_ps(xb[t]->d);
    sum[t] = _mm256_fmadd_ps(_mm256_mul_ps(d8, xd), _mm256_cvtepi32_ps(acc[t]), sum[t]);
    sum[t] = _mm256_fnmadd_ps(_mm256_mul_ps(dm8, xd), _mm256_cvtepi32_ps(im), sum[t]);
  }
}

template <int NT>
void Q4K(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys) {
  constexpr size_t kBlock = kQ4KBlock;
  const int64_t nb = k / kQK;
  const __m256i m4 = _mm256_set1_epi8(15);
  __m256 sum[NT];
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = w + i * kBlock;
    const BlockQ8K* xb[NT];
    __m256i acc[NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      acc[t] = _mm256_setzero_si256();
    }
    #pragma GCC unroll 1
    for (int g = 0; g < 4; ++g) {
      const uint8_t* qs = b + 160 + 256 * g;
      __m256i lo16[NT], hi16[NT];
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) lo16[t] = hi16[t] = _mm256_setzero_si256();
      #pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m256i q = Load256(qs + 32 * j);
        const __m256i lo = _mm256_and_si256(q, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        #pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = xb[t]->qs + 64 * g + 4 * j;
          lo16[t] = _mm256_add_epi16(lo16[t], _mm256_maddubs_epi16(lo, Bcast32(a)));
          hi16[t] = _mm256_add_epi16(hi16[t], _mm256_maddubs_epi16(hi, Bcast32(a + 32)));
          Pin(lo16[t]);
          Pin(hi16[t]);
        }
      }
      const __m256i sl = RowScalesU8(b + 32 + 16 * g), sh = RowScalesU8(b + 32 + 16 * g + 8);
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t)
        acc[t] = _mm256_add_epi32(acc[t], _mm256_add_epi32(_mm256_madd_epi16(lo16[t], sl),
                                                           _mm256_madd_epi16(hi16[t], sh)));
    }
    Q4KFold<NT>(b, xb, acc, sum);
  }
  Store<NT>(sum, y, ys);
}

// Q5_K: Q4K's loop with each code's fifth bit ORed in from the granule's
// high-bit bytes (repack.h), and int16 runs of 4 granules instead of 8
// (4 · 2 · 31 · 128 < 2^15). A separate function: folding it into Q4K as a
// template measured ~10% slower for Q4_K itself (register allocation).
template <int NT>
void Q5K(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys) {
  constexpr size_t kBlock = kQ5KBlock;
  constexpr int kRun = 4;  // granules per int16 run
  const int64_t nb = k / kQK;
  const __m256i m4 = _mm256_set1_epi8(15);
  const __m256i m16 = _mm256_set1_epi8(16);
  __m256 sum[NT];
  #pragma GCC unroll 4
  for (int t = 0; t < NT; ++t) sum[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = w + i * kBlock;
    const BlockQ8K* xb[NT];
    __m256i acc[NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      acc[t] = _mm256_setzero_si256();
    }
    const auto group = [&](int g) {
      const uint8_t* qs = b + 160 + 256 * g;
      const __m256i sl = RowScalesU8(b + 32 + 16 * g), sh = RowScalesU8(b + 32 + 16 * g + 8);
      #pragma GCC unroll 2
      for (int j0 = 0; j0 < 8; j0 += kRun) {
        __m256i lo16[NT], hi16[NT];
        #pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) lo16[t] = hi16[t] = _mm256_setzero_si256();
        #pragma GCC unroll 8
        for (int j = j0; j < j0 + kRun; ++j) {
          const __m256i q = Load256(qs + 32 * j);
          __m256i lo = _mm256_and_si256(q, m4);
          __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
          // Sub-block 2g's bit sits at 4 + g, 2g+1's at g (repack.h).
          const __m256i h = Load256(b + kQ4KBlock + 32 * j);
          lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_srli_epi16(h, g), m16));
          hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(h, 4 - g), m16));
          #pragma GCC unroll 4
          for (int t = 0; t < NT; ++t) {
            const int8_t* a = xb[t]->qs + 64 * g + 4 * j;
            lo16[t] = _mm256_add_epi16(lo16[t], _mm256_maddubs_epi16(lo, Bcast32(a)));
            hi16[t] = _mm256_add_epi16(hi16[t], _mm256_maddubs_epi16(hi, Bcast32(a + 32)));
            Pin(lo16[t]);
            Pin(hi16[t]);
          }
        }
        #pragma GCC unroll 4
        for (int t = 0; t < NT; ++t)
          acc[t] = _mm256_add_epi32(acc[t], _mm256_add_epi32(_mm256_madd_epi16(lo16[t], sl),
                                                             _mm256_madd_epi16(hi16[t], sh)));
      }
    };
    // Unrolled by hand: the high-bit shifts become immediates.
    group(0);
    group(1);
    group(2);
    group(3);
    Q4KFold<NT>(b, xb, acc, sum);
  }
  Store<NT>(sum, y, ys);
}

// Two consecutive packed groups (16 rows): every broadcast activation word
// feeds both groups' codes.
template <int NT>
void Q4K2G(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys) {
  constexpr size_t kBlock = kQ4KBlock;
  const int64_t nb = k / kQK;
  const uint8_t* w2 = w + nb * kBlock;
  const __m256i m4 = _mm256_set1_epi8(15);
  __m256 sum[2][NT];
  Zero2<NT>(sum);
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* bb[2] = {w + i * kBlock, w2 + i * kBlock};
    const BlockQ8K* xb[NT];
    __m256i acc[2][NT];
    #pragma GCC unroll 4
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      acc[0][t] = acc[1][t] = _mm256_setzero_si256();
    }
    #pragma GCC unroll 1
    for (int g = 0; g < 4; ++g) {
      __m256i lo16[2][NT], hi16[2][NT];
      #pragma GCC unroll 4
      for (int t = 0; t < NT; ++t) lo16[0][t] = hi16[0][t] = lo16[1][t] = hi16[1][t] = _mm256_setzero_si256();
      #pragma GCC unroll 8
      for (int j = 0; j < 8; ++j) {
        const __m256i q0 = Load256(bb[0] + 160 + 256 * g + 32 * j);
        const __m256i q1 = Load256(bb[1] + 160 + 256 * g + 32 * j);
        #pragma GCC unroll 4
        for (int t = 0; t < NT; ++t) {
          const int8_t* a = xb[t]->qs + 64 * g + 4 * j;
          const __m256i al = Bcast32(a), ah = Bcast32(a + 32);
          lo16[0][t] = _mm256_add_epi16(lo16[0][t], _mm256_maddubs_epi16(_mm256_and_si256(q0, m4), al));
          hi16[0][t] = _mm256_add_epi16(hi16[0][t], _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q0, 4), m4), ah));
          lo16[1][t] = _mm256_add_epi16(lo16[1][t], _mm256_maddubs_epi16(_mm256_and_si256(q1, m4), al));
          hi16[1][t] = _mm256_add_epi16(hi16[1][t], _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(q1, 4), m4), ah));
          Pin(lo16[0][t]); Pin(hi16[0][t]); Pin(lo16[1][t]); Pin(hi16[1][t]);
        }
      }
      #pragma GCC unroll 2
      for (int G = 0; G < 2; ++G) {
        const __m256i sl = RowScalesU8(bb[G] + 32 + 16 * g), sh = RowScalesU8(bb[G] + 32 + 16 * g + 8);
        #pragma GCC unroll 4
        for (int t = 0; t < NT; ++t)
          acc[G][t] = _mm256_add_epi32(acc[G][t], _mm256_add_epi32(_mm256_madd_epi16(lo16[G][t], sl),
                                                                   _mm256_madd_epi16(hi16[G][t], sh)));
      }
    }
    Q4KFold<NT>(bb[0], xb, acc[0], sum[0]);
    Q4KFold<NT>(bb[1], xb, acc[1], sum[1]);
  }
  Store2<NT>(sum, y, ys);
}

// Eight signed bytes (one per row) → int16 lanes 2r and 2r+1 = byte r.
R1_INLINE __m256i RowScalesI8(const uint8_t* p) {
  const __m128i v = _mm_cvtepi8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

// Folds one packed Q6_K block's integer sums into the float totals. The
// codes are biased by +32: subtract 32 · Σ_s sc[s] · bsums[s], two
// sub-blocks per vpmaddwd (row r's pair in int16 lanes 2r, 2r+1).
template <int NT>
R1_INLINE void Q6KFold(const uint8_t* b, const BlockQ8K* const (&xb)[NT], const __m256i (&acc)[NT],
                       __m256 (&sum)[NT]) {
  const uint8_t* sc = b + 16;
  __m256i pv[8];
  #pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    const __m128i e = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 16 * p));
    const __m128i o = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sc + 16 * p + 8));
    pv[p] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(e, o));
  }
  const __m256 d8 = Halves8(b);
  #pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) {
    __m256i corr = _mm256_setzero_si256();
    #pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) corr = _mm256_add_epi32(corr, _mm256_madd_epi16(pv[p], Bcast32(xb[t]->bsums + 2 * p)));
    const __m256i isum = _mm256_sub_epi32(acc[t], _mm256_slli_epi32(corr, 5));
    const __m256 dd = _mm256_mul_ps(d8, _mm256_set1_ps(xb[t]->d));
    sum[t] = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(isum), sum[t]);
  }
}

// Q6_K: the 6-bit codes of each granule (4 elements × 8 rows) are rebuilt
// from ql and qh once (that assembly is most of Q6_K's cost) and then feed
// NT tokens, two granules (8 elements, one sub-block scale) per vpmaddwd.
// Each kk reloads its bytes from L1 instead of keeping them all live, so
// up to 8 tokens' accumulators fit the registers.
template <int NT>
void Q6K(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys) {
  constexpr size_t kBlock = kQ6KBlock;
  const int64_t nb = k / kQK;
  const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
  __m256 sum[NT];
  #pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) sum[t] = _mm256_setzero_ps();
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* b = w + i * kBlock;
    const uint8_t* sc = b + 16;
    const uint8_t* qs = b + 144;
    const BlockQ8K* xb[NT];
    __m256i acc[NT];
    #pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      xb[t] = reinterpret_cast<const BlockQ8K*>(x + t * xs) + i;
      acc[t] = _mm256_setzero_si256();
    }
    #pragma GCC unroll 1
    for (int h = 0; h < 2; ++h) {
      #pragma GCC unroll 1
      for (int jp = 0; jp < 4; ++jp) {
        const uint8_t* qp = qs + 192 * (4 * h + jp);
        #pragma GCC unroll 4
        for (int kk = 0; kk < 4; ++kk) {
          __m256i q[2];
          #pragma GCC unroll 2
          for (int jj = 0; jj < 2; ++jj) {
            const __m256i lr = Load256(qp + 64 * (kk & 1) + 32 * jj), hr = Load256(qp + 128 + 32 * jj);
            const __m256i l = kk < 2 ? lr : _mm256_srli_epi16(lr, 4);
            const __m256i hq = kk == 0 ? _mm256_slli_epi16(hr, 4) : kk == 1 ? _mm256_slli_epi16(hr, 2)
                               : kk == 2 ? hr : _mm256_srli_epi16(hr, 2);
            q[jj] = _mm256_or_si256(_mm256_and_si256(l, m4), _mm256_and_si256(hq, m30));
          }
          const __m256i scv = RowScalesI8(sc + 8 * (8 * h + 2 * kk + jp / 2));
          #pragma GCC unroll 8
          for (int t = 0; t < NT; ++t) {
            const int8_t* a = xb[t]->qs + 128 * h + 32 * kk + 8 * jp;
            const __m256i s16 = _mm256_add_epi16(_mm256_maddubs_epi16(q[0], Bcast32(a)),
                                                 _mm256_maddubs_epi16(q[1], Bcast32(a + 4)));
            acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(s16, scv));
          }
        }
      }
    }
    Q6KFold<NT>(b, xb, acc, sum);
  }
  Store<NT>(sum, y, ys);
}

// How tokens and groups are split (BM_KernPacked: one core, 256 rows × 1536
// in L2, GMAC/s; multiply = vpmaddubsw/vpmaddwd, which share two ports with
// vpsignb and vpabsb on this Zen 4):
//   Q4_K  one token streams one group (GEMV is memory-bound); four tokens
//         against one group decode the nibbles once for all four (95 at 8
//         tokens) and beat two groups × two tokens sharing each broadcast
//         (89), which serve the last two or three tokens.
//   Q6_K  the 6-bit assembly dominates, so one group takes 8, 4 or fewer
//         tokens per call (8960 × 1536 at 8 tokens, two cores: 190 GFLOP/s
//         for the unpacked dotx4, 232 four at a time, 275 eight); the same
//         kernel at 1-2 tokens matches the old load-once GEMV kernel.
//   Q5_0  like Q4_K; the activation scale and 16·Σx once per call
//         (ActBlocks) took it from 45 to 61.5 at 8 tokens.
//   Q8_0  two groups × two tokens (Q8_0x2: ~18% over one group at 8
//         tokens); it stays at ~46, three shared-port instructions per 32
//         products and token. Widening the codes for vpmaddwd instead (no
//         sign trick) gained 8% on one core and nothing end to end.
// Results do not depend on the split (each lane's arithmetic is the same).

// Group g of a run: its packed bytes and its 8 outputs.
template <size_t kBlockBytes, int kBlockElems>
struct Run {
  int64_t k;
  const uint8_t* w;
  float* y;
  size_t Bytes() const { return static_cast<size_t>(k / kBlockElems) * kBlockBytes; }
  const uint8_t* W(int64_t g) const { return w + static_cast<size_t>(g) * Bytes(); }
  float* Y(int64_t g) const { return y + g * 8; }
};

using TokenKernel = void (*)(int64_t k, const uint8_t* w, const uint8_t* x, size_t xs, float* y, size_t ys);

// Tokens in fours, one group at a time (`four`: the codes are decoded once
// for four tokens); what is left, two tokens over two groups at a time
// (`pair`, sharing each broadcast; `pair1` for a third token), then singly
// (`one`). Each callee gets (group, first token).
template <class Four, class Pair, class Pair1, class One>
void FoursThenPairs(int64_t n_groups, int nt, Four four, Pair pair, Pair1 pair1, One one) {
  const int t4 = nt & ~3;
  for (int64_t g = 0; g < n_groups && t4 > 0; ++g)
    for (int t = 0; t < t4; t += 4) four(g, t);
  int64_t g = 0;
  if (nt - t4 >= 2) {
    for (; g + 2 <= n_groups; g += 2) {
      pair(g, t4);
      if (nt - t4 == 3) pair1(g, t4 + 2);
    }
  }
  for (; g < n_groups; ++g)
    for (int t = t4; t < nt; ++t) one(g, t);
}

void Q4KAny(int64_t k, const uint8_t* w, int64_t n_groups, const uint8_t* x, size_t xs, int nt, float* y,
            size_t ys) {
  const Run<kQ4KBlock, kQK> r{k, w, y};
  const auto call = [&](TokenKernel fn) {
    return [&r, fn, k, x, xs, ys](int64_t g, int t) { fn(k, r.W(g), x + t * xs, xs, r.Y(g) + t * ys, ys); };
  };
  FoursThenPairs(n_groups, nt, call(Q4K<4>), call(Q4K2G<2>), call(Q4K2G<1>), call(Q4K<1>));
}

void Q5KAny(int64_t k, const uint8_t* w, int64_t n_groups, const uint8_t* x, size_t xs, int nt, float* y,
            size_t ys) {
  const Run<kQ5KBlock, kQK> r{k, w, y};
  const auto call = [&](TokenKernel fn) {
    return [&r, fn, k, x, xs, ys](int64_t g, int t) { fn(k, r.W(g), x + t * xs, xs, r.Y(g) + t * ys, ys); };
  };
  // No two-group kernel: the 5-bit codes' extra registers would spill it.
  const auto pair = [&](TokenKernel fn) {
    return [call, fn](int64_t g, int t) {
      call(fn)(g, t);
      call(fn)(g + 1, t);
    };
  };
  FoursThenPairs(n_groups, nt, call(Q5K<4>), pair(Q5K<2>), pair(Q5K<1>), call(Q5K<1>));
}

void Q6KAny(int64_t k, const uint8_t* w, int64_t n_groups, const uint8_t* x, size_t xs, int nt, float* y,
            size_t ys) {
  const Run<kQ6KBlock, kQK> r{k, w, y};
  for (int64_t g = 0; g < n_groups; ++g)
    for (int t = 0; t < nt;) {
      const int left = nt - t;
      const int step = left >= 8 ? 8 : left >= 4 ? 4 : left;
      const TokenKernel fn = step == 8 ? Q6K<8> : step == 4 ? Q6K<4> : step == 3 ? Q6K<3> : step == 2 ? Q6K<2> : Q6K<1>;
      fn(k, r.W(g), x + t * xs, xs, r.Y(g) + t * ys, ys);
      t += step;
    }
}

void Q8_0Any(int64_t k, const uint8_t* w, int64_t n_groups, const uint8_t* x, size_t xs, int nt, float* y,
             size_t ys) {
  const Run<kQ8_0Block, kQK0> r{k, w, y};
  int64_t g = 0;
  if (nt >= 2) {
    for (; g + 2 <= n_groups; g += 2) {
      int t = 0;
      for (; t + 2 <= nt; t += 2) Q8_0x2<2>(k, r.W(g), x + t * xs, xs, r.Y(g) + t * ys, ys);
      if (t < nt) Q8_0x2<1>(k, r.W(g), x + t * xs, xs, r.Y(g) + t * ys, ys);
    }
  }
  for (; g < n_groups; ++g)
    for (int t = 0; t < nt; ++t) Q8_0<1>(k, r.W(g), x + t * xs, xs, r.Y(g) + t * ys, ys);
}

void Q5_0Any(int64_t k, const uint8_t* w, int64_t n_groups, const uint8_t* x, size_t xs, int nt, float* y,
             size_t ys) {
  const Run<kQ5_0Block, kQK0> r{k, w, y};
  const int64_t nb = k / kQK0;
  const ActBlock* a = ActBlocks(x, xs, nt, nb);
  using Fn = void (*)(int64_t, const uint8_t*, const uint8_t*, size_t, const ActBlock*, float*, size_t);
  const auto call = [&](Fn fn) {
    return [&r, fn, k, x, xs, a, nb, ys](int64_t g, int t) {
      fn(k, r.W(g), x + t * xs, xs, a + t * nb, r.Y(g) + t * ys, ys);
    };
  };
  FoursThenPairs(n_groups, nt, call(Q5_0<4>), call(Q5_0x2<2>), call(Q5_0x2<1>), call(Q5_0<1>));
}


}  // namespace

PackedDotFn Avx2PackedDot(GgmlType t) {
  switch (t) {
    case GgmlType::Q8_0: return Q8_0Any;
    case GgmlType::Q5_0: return Q5_0Any;
    case GgmlType::Q4_K: return Q4KAny;
    case GgmlType::Q5_K: return Q5KAny;
    case GgmlType::Q6_K: return Q6KAny;
    default: return nullptr;
  }
}

}  // namespace r1::kernels::x86
