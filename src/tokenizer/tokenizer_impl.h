// Internal: the parts of a Tokenizer, filled in by the GGUF and JSON loaders.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace r1 {

struct Tokenizer::Impl {
  std::string source;                // "gguf" / "tokenizer.json"
  std::string pre_name;              // preset name, or "json"
  std::vector<std::string> token_bytes;  // by id; raw bytes
  std::vector<uint8_t> is_control;       // by id
  std::vector<tok::AddedToken> added;
  std::vector<std::string> special_texts;  // contents of the special added tokens
  std::unordered_map<std::string, int32_t> added_by_content;
  tok::BpeModel bpe;
  tok::PreTokenizer pre;
  std::vector<tok::NormalizationForm> normalizers;  // applied in order
  // [normalized][parse_special]
  tok::AddedTokenMatcher matchers[2][2];
  int32_t bos = -1, eos = -1;
  std::optional<int32_t> eot;
  bool add_bos = false;
  std::string chat_template;

  // Called by loaders once token_bytes, added and bpe are set: builds the
  // matchers and lookup tables, and checks ids.
  Status Finish();
};

// Known end-of-turn token texts, tried in order when the file names none.
std::optional<int32_t> GuessEot(const Tokenizer::Impl& impl);

struct TokenizerAccess {
  static std::unique_ptr<Tokenizer> Make(std::unique_ptr<Tokenizer::Impl> impl) {
    return std::unique_ptr<Tokenizer>(new Tokenizer(std::move(impl)));
  }
};

}  // namespace r1
