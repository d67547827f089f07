#include "models/kv_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cassert>
#include <new>

#include "kernels/ops.h"
#include "kernels/quant.h"

namespace r1 {

StatusOr<KvType> ParseKvType(const std::string& name) {
  if (name == "f16") return KvType::kF16;
  if (name == "q8_0") return KvType::kQ8_0;
  return Status::InvalidArgument("unknown KV cache type '" + name + "' (expected f16 or q8_0)");
}

const char* KvTypeName(KvType t) { return t == KvType::kQ8_0 ? "q8_0" : "f16"; }

Status ValidateKvConfig(const KvCacheConfig& cfg) {
  if (cfg.type != KvType::kQ8_0) return Status::Ok();
  const std::pair<const char*, int64_t> dims[] = {
      {"K row", cfg.k_row}, {"V row", cfg.v_row}, {"K head dim", cfg.head_dim_k}, {"V head dim", cfg.head_dim_v}};
  for (const auto& [what, n] : dims)
    if (n % kernels::kKvQ8Block != 0)
      return Status::InvalidArgument(std::string("KV cache type q8_0 needs multiples of 32 values, but the model's ") +
                                     what + " is " + std::to_string(n) + " (use --kv-type f16)");
  return Status::Ok();
}

KvCache::KvCache(const KvCacheConfig& cfg, NoAlloc) : cfg_(cfg) {
  assert(ValidateKvConfig(cfg).ok());
  k_row_bytes_ = kernels::KvBytes(cfg.type, cfg.k_row);
  v_row_bytes_ = kernels::KvBytes(cfg.type, cfg.v_row);
}

KvCache::KvCache(const KvCacheConfig& cfg) : KvCache(cfg, NoAlloc{}) {
  if (!AllocateAll().ok()) throw std::bad_alloc();
}

StatusOr<std::unique_ptr<KvCache>> KvCache::Create(const KvCacheConfig& cfg) {
  std::unique_ptr<KvCache> cache(new KvCache(cfg, NoAlloc{}));
  R1_RETURN_IF_ERROR(cache->AllocateAll());
  return cache;
}

Status KvCache::AllocateAll() {
  const size_t k_bytes = static_cast<size_t>(cfg_.n_blocks * cfg_.block_size * k_row_bytes_);
  const size_t v_bytes = static_cast<size_t>(cfg_.n_blocks * cfg_.block_size * v_row_bytes_);
  for (int l = 0; l < cfg_.n_layer; ++l) {
    // Zero-initialised so a read of an unwritten row is deterministic (and,
    // for Q8_0, a finite zero: scale 0, values 0).
    Storage k = Allocate(k_bytes);
    Storage v = v_bytes ? Allocate(v_bytes) : Storage();
    if (!k || (v_bytes && !v)) {
      k_data_.clear();
      v_data_.clear();
      bytes_ = 0;
      const double total = static_cast<double>(cfg_.n_layer) * static_cast<double>(k_bytes + v_bytes);
      return Status::ResourceExhausted(
          "cannot allocate the KV cache: " + std::to_string(static_cast<unsigned long long>(total)) + " bytes (" +
          std::to_string(total / (1 << 20)) + " MiB) for " + std::to_string(cfg_.n_blocks * cfg_.block_size) +
          " tokens (" + KvTypeName(cfg_.type) + "); the token count is set by --ctx-size / --kv-tokens");
    }
    k_data_.push_back(std::move(k));
    if (v_bytes) v_data_.push_back(std::move(v));
    bytes_ += k_bytes + v_bytes;
  }
  // The block bookkeeping once the storage exists (a pool too large to map
  // fails above, before these are sized by it).
  refs_.assign(static_cast<size_t>(cfg_.n_blocks), 0);
  for (int64_t b = cfg_.n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
  return Status::Ok();
}

size_t KvCache::bytes_per_token() const {
  return static_cast<size_t>(cfg_.n_layer) * static_cast<size_t>(k_row_bytes_ + v_row_bytes_);
}

Status KvCache::Reserve(int seq, int64_t n_tokens) {
  auto& table = seqs_[seq];
  int64_t need = (n_tokens + cfg_.block_size - 1) / cfg_.block_size - static_cast<int64_t>(table.size());
  if (need <= 0) return Status::Ok();
  if (need > static_cast<int64_t>(free_.size())) {
    if (table.empty()) seqs_.erase(seq);
    return Status::ResourceExhausted("KV cache full: sequence " + std::to_string(seq) + " needs " +
                                     std::to_string(need) + " more blocks, " + std::to_string(free_.size()) +
                                     " free");
  }
  for (int64_t i = 0; i < need; ++i) {
    int32_t b = free_.back();
    free_.pop_back();
    refs_[b] = 1;
    table.push_back(b);
  }
  Record({KvOp::kReserve, seq, n_tokens, {}});
  return Status::Ok();
}

void KvCache::Free(int seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (int32_t b : it->second)
    if (--refs_[b] == 0) free_.push_back(b);
  seqs_.erase(it);
  Record({KvOp::kFree, seq, 0, {}});
}

void KvCache::Truncate(int seq, int64_t n_tokens) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  auto& table = it->second;
  const size_t keep = static_cast<size_t>(std::max<int64_t>(0, (n_tokens + cfg_.block_size - 1) / cfg_.block_size));
  while (table.size() > keep) {
    ReleaseBlock(table.back());
    table.pop_back();
  }
  Record({KvOp::kTruncate, seq, n_tokens, {}});
}

void KvCache::Adopt(int seq, const std::vector<int32_t>& blocks) {
  auto& table = seqs_[seq];
  assert(table.empty());
  for (int32_t b : blocks) {
    assert(refs_[static_cast<size_t>(b)] > 0);
    ++refs_[static_cast<size_t>(b)];
    table.push_back(b);
  }
  Record({KvOp::kAdopt, seq, 0, blocks});
}

const std::vector<int32_t>& KvCache::Blocks(int seq) const {
  static const std::vector<int32_t> kNone;
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? kNone : it->second;
}

void KvCache::Retain(int32_t block) {
  assert(refs_[static_cast<size_t>(block)] > 0);
  ++refs_[static_cast<size_t>(block)];
  Record({KvOp::kRetain, 0, block, {}});
}

void KvCache::Release(int32_t block) {
  ReleaseBlock(block);
  Record({KvOp::kRelease, 0, block, {}});
}

void KvCache::ReleaseBlock(int32_t block) {
  assert(refs_[static_cast<size_t>(block)] > 0);
  if (--refs_[static_cast<size_t>(block)] == 0) free_.push_back(block);
}

Status KvCache::Apply(const KvOp& op) {
  auto in_use = [&](int64_t b) { return b >= 0 && b < cfg_.n_blocks && refs_[static_cast<size_t>(b)] > 0; };
  const std::string what = "KV journal: ";
  switch (op.kind) {
    case KvOp::kReserve:
      return Reserve(op.seq, op.n).WithContext(what + "reserve");
    case KvOp::kFree:
      Free(op.seq);
      return Status::Ok();
    case KvOp::kTruncate:
      Truncate(op.seq, op.n);
      return Status::Ok();
    case KvOp::kAdopt:
      if (!Blocks(op.seq).empty())
        return Status::InvalidArgument(what + "adopt into sequence " + std::to_string(op.seq) + ", which has blocks");
      for (int32_t b : op.blocks)
        if (!in_use(b)) return Status::InvalidArgument(what + "adopt of block " + std::to_string(b) + ", not in use");
      Adopt(op.seq, op.blocks);
      return Status::Ok();
    case KvOp::kRetain:
    case KvOp::kRelease:
      if (!in_use(op.n))
        return Status::InvalidArgument(what + (op.kind == KvOp::kRetain ? "retain" : "release") + " of block " +
                                       std::to_string(op.n) + ", not in use");
      if (op.kind == KvOp::kRetain) {
        Retain(static_cast<int32_t>(op.n));
      } else {
        Release(static_cast<int32_t>(op.n));
      }
      return Status::Ok();
  }
  return Status::InvalidArgument(what + "unknown operation " + std::to_string(static_cast<int>(op.kind)));
}

int64_t KvCache::Capacity(int seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : static_cast<int64_t>(it->second.size()) * cfg_.block_size;
}

// Anonymous mappings are zero-filled and only take memory where written. With
// transparent huge pages a head's rows in consecutive blocks sit in one 2 MiB
// page, so the hardware prefetchers follow them (they stop at 4 KiB page
// boundaries, and a block of one head's K is 4 KiB).
KvCache::Storage KvCache::Allocate(size_t bytes) {
  const size_t len = std::max<size_t>(bytes, 1);
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return Storage(nullptr, Unmap{0});
  if (len >= (size_t{2} << 20)) ::madvise(p, len, MADV_HUGEPAGE);
  return Storage(static_cast<uint8_t*>(p), Unmap{len});
}

void KvCache::Unmap::operator()(uint8_t* p) const { ::munmap(p, len); }

int64_t KvCache::HeadDimK() const {
  return cfg_.head_dim_k > 0 && cfg_.k_row % cfg_.head_dim_k == 0 ? cfg_.head_dim_k : cfg_.k_row;
}

int64_t KvCache::HeadDimV() const {
  return cfg_.head_dim_v > 0 && cfg_.v_row % cfg_.head_dim_v == 0 ? cfg_.head_dim_v : cfg_.v_row;
}

uint8_t* KvCache::Row(const std::vector<Storage>& data, int64_t row_bytes, int64_t head_bytes,
                     int layer, int seq, int64_t pos, int64_t head) const {
  const auto& table = seqs_.at(seq);
  assert(pos / cfg_.block_size < static_cast<int64_t>(table.size()));
  int64_t b = table[static_cast<size_t>(pos / cfg_.block_size)];
  return data[static_cast<size_t>(layer)].get() + b * cfg_.block_size * row_bytes +
         (head * cfg_.block_size + pos % cfg_.block_size) * head_bytes;
}

void KvCache::Store(uint8_t* dst, const float* x, int64_t n) const {
  if (cfg_.type == KvType::kQ8_0) {
    kernels::Quantize(GgmlType::Q8_0, x, dst, n);
  } else {
    kernels::ToF16(x, reinterpret_cast<uint16_t*>(dst), n);
  }
}

void KvCache::StoreK(int layer, int seq, int64_t pos, const float* k) {
  const int64_t hd = HeadDimK(), hb = kernels::KvBytes(cfg_.type, hd);
  for (int64_t h = 0; h * hd < cfg_.k_row; ++h) Store(Row(k_data_, k_row_bytes_, hb, layer, seq, pos, h), k + h * hd, hd);
}

void KvCache::StoreV(int layer, int seq, int64_t pos, const float* v) {
  assert(cfg_.v_row > 0);
  const int64_t hd = HeadDimV(), hb = kernels::KvBytes(cfg_.type, hd);
  for (int64_t h = 0; h * hd < cfg_.v_row; ++h) Store(Row(v_data_, v_row_bytes_, hb, layer, seq, pos, h), v + h * hd, hd);
}

void KvCache::LoadK(int layer, int seq, int64_t pos, float* k) const {
  const int64_t hd = HeadDimK(), hb = kernels::KvBytes(cfg_.type, hd);
  for (int64_t h = 0; h * hd < cfg_.k_row; ++h) {
    const uint8_t* row = Row(k_data_, k_row_bytes_, hb, layer, seq, pos, h);
    if (cfg_.type == KvType::kQ8_0) {
      kernels::Dequantize(GgmlType::Q8_0, row, k + h * hd, hd);
    } else {
      const auto* x = reinterpret_cast<const uint16_t*>(row);
      for (int64_t i = 0; i < hd; ++i) k[h * hd + i] = kernels::F16ToF32(x[i]);
    }
  }
}

uint8_t* KvCache::KRowData(int layer, int seq, int64_t pos) {
  return Row(k_data_, k_row_bytes_, kernels::KvBytes(cfg_.type, HeadDimK()), layer, seq, pos, 0);
}

kernels::KvView KvCache::View(int layer, int seq, int64_t n_kv, int64_t v_offset, ViewScratch* s) const {
  const auto& table = seqs_.at(seq);
  const int64_t n_blocks = (n_kv + cfg_.block_size - 1) / cfg_.block_size;
  s->k.resize(static_cast<size_t>(n_blocks));
  s->v.resize(static_cast<size_t>(n_blocks));
  const uint8_t* k = k_data_[static_cast<size_t>(layer)].get();
  const uint8_t* v = cfg_.v_row ? v_data_[static_cast<size_t>(layer)].get() : k;
  const int64_t v_row_bytes = cfg_.v_row ? v_row_bytes_ : k_row_bytes_;
  assert(cfg_.type != KvType::kQ8_0 || v_offset % kernels::kKvQ8Block == 0);
  for (int64_t i = 0; i < n_blocks; ++i) {
    int64_t b = table[static_cast<size_t>(i)];
    s->k[static_cast<size_t>(i)] = k + b * cfg_.block_size * k_row_bytes_;
    s->v[static_cast<size_t>(i)] = v + b * cfg_.block_size * v_row_bytes + kernels::KvBytes(cfg_.type, v_offset);
  }
  kernels::KvView view;
  view.type = cfg_.type;
  view.k_blocks = s->k.data();
  view.v_blocks = s->v.data();
  view.block_size = cfg_.block_size;
  view.n_kv = n_kv;
  // Head-major blocks: consecutive tokens of one head are head_dim apart,
  // heads block_size rows apart. (MLA's single latent "head": V reads the
  // first head_dim_v values of each K row.)
  // A cache configured without head dims holds one "head" per row, which
  // attention then reads side by side (head stride 0 = head_dim).
  view.k_row_stride = HeadDimK();
  view.k_head_stride = HeadDimK() < cfg_.k_row ? cfg_.block_size * HeadDimK() : 0;
  view.v_row_stride = cfg_.v_row ? HeadDimV() : HeadDimK();
  view.v_head_stride = cfg_.v_row && HeadDimV() < cfg_.v_row ? cfg_.block_size * HeadDimV() : 0;
  return view;
}

}  // namespace r1
