// Byte-level BPE tokenizer for the DeepSeek-R1 family (DeepSeek-V3/R1,
// R1-Distill-Qwen/Llama, Qwen2.5/Qwen3, Llama-3), identical to Hugging Face
// `tokenizers` on the same vocabulary. See README.md in this directory.
//
//   auto tok = r1::Tokenizer::FromGguf(file);          // or FromDirectory(dir)
//   std::vector<int32_t> ids = (*tok)->Encode("Hello", /*parse_special=*/false);
//   std::string text = (*tok)->Decode(ids);             // byte-exact
//
// Encode never adds BOS; callers prepend bos_id() when add_bos().
// Invalid UTF-8 input is not an error: each maximal invalid subsequence is
// replaced by U+FFFD first (as Python's bytes.decode(errors="replace") does),
// so such input does not round-trip.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "r1/status.h"

namespace r1 {
namespace gguf {
class File;
}

class Tokenizer {
 public:
  // GGUF metadata: tokenizer.ggml.{model=gpt2, tokens, token_type, merges,
  // pre, bos/eos/eot_token_id, add_bos_token} and tokenizer.chat_template.
  static StatusOr<std::unique_ptr<Tokenizer>> FromGguf(const gguf::File& file);
  // A Hugging Face directory with tokenizer.json (+ tokenizer_config.json).
  static StatusOr<std::unique_ptr<Tokenizer>> FromDirectory(const std::string& dir);
  // The same from file contents (config may be empty). Never crashes on
  // malformed input: errors name the JSON field.
  static StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view tokenizer_json,
                                                       std::string_view tokenizer_config_json);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Thread-safe. parse_special: match control/special tokens written in the
  // text (e.g. "<|im_start|>"); without it they are encoded as plain text.
  // Non-special added tokens (e.g. Qwen's "<think>") always match, as in HF.
  // max_tokens: stop once more than that many ids are out (the caller only
  // needs to know the text is too long; the ids are then a prefix).
  std::vector<int32_t> Encode(std::string_view text, bool parse_special,
                              size_t max_tokens = static_cast<size_t>(-1)) const;
  // Concatenates TokenBytes of each id (specials included); ids outside
  // [0, n_vocab) are skipped.
  std::string Decode(const std::vector<int32_t>& ids) const;

  // Raw bytes of a token (may be a partial UTF-8 sequence). Empty for an
  // out-of-range id or an unused slot.
  const std::string& TokenBytes(int32_t id) const;
  // Exact lookup of an added token's content or a vocabulary token's bytes.
  std::optional<int32_t> FindToken(std::string_view text) const;

  int32_t n_vocab() const;
  int32_t bos_id() const;  // -1 when the model has none
  int32_t eos_id() const;  // -1 when the model has none
  std::optional<int32_t> eot_id() const;
  bool add_bos() const;
  bool IsControl(int32_t id) const;  // special added token (GGUF CONTROL)
  // The texts of the special added tokens, which only parse_special matches.
  const std::vector<std::string>& SpecialTokenTexts() const;
  // The byte ranges [begin, end) in `text` that Encode with parse_special
  // would encode as added tokens, special or not, in order (they may overlap).
  std::vector<std::pair<size_t, size_t>> FindAddedTokens(std::string_view text) const;
  // Encodes text with no added tokens at all, not even the non-special ones
  // that Encode always matches: "<｜User｜>" becomes the pieces of its bytes.
  std::vector<int32_t> EncodeAsText(std::string_view text, size_t max_tokens = static_cast<size_t>(-1)) const;
  const std::string& chat_template() const;
  std::string bos_token() const;  // "" when none
  std::string eos_token() const;

  // Diagnostics: "pre=qwen2 normalizer=NFC vocab=151665 merges=151387 ...".
  std::string Describe() const;

  struct Impl;

 private:
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend struct TokenizerAccess;
};

// Incremental detokenizer: returns only complete UTF-8, holding back the
// bytes of a character split across tokens until it completes. Bytes that
// can never become valid UTF-8 are emitted as U+FFFD.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer);
  std::string Push(int32_t id);
  // Emits what is held back (an incomplete tail becomes U+FFFD) and resets.
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

namespace tokenizer {
using r1::StreamDecoder;
using r1::Tokenizer;
}  // namespace tokenizer

}  // namespace r1
