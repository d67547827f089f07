// The lazy DFA over a grammar's stack sets, and token masks (grammar.h).
#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "grammar/grammar.h"

namespace r1::grammar {
namespace {
constexpr int32_t kUnknown = -2;
}

// ---- Token trie ------------------------------------------------------------

TokenTrie::TokenTrie(const Vocab& vocab) : vocab_(vocab) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < vocab_.bytes.size(); ++i) {
    const bool control = i < vocab_.control.size() && vocab_.control[i];
    const bool eos = std::find(vocab_.eos.begin(), vocab_.eos.end(), static_cast<int32_t>(i)) != vocab_.eos.end();
    if (eos) continue;
    if (control) {
      if (!vocab_.bytes[i].empty()) control_.push_back(static_cast<int32_t>(i));
      continue;
    }
    if (!vocab_.bytes[i].empty()) ids.push_back(static_cast<int32_t>(i));
  }
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    return vocab_.bytes[static_cast<size_t>(a)] < vocab_.bytes[static_cast<size_t>(b)];
  });
  // Preorder construction from the sorted strings: the path of the previous
  // string stays open on `open` (node indices by depth).
  std::vector<int32_t> open;
  std::vector<std::vector<int32_t>> toks_at;
  const std::string* prev = nullptr;
  for (int32_t id : ids) {
    const std::string& s = vocab_.bytes[static_cast<size_t>(id)];
    size_t lcp = 0;
    if (prev) {
      const size_t m = std::min(prev->size(), s.size());
      while (lcp < m && (*prev)[lcp] == s[lcp]) ++lcp;
    }
    while (open.size() > lcp) {
      end_[static_cast<size_t>(open.back())] = static_cast<int32_t>(byte_.size());
      open.pop_back();
    }
    for (size_t d = lcp; d < s.size(); ++d) {
      open.push_back(static_cast<int32_t>(byte_.size()));
      byte_.push_back(static_cast<uint8_t>(s[d]));
      depth_.push_back(static_cast<uint16_t>(std::min<size_t>(d, UINT16_MAX)));
      end_.push_back(0);
      toks_at.emplace_back();
    }
    toks_at[static_cast<size_t>(open.back())].push_back(id);
    prev = &s;
  }
  while (!open.empty()) {
    end_[static_cast<size_t>(open.back())] = static_cast<int32_t>(byte_.size());
    open.pop_back();
  }
  tok_begin_.reserve(toks_at.size() + 1);
  for (auto& t : toks_at) {
    tok_begin_.push_back(static_cast<int32_t>(toks_.size()));
    toks_.insert(toks_.end(), t.begin(), t.end());
  }
  tok_begin_.push_back(static_cast<int32_t>(toks_.size()));
}

// ---- Matcher ---------------------------------------------------------------

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenTrie> trie)
    : g_(std::move(grammar)), trie_(std::move(trie)) {
  for (int32_t id : trie_->control_) {
    const std::string& text = trie_->vocab_.bytes[static_cast<size_t>(id)];
    bool ok = false;
    for (const std::string& lit : g_->literals)
      if (lit.find(text) != std::string::npos) ok = true;
    control_ok_.push_back(ok);
  }
  std::vector<int32_t> start;
  bool accept = false;
  for (int32_t a : g_->rules[0]) Closure(a, -1, &start, &accept);
  InternState(std::move(start), accept);  // state 0
}

int32_t Matcher::Intern(int32_t pos, int32_t parent) {
  const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(pos)) << 32) | static_cast<uint32_t>(parent);
  auto [it, fresh] = node_ids_.try_emplace(key, static_cast<int32_t>(nodes_.size()));
  if (fresh) nodes_.push_back({pos, parent});
  return it->second;
}

int32_t Matcher::InternState(std::vector<int32_t> nodes, bool accept) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  if (nodes.empty() && !accept) return kDead;
  std::string key(reinterpret_cast<const char*>(nodes.data()), nodes.size() * sizeof(int32_t));
  key.push_back(accept ? '\1' : '\0');
  auto [it, fresh] = state_ids_.try_emplace(std::move(key), static_cast<int32_t>(states_.size()));
  if (fresh) {
    State s;
    s.nodes = std::move(nodes);
    s.accept = accept;
    states_.push_back(std::move(s));
  }
  return it->second;
}

// Every stack reachable from (pos, parent) without consuming a byte: tops
// that are byte sets go to *out; finishing the root sets *accept.
void Matcher::Closure(int32_t pos0, int32_t parent0, std::vector<int32_t>* out, bool* accept) {
  std::vector<std::pair<int32_t, int32_t>> work{{pos0, parent0}};
  std::unordered_set<uint64_t> seen;
  while (!work.empty()) {
    auto [pos, parent] = work.back();
    work.pop_back();
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(pos)) << 32) | static_cast<uint32_t>(parent);
    if (!seen.insert(key).second) continue;
    const Grammar::Sym& s = g_->syms[static_cast<size_t>(pos)];
    switch (s.kind) {
      case Grammar::Kind::kBytes:
        out->push_back(Intern(pos, parent));
        break;
      case Grammar::Kind::kRule: {
        // A tail call returns straight to the caller's caller: no new frame.
        const bool tail = g_->syms[static_cast<size_t>(pos) + 1].kind == Grammar::Kind::kEnd;
        const int32_t ret = tail ? parent : Intern(pos, parent);
        for (int32_t a : g_->rules[static_cast<size_t>(s.arg)]) work.emplace_back(a, ret);
        break;
      }
      case Grammar::Kind::kEnd:
        if (parent < 0) {
          *accept = true;
        } else {
          const Node p = nodes_[static_cast<size_t>(parent)];
          work.emplace_back(p.pos + 1, p.parent);
        }
        break;
    }
  }
}

int32_t Matcher::Step(int32_t state, uint8_t b) {
  if (state < 0) return kDead;
  {
    State& s = states_[static_cast<size_t>(state)];
    if (!s.next) {
      s.next = std::make_unique<std::array<int32_t, 256>>();
      s.next->fill(kUnknown);
    }
    const int32_t known = (*s.next)[b];
    if (known != kUnknown) return known;
  }
  std::vector<int32_t> out;
  bool accept = false;
  const std::vector<int32_t> tops = states_[static_cast<size_t>(state)].nodes;  // Closure may grow states_? no: nodes_
  for (int32_t n : tops) {
    const Node node = nodes_[static_cast<size_t>(n)];
    const Grammar::Sym& sym = g_->syms[static_cast<size_t>(node.pos)];
    if (Grammar::Has(g_->sets[static_cast<size_t>(sym.arg)], b)) Closure(node.pos + 1, node.parent, &out, &accept);
  }
  const int32_t next = InternState(std::move(out), accept);
  (*states_[static_cast<size_t>(state)].next)[b] = next;  // states_ may have moved: index again
  return next;
}

int32_t Matcher::StepLiteral(int32_t state, uint8_t b) {
  if (state < 0) return kDead;
  std::vector<int32_t> out;
  bool accept = false;
  const std::vector<int32_t> tops = states_[static_cast<size_t>(state)].nodes;
  for (int32_t n : tops) {
    const Node node = nodes_[static_cast<size_t>(n)];
    const Grammar::Sym& sym = g_->syms[static_cast<size_t>(node.pos)];
    if (sym.literal && Grammar::Has(g_->sets[static_cast<size_t>(sym.arg)], b))
      Closure(node.pos + 1, node.parent, &out, &accept);
  }
  return InternState(std::move(out), accept);
}

int32_t Matcher::AdvanceControl(int32_t state, const std::string& text) {
  for (char c : text) {
    state = StepLiteral(state, static_cast<uint8_t>(c));
    if (state < 0) break;
  }
  return state;
}

int32_t Matcher::Advance(int32_t state, std::string_view bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  for (char c : bytes) {
    state = Step(state, static_cast<uint8_t>(c));
    if (state < 0) break;
  }
  return state;
}

int32_t Matcher::AdvanceToken(int32_t state, int32_t token) {
  const Vocab& v = trie_->vocab_;
  if (token < 0 || static_cast<size_t>(token) >= v.bytes.size()) return kDead;
  if (std::find(v.eos.begin(), v.eos.end(), token) != v.eos.end()) return kDead;
  if (static_cast<size_t>(token) < v.control.size() && v.control[static_cast<size_t>(token)]) {
    const auto it = std::find(trie_->control_.begin(), trie_->control_.end(), token);
    if (it == trie_->control_.end() || !control_ok_[static_cast<size_t>(it - trie_->control_.begin())]) return kDead;
    std::lock_guard<std::mutex> lock(mu_);
    return AdvanceControl(state, v.bytes[static_cast<size_t>(token)]);
  }
  const std::string& b = v.bytes[static_cast<size_t>(token)];
  if (b.empty()) return kDead;
  return Advance(state, b);
}

bool Matcher::Accepting(int32_t state) {
  std::lock_guard<std::mutex> lock(mu_);
  return state >= 0 && states_[static_cast<size_t>(state)].accept;
}

bool Matcher::Complete(int32_t state) {
  std::lock_guard<std::mutex> lock(mu_);
  return state >= 0 && states_[static_cast<size_t>(state)].nodes.empty();
}

int64_t Matcher::n_states() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int64_t>(states_.size());
}

std::shared_ptr<const TokenMask> Matcher::Mask(int32_t state) {
  std::lock_guard<std::mutex> lock(mu_);
  if (state < 0) return std::make_shared<TokenMask>((trie_->vocab_.bytes.size() + 63) / 64, 0);
  if (auto m = states_[static_cast<size_t>(state)].mask) return m;
  auto m = ComputeMask(state);
  // A bound on the cached masks (each is n_vocab bits): past it, drop them all.
  if (++masks_cached_ > 4096) {
    for (State& s : states_) s.mask.reset();
    masks_cached_ = 1;
  }
  states_[static_cast<size_t>(state)].mask = m;
  return m;
}

std::shared_ptr<const TokenMask> Matcher::ComputeMask(int32_t state) {
  const TokenTrie& t = *trie_;
  auto mask = std::make_shared<TokenMask>((t.vocab_.bytes.size() + 63) / 64, 0);
  auto set = [&](int32_t id) { (*mask)[static_cast<size_t>(id) >> 6] |= uint64_t{1} << (id & 63); };
  // The trie in preorder: at[d] is the state after the first d bytes of the
  // current path; a dead prefix skips its whole subtree.
  std::vector<int32_t> at(1, state);
  const int32_t n = static_cast<int32_t>(t.byte_.size());
  for (int32_t i = 0; i < n;) {
    const size_t d = t.depth_[static_cast<size_t>(i)];
    const int32_t next = Step(at[d], t.byte_[static_cast<size_t>(i)]);
    if (next < 0) {
      i = t.end_[static_cast<size_t>(i)];
      continue;
    }
    if (at.size() <= d + 1) at.resize(d + 2);
    at[d + 1] = next;
    for (int32_t k = t.tok_begin_[static_cast<size_t>(i)]; k < t.tok_begin_[static_cast<size_t>(i) + 1]; ++k)
      set(t.toks_[static_cast<size_t>(k)]);
    ++i;
  }
  for (size_t k = 0; k < t.control_.size(); ++k) {
    if (!control_ok_[k]) continue;
    if (AdvanceControl(state, t.vocab_.bytes[static_cast<size_t>(t.control_[k])]) >= 0) set(t.control_[k]);
  }
  if (states_[static_cast<size_t>(state)].accept)
    for (int32_t e : t.vocab_.eos)
      if (e >= 0 && static_cast<size_t>(e) < t.vocab_.bytes.size()) set(e);
  return mask;
}

}  // namespace r1::grammar
