// Regular expression -> one GBNF expression (a regex needs no named rules:
// groups become parenthesised alternatives).
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "grammar/grammar.h"
#include "grammar/internal.h"
#include "tokenizer/unicode.h"

namespace r1::grammar {
namespace {

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;

Ranges Normalize(Ranges rs) {
  std::sort(rs.begin(), rs.end());
  Ranges out;
  for (auto r : rs) {
    if (!out.empty() && r.first <= out.back().second + 1)
      out.back().second = std::max(out.back().second, r.second);
    else
      out.push_back(r);
  }
  return out;
}

Ranges Complement(const Ranges& rs) {
  Ranges out;
  uint32_t next = 0;
  for (auto r : Normalize(rs)) {
    if (r.first > next) out.emplace_back(next, r.first - 1);
    next = r.second + 1;
  }
  if (next <= 0x10FFFF) out.emplace_back(next, 0x10FFFF);
  return out;
}

Ranges Subtract(const Ranges& a, const Ranges& b) {
  Ranges out;
  const Ranges nb = Complement(b);
  for (auto x : Normalize(a))
    for (auto y : nb) {
      const uint32_t lo = std::max(x.first, y.first), hi = std::min(x.second, y.second);
      if (lo <= hi) out.emplace_back(lo, hi);
    }
  return out;
}

std::string ClassCp(uint32_t cp) {
  if (cp >= 0x20 && cp < 0x7F && cp != ']' && cp != '\\' && cp != '-' && cp != '^' && cp != '"')
    return std::string(1, static_cast<char>(cp));
  if (cp < 0x80) return fmt::format("\\x{:02X}", cp);
  if (cp < 0x10000) return fmt::format("\\u{:04X}", cp);
  return fmt::format("\\U{:08X}", cp);
}

class RegexParser {
 public:
  RegexParser(std::string_view re, bool json) : re_(re), json_(json) {}

  StatusOr<std::string> Run() {
    size_t b = 0, e = re_.size();
    if (b < e && re_[b] == '^') ++b;
    if (e > b && re_[e - 1] == '$' && (e < 2 || re_[e - 2] != '\\')) --e;
    re_ = re_.substr(b, e - b);
    std::string out;
    R1_RETURN_IF_ERROR(Alt(&out, 0));
    if (i_ < re_.size()) return Err(re_[i_] == ')' ? "unmatched ')'" : "unexpected character");
    return out.empty() ? std::string("\"\"") : out;
  }

 private:
  Status Err(const std::string& what) const {
    return Status::InvalidArgument(fmt::format("regex: {} at offset {} of \"{}\"", what, i_, re_));
  }

  Status Alt(std::string* out, int depth) {
    if (depth > 100) return Err("groups nested too deeply");
    std::vector<std::string> alts(1);
    R1_RETURN_IF_ERROR(Seq(&alts.back(), depth));
    while (i_ < re_.size() && re_[i_] == '|') {
      ++i_;
      alts.emplace_back();
      R1_RETURN_IF_ERROR(Seq(&alts.back(), depth));
    }
    if (alts.size() == 1) {
      *out = alts[0];
      return Status::Ok();
    }
    *out = "(";
    for (size_t k = 0; k < alts.size(); ++k) *out += (k ? " | " : " ") + (alts[k].empty() ? "\"\"" : alts[k]);
    *out += " )";
    return Status::Ok();
  }

  Status Seq(std::string* out, int depth) {
    while (i_ < re_.size() && re_[i_] != '|' && re_[i_] != ')') {
      std::string atom;
      R1_RETURN_IF_ERROR(Atom(&atom, depth));
      // Quantifiers.
      while (i_ < re_.size()) {
        const char q = re_[i_];
        std::string suffix;
        if (q == '*' || q == '+' || q == '?') {
          suffix = std::string(1, q);
          ++i_;
        } else if (q == '{') {
          const size_t close = re_.find('}', i_);
          if (close == std::string_view::npos) return Err("unterminated {m,n}");
          const std::string_view body = re_.substr(i_ + 1, close - i_ - 1);
          if (body.empty() || body.find_first_not_of("0123456789,") != std::string_view::npos ||
              body[0] == ',' || std::count(body.begin(), body.end(), ',') > 1)
            return Err("bad {m,n}");
          suffix = "{" + std::string(body) + "}";
          i_ = close + 1;
        } else {
          break;
        }
        if (i_ < re_.size() && re_[i_] == '?') ++i_;  // lazy: the same language
        if (i_ < re_.size() && re_[i_] == '+') return Err("possessive quantifiers are not supported");
        if (i_ < re_.size() && (re_[i_] == '*' || re_[i_] == '+' || re_[i_] == '?' || re_[i_] == '{'))
          return Err("nothing to repeat");
        atom = "(" + atom + ")" + suffix;
      }
      if (!out->empty()) *out += " ";
      *out += atom;
    }
    return Status::Ok();
  }

  Status Atom(std::string* out, int depth) {
    const char c = re_[i_];
    if (c == '(') {
      ++i_;
      if (re_.substr(i_, 2) == "?:") {
        i_ += 2;
      } else if (re_.substr(i_, 2) == "?<" && re_.substr(i_, 3) != "?<=" && re_.substr(i_, 3) != "?<!") {
        const size_t close = re_.find('>', i_);
        if (close == std::string_view::npos) return Err("unterminated group name");
        i_ = close + 1;
      } else if (i_ < re_.size() && re_[i_] == '?') {
        return Err("lookaround and other (?...) groups are not supported");
      }
      std::string inner;
      R1_RETURN_IF_ERROR(Alt(&inner, depth + 1));
      if (i_ >= re_.size() || re_[i_] != ')') return Err("expected ')'");
      ++i_;
      *out = inner.empty() ? "\"\"" : "(" + inner + ")";
      return Status::Ok();
    }
    if (c == '[') return Class(out);
    if (c == '.') {
      ++i_;
      return EmitClass(Complement({{'\n', '\n'}, {'\r', '\r'}}), out);
    }
    if (c == '^' || c == '$') return Err("anchors are supported only at the ends");
    if (c == '*' || c == '+' || c == '?' || c == '{') return Err("nothing to repeat");
    if (c == '\\') {
      Ranges rs;
      uint32_t cp = 0;
      bool is_class;
      R1_RETURN_IF_ERROR(Escape(&cp, &rs, &is_class));
      if (is_class) return EmitClass(rs, out);
      *out = Literal(cp);
      return Status::Ok();
    }
    uint32_t cp = 0;
    R1_RETURN_IF_ERROR(Utf8(&cp));
    *out = Literal(cp);
    return Status::Ok();
  }

  Status Utf8(uint32_t* cp) {
    if (!NextCodePoint(re_, &i_, cp)) return Err("invalid UTF-8");
    return Status::Ok();
  }

  // After '\': a character, or a class (\d \w \s and their negations).
  Status Escape(uint32_t* cp, Ranges* rs, bool* is_class) {
    ++i_;
    if (i_ >= re_.size()) return Err("dangling '\\'");
    const char e = re_[i_++];
    *is_class = false;
    static const Ranges kDigit{{'0', '9'}}, kWord{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}},
        kSpace{{'\t', '\r'}, {' ', ' '}};
    switch (e) {
      case 'd': *rs = kDigit, *is_class = true; return Status::Ok();
      case 'D': *rs = Complement(kDigit), *is_class = true; return Status::Ok();
      case 'w': *rs = kWord, *is_class = true; return Status::Ok();
      case 'W': *rs = Complement(kWord), *is_class = true; return Status::Ok();
      case 's': *rs = kSpace, *is_class = true; return Status::Ok();
      case 'S': *rs = Complement(kSpace), *is_class = true; return Status::Ok();
      case 'n': *cp = '\n'; return Status::Ok();
      case 't': *cp = '\t'; return Status::Ok();
      case 'r': *cp = '\r'; return Status::Ok();
      case 'f': *cp = '\f'; return Status::Ok();
      case 'v': *cp = '\v'; return Status::Ok();
      case '0': *cp = 0; return Status::Ok();
      case 'x': case 'u': {
        const int digits = e == 'x' ? 2 : 4;
        uint32_t v = 0;
        for (int k = 0; k < digits; ++k, ++i_) {
          if (i_ >= re_.size() || !std::isxdigit(static_cast<unsigned char>(re_[i_]))) return Err("bad hex escape");
          const char h = re_[i_];
          v = v * 16 + static_cast<uint32_t>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
        }
        if (v >= 0xD800 && v <= 0xDFFF) return Err("surrogate escape");
        *cp = v;
        return Status::Ok();
      }
      default:
        if ((e >= '1' && e <= '9') || e == 'b' || e == 'B' || e == 'k' || e == 'p' || e == 'P')
          return Err(fmt::format("'\\{}' is not supported", e));
        if (std::isalnum(static_cast<unsigned char>(e))) return Err(fmt::format("unknown escape '\\{}'", e));
        *cp = static_cast<unsigned char>(e);
        return Status::Ok();
    }
  }

  Status Class(std::string* out) {
    ++i_;
    bool negate = false;
    if (i_ < re_.size() && re_[i_] == '^') negate = true, ++i_;
    Ranges rs;
    bool first = true;
    for (;;) {
      if (i_ >= re_.size()) return Err("unterminated character class");
      if (re_[i_] == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      uint32_t lo = 0;
      if (re_[i_] == '\\') {
        Ranges cls;
        bool is_class;
        R1_RETURN_IF_ERROR(Escape(&lo, &cls, &is_class));
        if (is_class) {
          rs.insert(rs.end(), cls.begin(), cls.end());
          continue;
        }
      } else {
        R1_RETURN_IF_ERROR(Utf8(&lo));
      }
      uint32_t hi = lo;
      if (i_ + 1 < re_.size() && re_[i_] == '-' && re_[i_ + 1] != ']') {
        ++i_;
        if (re_[i_] == '\\') {
          Ranges cls;
          bool is_class;
          R1_RETURN_IF_ERROR(Escape(&hi, &cls, &is_class));
          if (is_class) return Err("a class escape cannot end a range");
        } else {
          R1_RETURN_IF_ERROR(Utf8(&hi));
        }
        if (hi < lo) return Err("character range out of order");
      }
      rs.emplace_back(lo, hi);
    }
    return EmitClass(negate ? Complement(rs) : rs, out);
  }

  Status EmitClass(Ranges rs, std::string* out) {
    // Inside a JSON string, a quote, a backslash and control characters
    // cannot appear raw (the pattern applies to the decoded value; escapes
    // are left out to keep the language regular and simple).
    if (json_) rs = Subtract(rs, {{0, 0x1F}, {'"', '"'}, {'\\', '\\'}});
    rs = Normalize(rs);
    if (rs.empty()) return Err("character class matches nothing (inside a JSON string)");
    *out = "[";
    for (auto [lo, hi] : rs) {
      *out += ClassCp(lo);
      if (hi != lo) *out += "-" + ClassCp(hi);
    }
    *out += "]";
    return Status::Ok();
  }

  std::string Literal(uint32_t cp) const {
    std::string text;
    if (json_ && cp == '"') {
      text = "\\\"";
    } else if (json_ && cp == '\\') {
      text = "\\\\";
    } else if (json_ && cp < 0x20) {
      text = fmt::format("\\u{:04x}", cp);
    } else {
      tok::AppendUtf8(cp, &text);
    }
    return GbnfLiteral(text);
  }

  std::string_view re_;
  bool json_;
  size_t i_ = 0;
};

}  // namespace

bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  if (*i >= s.size()) return false;
  bool valid = false;
  tok::Utf8SeqLen(reinterpret_cast<const uint8_t*>(s.data()) + *i, s.size() - *i, &valid);
  if (!valid) return false;
  *cp = tok::DecodeUtf8(s, i);
  return true;
}

std::string GbnfLiteral(std::string_view bytes) {
  std::string out = "\"";
  for (char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7F) out += fmt::format("\\x{:02X}", c);
    else out.push_back(ch);  // UTF-8 passes through (a raw byte >= 0x80 would need \x, which means a byte)
  }
  return out + "\"";
}

StatusOr<std::string> RegexExpr(std::string_view regex, bool inside_json_string) {
  if (regex.size() > 65536) return Status::InvalidArgument("regex: longer than 64 KiB");
  return RegexParser(regex, inside_json_string).Run();
}

StatusOr<std::string> RegexToGbnf(std::string_view regex) {
  auto e = RegexExpr(regex, false);
  if (!e.ok()) return e.status();
  return "root ::= " + e.value() + "\n";
}

}  // namespace r1::grammar
