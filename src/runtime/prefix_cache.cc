#include "runtime/prefix_cache.h"

#include <algorithm>

namespace r1 {

namespace {

// splitmix64's finaliser: a cheap, well-mixed 64-bit hash step.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t PrefixCache::Key(uint64_t parent, const int32_t* tokens, int64_t n) {
  uint64_t h = Mix(parent ^ 0x5eed);
  for (int64_t i = 0; i < n; ++i) h = Mix(h ^ static_cast<uint32_t>(tokens[i]));
  return h == 0 ? 1 : h;  // 0 is reserved for "no parent"
}

const PrefixCache::Entry* PrefixCache::Find(uint64_t key, uint64_t parent, const int32_t* tokens,
                                            int64_t n) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  const Entry& e = it->second;
  if (e.parent != parent || !std::equal(e.tokens.begin(), e.tokens.end(), tokens, tokens + n)) return nullptr;
  return &e;
}

void PrefixCache::Touch(Entry& e) { lru_.splice(lru_.begin(), lru_, e.lru); }

PrefixCache::Match PrefixCache::Lookup(const std::vector<int32_t>& tokens, int64_t max_tokens) {
  const int64_t bs = cache_->config().block_size;
  const int64_t n_full = std::min<int64_t>(max_tokens, static_cast<int64_t>(tokens.size())) / bs;
  Match m;
  std::vector<uint64_t> chain;
  uint64_t parent = 0;
  for (int64_t b = 0; b < n_full; ++b) {
    const int32_t* t = tokens.data() + b * bs;
    const uint64_t key = Key(parent, t, bs);
    const Entry* e = Find(key, parent, t, bs);
    if (!e) break;
    m.blocks.push_back(e->block);
    chain.push_back(key);
    parent = key;
  }
  // Leaf first, so the root ends up most recent and is evicted last.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) Touch(entries_.at(*it));
  m.n_tokens = static_cast<int64_t>(m.blocks.size()) * bs;
  return m;
}

void PrefixCache::Insert(const std::vector<int32_t>& tokens, int64_t n_computed, const std::vector<int32_t>& table) {
  const int64_t bs = cache_->config().block_size;
  n_computed = std::min<int64_t>(n_computed, static_cast<int64_t>(tokens.size()));
  const int64_t n_full = std::min<int64_t>(n_computed / bs, static_cast<int64_t>(table.size()));
  std::vector<uint64_t> chain;
  uint64_t parent = 0;
  for (int64_t b = 0; b < n_full; ++b) {
    const int32_t* t = tokens.data() + b * bs;
    const uint64_t key = Key(parent, t, bs);
    auto it = entries_.find(key);
    if (it == entries_.end()) {
      Entry e;
      e.parent = parent;
      e.tokens.assign(t, t + bs);
      e.block = table[static_cast<size_t>(b)];
      lru_.push_front(key);
      e.lru = lru_.begin();
      cache_->Retain(e.block);
      entries_.emplace(key, std::move(e));
    } else if (it->second.parent != parent ||
               !std::equal(it->second.tokens.begin(), it->second.tokens.end(), t, t + bs)) {
      break;  // a 64-bit hash collision: leave the existing chain alone
    }
    // Otherwise the prefix is cached already (maybe in another block, when two
    // sequences computed it concurrently); keep the first copy.
    chain.push_back(key);
    parent = key;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) Touch(entries_.at(*it));
}

void PrefixCache::Erase(std::unordered_map<uint64_t, Entry>::iterator it) {
  cache_->Release(it->second.block);
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

int64_t PrefixCache::EvictUntilFree(int64_t n_free) {
  int64_t freed = 0;
  auto pos = lru_.end();
  while (cache_->blocks_free() < n_free && pos != lru_.begin()) {
    --pos;
    auto it = entries_.find(*pos);
    if (cache_->RefCount(it->second.block) != 1) continue;  // still used by a sequence
    auto next = std::next(pos);
    Erase(it);
    ++freed;
    pos = next;
  }
  return freed;
}

void PrefixCache::Clear() {
  while (!entries_.empty()) Erase(entries_.begin());
}

int64_t PrefixCache::n_evictable() const {
  int64_t n = 0;
  for (const auto& [key, e] : entries_) n += cache_->RefCount(e.block) == 1;
  return n;
}

}  // namespace r1
