// Load-time repacking of quantized weights into an 8-row interleaved layout.
//
// A GGUF weight stores each row contiguously, so a dot kernel that produces
// several outputs at once must walk several far-apart streams and then reduce
// every output's partial sums horizontally. The packed layout groups 8
// consecutive rows and interleaves them in 4-byte granules: one 32-byte load
// holds the same 4 (or 8) elements of 8 rows, one broadcast activation word
// multiplies all of them, and every 32-bit lane of the accumulator belongs to
// one row — 8 outputs per instruction, no horizontal sums, one linear stream
// per 8 rows.
//
// Packed block of 8 rows (one super-block / block position i, all 8 rows):
//
//   Q8_0 (272 B = 8 × 34):   d[8] fp16 | qs[j<8][r<8][4]          qs[j][r][b] = row r qs[4j + b]
//   Q5_0 (176 B = 8 × 22):   d[8] fp16 | hb[r<8][4] | qs[j<4][r<8][4] = row r qs[4j + b]
//                            hb[r][b] bit j = high bit of element 4j + b,
//                            bit 4 + j = of element 16 + 4j + b (j < 4)
//   Q4_K (1184 B = 8 × 148): d[8] fp16 | dmin[8] fp16 | sc[s<8][r<8] u8 |
//                            mn[p<4][r<8][2] u8 (mins of sub-blocks 2p, 2p+1) |
//                            qs[g<4][j<8][r<8][4]                 = row r qs[32g + 4j + b]
//   Q5_K (1440 B = 8 × 180): the Q4_K block, then hb[j<8][r<8][4] for row r's element
//                            4j + b: bit 4 + p = its high bit in sub-block 2p,
//                            bit p = in sub-block 2p + 1 (p < 4)
//   Q6_K (1680 B = 8 × 210): d[8] fp16 | sc[s<16][r<8] i8 |
//                            [h<2][jp<4]{ L0[jj<2][r<8][4] L1[..] H[..] } with
//                            j = 2jp + jj: L0 = row r ql[64h + 4j + b],
//                            L1 = ql[64h + 32 + 4j + b], H = qh[32h + 4j + b]
//                            (the kernel's reading order)
//
// Q4_K's and Q5_K's 6-bit scales are stored unpacked (2.8% more bytes) so the kernel
// never unpacks them. The codes keep their original bit encoding.
//
// Results: the packed kernels compute, per output, exactly the scalar
// reference's operations (exact integer sums per block or super-block, then
// the reference's float fold), so a packed matmul is bit-identical to
// RefVecDot on the original rows. (For Q8_0 the unpacked AVX2 kernel sums in
// vector lanes instead and differs from both in the last bits.)
//
// The original mmapped tensor stays valid and is still used for embedding
// lookups (GetRows) and by anything that reads the file directly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "gguf/ggml_types.h"
#include "kernels/matmul.h"
#include "kernels/thread_pool.h"

namespace r1::kernels {

inline constexpr int kPackRows = 8;

// y[t * y_stride + 8g + r] = dot(row r of group g, activation row t) for
// g < n_groups consecutive packed groups (k elements per row), r < 8 and
// t < n_tokens (any count ≥ 1; the kernels take groups and tokens in the
// register blocks that suit them). `x` is the first activation row
// (VecDotType layout), x_stride its row size in bytes.
using PackedDotFn = void (*)(int64_t k, const uint8_t* groups, int64_t n_groups, const uint8_t* x,
                             size_t x_stride, int n_tokens, float* y, size_t y_stride);

// The packed kernel for `t` on this CPU, or nullptr when `t` has no packed
// kernel here (then matrices of that type are not repacked).
PackedDotFn FastPackedDot(GgmlType t);

// Bytes of one packed group of 8 rows of k elements (0 if `t` has no packed layout).
size_t PackedGroupBytes(GgmlType t, int64_t k);

// Writes groups [g0, g1) of `w` (row-major GGUF layout, w.rows % 8 == 0) in
// the packed layout to dst + g · PackedGroupBytes. Portable scalar code.
void PackGroups(const Matrix& w, int64_t g0, int64_t g1, uint8_t* dst);

// True when R1_REPACK is unset or not "0" and the scalar path is not forced.
bool RepackEnabledByEnv();

// Owns packed copies of a model's weights, sub-allocated from large
// 2 MiB-aligned anonymous mappings with transparent huge pages requested (a
// GEMV streams them end to end; 4 KiB pages stop the L2 prefetchers at every
// page boundary and cost a TLB miss per page).
class PackedWeights {
 public:
  PackedWeights() = default;
  ~PackedWeights();
  PackedWeights(const PackedWeights&) = delete;
  PackedWeights& operator=(const PackedWeights&) = delete;

  // Packs `m` (sets m->packed) when its type has a packed kernel here and its
  // rows are a multiple of 8; returns whether it did. Uses `pool` to split
  // the work.
  bool Pack(Matrix* m, ThreadPool& pool);

  uint64_t bytes() const { return bytes_; }
  size_t count() const { return count_; }
  // The memory holding the packed copies: (start, bytes) per mapping.
  std::vector<std::pair<const void*, size_t>> Regions() const;

 private:
  uint8_t* Allocate(size_t bytes);

  struct Chunk {
    void* map = nullptr;
    size_t map_len = 0;
    uint8_t* data = nullptr;  // 2 MiB aligned
    size_t size = 0, used = 0;
  };
  std::vector<Chunk> chunks_;
  uint64_t bytes_ = 0;
  size_t count_ = 0;
};

}  // namespace r1::kernels
