// The packed layouts of repack.h, written by plain scalar code.
#include "kernels/repack.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "kernels/blocks.h"
#include "kernels/cpu.h"
#include "kernels/x86/x86_kernels.h"

namespace r1::kernels {
namespace {

constexpr size_t kPackedQ8_0 = 16 + 256;
constexpr size_t kPackedQ5_0 = 16 + 32 + 128;
static_assert(kPackedQ5_0 == 8 * sizeof(BlockQ5_0));
constexpr size_t kPackedQ4K = 16 + 16 + 64 + 64 + 1024;
constexpr size_t kPackedQ5K = kPackedQ4K + 256;
constexpr size_t kPackedQ6K = 16 + 128 + 1024 + 512;
static_assert(kPackedQ8_0 == 8 * sizeof(BlockQ8_0));
static_assert(kPackedQ6K == 8 * sizeof(BlockQ6K));

size_t PackedBlockBytes(GgmlType t) {
  switch (t) {
    case GgmlType::Q8_0: return kPackedQ8_0;
    case GgmlType::Q5_0: return kPackedQ5_0;
    case GgmlType::Q4_K: return kPackedQ4K;
    case GgmlType::Q5_K: return kPackedQ5K;
    case GgmlType::Q6_K: return kPackedQ6K;
    default: return 0;
  }
}

// Copies 4-byte granule j of a 32-byte unit of each of the 8 rows:
// dst[j][r][b] = src_r[4j + b] for j < 8 (256 bytes).
void Interleave32(const uint8_t* const* src, uint8_t* dst) {
  for (int j = 0; j < 8; ++j)
    for (int r = 0; r < 8; ++r) std::memcpy(dst + (j * 8 + r) * 4, src[r] + 4 * j, 4);
}

void PackQ8_0(const BlockQ8_0* const* b, uint8_t* out) {
  const uint8_t* qs[8];
  for (int r = 0; r < 8; ++r) {
    std::memcpy(out + 2 * r, &b[r]->d, 2);
    qs[r] = reinterpret_cast<const uint8_t*>(b[r]->qs);
  }
  Interleave32(qs, out + 16);
}

void PackQ5_0(const BlockQ5_0* const* b, uint8_t* out) {
  for (int r = 0; r < 8; ++r) {
    std::memcpy(out + 2 * r, &b[r]->d, 2);
    uint32_t qh;
    std::memcpy(&qh, b[r]->qh, 4);
    // hb[4r + b] bit j = high bit of element 4j + b, bit 4 + j = of element
    // 16 + 4j + b (j < 4): the elements granule j's low / high nibbles hold.
    for (int byte = 0; byte < 4; ++byte) {
      uint8_t v = 0;
      for (int j = 0; j < 4; ++j) {
        v |= static_cast<uint8_t>(((qh >> (4 * j + byte)) & 1) << j);
        v |= static_cast<uint8_t>(((qh >> (16 + 4 * j + byte)) & 1) << (4 + j));
      }
      out[16 + 4 * r + byte] = v;
    }
  }
  // qs[j][r][4] = row r qs[4j + b], j < 4 (16 bytes a row).
  for (int j = 0; j < 4; ++j)
    for (int r = 0; r < 8; ++r) std::memcpy(out + 48 + (j * 8 + r) * 4, b[r]->qs + 4 * j, 4);
}

// Q4_K and Q5_K share everything but Q5_K's high bits, appended.
template <typename Block>
void PackQ45K(const Block* const* b, uint8_t* out) {
  uint8_t* sc = out + 32;
  uint8_t* mn = out + 96;
  for (int r = 0; r < 8; ++r) {
    std::memcpy(out + 2 * r, &b[r]->d, 2);
    std::memcpy(out + 16 + 2 * r, &b[r]->dmin, 2);
    uint8_t s[8], m[8];
    UnpackScalesMinsK4(b[r]->scales, s, m);
    for (int j = 0; j < 8; ++j) sc[j * 8 + r] = s[j];
    for (int p = 0; p < 4; ++p) {
      mn[(p * 8 + r) * 2] = m[2 * p];
      mn[(p * 8 + r) * 2 + 1] = m[2 * p + 1];
    }
  }
  const uint8_t* src[8];
  for (int g = 0; g < 4; ++g) {
    for (int r = 0; r < 8; ++r) src[r] = b[r]->qs + 32 * g;
    Interleave32(src, out + 160 + 256 * g);
  }
  if constexpr (std::is_same_v<Block, BlockQ5K>) {
    // The high bits of sub-blocks 0, 2, 4, 6 to bits 4-7 and of 1, 3, 5, 7 to
    // bits 0-3: sub-block pair g's two bits are then one immediate shift each
    // away from bit 4.
    uint8_t qh[8][32];
    for (int r = 0; r < 8; ++r) {
      for (int l = 0; l < 32; ++l) {
        uint8_t v = 0;
        for (int p = 0; p < 4; ++p) {
          v |= static_cast<uint8_t>(((b[r]->qh[l] >> (2 * p)) & 1) << (4 + p));
          v |= static_cast<uint8_t>(((b[r]->qh[l] >> (2 * p + 1)) & 1) << p);
        }
        qh[r][l] = v;
      }
      src[r] = qh[r];
    }
    Interleave32(src, out + kPackedQ4K);
  }
}

void PackQ6K(const BlockQ6K* const* b, uint8_t* out) {
  auto* sc = reinterpret_cast<int8_t*>(out + 16);
  for (int r = 0; r < 8; ++r) {
    std::memcpy(out + 2 * r, &b[r]->d, 2);
    for (int s = 0; s < 16; ++s) sc[s * 8 + r] = b[r]->scales[s];
  }
  // Interleave each 32-byte unit of ql (4) and qh (2), then lay them out in
  // the kernel's reading order: for half h, granule pair jp: 64 bytes of ql
  // unit 2h, 64 of ql unit 2h+1, 64 of qh unit h.
  uint8_t units[6][256];
  const uint8_t* src[8];
  for (int u = 0; u < 6; ++u) {
    for (int r = 0; r < 8; ++r) src[r] = u < 4 ? b[r]->ql + 32 * u : b[r]->qh + 32 * (u - 4);
    Interleave32(src, units[u]);
  }
  uint8_t* q = out + 144;
  for (int h = 0; h < 2; ++h)
    for (int jp = 0; jp < 4; ++jp) {
      std::memcpy(q, units[2 * h] + 64 * jp, 64);
      std::memcpy(q + 64, units[2 * h + 1] + 64 * jp, 64);
      std::memcpy(q + 128, units[4 + h] + 64 * jp, 64);
      q += 192;
    }
}

template <typename Block, void (*kPack)(const Block* const*, uint8_t*)>
void PackGroup(const Matrix& w, int64_t g, uint8_t* out) {
  const int64_t nb = w.k / GgmlTypeInfo(w.type).block_size;
  const auto* base = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(g) * 8 * w.row_bytes;
  const size_t block_bytes = PackedBlockBytes(w.type);
  for (int64_t i = 0; i < nb; ++i) {
    const Block* b[8];
    for (int r = 0; r < 8; ++r) b[r] = reinterpret_cast<const Block*>(base + r * w.row_bytes) + i;
    kPack(b, out + static_cast<size_t>(i) * block_bytes);
  }
}

}  // namespace

PackedDotFn FastPackedDot(GgmlType t) {
  if (ForceScalar() || !GetCpuFeatures().avx2) return nullptr;
  return x86::Avx2PackedDot(t);
}

size_t PackedGroupBytes(GgmlType t, int64_t k) {
  const size_t bb = PackedBlockBytes(t);
  if (bb == 0) return 0;
  return bb * static_cast<size_t>(k / GgmlTypeInfo(t).block_size);
}

void PackGroups(const Matrix& w, int64_t g0, int64_t g1, uint8_t* dst) {
  const size_t gb = PackedGroupBytes(w.type, w.k);
  for (int64_t g = g0; g < g1; ++g) {
    uint8_t* out = dst + static_cast<size_t>(g) * gb;
    switch (w.type) {
      case GgmlType::Q8_0: PackGroup<BlockQ8_0, PackQ8_0>(w, g, out); break;
      case GgmlType::Q5_0: PackGroup<BlockQ5_0, PackQ5_0>(w, g, out); break;
      case GgmlType::Q4_K: PackGroup<BlockQ4K, PackQ45K<BlockQ4K>>(w, g, out); break;
      case GgmlType::Q5_K: PackGroup<BlockQ5K, PackQ45K<BlockQ5K>>(w, g, out); break;
      case GgmlType::Q6_K: PackGroup<BlockQ6K, PackQ6K>(w, g, out); break;
      default: return;
    }
  }
}

bool RepackEnabledByEnv() {
  static const bool enabled = [] {
    const char* v = std::getenv("R1_REPACK");
    return !(v != nullptr && std::strcmp(v, "0") == 0) && !ForceScalar();
  }();
  return enabled;
}

namespace {
constexpr size_t kHuge = size_t{2} << 20;
constexpr size_t kChunk = size_t{64} << 20;  // mapping granularity
}  // namespace

std::vector<std::pair<const void*, size_t>> PackedWeights::Regions() const {
  std::vector<std::pair<const void*, size_t>> r;
  for (const Chunk& c : chunks_)
    if (c.used > 0) r.emplace_back(c.data, c.used);
  return r;
}

PackedWeights::~PackedWeights() {
  for (const Chunk& c : chunks_) ::munmap(c.map, c.map_len);
}

uint8_t* PackedWeights::Allocate(size_t bytes) {
  bytes = (bytes + 63) & ~size_t{63};
  if (chunks_.empty() || chunks_.back().size - chunks_.back().used < bytes) {
    Chunk c;
    c.size = std::max(kChunk, (bytes + kHuge - 1) / kHuge * kHuge);
    c.map_len = c.size + kHuge;
    c.map = ::mmap(nullptr, c.map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c.map == MAP_FAILED) return nullptr;
    c.data = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(c.map) + kHuge - 1) / kHuge * kHuge);
    ::madvise(c.data, c.size, MADV_HUGEPAGE);
    chunks_.push_back(c);
  }
  Chunk& c = chunks_.back();
  uint8_t* p = c.data + c.used;
  c.used += bytes;
  return p;
}

bool PackedWeights::Pack(Matrix* m, ThreadPool& pool) {
  if (m->packed != nullptr) return true;
  if (m->rows <= 0 || m->rows % kPackRows != 0 || FastPackedDot(m->type) == nullptr) return false;
  const size_t gb = PackedGroupBytes(m->type, m->k);
  if (gb == 0) return false;
  const int64_t groups = m->rows / kPackRows;
  const size_t total = gb * static_cast<size_t>(groups);
  uint8_t* p = Allocate(total);
  if (p == nullptr) return false;  // out of memory: the unpacked path still works
  ++count_;
  pool.ParallelFor(groups, [&](int64_t b, int64_t e, int) { PackGroups(*m, b, e, p); });
  m->packed = p;
  m->packed_group_bytes = gb;
  bytes_ += total;
  return true;
}

}  // namespace r1::kernels
