// The small byte-level BPE vocabulary written into synthetic models.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1 {

struct SyntheticVocab {
  std::vector<std::string> tokens;  // GPT-2 byte-to-unicode spelling
  std::vector<int32_t> types;       // 1 normal, 3 control, 5 unused (llama.cpp token types)
  std::vector<std::string> merges;  // "a b", in rank order
  int32_t bos = 0, eos = 0;
  std::string chat_template;
};

// 256 byte tokens, up to `n_vocab` - 256 - specials merges learned from a
// built-in text, the R1 special tokens, then unused filler to n_vocab.
SyntheticVocab BuildSyntheticVocab(int64_t n_vocab);

}  // namespace r1
