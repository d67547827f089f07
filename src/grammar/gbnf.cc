// GBNF text -> Grammar (grammar.h): parse to a small tree, then lower every
// construct to byte-level rules. Repetition is right recursion (R ::= X R |
// empty), which the matcher runs as a tail call in constant stack.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "grammar/grammar.h"
#include "grammar/internal.h"
#include "tokenizer/unicode.h"

namespace r1::grammar {
namespace {

constexpr int kMaxRepeat = 4096;
constexpr int kMaxDepth = 200;
constexpr uint32_t kMaxCp = 0x10FFFF;

struct Expr;
using Seq = std::vector<Expr>;
struct Expr {
  enum class Kind { kLiteral, kClass, kRef, kGroup, kRepeat } kind;
  std::string text;                                  // kLiteral: bytes; kRef: name
  std::vector<std::pair<uint32_t, uint32_t>> ranges;  // kClass: code point ranges (after negation)
  std::vector<Seq> alts;                             // kGroup; kRepeat: alts[0][0] is the repeated item
  int min = 0, max = -1;                             // kRepeat; max -1: unbounded
  size_t offset = 0;
};

// ---- Parsing ---------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Status Parse(std::vector<std::pair<std::string, std::vector<Seq>>>* rules, std::vector<std::string>* literals) {
    literals_ = literals;
    Skip();
    while (i_ < t_.size()) {
      const size_t at = i_;
      std::string name = Ident();
      if (name.empty()) return Err("expected a rule name", at);
      rule_ = name;
      Skip();
      if (t_.substr(i_, 3) != "::=") return Err("expected '::=' after the rule name", i_);
      i_ += 3;
      std::vector<Seq> alts;
      R1_RETURN_IF_ERROR(Alternatives(&alts, 0));
      Skip();
      if (i_ < t_.size() && t_[i_] == ')') return Err("unmatched ')'", i_);
      rules->emplace_back(std::move(name), std::move(alts));
    }
    return Status::Ok();
  }

 private:
  Status Err(const std::string& what, size_t at) const {
    std::string near(t_.substr(at, 20));
    for (char& c : near)
      if (c == '\n') c = ' ';
    return Status::InvalidArgument(fmt::format("grammar: {}{} at offset {} (near \"{}\")", what,
                                               rule_.empty() ? "" : " in rule '" + rule_ + "'", at, near));
  }
  void Skip() {
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '#') {
        while (i_ < t_.size() && t_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }
  static bool IdentChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }
  std::string Ident() {
    const size_t b = i_;
    while (i_ < t_.size() && IdentChar(t_[i_])) ++i_;
    return std::string(t_.substr(b, i_ - b));
  }
  bool AtRuleStart() {  // `name ::=` ahead
    size_t j = i_;
    while (j < t_.size() && IdentChar(t_[j])) ++j;
    if (j == i_) return false;
    while (j < t_.size() && (t_[j] == ' ' || t_[j] == '\t' || t_[j] == '\n' || t_[j] == '\r')) ++j;
    return t_.substr(j, 3) == "::=";
  }

  Status Alternatives(std::vector<Seq>* alts, int depth) {
    if (depth > kMaxDepth) return Err("groups nested too deeply", i_);
    alts->emplace_back();
    R1_RETURN_IF_ERROR(Sequence(&alts->back(), depth));
    for (;;) {
      Skip();
      if (i_ >= t_.size() || t_[i_] != '|') return Status::Ok();
      ++i_;
      alts->emplace_back();
      R1_RETURN_IF_ERROR(Sequence(&alts->back(), depth));
    }
  }

  Status Sequence(Seq* seq, int depth) {
    for (;;) {
      Skip();
      if (i_ >= t_.size() || t_[i_] == '|' || t_[i_] == ')' || AtRuleStart()) return Status::Ok();
      Expr e;
      e.offset = i_;
      const char c = t_[i_];
      if (c == '"') {
        ++i_;
        e.kind = Expr::Kind::kLiteral;
        for (;;) {
          if (i_ >= t_.size()) return Err("unterminated string literal", e.offset);
          if (t_[i_] == '"') {
            ++i_;
            break;
          }
          uint32_t cp = 0;
          bool raw_byte;
          R1_RETURN_IF_ERROR(Char(&cp, &raw_byte));
          if (raw_byte)
            e.text.push_back(static_cast<char>(cp));
          else
            tok::AppendUtf8(cp, &e.text);
        }
        literals_->push_back(e.text);
      } else if (c == '[') {
        R1_RETURN_IF_ERROR(Class(&e));
      } else if (c == '.') {
        ++i_;
        e.kind = Expr::Kind::kClass;
        e.ranges = {{0, kMaxCp}};
      } else if (c == '(') {
        ++i_;
        e.kind = Expr::Kind::kGroup;
        R1_RETURN_IF_ERROR(Alternatives(&e.alts, depth + 1));
        Skip();
        if (i_ >= t_.size() || t_[i_] != ')') return Err("expected ')'", e.offset);
        ++i_;
      } else if (IdentChar(c)) {
        e.kind = Expr::Kind::kRef;
        e.text = Ident();
      } else {
        return Err(fmt::format("unexpected '{}'", c), i_);
      }
      // Quantifiers (several may follow: x?* is (x?)*).
      for (;;) {
        if (i_ >= t_.size()) break;
        const char q = t_[i_];
        int mn = 0, mx = 0;
        const size_t qat = i_;
        if (q == '*') {
          mn = 0, mx = -1, ++i_;
        } else if (q == '+') {
          mn = 1, mx = -1, ++i_;
        } else if (q == '?') {
          mn = 0, mx = 1, ++i_;
        } else if (q == '{') {
          ++i_;
          R1_RETURN_IF_ERROR(Bounds(&mn, &mx, qat));
        } else {
          break;
        }
        Expr r;
        r.kind = Expr::Kind::kRepeat;
        r.min = mn, r.max = mx, r.offset = qat;
        r.alts = {Seq{std::move(e)}};
        e = std::move(r);
      }
      seq->push_back(std::move(e));
    }
  }

  Status Bounds(int* mn, int* mx, size_t at) {
    auto number = [&](int* v) {
      size_t b = i_;
      long long n = 0;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9' && n <= kMaxRepeat) n = n * 10 + (t_[i_++] - '0');
      *v = static_cast<int>(std::min<long long>(n, kMaxRepeat + 1));
      return i_ > b;
    };
    Skip();
    if (!number(mn)) return Err("expected a number in {m,n}", at);
    Skip();
    *mx = *mn;
    if (i_ < t_.size() && t_[i_] == ',') {
      ++i_;
      Skip();
      if (!number(mx)) *mx = -1;
      Skip();
    }
    if (i_ >= t_.size() || t_[i_] != '}') return Err("expected '}'", at);
    ++i_;
    if (*mn > kMaxRepeat || *mx > kMaxRepeat) return Err(fmt::format("repetition count over {}", kMaxRepeat), at);
    if (*mx >= 0 && *mx < *mn) return Err("{m,n} with n < m", at);
    return Status::Ok();
  }

  // One character of a literal or class: an escape or a UTF-8 character.
  // \xHH gives a raw byte (raw_byte true) as llama.cpp's \x does for bytes.
  Status Char(uint32_t* cp, bool* raw_byte) {
    *raw_byte = false;
    const size_t at = i_;
    const auto c = static_cast<unsigned char>(t_[i_]);
    if (c == '\\') {
      if (i_ + 1 >= t_.size()) return Err("dangling '\\'", at);
      const char e = t_[i_ + 1];
      i_ += 2;
      int digits = 0;
      switch (e) {
        case 'n': *cp = '\n'; return Status::Ok();
        case 't': *cp = '\t'; return Status::Ok();
        case 'r': *cp = '\r'; return Status::Ok();
        case '\\': case '"': case '[': case ']': case '-': case '^': case '\'': case '/': case '.': case '(': case ')':
        case '|': case '*': case '+': case '?': case '{': case '}':
          *cp = static_cast<unsigned char>(e);
          return Status::Ok();
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        default: return Err(fmt::format("unknown escape '\\{}'", e), at);
      }
      uint32_t v = 0;
      for (int k = 0; k < digits; ++k, ++i_) {
        if (i_ >= t_.size()) return Err("short hex escape", at);
        const char h = t_[i_];
        int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
        if (d < 0) return Err("bad hex digit in escape", at);
        v = v * 16 + static_cast<uint32_t>(d);
      }
      if (v > kMaxCp || (v >= 0xD800 && v <= 0xDFFF)) return Err("escape is not a Unicode scalar value", at);
      *cp = v;
      *raw_byte = digits == 2 && v >= 0x80;
      return Status::Ok();
    }
    if (!NextCodePoint(t_, &i_, cp)) return Err("invalid UTF-8", at);
    return Status::Ok();
  }

  Status Class(Expr* e) {
    const size_t at = i_;
    ++i_;  // [
    bool negate = false;
    if (i_ < t_.size() && t_[i_] == '^') negate = true, ++i_;
    std::vector<std::pair<uint32_t, uint32_t>> rs;
    for (;;) {
      if (i_ >= t_.size()) return Err("unterminated character class", at);
      if (t_[i_] == ']') {
        ++i_;
        break;
      }
      uint32_t lo = 0, hi = 0;
      bool raw;
      R1_RETURN_IF_ERROR(Char(&lo, &raw));
      hi = lo;
      if (i_ + 1 < t_.size() && t_[i_] == '-' && t_[i_ + 1] != ']') {
        ++i_;
        R1_RETURN_IF_ERROR(Char(&hi, &raw));
        if (hi < lo) return Err("character range out of order", at);
      }
      rs.emplace_back(lo, hi);
    }
    std::sort(rs.begin(), rs.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (auto r : rs) {
      if (!merged.empty() && r.first <= merged.back().second + 1)
        merged.back().second = std::max(merged.back().second, r.second);
      else
        merged.push_back(r);
    }
    if (negate) {
      std::vector<std::pair<uint32_t, uint32_t>> comp;
      uint32_t next = 0;
      for (auto r : merged) {
        if (r.first > next) comp.emplace_back(next, r.first - 1);
        next = r.second + 1;
      }
      if (next <= kMaxCp) comp.emplace_back(next, kMaxCp);
      merged = std::move(comp);
    }
    if (merged.empty()) return Err("character class matches nothing", at);
    e->kind = Expr::Kind::kClass;
    e->ranges = std::move(merged);
    return Status::Ok();
  }

  std::string_view t_;
  size_t i_ = 0;
  std::string rule_;
  std::vector<std::string>* literals_ = nullptr;
};

// ---- UTF-8 ranges ----------------------------------------------------------

using ByteRange = std::pair<uint8_t, uint8_t>;

// A code point range of one encoded length as byte-range sequences (the
// split of Rust's regex-syntax utf8 module): each output matches exactly the
// encodings of its part of [lo, hi].
void SplitSameLength(uint32_t lo, uint32_t hi, int n, std::vector<std::vector<ByteRange>>* out) {
  for (int i = 1; i < n; ++i) {
    const uint32_t m = (1u << (6 * i)) - 1;
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        SplitSameLength(lo, lo | m, n, out);
        SplitSameLength((lo | m) + 1, hi, n, out);
        return;
      }
      if ((hi & m) != m) {
        SplitSameLength(lo, (hi & ~m) - 1, n, out);
        SplitSameLength(hi & ~m, hi, n, out);
        return;
      }
    }
  }
  std::string a, b;
  tok::AppendUtf8(lo, &a);
  tok::AppendUtf8(hi, &b);
  std::vector<ByteRange> seq;
  for (int k = 0; k < n; ++k)
    seq.emplace_back(static_cast<uint8_t>(a[static_cast<size_t>(k)]), static_cast<uint8_t>(b[static_cast<size_t>(k)]));
  out->push_back(std::move(seq));
}

void Utf8Sequences(uint32_t lo, uint32_t hi, std::vector<std::vector<ByteRange>>* out) {
  static constexpr std::pair<uint32_t, uint32_t> kLen[] = {{0, 0x7F}, {0x80, 0x7FF}, {0x800, 0xD7FF},
                                                           {0xE000, 0xFFFF}, {0x10000, kMaxCp}};
  static constexpr int kN[] = {1, 2, 3, 3, 4};
  for (int k = 0; k < 5; ++k) {
    const uint32_t a = std::max(lo, kLen[k].first), b = std::min(hi, kLen[k].second);
    if (a <= b) SplitSameLength(a, b, kN[k], out);
  }
}

// ---- Lowering --------------------------------------------------------------

class Lowerer {
 public:
  Lowerer(Grammar* g, const std::map<std::string, int32_t>& ids) : g_(g), ids_(ids) {}

  // Appends the alternatives of rule `r`.
  Status LowerRule(int32_t r, const std::vector<Seq>& alts) {
    for (const Seq& s : alts) {
      std::vector<Grammar::Sym> syms;
      for (const Expr& e : s) R1_RETURN_IF_ERROR(Item(e, &syms));
      AddAlt(r, syms);
    }
    return Status::Ok();
  }

  std::vector<std::pair<int32_t, Grammar::Sym>> repeats;  // (rule R ::= X R | e, X): X must not be nullable

 private:
  int32_t NewRule(const std::string& why) {
    g_->rules.emplace_back();
    g_->rule_names.push_back(why + "-" + std::to_string(g_->rules.size() - 1));
    return static_cast<int32_t>(g_->rules.size() - 1);
  }
  void AddAlt(int32_t r, const std::vector<Grammar::Sym>& syms) {
    g_->rules[static_cast<size_t>(r)].push_back(static_cast<int32_t>(g_->syms.size()));
    g_->syms.insert(g_->syms.end(), syms.begin(), syms.end());
    g_->syms.push_back({Grammar::Kind::kEnd, 0});
  }
  Grammar::Sym Set(const Grammar::ByteSet& s) {
    auto [it, fresh] = set_ids_.try_emplace(s, static_cast<int32_t>(g_->sets.size()));
    if (fresh) g_->sets.push_back(s);
    return {Grammar::Kind::kBytes, it->second, false};
  }
  Grammar::Sym Range(uint8_t lo, uint8_t hi) {
    Grammar::ByteSet s{};
    for (int b = lo; b <= hi; ++b) s[static_cast<size_t>(b) >> 6] |= uint64_t{1} << (b & 63);
    return Set(s);
  }

  Status Item(const Expr& e, std::vector<Grammar::Sym>* out) {
    switch (e.kind) {
      case Expr::Kind::kLiteral:
        for (char c : e.text) {
          out->push_back(Range(static_cast<uint8_t>(c), static_cast<uint8_t>(c)));
          out->back().literal = true;
        }
        return Status::Ok();
      case Expr::Kind::kRef: {
        auto it = ids_.find(e.text);
        if (it == ids_.end())
          return Status::InvalidArgument(fmt::format("grammar: rule '{}' is used but not defined", e.text));
        out->push_back({Grammar::Kind::kRule, it->second});
        return Status::Ok();
      }
      case Expr::Kind::kClass:
        out->push_back(ClassSym(e));
        return Status::Ok();
      case Expr::Kind::kGroup: {
        if (e.alts.size() == 1) {  // a plain sequence: inline it
          for (const Expr& x : e.alts[0]) R1_RETURN_IF_ERROR(Item(x, out));
          return Status::Ok();
        }
        const int32_t r = NewRule("group");
        R1_RETURN_IF_ERROR(LowerRule(r, e.alts));
        out->push_back({Grammar::Kind::kRule, r});
        return Status::Ok();
      }
      case Expr::Kind::kRepeat: {
        std::vector<Grammar::Sym> body;
        R1_RETURN_IF_ERROR(Item(e.alts[0][0], &body));
        Grammar::Sym x;
        if (body.size() == 1) {
          x = body[0];
        } else {
          const int32_t r = NewRule("item");
          AddAlt(r, body);
          x = {Grammar::Kind::kRule, r};
        }
        for (int k = 0; k < e.min; ++k) out->push_back(x);
        if (e.max < 0) {
          const int32_t r = NewRule("star");
          AddAlt(r, {x, {Grammar::Kind::kRule, r}});
          AddAlt(r, {});
          repeats.emplace_back(r, x);
          out->push_back({Grammar::Kind::kRule, r});
        } else if (e.max > e.min) {
          int32_t prev = -1;
          for (int k = 0; k < e.max - e.min; ++k) {
            const int32_t r = NewRule("opt");
            if (prev < 0)
              AddAlt(r, {x});
            else
              AddAlt(r, {x, {Grammar::Kind::kRule, prev}});
            AddAlt(r, {});
            repeats.emplace_back(r, x);
            prev = r;
          }
          out->push_back({Grammar::Kind::kRule, prev});
        }
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Grammar::Sym ClassSym(const Expr& e) {
    std::vector<std::vector<ByteRange>> seqs;
    for (auto [lo, hi] : e.ranges) Utf8Sequences(lo, hi, &seqs);
    Grammar::ByteSet single{};
    std::vector<std::vector<ByteRange>> multi;
    for (auto& s : seqs) {
      if (s.size() == 1) {
        for (int b = s[0].first; b <= s[0].second; ++b) single[static_cast<size_t>(b) >> 6] |= uint64_t{1} << (b & 63);
      } else {
        multi.push_back(std::move(s));
      }
    }
    if (multi.empty()) return Set(single);
    const int32_t r = NewRule("class");
    if (single != Grammar::ByteSet{}) AddAlt(r, {Set(single)});
    for (auto& s : multi) {
      std::vector<Grammar::Sym> syms;
      for (auto [lo, hi] : s) syms.push_back(Range(lo, hi));
      AddAlt(r, syms);
    }
    return {Grammar::Kind::kRule, r};
  }

  Grammar* g_;
  const std::map<std::string, int32_t>& ids_;
  std::map<Grammar::ByteSet, int32_t> set_ids_;
};

// Nullable rules (can match the empty string), by fixed point.
std::vector<bool> Nullable(const Grammar& g) {
  std::vector<bool> n(g.rules.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t r = 0; r < g.rules.size(); ++r) {
      if (n[r]) continue;
      for (int32_t a : g.rules[r]) {
        bool all = true;
        for (size_t p = static_cast<size_t>(a); g.syms[p].kind != Grammar::Kind::kEnd; ++p) {
          const auto& s = g.syms[p];
          if (s.kind == Grammar::Kind::kBytes || !n[static_cast<size_t>(s.arg)]) {
            all = false;
            break;
          }
        }
        if (all) {
          n[r] = changed = true;
          break;
        }
      }
    }
  }
  return n;
}

}  // namespace

StatusOr<std::shared_ptr<const Grammar>> ParseGbnf(std::string_view text) {
  if (text.size() > (size_t{4} << 20)) return Status::InvalidArgument("grammar: longer than 4 MiB");
  std::vector<std::pair<std::string, std::vector<Seq>>> parsed;
  auto g = std::make_shared<Grammar>();
  g->source = std::string(text);
  R1_RETURN_IF_ERROR(Parser(text).Parse(&parsed, &g->literals));
  // Rule ids: root first, then the others in order.
  std::map<std::string, int32_t> ids;
  std::vector<const std::pair<std::string, std::vector<Seq>>*> order;
  for (const auto& r : parsed)
    if (r.first == "root") order.push_back(&r);
  if (order.empty()) return Status::InvalidArgument("grammar: no 'root' rule");
  for (const auto& r : parsed) {
    if (r.first == "root") continue;
    order.push_back(&r);
  }
  for (const auto* r : order) {
    if (!ids.emplace(r->first, static_cast<int32_t>(ids.size())).second)
      return Status::InvalidArgument(fmt::format("grammar: rule '{}' is defined twice", r->first));
  }
  if (ids.size() != order.size())
    return Status::InvalidArgument("grammar: rule 'root' is defined twice");
  g->rules.resize(ids.size());
  g->rule_names.resize(ids.size());
  for (const auto& [name, id] : ids) g->rule_names[static_cast<size_t>(id)] = name;
  Lowerer low(g.get(), ids);
  for (const auto* r : order) R1_RETURN_IF_ERROR(low.LowerRule(ids.at(r->first), r->second));

  const std::vector<bool> nullable = Nullable(*g);
  for (auto [r, x] : low.repeats) {
    if (x.kind == Grammar::Kind::kRule && nullable[static_cast<size_t>(x.arg)])
      return Status::InvalidArgument(fmt::format("grammar: a repetition of '{}', which can match the empty string",
                                                 g->rule_names[static_cast<size_t>(x.arg)]));
  }
  // Left recursion: a rule that can reach itself before consuming a byte.
  const size_t n = g->rules.size();
  std::vector<std::vector<int32_t>> left(n);
  for (size_t r = 0; r < n; ++r) {
    for (int32_t a : g->rules[r]) {
      for (size_t p = static_cast<size_t>(a); g->syms[p].kind == Grammar::Kind::kRule; ++p) {
        left[r].push_back(g->syms[p].arg);
        if (!nullable[static_cast<size_t>(g->syms[p].arg)]) break;
      }
    }
  }
  // Depth-first search for a cycle in the left-edge graph.
  std::vector<uint8_t> mark(n, 0);  // 0 new, 1 on the stack, 2 done
  for (size_t s = 0; s < n; ++s) {
    if (mark[s]) continue;
    std::vector<std::pair<int32_t, size_t>> stack{{static_cast<int32_t>(s), 0}};
    mark[s] = 1;
    while (!stack.empty()) {
      auto& [r, k] = stack.back();
      if (k < left[static_cast<size_t>(r)].size()) {
        const int32_t q = left[static_cast<size_t>(r)][k++];
        if (mark[static_cast<size_t>(q)] == 1)
          return Status::InvalidArgument(fmt::format("grammar: rule '{}' is left-recursive",
                                                     g->rule_names[static_cast<size_t>(q)]));
        if (mark[static_cast<size_t>(q)] == 0) {
          mark[static_cast<size_t>(q)] = 1;
          stack.emplace_back(q, 0);
        }
      } else {
        mark[static_cast<size_t>(r)] = 2;
        stack.pop_back();
      }
    }
  }
  return std::shared_ptr<const Grammar>(std::move(g));
}

}  // namespace r1::grammar
