// Byte-level BPE: merges by rank on raw bytes.
//
// HF's BPE works on the byte-level spelling (each byte one char, e.g. ' ' →
// 'Ġ'); here tokens are kept as raw bytes, which is the same thing under a
// bijection, so the input piece needs no re-encoding. A word starts as one
// symbol per byte; the adjacent pair with the lowest merge rank (leftmost on
// ties) is merged until no pair has a rank. This is exactly HF's order
// (BinaryHeap of (rank, pos)) and transformers.js's (rank + pos/len).
//
// Cost: O(n log n) per word with a heap (long words), O(n²) int scans for
// short ones where that is faster; results are identical (tested).
// Finished words are cached (sharded, mutex per shard; thread-safe).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace r1::tok {

class BpeModel {
 public:
  BpeModel();
  ~BpeModel();

  // Registers a model-vocabulary token (raw bytes). The first id wins for
  // duplicate byte strings.
  void AddToken(std::string_view bytes, int32_t id);
  // Appends a merge; its rank is the order of calls. Returns false when a
  // part or the result is not in the vocabulary (the merge could never
  // produce a known token and is dropped). A later duplicate pair takes the
  // later rank, as in HF.
  bool AddMerge(std::string_view left, std::string_view right);
  void set_ignore_merges(bool v) { ignore_merges_ = v; }
  size_t num_merges() const { return num_merges_; }

  std::optional<int32_t> Lookup(std::string_view bytes) const;

  // Appends the ids of one pre-tokenized piece.
  void EncodeWord(std::string_view word, std::vector<int32_t>* out) const;

  // The two merge loops, exposed so tests can check they agree.
  void MergeSmall(std::vector<int32_t>* symbols) const;
  void MergeHeap(std::vector<int32_t>* symbols) const;

 private:
  struct MergeEntry {
    uint64_t key;  // (left << 32) | right; kEmpty marks a free slot
    uint32_t rank;
    int32_t result;
  };
  static constexpr uint64_t kEmpty = ~0ull;
  // Returns false when the pair has no merge.
  bool FindMerge(int32_t left, int32_t right, uint32_t* rank, int32_t* result) const {
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
                         static_cast<uint32_t>(right);
    size_t i = Hash(key) & mask_;
    while (true) {
      const MergeEntry& e = table_[i];
      if (e.key == key) {
        *rank = e.rank;
        *result = e.result;
        return true;
      }
      if (e.key == kEmpty) return false;
      i = (i + 1) & mask_;
    }
  }
  static uint64_t Hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
  }
  void InsertMerge(uint64_t key, uint32_t rank, int32_t result);

  std::unordered_map<std::string, int32_t> vocab_;
  std::array<int32_t, 256> byte_id_;
  std::vector<MergeEntry> table_;
  size_t mask_ = 0, table_used_ = 0, num_merges_ = 0;
  bool ignore_merges_ = false;

  struct CacheShard {
    std::mutex mu;
    std::unordered_map<std::string, std::vector<int32_t>> map;  // guarded by mu
  };
  static constexpr size_t kCacheShards = 32;
  static constexpr size_t kCacheMaxPerShard = 4096;
  static constexpr size_t kCacheMaxWordBytes = 64;
  mutable std::array<CacheShard, kCacheShards> cache_;
};

}  // namespace r1::tok
