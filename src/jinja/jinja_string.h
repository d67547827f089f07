// Python str semantics over UTF-8 bytes, for the Jinja engine.
//
// Jinja templates run on Python strings: len(), slicing, strip() and upper()
// work on code points, and printing a list uses repr(). These helpers give
// the same answers on UTF-8 std::strings.
//
// Invalid UTF-8 (only possible in template text; JSON input is validated) is
// carried through losslessly: each bad byte b decodes to the code point
// kRawByteBase + b and encodes back to the same byte.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace r1::jinja {

inline constexpr char32_t kRawByteBase = 0x110000;

std::u32string DecodeUtf8(std::string_view s);
std::string EncodeUtf8(std::u32string_view s);
void AppendUtf8(std::string& out, char32_t cp);
size_t CodePointCount(std::string_view s);

// Python's str.isspace() for one code point.
bool IsPySpace(char32_t c);

// str.strip / lstrip / rstrip. `chars` == nullopt strips whitespace.
std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right);
// str.split(sep, maxsplit) and str.rsplit. sep == nullopt splits on runs of
// whitespace and drops empty strings. Returns false for an empty separator
// (Python raises ValueError).
bool PySplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
             bool from_right, std::vector<std::string>* out);
// str.replace(old, new, count); count < 0 replaces all.
std::string PyReplace(std::string_view s, std::string_view old_s, std::string_view new_s,
                      int64_t count);
std::string PyUpper(std::string_view s);
std::string PyLower(std::string_view s);
std::string PyCapitalize(std::string_view s);  // str.capitalize()
std::string PyTitle(std::string_view s);       // str.title()
std::string JinjaTitle(std::string_view s);    // jinja2's |title filter

// repr() of a str: 'abc', "it's", with Python's escapes.
std::string PyRepr(std::string_view s);
// repr() of a float: 1.0, 0.1, 1e+20, inf, nan.
std::string PyFloatRepr(double d);
// json.dumps of a str with ensure_ascii as given.
void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii);

}  // namespace r1::jinja
