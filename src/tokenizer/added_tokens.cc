#include "tokenizer/added_tokens.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace r1::tok {
namespace {

bool IsWhiteSpace(uint32_t c) {
  return (c >= 0x9 && c <= 0xD) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Rust's "word" test used by HF for single_word: alphanumeric or '_'. ASCII
// approximation plus any non-ASCII letter-ish byte sequence counts as word.
bool IsWordChar(uint32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (c >= 0x80 && !IsWhiteSpace(c));
}

uint32_t LastCodePoint(std::string_view s, size_t end, size_t* start) {
  size_t i = end;
  while (i > 0) {
    --i;
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) break;
  }
  *start = i;
  size_t j = i;
  return DecodeUtf8(s, &j);
}

}  // namespace

void AddedTokenMatcher::Build(const std::vector<AddedToken>& tokens, bool normalized,
                              bool include_special) {
  nodes_.assign(1, Node{});
  tokens_.clear();
  std::fill(std::begin(first_byte_), std::end(first_byte_), false);
  for (const AddedToken& t : tokens) {
    if (t.content.empty() || t.normalized != normalized) continue;
    if (t.special && !include_special) continue;
    int32_t node = 0;
    for (unsigned char b : t.content) {
      int32_t c = Child(node, b);
      if (c < 0) {
        c = static_cast<int32_t>(nodes_.size());
        nodes_.push_back(Node{});
        auto& ch = nodes_[node].children;
        ch.insert(std::lower_bound(ch.begin(), ch.end(), std::make_pair(b, int32_t{-1})),
                  std::make_pair(b, c));
      }
      node = c;
    }
    if (nodes_[node].token < 0) {  // first definition of a content wins
      nodes_[node].token = static_cast<int32_t>(tokens_.size());
      tokens_.push_back(t);
    }
    first_byte_[static_cast<unsigned char>(t.content[0])] = true;
  }
  num_tokens_ = tokens_.size();
}

int32_t AddedTokenMatcher::Child(int32_t node, uint8_t b) const {
  const auto& ch = nodes_[node].children;
  auto it = std::lower_bound(ch.begin(), ch.end(), std::make_pair(b, int32_t{-1}));
  return (it != ch.end() && it->first == b) ? it->second : -1;
}

void AddedTokenMatcher::Split(std::string_view text, std::vector<Segment>* out) const {
  const size_t n = text.size();
  size_t plain_start = 0, i = 0;
  while (i < n) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t j = i; j < n; ++j) {
      node = Child(node, static_cast<uint8_t>(text[j]));
      if (node < 0) break;
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = j + 1;
      }
    }
    if (best < 0) {
      ++i;
      continue;
    }
    const AddedToken& tok = tokens_[best];
    size_t start = i, stop = best_end;
    if (tok.single_word) {
      size_t cs;
      const bool start_ok = start == 0 || !IsWordChar(LastCodePoint(text, start, &cs));
      size_t k = stop;
      const bool stop_ok = stop == n || !IsWordChar(DecodeUtf8(text, &k));
      if (!start_ok || !stop_ok) {
        i = best_end;  // HF drops this match and continues after it
        continue;
      }
    }
    if (tok.lstrip) {
      while (start > plain_start) {
        size_t cs;
        if (!IsWhiteSpace(LastCodePoint(text, start, &cs))) break;
        start = cs;
      }
    }
    if (tok.rstrip) {
      while (stop < n) {
        size_t k = stop;
        if (!IsWhiteSpace(DecodeUtf8(text, &k))) break;
        stop = k;
      }
    }
    if (start > plain_start) out->push_back(Segment{plain_start, start, -1});
    out->push_back(Segment{start, stop, tok.id});
    i = plain_start = stop;
  }
  if (plain_start < n) out->push_back(Segment{plain_start, n, -1});
}

}  // namespace r1::tok
