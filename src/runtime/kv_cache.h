// Paged KV cache.
//
// Storage is a pool of fixed-size blocks of `block_size` tokens, shared by all
// layers: block b of layer l lives at layer_data_[l] + b · block_size · row.
// Each sequence owns a block table (logical block i → physical block), so a
// sequence grows without copying, and full blocks can be shared between
// sequences with a common prefix (reference counted) for prefix caching.
//
// A token's row per layer holds `k_row` F16 values for K and `v_row` for V.
// Standard attention: k_row = n_head_kv · head_dim_k, v_row = n_head_kv ·
// head_dim_v. Absorbed MLA caches one latent row [c_kv | k_pe] and reads V as
// its prefix, so v_row = 0 (no separate V storage).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "kernels/attention.h"
#include "r1/status.h"

namespace r1 {

struct KvCacheConfig {
  int n_layer = 0;
  int64_t k_row = 0;        // F16 values per token per layer for K (or the MLA latent)
  int64_t v_row = 0;        // 0 when V aliases K (MLA)
  int64_t block_size = 16;  // tokens per block
  int64_t n_blocks = 0;     // capacity: n_blocks × block_size tokens in total
};

class KvCache {
 public:
  explicit KvCache(const KvCacheConfig& cfg);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  const KvCacheConfig& config() const { return cfg_; }

  // Makes room for positions [0, n_tokens) of `seq` (creating it if new).
  // ResourceExhausted when the pool is full; nothing is changed then.
  Status Reserve(int seq, int64_t n_tokens);
  // Drops a sequence; its blocks return to the pool once no one shares them.
  void Free(int seq);
  bool Has(int seq) const { return seqs_.count(seq) != 0; }
  int64_t Capacity(int seq) const;  // tokens reserved

  // Row pointers for writing token `pos` of `seq` in `layer`.
  uint16_t* KRow(int layer, int seq, int64_t pos);
  uint16_t* VRow(int layer, int seq, int64_t pos);

  // A view of the first n_kv tokens of `seq` in `layer` for the attention
  // kernel. `scratch` holds the block pointer arrays and must outlive the view.
  struct ViewScratch {
    std::vector<const uint16_t*> k, v;
  };
  kernels::KvView View(int layer, int seq, int64_t n_kv, int64_t v_offset, ViewScratch* scratch) const;

  // Block sharing, for prefix caching. A block is returned to the pool when
  // its last reference goes; shared blocks must be full, so that no sharer
  // ever writes into them (sharers only append after the shared prefix).
  //
  // Starts the new sequence `seq` on `blocks` (its first blocks, in order),
  // taking one reference on each.
  void Adopt(int seq, const std::vector<int32_t>& blocks);
  // The block table of `seq` (empty when unknown).
  const std::vector<int32_t>& Blocks(int seq) const;
  void Retain(int32_t block);   // one more reference (e.g. the prefix cache's)
  void Release(int32_t block);  // one less; back to the pool at zero
  int RefCount(int32_t block) const { return refs_[static_cast<size_t>(block)]; }
  int64_t n_seqs() const { return static_cast<int64_t>(seqs_.size()); }

  int64_t blocks_free() const { return static_cast<int64_t>(free_.size()); }
  int64_t blocks_in_use() const { return cfg_.n_blocks - static_cast<int64_t>(free_.size()); }
  int64_t blocks_total() const { return cfg_.n_blocks; }
  // Bytes actually allocated for KV storage (all layers).
  size_t bytes_allocated() const { return bytes_; }
  // Bytes per token over all layers.
  size_t bytes_per_token() const;

 private:
  uint16_t* Row(const std::vector<std::unique_ptr<uint16_t[]>>& data, int64_t row, int layer, int seq,
                int64_t pos);

  KvCacheConfig cfg_;
  std::vector<std::unique_ptr<uint16_t[]>> k_data_, v_data_;  // per layer
  std::vector<int32_t> free_;                                 // free block ids (stack)
  std::vector<int32_t> refs_;                                 // refcount per block
  std::unordered_map<int, std::vector<int32_t>> seqs_;        // seq → block table
  size_t bytes_ = 0;
};

}  // namespace r1
