// Added (special and user-defined) tokens: matched in the raw text before
// normalization and BPE, leftmost-longest, like HF's AddedVocabulary
// (aho-corasick, MatchKind::LeftmostLongest).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace r1::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;     // a control token: only matched with parse_special
  bool normalized = false;  // matched in the normalized text (HF phase 2)
  bool lstrip = false, rstrip = false, single_word = false;
};

struct Segment {
  size_t begin = 0, end = 0;  // byte range in the text given to Split
  int32_t id = -1;            // >= 0: an added token; -1: plain text
};

// A byte trie over one subset of the added tokens.
class AddedTokenMatcher {
 public:
  void Build(const std::vector<AddedToken>& tokens, bool normalized, bool include_special);
  bool empty() const { return num_tokens_ == 0; }
  // Splits `text` into plain-text and token segments (in order, covering the
  // text except whitespace absorbed by lstrip/rstrip tokens).
  void Split(std::string_view text, std::vector<Segment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
    int32_t token = -1;                                 // index into tokens_
  };
  int32_t Child(int32_t node, uint8_t b) const;
  std::vector<Node> nodes_;
  std::vector<AddedToken> tokens_;
  bool first_byte_[256] = {};
  size_t num_tokens_ = 0;
};

}  // namespace r1::tok
