#include "jinja/jinja_string.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstdio>

namespace r1::jinja {

std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i);
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t n = utf8proc_iterate(p, static_cast<utf8proc_ssize_t>(s.size() - i), &cp);
    if (n <= 0) {
      out.push_back(kRawByteBase + static_cast<unsigned char>(s[i]));
      ++i;
    } else {
      out.push_back(static_cast<char32_t>(cp));
      i += static_cast<size_t>(n);
    }
  }
  return out;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp >= kRawByteBase) {
    out.push_back(static_cast<char>(cp - kRawByteBase));
    return;
  }
  utf8proc_uint8_t buf[4];
  utf8proc_ssize_t n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

std::string EncodeUtf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) AppendUtf8(out, c);
  return out;
}

size_t CodePointCount(std::string_view s) { return DecodeUtf8(s).size(); }

bool IsPySpace(char32_t c) {
  if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return true;
  if (c < 0x80 || c >= kRawByteBase) return false;
  if (c == 0x85) return true;
  auto cat = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right) {
  std::u32string u = DecodeUtf8(s);
  std::u32string set = chars ? DecodeUtf8(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) {
    return chars ? set.find(c) != std::u32string::npos : IsPySpace(c);
  };
  size_t b = 0, e = u.size();
  if (left) while (b < e && strip_it(u[b])) ++b;
  if (right) while (e > b && strip_it(u[e - 1])) --e;
  return EncodeUtf8(std::u32string_view(u).substr(b, e - b));
}

bool PySplit(std::string_view s, const std::optional<std::string>& sep, int64_t maxsplit,
             bool from_right, std::vector<std::string>* out) {
  out->clear();
  if (sep && sep->empty()) return false;
  if (maxsplit < 0) maxsplit = INT64_MAX;
  if (sep) {
    std::vector<std::string> parts;
    if (!from_right) {
      size_t pos = 0;
      while (maxsplit-- > 0) {
        size_t f = s.find(*sep, pos);
        if (f == std::string_view::npos) break;
        parts.emplace_back(s.substr(pos, f - pos));
        pos = f + sep->size();
      }
      parts.emplace_back(s.substr(pos));
    } else {
      size_t end = s.size();
      while (maxsplit-- > 0 && end >= sep->size()) {
        size_t f = s.rfind(*sep, end - sep->size());
        if (f == std::string_view::npos) break;
        parts.emplace_back(s.substr(f + sep->size(), end - f - sep->size()));
        end = f;
      }
      parts.emplace_back(s.substr(0, end));
      std::reverse(parts.begin(), parts.end());
    }
    *out = std::move(parts);
    return true;
  }
  // Whitespace split.
  std::u32string u = DecodeUtf8(s);
  std::vector<std::string> parts;
  if (!from_right) {
    size_t i = 0;
    while (true) {
      while (i < u.size() && IsPySpace(u[i])) ++i;
      if (i >= u.size()) break;
      if (maxsplit == 0) {
        size_t e = u.size();
        while (e > i && IsPySpace(u[e - 1])) --e;
        parts.push_back(EncodeUtf8(std::u32string_view(u).substr(i, e - i)));
        break;
      }
      size_t j = i;
      while (j < u.size() && !IsPySpace(u[j])) ++j;
      parts.push_back(EncodeUtf8(std::u32string_view(u).substr(i, j - i)));
      --maxsplit;
      i = j;
    }
  } else {
    size_t e = u.size();
    while (true) {
      while (e > 0 && IsPySpace(u[e - 1])) --e;
      if (e == 0) break;
      if (maxsplit == 0) {
        size_t b = 0;
        while (b < e && IsPySpace(u[b])) ++b;
        parts.push_back(EncodeUtf8(std::u32string_view(u).substr(b, e - b)));
        break;
      }
      size_t b = e;
      while (b > 0 && !IsPySpace(u[b - 1])) --b;
      parts.push_back(EncodeUtf8(std::u32string_view(u).substr(b, e - b)));
      --maxsplit;
      e = b;
    }
    std::reverse(parts.begin(), parts.end());
  }
  *out = std::move(parts);
  return true;
}

std::string PyReplace(std::string_view s, std::string_view old_s, std::string_view new_s,
                      int64_t count) {
  if (count < 0) count = INT64_MAX;
  std::string out;
  if (old_s.empty()) {
    // Inserts `new_s` before every code point and at the end.
    std::u32string u = DecodeUtf8(s);
    for (char32_t c : u) {
      if (count > 0) { out.append(new_s); --count; }
      AppendUtf8(out, c);
    }
    if (count > 0) out.append(new_s);
    return out;
  }
  size_t pos = 0;
  while (count > 0) {
    size_t f = s.find(old_s, pos);
    if (f == std::string_view::npos) break;
    out.append(s.substr(pos, f - pos));
    out.append(new_s);
    pos = f + old_s.size();
    --count;
  }
  out.append(s.substr(pos));
  return out;
}

namespace {

char32_t ToUpper(char32_t c) {
  return c >= kRawByteBase ? c : static_cast<char32_t>(utf8proc_toupper(static_cast<int32_t>(c)));
}
char32_t ToLower(char32_t c) {
  return c >= kRawByteBase ? c : static_cast<char32_t>(utf8proc_tolower(static_cast<int32_t>(c)));
}
char32_t ToTitle(char32_t c) {
  return c >= kRawByteBase ? c : static_cast<char32_t>(utf8proc_totitle(static_cast<int32_t>(c)));
}
// Python's "cased" letters: Lu, Ll, Lt.
bool IsCased(char32_t c) {
  if (c >= kRawByteBase) return false;
  auto cat = utf8proc_category(static_cast<int32_t>(c));
  return cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT;
}

}  // namespace

std::string PyUpper(std::string_view s) {
  std::string out;
  for (char32_t c : DecodeUtf8(s)) AppendUtf8(out, ToUpper(c));
  return out;
}

std::string PyLower(std::string_view s) {
  std::string out;
  for (char32_t c : DecodeUtf8(s)) AppendUtf8(out, ToLower(c));
  return out;
}

std::string PyCapitalize(std::string_view s) {
  std::u32string u = DecodeUtf8(s);
  std::string out;
  for (size_t i = 0; i < u.size(); ++i) AppendUtf8(out, i == 0 ? ToTitle(u[i]) : ToLower(u[i]));
  return out;
}

std::string PyTitle(std::string_view s) {
  std::string out;
  bool prev_cased = false;
  for (char32_t c : DecodeUtf8(s)) {
    bool cased = IsCased(c);
    AppendUtf8(out, prev_cased ? ToLower(c) : ToTitle(c));
    prev_cased = cased;
  }
  return out;
}

std::string JinjaTitle(std::string_view s) {
  // jinja2: "".join(item[0].upper() + item[1:].lower() for item in
  //   re.split(r"([-\s({\[<]+)", s) if item)
  std::u32string u = DecodeUtf8(s);
  auto is_sep = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsPySpace(c);
  };
  std::string out;
  size_t i = 0;
  while (i < u.size()) {
    size_t j = i;
    bool sep = is_sep(u[i]);
    while (j < u.size() && is_sep(u[j]) == sep) ++j;
    for (size_t k = i; k < j; ++k) AppendUtf8(out, k == i ? ToUpper(u[k]) : ToLower(u[k]));
    i = j;
  }
  return out;
}

namespace {

bool IsPyPrintable(char32_t c) {
  if (c >= kRawByteBase) return false;
  if (c < 0x20 || c == 0x7f) return false;
  if (c < 0x7f) return true;
  switch (utf8proc_category(static_cast<int32_t>(c))) {
    case UTF8PROC_CATEGORY_CC: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: case UTF8PROC_CATEGORY_CN: case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP: case UTF8PROC_CATEGORY_ZS:
      return false;
    default:
      return true;
  }
}

}  // namespace

std::string PyRepr(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char quote = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (char32_t c : DecodeUtf8(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c >= kRawByteBase) {
      // Python would hold a surrogate escape here; show the byte.
      std::snprintf(buf, sizeof buf, "\\udc%02x", static_cast<unsigned>(c - kRawByteBase + 0x80) & 0xff);
      out += buf;
    } else if (IsPyPrintable(c)) {
      AppendUtf8(out, c);
    } else if (c < 0x100) {
      std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c < 0x10000) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else {
      std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      out += buf;
    }
  }
  out.push_back(quote);
  return out;
}

std::string PyFloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci = [-]D[.DDDD]e(+|-)XX
  bool neg = sci[0] == '-';
  if (neg) sci.erase(0, 1);
  size_t epos = sci.find('e');
  int exp = std::atoi(sci.c_str() + epos + 1);
  std::string digits;
  for (size_t i = 0; i < epos; ++i)
    if (sci[i] != '.') digits.push_back(sci[i]);
  int decpt = exp + 1;  // digits before the decimal point
  std::string out = neg ? "-" : "";
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
    } else if (static_cast<size_t>(decpt) >= digits.size()) {
      out += digits + std::string(static_cast<size_t>(decpt) - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, static_cast<size_t>(decpt)) + "." +
             digits.substr(static_cast<size_t>(decpt));
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    std::snprintf(buf, sizeof buf, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += buf;
  }
  return out;
}

void AppendJsonString(std::string& out, std::string_view s, bool ensure_ascii) {
  char buf[16];
  out.push_back('"');
  for (char32_t c : DecodeUtf8(s)) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      default: break;
    }
    if (c < 0x20) {
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out += buf;
    } else if (c >= kRawByteBase) {
      std::snprintf(buf, sizeof buf, "\\udc%02x", static_cast<unsigned>(c - kRawByteBase) & 0xff);
      out += buf;
    } else if (ensure_ascii && c >= 0x7f) {
      if (c == 0x7f) {
        out.push_back(0x7f);
      } else if (c < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        char32_t v = c - 0x10000;
        std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", static_cast<unsigned>(0xd800 + (v >> 10)),
                      static_cast<unsigned>(0xdc00 + (v & 0x3ff)));
        out += buf;
      }
    } else {
      AppendUtf8(out, c);
    }
  }
  out.push_back('"');
}

}  // namespace r1::jinja
