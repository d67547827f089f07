// UTF-8 helpers for the tokenizer: validation with U+FFFD replacement,
// Unicode normalization (utf8proc) and the GPT-2 byte-level alphabet.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace r1::tok {

// Length of the UTF-8 sequence that starts at p[0] (n > 0 bytes available).
// Sets *valid. When the sequence is invalid, returns the length of its
// "maximal subpart" (Unicode §3.9, Table 3-7; the rule that WHATWG's
// TextDecoder and Python's errors="replace" follow), which is always >= 1.
// When the sequence is valid but truncated by n, *valid is false as well.
size_t Utf8SeqLen(const uint8_t* p, size_t n, bool* valid);

// True when the whole string is well-formed UTF-8 (no surrogates, no
// overlongs, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Replaces each maximal invalid subpart by U+FFFD (EF BF BD).
std::string SanitizeUtf8(std::string_view s);

// Decodes the code point at s[i] (s must be valid UTF-8); advances i.
uint32_t DecodeUtf8(std::string_view s, size_t* i);
void AppendUtf8(uint32_t cp, std::string* out);

enum class NormalizationForm { kNone, kNfc, kNfd, kNfkc, kNfkd };
// Applies `form` to valid UTF-8 input using utf8proc. ASCII input is
// returned unchanged without calling utf8proc.
std::string Normalize(NormalizationForm form, std::string_view s);
const char* NormalizationFormName(NormalizationForm form);

// GPT-2's bytes_to_unicode(): every byte maps to one printable code point
// (printable Latin-1 bytes map to themselves, the rest to U+0100 + k).
// Token strings in byte-level vocabularies (tokenizer.json, GGUF "gpt2")
// are spelled in this alphabet.
const std::array<std::string, 256>& ByteToUnicode();
// Maps a byte-level spelling back to raw bytes. Returns false when a code
// point is outside the alphabet (then *out holds the raw UTF-8 of that
// code point, so the caller can still keep the token).
bool ByteLevelDecode(std::string_view s, std::string* out);

}  // namespace r1::tok
