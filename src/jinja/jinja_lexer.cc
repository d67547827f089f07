#include "jinja/jinja_lexer.h"

#include <cctype>
#include <cstring>

#include "jinja/jinja_string.h"

namespace r1::jinja {

const char* TokenTypeName(TokenType t) {
  switch (t) {
    case TokenType::kText: return "text";
    case TokenType::kVarBegin: return "'{{'";
    case TokenType::kVarEnd: return "'}}'";
    case TokenType::kBlockBegin: return "'{%'";
    case TokenType::kBlockEnd: return "'%}'";
    case TokenType::kName: return "name";
    case TokenType::kString: return "string";
    case TokenType::kInt: return "integer";
    case TokenType::kFloat: return "float";
    case TokenType::kOp: return "operator";
    case TokenType::kEof: return "end of template";
  }
  return "token";
}

namespace {

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

Status Err(int line, const std::string& msg) {
  return Status::InvalidArgument("line " + std::to_string(line) + ": " + msg);
}

// Python's unicode-escape decoding of a string literal body.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c != '\\' || i + 1 >= s.size()) {
      out.push_back(c);
      continue;
    }
    char e = s[++i];
    auto hex = [&](size_t n) -> long {
      if (i + n >= s.size()) return -1;
      long v = 0;
      for (size_t k = 1; k <= n; ++k) {
        char h = s[i + k];
        if (!std::isxdigit(static_cast<unsigned char>(h))) return -1;
        v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return v;
    };
    switch (e) {
      case '\n': break;
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x': case 'u': case 'U': {
        size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        long v = hex(n);
        if (v < 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
          out.push_back('\\');  // invalid escape: keep it literally
          out.push_back(e);
        } else {
          AppendUtf8(out, static_cast<char32_t>(v));
          i += n;
        }
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0';
          for (int k = 0; k < 2 && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '7'; ++k)
            v = v * 8 + (s[++i] - '0');
          AppendUtf8(out, static_cast<char32_t>(v));
        } else {
          out.push_back('\\');
          out.push_back(e);
        }
    }
  }
  return out;
}

const char* const kOps[] = {"**", "//", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~",
                            "[", "]", "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};

class Lexer {
 public:
  explicit Lexer(std::string src) : src_(std::move(src)) {}

  StatusOr<std::vector<Token>> Run() {
    size_t n = src_.size();
    while (pos_ < n) {
      size_t tag = FindTagStart(pos_);
      std::string text = src_.substr(pos_, (tag == std::string::npos ? n : tag) - pos_);
      if (tag == std::string::npos) {
        Emit(TokenType::kText, text);
        AdvanceTo(n);
        break;
      }
      char kind = src_[tag + 1];
      char sign = tag + 2 < n && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
      if (sign == '-') {
        size_t e = text.size();
        while (e > 0 && IsWs(text[e - 1])) --e;
        text.resize(e);
      } else if (sign != '+' && kind != '{') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        if ((l_pos > 0 || line_starting_) && l_pos < text.size()) {
          bool all_ws = true;
          for (size_t i = l_pos; i < text.size(); ++i) all_ws &= IsWs(text[i]);
          if (all_ws) text.resize(l_pos);
        }
      }
      Emit(TokenType::kText, text);
      AdvanceTo(tag + 2 + (sign ? 1 : 0));
      Status st = kind == '#' ? LexComment() : kind == '{' ? LexTag(true) : LexBlockOrRaw();
      if (!st.ok()) return st;
    }
    tokens_.push_back({TokenType::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t FindTagStart(size_t from) const {
    for (size_t i = src_.find('{', from); i != std::string::npos; i = src_.find('{', i + 1)) {
      if (i + 1 < src_.size() && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#'))
        return i;
    }
    return std::string::npos;
  }

  void AdvanceTo(size_t p) {
    for (size_t i = pos_; i < p && i < src_.size(); ++i) line_ += src_[i] == '\n';
    pos_ = p;
  }

  void Emit(TokenType t, std::string v) {
    if (t == TokenType::kText && v.empty()) return;
    int line = line_;
    tokens_.push_back({t, std::move(v), line});
  }

  // After a tag end: `-` strips following whitespace; otherwise a block or
  // comment end removes one newline (trim_blocks).
  void AfterTagEnd(char sign, bool trim) {
    if (sign == '-') {
      size_t p = pos_;
      while (p < src_.size() && IsWs(src_[p])) ++p;
      AdvanceTo(p);
    } else if (sign != '+' && trim && pos_ < src_.size() && src_[pos_] == '\n') {
      AdvanceTo(pos_ + 1);
    }
    line_starting_ = pos_ > 0 && src_[pos_ - 1] == '\n';
  }

  Status LexComment() {
    int start = line_;
    size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) return Err(start, "unexpected end of template (unclosed comment)");
    char sign = end > pos_ && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
    AdvanceTo(end + 2);
    AfterTagEnd(sign, true);
    return Status::Ok();
  }

  Status LexBlockOrRaw() {
    // {% raw %}...{% endraw %}: the body is text, untouched.
    size_t p = pos_;
    while (p < src_.size() && IsWs(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") == 0 && (p + 3 >= src_.size() || !std::isalnum(static_cast<unsigned char>(src_[p + 3])))) {
      size_t q = p + 3;
      while (q < src_.size() && IsWs(src_[q])) ++q;
      char sign = 0;
      if (q < src_.size() && src_[q] == '-') { sign = '-'; ++q; }
      if (src_.compare(q, 2, "%}") == 0) return LexRaw(q + 2, sign);
    }
    return LexTag(false);
  }

  Status LexRaw(size_t body_start, char begin_sign) {
    int start = line_;
    AdvanceTo(body_start);
    if (begin_sign == '-') AfterTagEnd('-', false);
    for (size_t i = src_.find("{%", pos_); i != std::string::npos; i = src_.find("{%", i + 1)) {
      size_t q = i + 2;
      char sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q++] : 0;
      while (q < src_.size() && IsWs(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && IsWs(src_[q])) ++q;
      char end_sign = q < src_.size() && (src_[q] == '-' || src_[q] == '+') ? src_[q++] : 0;
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, i - pos_);
      if (sign == '-') {
        while (!text.empty() && IsWs(text.back())) text.pop_back();
      } else if (sign != '+') {
        size_t l_pos = text.rfind('\n');
        l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
        bool all_ws = l_pos < text.size();
        for (size_t k = l_pos; k < text.size(); ++k) all_ws &= IsWs(text[k]);
        if (all_ws && (l_pos > 0 || line_starting_)) text.resize(l_pos);
      }
      Emit(TokenType::kText, text);
      AdvanceTo(q + 2);
      AfterTagEnd(end_sign, true);
      return Status::Ok();
    }
    return Err(start, "unexpected end of template (missing {% endraw %})");
  }

  Status LexTag(bool variable) {
    int start = line_;
    Emit(variable ? TokenType::kVarBegin : TokenType::kBlockBegin, "");
    int depth = 0;
    const char* close = variable ? "}}" : "%}";
    while (true) {
      while (pos_ < src_.size() && IsWs(src_[pos_])) AdvanceTo(pos_ + 1);
      if (pos_ >= src_.size())
        return Err(start, std::string("unexpected end of template (unclosed '") + (variable ? "{{" : "{%") + "')");
      if (depth == 0) {
        char sign = 0;
        size_t p = pos_;
        if (src_[p] == '-' || (src_[p] == '+' && !variable)) sign = src_[p++];
        if (src_.compare(p, 2, close) == 0) {
          Emit(variable ? TokenType::kVarEnd : TokenType::kBlockEnd, "");
          AdvanceTo(p + 2);
          AfterTagEnd(sign, !variable);
          return Status::Ok();
        }
      }
      char c = src_[pos_];
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos_;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        Emit(TokenType::kName, src_.substr(pos_, e - pos_));
        AdvanceTo(e);
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        LexNumber();
      } else if (c == '\'' || c == '"') {
        size_t e = pos_ + 1;
        while (e < src_.size() && src_[e] != c) e += src_[e] == '\\' ? 2 : 1;
        if (e >= src_.size()) return Err(line_, "unterminated string");
        Emit(TokenType::kString, Unescape(std::string_view(src_).substr(pos_ + 1, e - pos_ - 1)));
        AdvanceTo(e + 1);
      } else {
        const char* op = nullptr;
        for (const char* o : kOps) {
          if (src_.compare(pos_, std::strlen(o), o) == 0) { op = o; break; }
        }
        if (!op) return Err(line_, std::string("unexpected char '") + c + "'");
        if (*op == '(' || *op == '[' || *op == '{') ++depth;
        if (*op == ')' || *op == ']' || *op == '}') {
          if (depth == 0) return Err(line_, std::string("unexpected '") + op + "'");
          --depth;
        }
        Emit(TokenType::kOp, op);
        AdvanceTo(pos_ + std::strlen(op));
      }
    }
  }

  void LexNumber() {
    auto digits = [&](size_t p) {
      while (p < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[p])) ||
                                 (src_[p] == '_' && p + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p + 1])))))
        ++p;
      return p;
    };
    size_t e = digits(pos_);
    bool is_float = false;
    bool after_dot = !tokens_.empty() && tokens_.back().type == TokenType::kOp && tokens_.back().value == ".";
    if (!after_dot) {
      if (e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
        e = digits(e + 1);
        is_float = true;
      }
      if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
        size_t p = e + 1;
        if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
        if (p < src_.size() && std::isdigit(static_cast<unsigned char>(src_[p]))) {
          e = digits(p);
          is_float = true;
        }
      }
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i)
      if (src_[i] != '_') text.push_back(src_[i]);
    Emit(is_float ? TokenType::kFloat : TokenType::kInt, text);
    AdvanceTo(e);
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;
  std::vector<Token> tokens_;
};

}  // namespace

StatusOr<std::vector<Token>> Tokenize(const std::string& source) {
  std::string src;
  src.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      src.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      src.push_back(source[i]);
    }
  }
  if (!src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src)).Run();
}

}  // namespace r1::jinja
