#include "runtime/kv_cache.h"

#include <cassert>

namespace r1 {

KvCache::KvCache(const KvCacheConfig& cfg) : cfg_(cfg) {
  const size_t k_elems = static_cast<size_t>(cfg.n_blocks * cfg.block_size * cfg.k_row);
  const size_t v_elems = static_cast<size_t>(cfg.n_blocks * cfg.block_size * cfg.v_row);
  for (int l = 0; l < cfg.n_layer; ++l) {
    // Zero-initialised so a read of an unwritten row is deterministic.
    k_data_.emplace_back(new uint16_t[k_elems]());
    if (v_elems) v_data_.emplace_back(new uint16_t[v_elems]());
    bytes_ += (k_elems + v_elems) * sizeof(uint16_t);
  }
  refs_.assign(static_cast<size_t>(cfg.n_blocks), 0);
  for (int64_t b = cfg.n_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

size_t KvCache::bytes_per_token() const {
  return static_cast<size_t>(cfg_.n_layer) * static_cast<size_t>(cfg_.k_row + cfg_.v_row) * sizeof(uint16_t);
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
  return Status::Ok();
}

void KvCache::Free(int seq) {
  auto it = seqs_.find(seq);
  if (it == seqs_.end()) return;
  for (int32_t b : it->second)
    if (--refs_[b] == 0) free_.push_back(b);
  seqs_.erase(it);
}

void KvCache::Adopt(int seq, const std::vector<int32_t>& blocks) {
  auto& table = seqs_[seq];
  assert(table.empty());
  for (int32_t b : blocks) {
    assert(refs_[static_cast<size_t>(b)] > 0);
    ++refs_[static_cast<size_t>(b)];
    table.push_back(b);
  }
}

const std::vector<int32_t>& KvCache::Blocks(int seq) const {
  static const std::vector<int32_t> kNone;
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? kNone : it->second;
}

void KvCache::Retain(int32_t block) {
  assert(refs_[static_cast<size_t>(block)] > 0);
  ++refs_[static_cast<size_t>(block)];
}

void KvCache::Release(int32_t block) {
  assert(refs_[static_cast<size_t>(block)] > 0);
  if (--refs_[static_cast<size_t>(block)] == 0) free_.push_back(block);
}

int64_t KvCache::Capacity(int seq) const {
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : static_cast<int64_t>(it->second.size()) * cfg_.block_size;
}

uint16_t* KvCache::Row(const std::vector<std::unique_ptr<uint16_t[]>>& data, int64_t row, int layer, int seq,
                       int64_t pos) {
  const auto& table = seqs_.at(seq);
  assert(pos / cfg_.block_size < static_cast<int64_t>(table.size()));
  int64_t b = table[static_cast<size_t>(pos / cfg_.block_size)];
  return data[static_cast<size_t>(layer)].get() + (b * cfg_.block_size + pos % cfg_.block_size) * row;
}

uint16_t* KvCache::KRow(int layer, int seq, int64_t pos) { return Row(k_data_, cfg_.k_row, layer, seq, pos); }
uint16_t* KvCache::VRow(int layer, int seq, int64_t pos) {
  assert(cfg_.v_row > 0);
  return Row(v_data_, cfg_.v_row, layer, seq, pos);
}

kernels::KvView KvCache::View(int layer, int seq, int64_t n_kv, int64_t v_offset, ViewScratch* s) const {
  const auto& table = seqs_.at(seq);
  const int64_t n_blocks = (n_kv + cfg_.block_size - 1) / cfg_.block_size;
  s->k.resize(static_cast<size_t>(n_blocks));
  s->v.resize(static_cast<size_t>(n_blocks));
  const uint16_t* k = k_data_[static_cast<size_t>(layer)].get();
  const uint16_t* v = cfg_.v_row ? v_data_[static_cast<size_t>(layer)].get() : k;
  const int64_t v_row = cfg_.v_row ? cfg_.v_row : cfg_.k_row;
  for (int64_t i = 0; i < n_blocks; ++i) {
    int64_t b = table[static_cast<size_t>(i)];
    s->k[static_cast<size_t>(i)] = k + b * cfg_.block_size * cfg_.k_row;
    s->v[static_cast<size_t>(i)] = v + b * cfg_.block_size * v_row + v_offset;
  }
  kernels::KvView view;
  view.k_blocks = s->k.data();
  view.v_blocks = s->v.data();
  view.block_size = cfg_.block_size;
  view.n_kv = n_kv;
  view.k_row_stride = cfg_.k_row;
  view.v_row_stride = v_row;
  return view;
}

}  // namespace r1
