// Prefix cache: full KV blocks shared by requests with the same token prefix.
//
// Block i of a sequence holds the KV of tokens [i·B, (i+1)·B). Its key is a
// hash chain: key_i = H(key_{i-1}, tokens of block i), so a key names the
// whole prefix up to the end of its block, not just the block's own tokens.
// A lookup walks the chain from block 0 and stops at the first miss; the
// blocks found are adopted by the new sequence (KvCache::Adopt) and only the
// rest of its prompt is computed.
//
// The cache holds one reference on each block it names, so a block outlives
// the sequence that computed it. Blocks held only by the cache are evictable,
// least recently used first; a lookup touches its chain leaf-first so that a
// chain's root is evicted after its descendants.
//
// Whole blocks are shared across all layers, so this works the same for
// standard K/V and for the MLA latent cache (v_row = 0). Only full blocks are
// shared, and a sharer only ever writes after the shared prefix, so shared
// blocks are never written twice.
//
// Not thread-safe: the scheduler's step thread owns it together with the
// KvCache.
#pragma once

#include <cstdint>
#include <list>
#include <unordered_map>
#include <vector>

#include "models/kv_cache.h"

namespace r1 {

class PrefixCache {
 public:
  explicit PrefixCache(KvCache* cache) : cache_(cache) {}
  ~PrefixCache() { Clear(); }
  PrefixCache(const PrefixCache&) = delete;
  PrefixCache& operator=(const PrefixCache&) = delete;

  struct Match {
    std::vector<int32_t> blocks;  // physical blocks of the matched prefix
    int64_t n_tokens = 0;         // blocks.size() × block_size
  };
  // The longest cached chain of full blocks that is a prefix of
  // tokens[0, max_tokens). Touches the chain (LRU).
  Match Lookup(const std::vector<int32_t>& tokens, int64_t max_tokens);

  // Registers the full blocks of a sequence whose cache holds the KV of
  // tokens[0, n_computed) in `table` (its block table).
  void Insert(const std::vector<int32_t>& tokens, int64_t n_computed, const std::vector<int32_t>& table);

  // Evicts least recently used entries held only by the cache until the pool
  // has `n_free` free blocks or nothing more can go. Returns blocks freed.
  int64_t EvictUntilFree(int64_t n_free);
  // Drops every entry (blocks still used by sequences stay with them).
  void Clear();

  int64_t n_entries() const { return static_cast<int64_t>(entries_.size()); }
  int64_t n_evictable() const;  // entries whose block only the cache holds

 private:
  struct Entry {
    uint64_t parent = 0;           // key of the previous block (0 for block 0)
    std::vector<int32_t> tokens;   // this block's tokens, to rule out collisions
    int32_t block = -1;
    std::list<uint64_t>::iterator lru;  // position in lru_ (front = most recent)
  };
  static uint64_t Key(uint64_t parent, const int32_t* tokens, int64_t n);
  const Entry* Find(uint64_t key, uint64_t parent, const int32_t* tokens, int64_t n) const;
  void Touch(Entry& e);
  void Erase(std::unordered_map<uint64_t, Entry>::iterator it);

  KvCache* cache_;
  std::unordered_map<uint64_t, Entry> entries_;
  std::list<uint64_t> lru_;
};

}  // namespace r1
