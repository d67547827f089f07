// Helpers shared by the GBNF generators (regex.cc, json_schema.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "r1/status.h"

namespace r1::grammar {

// The code point at s[*i] when a well-formed UTF-8 sequence starts there
// (tok::Utf8SeqLen's rules: no overlongs, surrogates or cut sequences);
// advances *i. False, *i unchanged, otherwise.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp);
// `bytes` (UTF-8) as a GBNF string literal, quotes included.
std::string GbnfLiteral(std::string_view bytes);
// A regex as one GBNF expression; inside_json_string: what it matches is the
// content of a JSON string (quotes, backslashes and controls escaped or left out).
[[nodiscard]] StatusOr<std::string> RegexExpr(std::string_view regex, bool inside_json_string);

}  // namespace r1::grammar
