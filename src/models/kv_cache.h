// Paged KV cache.
//
// Storage is a pool of fixed-size blocks of `block_size` tokens, shared by all
// layers: block b of layer l lives at layer_data_[l] + b · block_size · row.
// Each sequence owns a block table (logical block i → physical block), so a
// sequence grows without copying, and full blocks can be shared between
// sequences with a common prefix (reference counted) for prefix caching.
//
// Within a block, rows are stored head-major: all block_size rows of KV head
// 0, then head 1, ... (head_dim_k values each), so attention for one head
// reads contiguous memory. A token's K (V) is k_row (v_row) values in all,
// of type `type`: F16 (default) or Q8_0 (blocks of 32 values, 34 bytes; half the
// memory, see kernels::KvType). Standard attention: k_row = n_head_kv ·
// head_dim_k, v_row = n_head_kv · head_dim_v. Absorbed MLA caches one latent
// row [c_kv | k_pe] and reads V as its prefix, so v_row = 0 (no separate V
// storage); with Q8_0 the prefix c_kv is whole blocks (kv_lora_rank 512).
//
// Models write rows with StoreK/StoreV (float in, converted to the cache type)
// and read them with the attention kernel (View) or LoadK, so they never see
// the element type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kernels/attention.h"
#include "r1/status.h"

namespace r1 {

using kernels::KvType;

struct KvCacheConfig {
  int n_layer = 0;
  int64_t k_row = 0;        // values per token per layer for K (or the MLA latent)
  int64_t v_row = 0;        // 0 when V aliases K (MLA)
  int64_t head_dim_k = 0;   // values per KV head in a K row (0: the whole row)
  int64_t head_dim_v = 0;   // likewise for V (MLA: the c_kv prefix V reads)
  KvType type = KvType::kF16;
  int64_t block_size = 16;  // tokens per block
  int64_t n_blocks = 0;     // capacity: n_blocks × block_size tokens in total
};

// "f16" / "q8_0" (what --kv-type takes); InvalidArgument naming the value otherwise.
StatusOr<KvType> ParseKvType(const std::string& name);
const char* KvTypeName(KvType t);
// InvalidArgument when `cfg.type` cannot hold this layout (Q8_0 needs every
// head dim and row length to be a multiple of 32), naming the dimension.
Status ValidateKvConfig(const KvCacheConfig& cfg);

// One change to a cache's block tables, as KvCache's journal records it. A
// pipeline stage's cache replays rank 0's journal (runtime/pipeline.h), so
// that every stage's cache hands out the same blocks to the same sequences.
struct KvOp {
  enum Kind : int32_t { kReserve, kFree, kTruncate, kAdopt, kRetain, kRelease };
  Kind kind = kReserve;
  int32_t seq = 0;              // kReserve, kFree, kTruncate, kAdopt
  int64_t n = 0;                // tokens (kReserve, kTruncate) or the block (kRetain, kRelease)
  std::vector<int32_t> blocks;  // kAdopt
};

class KvCache {
 public:
  // Allocates the pool. ResourceExhausted when the memory cannot be mapped,
  // naming the byte size and the token count (which --ctx-size / --kv-tokens
  // set). `cfg` must pass ValidateKvConfig.
  static StatusOr<std::unique_ptr<KvCache>> Create(const KvCacheConfig& cfg);
  // For tests with small pools: like Create, but throws std::bad_alloc.
  explicit KvCache(const KvCacheConfig& cfg);
  KvCache(const KvCache&) = delete;
  KvCache& operator=(const KvCache&) = delete;

  const KvCacheConfig& config() const { return cfg_; }

  // Makes room for positions [0, n_tokens) of `seq` (creating it if new).
  // ResourceExhausted when the pool is full; nothing is changed then.
  Status Reserve(int seq, int64_t n_tokens);
  // Drops a sequence; its blocks return to the pool once no one shares them.
  void Free(int seq);
  // Keeps the blocks that hold positions [0, n_tokens) of `seq` and returns
  // the rest (speculative decoding's rolled-back drafts). Positions past
  // n_tokens inside the last kept block are simply overwritten later.
  void Truncate(int seq, int64_t n_tokens);
  bool Has(int seq) const { return seqs_.count(seq) != 0; }
  int64_t Capacity(int seq) const;  // tokens reserved

  // Writes token `pos` of `seq` in `layer`: k_row (v_row) floats, converted
  // to the cache type (F16 round to nearest even; Q8_0 as ggml quantizes).
  void StoreK(int layer, int seq, int64_t pos, const float* k);
  void StoreV(int layer, int seq, int64_t pos, const float* v);
  // Reads back the K row of token `pos` as k_row floats (exact dequantization).
  void LoadK(int layer, int seq, int64_t pos, float* k) const;

  // The raw storage of a row (KvBytes(type, k_row) bytes), for tests.
  uint8_t* KRowData(int layer, int seq, int64_t pos);

  // A view of the first n_kv tokens of `seq` in `layer` for the attention
  // kernel. `scratch` holds the block pointer arrays and must outlive the view.
  struct ViewScratch {
    std::vector<const void*> k, v;
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

  // Records every successful change to the block tables in *journal (null:
  // no record), in order. Replaying them with Apply on a cache of the same
  // n_blocks gives the same tables, block for block.
  void set_journal(std::vector<KvOp>* journal) { journal_ = journal; }
  // Replays one journaled change. InvalidArgument naming the operation when
  // it does not fit this cache (a block out of range or not in use, a full pool).
  [[nodiscard]] Status Apply(const KvOp& op);

  int64_t blocks_free() const { return static_cast<int64_t>(free_.size()); }
  int64_t blocks_in_use() const { return cfg_.n_blocks - static_cast<int64_t>(free_.size()); }
  int64_t blocks_total() const { return cfg_.n_blocks; }
  // Bytes actually allocated for KV storage (all layers).
  size_t bytes_allocated() const { return bytes_; }
  // Bytes per token over all layers.
  size_t bytes_per_token() const;

 private:
  // Head `head`'s row (head_bytes long) of token `pos`; row_bytes is all heads'.
  // Per-layer storage: an anonymous mapping (zero-filled, huge pages requested).
  struct Unmap {
    size_t len = 0;
    void operator()(uint8_t* p) const;
  };
  using Storage = std::unique_ptr<uint8_t, Unmap>;
  static Storage Allocate(size_t bytes);  // null when the mapping fails
  struct NoAlloc {};
  KvCache(const KvCacheConfig& cfg, NoAlloc);
  Status AllocateAll();

  uint8_t* Row(const std::vector<Storage>& data, int64_t row_bytes, int64_t head_bytes,
               int layer, int seq, int64_t pos, int64_t head) const;
  int64_t HeadDimK() const;  // values per head row (the whole row if head_dim_k is unset)
  int64_t HeadDimV() const;
  void Store(uint8_t* dst, const float* x, int64_t n) const;

  void ReleaseBlock(int32_t block);
  void Record(KvOp op) {
    if (journal_) journal_->push_back(std::move(op));
  }

  std::vector<KvOp>* journal_ = nullptr;
  KvCacheConfig cfg_;
  int64_t k_row_bytes_ = 0, v_row_bytes_ = 0;
  std::vector<Storage> k_data_, v_data_;                     // per layer
  std::vector<int32_t> free_;                                 // free block ids (stack)
  std::vector<int32_t> refs_;                                 // refcount per block
  std::unordered_map<int, std::vector<int32_t>> seqs_;        // seq → block table
  size_t bytes_ = 0;
};

}  // namespace r1
