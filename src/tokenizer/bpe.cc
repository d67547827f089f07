#include "tokenizer/bpe.h"

#include <functional>
#include <queue>

namespace r1::tok {

BpeModel::BpeModel() {
  byte_id_.fill(-1);
  table_.assign(1024, MergeEntry{kEmpty, 0, 0});
  mask_ = table_.size() - 1;
}

BpeModel::~BpeModel() = default;

void BpeModel::AddToken(std::string_view bytes, int32_t id) {
  if (bytes.empty()) return;
  auto [it, inserted] = vocab_.emplace(std::string(bytes), id);
  if (inserted && bytes.size() == 1) byte_id_[static_cast<unsigned char>(bytes[0])] = id;
}

std::optional<int32_t> BpeModel::Lookup(std::string_view bytes) const {
  auto it = vocab_.find(std::string(bytes));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

void BpeModel::InsertMerge(uint64_t key, uint32_t rank, int32_t result) {
  if ((table_used_ + 1) * 2 > table_.size()) {
    std::vector<MergeEntry> old;
    old.swap(table_);
    table_.assign(old.size() * 2, MergeEntry{kEmpty, 0, 0});
    mask_ = table_.size() - 1;
    table_used_ = 0;
    for (const MergeEntry& e : old)
      if (e.key != kEmpty) InsertMerge(e.key, e.rank, e.result);
  }
  size_t i = Hash(key) & mask_;
  while (table_[i].key != kEmpty && table_[i].key != key) i = (i + 1) & mask_;
  if (table_[i].key == kEmpty) ++table_used_;
  table_[i] = MergeEntry{key, rank, result};  // a later duplicate overwrites (HF)
}

bool BpeModel::AddMerge(std::string_view left, std::string_view right) {
  const uint32_t rank = static_cast<uint32_t>(num_merges_++);
  auto l = Lookup(left), r = Lookup(right);
  if (!l || !r) return false;
  std::string joined;
  joined.reserve(left.size() + right.size());
  joined.append(left).append(right);
  auto m = Lookup(joined);
  if (!m) return false;
  const uint64_t key =
      (static_cast<uint64_t>(static_cast<uint32_t>(*l)) << 32) | static_cast<uint32_t>(*r);
  InsertMerge(key, rank, *m);
  return true;
}

void BpeModel::MergeSmall(std::vector<int32_t>* symbols) const {
  std::vector<int32_t>& s = *symbols;
  if (s.size() < 2) return;
  constexpr uint32_t kNone = ~0u;
  std::vector<uint32_t> ranks(s.size() - 1);
  std::vector<int32_t> results(s.size() - 1);
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (!FindMerge(s[i], s[i + 1], &ranks[i], &results[i])) ranks[i] = kNone;
  while (!ranks.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < ranks.size(); ++i)
      if (ranks[i] < ranks[best]) best = i;  // strict: leftmost wins ties
    if (ranks[best] == kNone) break;
    s[best] = results[best];
    s.erase(s.begin() + static_cast<ptrdiff_t>(best) + 1);
    ranks.erase(ranks.begin() + static_cast<ptrdiff_t>(best));
    results.erase(results.begin() + static_cast<ptrdiff_t>(best));
    if (best > 0 && !FindMerge(s[best - 1], s[best], &ranks[best - 1], &results[best - 1]))
      ranks[best - 1] = kNone;
    if (best < ranks.size() && !FindMerge(s[best], s[best + 1], &ranks[best], &results[best]))
      ranks[best] = kNone;
  }
}

void BpeModel::MergeHeap(std::vector<int32_t>* symbols) const {
  std::vector<int32_t>& id = *symbols;
  const int32_t n = static_cast<int32_t>(id.size());
  if (n < 2) return;
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = (i + 1 < n) ? i + 1 : -1;
  }
  struct Cand {
    uint32_t rank;
    int32_t pos, left, right, result;
  };
  auto worse = [](const Cand& a, const Cand& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  auto push = [&](int32_t pos) {
    const int32_t nx = next[pos];
    if (nx < 0) return;
    Cand c{0, pos, id[pos], id[nx], 0};
    if (FindMerge(c.left, c.right, &c.rank, &c.result)) heap.push(c);
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int32_t nx = next[c.pos];
    // Stale entry: a symbol at either side has changed (ids only grow, so
    // equal ids mean the pair is unchanged).
    if (id[c.pos] != c.left || nx < 0 || id[nx] != c.right) continue;
    id[c.pos] = c.result;
    id[nx] = -1;  // dead
    next[c.pos] = next[nx];
    if (next[nx] >= 0) prev[next[nx]] = c.pos;
    if (prev[c.pos] >= 0) push(prev[c.pos]);
    push(c.pos);
  }
  size_t w = 0;
  for (int32_t i = 0; i >= 0; i = next[i]) id[w++] = id[i];
  id.resize(w);
}

void BpeModel::EncodeWord(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    const int32_t b = byte_id_[static_cast<unsigned char>(word[0])];
    if (b >= 0) out->push_back(b);
    return;
  }
  if (ignore_merges_) {
    if (auto id = Lookup(word)) {
      out->push_back(*id);
      return;
    }
  }
  CacheShard* shard = nullptr;
  if (word.size() <= kCacheMaxWordBytes) {
    shard = &cache_[std::hash<std::string_view>()(word) % kCacheShards];
    std::lock_guard<std::mutex> lock(shard->mu);
    auto it = shard->map.find(std::string(word));
    if (it != shard->map.end()) {
      out->insert(out->end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  // A byte without a vocabulary entry is dropped (HF with no unk_token);
  // byte-level vocabularies have all 256.
  for (unsigned char c : word)
    if (byte_id_[c] >= 0) symbols.push_back(byte_id_[c]);
  if (symbols.size() <= 32) {
    MergeSmall(&symbols);
  } else {
    MergeHeap(&symbols);
  }
  out->insert(out->end(), symbols.begin(), symbols.end());
  if (shard != nullptr) {
    std::lock_guard<std::mutex> lock(shard->mu);
    if (shard->map.size() >= kCacheMaxPerShard) shard->map.clear();
    shard->map.emplace(std::string(word), std::move(symbols));
  }
}

}  // namespace r1::tok
