// Pre-tokenization: splitting normalized text into the pieces ("words")
// that BPE encodes one by one, with Hugging Face `tokenizers` semantics.
//
// Supported steps (each applied to every piece the previous step produced,
// exactly like HF's pre_tokenizers::Sequence):
//   Split    {pattern: Regex|String, behavior, invert}
//   Digits   {individual_digits}    == Split(\p{N} or \p{N}+, Isolated)
//   ByteLevel{add_prefix_space, use_regex}: with use_regex, the GPT-2 split;
//            the byte→char mapping itself is implicit because BPE here works
//            on raw bytes (see bpe.h).
//
// Regexes run on PCRE2 (JIT, UTF + UCP); see README.md for why, and for how
// the HF/Oniguruma syntax is translated (\s → Unicode White_Space).
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "r1/status.h"
#include "tokenizer/unicode.h"

namespace r1::tok {

// A compiled PCRE2 pattern. Thread-safe: match data and the JIT stack are
// per thread.
class Regex {
 public:
  // `pattern` is in HF (Oniguruma) syntax unless `literal`.
  static StatusOr<std::unique_ptr<Regex>> Compile(std::string_view pattern, bool literal);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Leftmost match in `subject` at or after byte `start`. `subject` must be
  // valid UTF-8 (it is not re-checked) and is the whole haystack: anchors and
  // lookarounds do not see past its ends.
  bool Find(std::string_view subject, size_t start, size_t* match_begin, size_t* match_end) const;
  const std::string& source() const { return source_; }
  const std::string& translated() const { return translated_; }

 private:
  Regex() = default;
  std::string source_, translated_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

// Translates HF/Oniguruma regex syntax to PCRE2: \s and \S become explicit
// Unicode White_Space classes, and `\s+$` gets a lookbehind that keeps it
// linear-time (same matches). Exposed for tests.
std::string TranslatePattern(std::string_view pattern);

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct PreTokenizerStep {
  enum class Kind { kSplit, kPrefixSpace } kind = Kind::kSplit;
  std::unique_ptr<Regex> regex;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
};

class PreTokenizer {
 public:
  // Appends one Split step.
  Status AddSplit(std::string_view pattern, bool literal, SplitBehavior behavior, bool invert);
  // HF ByteLevel(add_prefix_space, use_regex).
  Status AddByteLevel(bool add_prefix_space, bool use_regex);
  void AddDigits(bool individual_digits);

  // The llama.cpp / GGUF `tokenizer.ggml.pre` names this file knows, each the
  // exact sequence its model's tokenizer.json declares. Unknown names are an
  // InvalidArgument error listing the known ones.
  static StatusOr<PreTokenizer> FromPresetName(std::string_view name);
  static const std::vector<std::string>& PresetNames();
  // GGUF has no normalizer key; the form comes from the preset name
  // (qwen2 → NFC, everything else → none). See README.md.
  static NormalizationForm PresetNormalizer(std::string_view name);
  // Whether the model's BPE has ignore_merges (a whole word found in the
  // vocabulary is one token); GGUF has no key for it either.
  static bool PresetIgnoresMerges(std::string_view name);

  // Splits valid UTF-8 `text` into non-empty pieces. Pieces point into
  // `text` or into `arena` (only when a step inserts bytes).
  void Run(std::string_view text, std::vector<std::string_view>* pieces,
           std::deque<std::string>* arena) const;

  bool has_byte_level() const { return has_byte_level_; }
  size_t num_steps() const { return steps_.size(); }

 private:
  std::vector<PreTokenizerStep> steps_;
  bool has_byte_level_ = false;
};

}  // namespace r1::tok
