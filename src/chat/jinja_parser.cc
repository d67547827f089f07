#include "chat/jinja_parser.h"

#include <cerrno>
#include <cstdlib>
#include <set>

#include "chat/jinja_lexer.h"

namespace r1::jinja {
namespace {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  StatusOr<StmtList> ParseAll() {
    StmtList body;
    R1_RETURN_IF_ERROR(ParseBody({}, &body));
    if (Cur().type != TokenType::kEof) return Err("unexpected '" + Cur().value + "'");
    return body;
  }

 private:
  // ---- token helpers ------------------------------------------------------
  const Token& Cur() const { return t_[i_]; }
  const Token& Peek(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  void Next() { if (i_ + 1 < t_.size()) ++i_; }
  bool IsOp(const char* op) const { return Cur().type == TokenType::kOp && Cur().value == op; }
  bool IsName(const char* n) const { return Cur().type == TokenType::kName && Cur().value == n; }
  bool SkipOp(const char* op) { if (IsOp(op)) { Next(); return true; } return false; }
  bool SkipName(const char* n) { if (IsName(n)) { Next(); return true; } return false; }

  Status Err(const std::string& msg) const {
    return Status::InvalidArgument("line " + std::to_string(Cur().line) + ": " + msg);
  }
  std::string Describe() const {
    const Token& c = Cur();
    if (c.type == TokenType::kName || c.type == TokenType::kOp) return "'" + c.value + "'";
    return TokenTypeName(c.type);
  }
  Status ExpectOp(const char* op) {
    if (!SkipOp(op)) return Err(std::string("expected '") + op + "', got " + Describe());
    return Status::Ok();
  }
  Status ExpectBlockEnd() {
    if (Cur().type != TokenType::kBlockEnd) return Err("expected end of statement block, got " + Describe());
    Next();
    return Status::Ok();
  }
  StatusOr<std::string> ExpectName() {
    if (Cur().type != TokenType::kName) return Err("expected name, got " + Describe());
    std::string n = Cur().value;
    Next();
    return n;
  }

  struct DepthGuard {
    explicit DepthGuard(int& d) : d_(d) { ++d_; }
    ~DepthGuard() { --d_; }
    int& d_;
  };
  // Each link of a left-associative chain (a + b + c, x.y.z, x|f|g) deepens
  // the tree by one; counted until the enclosing function returns.
  struct DepthRestore {
    explicit DepthRestore(int& d) : d_(d), saved_(d) {}
    ~DepthRestore() { d_ = saved_; }
    int& d_;
    int saved_;
  };
  Status Deeper() {
    ++depth_;
    return CheckDepth();
  }
  Status CheckDepth() const {
    if (depth_ > kMaxParseDepth) return Err("template nesting is too deep");
    return Status::Ok();
  }

  ExprPtr Make(Expr::Kind k, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = k;
    e->line = line;
    return e;
  }
  ExprPtr Binary(std::string op, ExprPtr a, ExprPtr b, int line) {
    auto e = Make(Expr::Kind::kBinary, line);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  // ---- statements ---------------------------------------------------------
  // Parses until a block whose first name is in `ends` (left unconsumed,
  // positioned at that name) or the end of the template.
  Status ParseBody(const std::set<std::string>& ends, StmtList* out) {
    DepthGuard g(depth_);
    R1_RETURN_IF_ERROR(CheckDepth());
    while (true) {
      const Token& tok = Cur();
      if (tok.type == TokenType::kEof) {
        if (ends.empty()) return Status::Ok();
        std::string want;
        for (const auto& e : ends) {
          if (e.rfind("end", 0) != 0) continue;
          want += (want.empty() ? "'" : " or '") + e + "'";
        }
        for (const auto& e : ends) {
          if (e.rfind("end", 0) == 0) continue;
          want += " or '" + e + "'";
        }
        return Err("unexpected end of template; looking for " + want);
      }
      if (tok.type == TokenType::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kText;
        s->line = tok.line;
        s->text = tok.value;
        out->push_back(std::move(s));
        Next();
      } else if (tok.type == TokenType::kVarBegin) {
        Next();
        auto s = std::make_unique<Stmt>();
        s->kind = Stmt::Kind::kOutput;
        s->line = tok.line;
        auto e = ParseTuple(true);
        if (!e.ok()) return e.status();
        s->expr = std::move(*e);
        if (Cur().type != TokenType::kVarEnd) return Err("expected end of print statement, got " + Describe());
        Next();
        out->push_back(std::move(s));
      } else if (tok.type == TokenType::kBlockBegin) {
        if (Peek().type == TokenType::kName && ends.count(Peek().value)) {
          Next();
          return Status::Ok();
        }
        Next();
        R1_RETURN_IF_ERROR(ParseStatement(out));
      } else {
        return Err("unexpected " + Describe());
      }
    }
  }

  // Consumes "{% endname %}" after ParseBody stopped at `endname`.
  Status EndTag(const char* name) {
    if (!SkipName(name)) return Err(std::string("expected '") + name + "'");
    return ExpectBlockEnd();
  }

  Status ParseStatement(StmtList* out) {
    if (Cur().type != TokenType::kName) return Err("tag name expected");
    std::string kw = Cur().value;
    auto s = std::make_unique<Stmt>();
    s->line = Cur().line;
    Next();
    if (kw == "if") {
      s->kind = Stmt::Kind::kIf;
      while (true) {
        auto c = ParseTuple(true);
        if (!c.ok()) return c.status();
        s->conds.push_back(std::move(*c));
        R1_RETURN_IF_ERROR(ExpectBlockEnd());
        s->bodies.emplace_back();
        R1_RETURN_IF_ERROR(ParseBody({"elif", "else", "endif"}, &s->bodies.back()));
        if (SkipName("elif")) continue;
        if (SkipName("else")) {
          R1_RETURN_IF_ERROR(ExpectBlockEnd());
          s->bodies.emplace_back();
          R1_RETURN_IF_ERROR(ParseBody({"endif"}, &s->bodies.back()));
        }
        R1_RETURN_IF_ERROR(EndTag("endif"));
        break;
      }
    } else if (kw == "for") {
      s->kind = Stmt::Kind::kFor;
      R1_RETURN_IF_ERROR(ParseTargets(&s->targets));
      if (!SkipName("in")) return Err("expected 'in', got " + Describe());
      auto it = ParseTuple(false);
      if (!it.ok()) return it.status();
      s->expr = std::move(*it);
      if (SkipName("if")) {
        auto f = ParseExpression(true);
        if (!f.ok()) return f.status();
        s->filter = std::move(*f);
      }
      if (IsName("recursive")) return Err("recursive loops are not supported");
      R1_RETURN_IF_ERROR(ExpectBlockEnd());
      s->bodies.emplace_back();
      R1_RETURN_IF_ERROR(ParseBody({"else", "endfor"}, &s->bodies.back()));
      s->bodies.emplace_back();
      if (SkipName("else")) {
        R1_RETURN_IF_ERROR(ExpectBlockEnd());
        R1_RETURN_IF_ERROR(ParseBody({"endfor"}, &s->bodies.back()));
      }
      R1_RETURN_IF_ERROR(EndTag("endfor"));
    } else if (kw == "set") {
      auto n = ExpectName();
      if (!n.ok()) return n.status();
      s->targets.push_back(*n);
      if (SkipOp(".")) {
        auto a = ExpectName();
        if (!a.ok()) return a.status();
        s->attr = *a;
      } else {
        while (SkipOp(",")) {
          auto m = ExpectName();
          if (!m.ok()) return m.status();
          s->targets.push_back(*m);
        }
      }
      if (SkipOp("=")) {
        s->kind = Stmt::Kind::kSet;
        auto v = ParseTuple(true);
        if (!v.ok()) return v.status();
        s->expr = std::move(*v);
        R1_RETURN_IF_ERROR(ExpectBlockEnd());
      } else {
        if (s->targets.size() != 1 || !s->attr.empty()) return Err("expected '='");
        s->kind = Stmt::Kind::kSetBlock;
        if (IsOp("|")) {
          auto f = ParseFilters(Make(Expr::Kind::kLiteral, s->line));
          if (!f.ok()) return f.status();
          s->filter = std::move(*f);
        }
        R1_RETURN_IF_ERROR(ExpectBlockEnd());
        s->bodies.emplace_back();
        R1_RETURN_IF_ERROR(ParseBody({"endset"}, &s->bodies.back()));
        R1_RETURN_IF_ERROR(EndTag("endset"));
      }
    } else if (kw == "macro") {
      s->kind = Stmt::Kind::kMacro;
      auto n = ExpectName();
      if (!n.ok()) return n.status();
      s->name = *n;
      R1_RETURN_IF_ERROR(ExpectOp("("));
      while (!IsOp(")")) {
        auto p = ExpectName();
        if (!p.ok()) return p.status();
        s->params.push_back(*p);
        ExprPtr def;
        if (SkipOp("=")) {
          auto d = ParseExpression(true);
          if (!d.ok()) return d.status();
          def = std::move(*d);
        }
        s->defaults.push_back(std::move(def));
        if (!SkipOp(",")) break;
      }
      R1_RETURN_IF_ERROR(ExpectOp(")"));
      R1_RETURN_IF_ERROR(ExpectBlockEnd());
      s->bodies.emplace_back();
      R1_RETURN_IF_ERROR(ParseBody({"endmacro"}, &s->bodies.back()));
      R1_RETURN_IF_ERROR(EndTag("endmacro"));
    } else if (kw == "break" || kw == "continue") {
      s->kind = kw == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      R1_RETURN_IF_ERROR(ExpectBlockEnd());
    } else if (kw == "filter") {
      s->kind = Stmt::Kind::kFilterBlock;
      auto f = ParseFilters(Make(Expr::Kind::kLiteral, s->line), /*first_pipe=*/false);
      if (!f.ok()) return f.status();
      s->filter = std::move(*f);
      R1_RETURN_IF_ERROR(ExpectBlockEnd());
      s->bodies.emplace_back();
      R1_RETURN_IF_ERROR(ParseBody({"endfilter"}, &s->bodies.back()));
      R1_RETURN_IF_ERROR(EndTag("endfilter"));
    } else if (kw == "generation" || kw == "with") {
      s->kind = Stmt::Kind::kScope;
      std::string end = "end" + kw;
      while (kw == "with" && Cur().type == TokenType::kName) {
        auto n = ExpectName();
        if (!n.ok()) return n.status();
        R1_RETURN_IF_ERROR(ExpectOp("="));
        auto v = ParseExpression(true);
        if (!v.ok()) return v.status();
        s->with_vars.emplace_back(*n, std::move(*v));
        if (!SkipOp(",")) break;
      }
      R1_RETURN_IF_ERROR(ExpectBlockEnd());
      s->bodies.emplace_back();
      R1_RETURN_IF_ERROR(ParseBody({end}, &s->bodies.back()));
      R1_RETURN_IF_ERROR(EndTag(end.c_str()));
    } else {
      return Status::InvalidArgument("line " + std::to_string(s->line) + ": tag '" + kw +
                                     "' is unknown or not supported");
    }
    out->push_back(std::move(s));
    return Status::Ok();
  }

  Status ParseTargets(std::vector<std::string>* targets) {
    bool paren = SkipOp("(");
    do {
      auto n = ExpectName();
      if (!n.ok()) return n.status();
      targets->push_back(*n);
    } while (SkipOp(","));
    if (paren) R1_RETURN_IF_ERROR(ExpectOp(")"));
    return Status::Ok();
  }

  // ---- expressions --------------------------------------------------------
  // `a, b` forms a tuple (a list here) where jinja2 allows one.
  StatusOr<ExprPtr> ParseTuple(bool with_condexpr) {
    int line = Cur().line;
    auto first = ParseExpression(with_condexpr);
    if (!first.ok() || !IsOp(",")) return first;
    auto list = Make(Expr::Kind::kList, line);
    list->name = "tuple";
    list->args.push_back(std::move(*first));
    while (SkipOp(",")) {
      if (Cur().type == TokenType::kBlockEnd || Cur().type == TokenType::kVarEnd || IsName("if")) break;
      auto e = ParseExpression(with_condexpr);
      if (!e.ok()) return e.status();
      list->args.push_back(std::move(*e));
    }
    return list;
  }

  StatusOr<ExprPtr> ParseExpression(bool with_condexpr) {
    DepthGuard g(depth_);
    R1_RETURN_IF_ERROR(CheckDepth());
    auto e = ParseOr();
    if (!e.ok() || !with_condexpr) return e;
    ExprPtr node = std::move(*e);
    DepthRestore restore(depth_);
    while (IsName("if")) {
      R1_RETURN_IF_ERROR(Deeper());
      int line = Cur().line;
      Next();
      auto cond = ParseOr();
      if (!cond.ok()) return cond.status();
      ExprPtr other;
      if (SkipName("else")) {
        auto o = ParseExpression(true);
        if (!o.ok()) return o.status();
        other = std::move(*o);
      }
      auto c = Make(Expr::Kind::kCond, line);
      c->args.push_back(std::move(*cond));
      c->args.push_back(std::move(node));
      c->args.push_back(std::move(other));
      node = std::move(c);
    }
    return node;
  }

  StatusOr<ExprPtr> ParseOr() {
    auto l = ParseAnd();
    if (!l.ok()) return l;
    ExprPtr node = std::move(*l);
    DepthRestore restore(depth_);
    while (IsName("or")) {
      R1_RETURN_IF_ERROR(Deeper());
      int line = Cur().line;
      Next();
      auto r = ParseAnd();
      if (!r.ok()) return r;
      node = Binary("or", std::move(node), std::move(*r), line);
    }
    return node;
  }

  StatusOr<ExprPtr> ParseAnd() {
    auto l = ParseNot();
    if (!l.ok()) return l;
    ExprPtr node = std::move(*l);
    DepthRestore restore(depth_);
    while (IsName("and")) {
      R1_RETURN_IF_ERROR(Deeper());
      int line = Cur().line;
      Next();
      auto r = ParseNot();
      if (!r.ok()) return r;
      node = Binary("and", std::move(node), std::move(*r), line);
    }
    return node;
  }

  StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      DepthGuard g(depth_);
      R1_RETURN_IF_ERROR(CheckDepth());
      int line = Cur().line;
      Next();
      auto inner = ParseNot();
      if (!inner.ok()) return inner;
      auto e = Make(Expr::Kind::kUnary, line);
      e->name = "not";
      e->args.push_back(std::move(*inner));
      return e;
    }
    return ParseCompare();
  }

  StatusOr<ExprPtr> ParseCompare() {
    auto l = ParseBinaryLevel(0);
    if (!l.ok()) return l;
    ExprPtr node = std::move(*l);
    DepthRestore restore(depth_);
    while (true) {
      R1_RETURN_IF_ERROR(Deeper());
      int line = Cur().line;
      std::string op;
      if (Cur().type == TokenType::kOp &&
          (Cur().value == "==" || Cur().value == "!=" || Cur().value == "<" || Cur().value == ">" ||
           Cur().value == "<=" || Cur().value == ">=")) {
        op = Cur().value;
        Next();
      } else if (IsName("in")) {
        op = "in";
        Next();
      } else if (IsName("not") && Peek().type == TokenType::kName && Peek().value == "in") {
        op = "not in";
        Next();
        Next();
      } else {
        break;
      }
      auto r = ParseBinaryLevel(0);
      if (!r.ok()) return r;
      node = Binary(op, std::move(node), std::move(*r), line);
    }
    return node;
  }

  // Levels: 0 = + -, 1 = ~, 2 = * / // %, 3 = **.
  StatusOr<ExprPtr> ParseBinaryLevel(int level) {
    static const std::vector<std::vector<std::string>> kLevels = {
        {"+", "-"}, {"~"}, {"*", "/", "//", "%"}, {"**"}};
    if (level == 4) return ParseUnary(true);
    auto l = ParseBinaryLevel(level + 1);
    if (!l.ok()) return l;
    ExprPtr node = std::move(*l);
    DepthRestore restore(depth_);
    while (Cur().type == TokenType::kOp) {
      const auto& ops = kLevels[static_cast<size_t>(level)];
      if (std::find(ops.begin(), ops.end(), Cur().value) == ops.end()) break;
      R1_RETURN_IF_ERROR(Deeper());
      std::string op = Cur().value;
      int line = Cur().line;
      Next();
      auto r = ParseBinaryLevel(level + 1);
      if (!r.ok()) return r;
      node = Binary(op, std::move(node), std::move(*r), line);
    }
    return node;
  }

  StatusOr<ExprPtr> ParseUnary(bool with_filter) {
    DepthGuard g(depth_);
    R1_RETURN_IF_ERROR(CheckDepth());
    ExprPtr node;
    if (IsOp("-") || IsOp("+")) {
      auto e = Make(Expr::Kind::kUnary, Cur().line);
      e->name = Cur().value;
      Next();
      auto inner = ParseUnary(false);
      if (!inner.ok()) return inner;
      e->args.push_back(std::move(*inner));
      node = std::move(e);
    } else {
      auto p = ParsePrimary();
      if (!p.ok()) return p;
      node = std::move(*p);
    }
    auto post = ParsePostfix(std::move(node));
    if (!post.ok() || !with_filter) return post;
    return ParseFilters(std::move(*post));
  }

  StatusOr<ExprPtr> ParsePrimary() {
    const Token tok = Cur();
    switch (tok.type) {
      case TokenType::kName: {
        Next();
        auto e = Make(Expr::Kind::kLiteral, tok.line);
        if (tok.value == "true" || tok.value == "True") e->literal = Value::Bool(true);
        else if (tok.value == "false" || tok.value == "False") e->literal = Value::Bool(false);
        else if (tok.value == "none" || tok.value == "None") e->literal = Value::None();
        else { e->kind = Expr::Kind::kName; e->name = tok.value; }
        return e;
      }
      case TokenType::kString: {
        std::string s;
        while (Cur().type == TokenType::kString) { s += Cur().value; Next(); }
        auto e = Make(Expr::Kind::kLiteral, tok.line);
        e->literal = Value::String(std::move(s));
        return e;
      }
      case TokenType::kInt: {
        Next();
        errno = 0;
        long long v = std::strtoll(tok.value.c_str(), nullptr, 10);
        auto e = Make(Expr::Kind::kLiteral, tok.line);
        e->literal = errno == ERANGE ? Value::Float(std::strtod(tok.value.c_str(), nullptr)) : Value::Int(v);
        return e;
      }
      case TokenType::kFloat: {
        Next();
        auto e = Make(Expr::Kind::kLiteral, tok.line);
        e->literal = Value::Float(std::strtod(tok.value.c_str(), nullptr));
        return e;
      }
      case TokenType::kOp:
        if (tok.value == "(") {
          Next();
          if (SkipOp(")")) {
            auto empty = Make(Expr::Kind::kList, tok.line);  // ()
            empty->name = "tuple";
            return empty;
          }
          auto e = ParseTuple(true);
          if (!e.ok()) return e;
          R1_RETURN_IF_ERROR(ExpectOp(")"));
          return e;
        }
        if (tok.value == "[" || tok.value == "{") {
          bool dict = tok.value == "{";
          Next();
          auto e = Make(dict ? Expr::Kind::kDict : Expr::Kind::kList, tok.line);
          const char* close = dict ? "}" : "]";
          while (!IsOp(close)) {
            auto item = ParseExpression(true);
            if (!item.ok()) return item;
            e->args.push_back(std::move(*item));
            if (dict) {
              R1_RETURN_IF_ERROR(ExpectOp(":"));
              auto v = ParseExpression(true);
              if (!v.ok()) return v;
              e->args.push_back(std::move(*v));
            }
            if (!SkipOp(",")) break;
          }
          R1_RETURN_IF_ERROR(ExpectOp(close));
          return e;
        }
        break;
      default:
        break;
    }
    return Err("unexpected " + Describe());
  }

  StatusOr<ExprPtr> ParsePostfix(ExprPtr node) {
    DepthRestore restore(depth_);
    while (true) {
      R1_RETURN_IF_ERROR(Deeper());
      int line = Cur().line;
      if (SkipOp(".")) {
        if (Cur().type == TokenType::kInt) {
          auto e = Make(Expr::Kind::kGetItem, line);
          auto k = Make(Expr::Kind::kLiteral, line);
          k->literal = Value::Int(std::atoll(Cur().value.c_str()));
          Next();
          e->args.push_back(std::move(node));
          e->args.push_back(std::move(k));
          node = std::move(e);
          continue;
        }
        auto n = ExpectName();
        if (!n.ok()) return n.status();
        auto e = Make(Expr::Kind::kGetAttr, line);
        e->name = *n;
        e->args.push_back(std::move(node));
        node = std::move(e);
      } else if (SkipOp("[")) {
        auto r = ParseSubscript(std::move(node), line);
        if (!r.ok()) return r;
        node = std::move(*r);
      } else if (IsOp("(")) {
        auto r = ParseCall(std::move(node));
        if (!r.ok()) return r;
        node = std::move(*r);
      } else {
        return node;
      }
    }
  }

  StatusOr<ExprPtr> ParseSubscript(ExprPtr obj, int line) {
    ExprPtr parts[3];
    bool slice = false;
    for (int k = 0; k < 3; ++k) {
      if (!IsOp(":") && !IsOp("]")) {
        auto e = ParseExpression(true);
        if (!e.ok()) return e;
        parts[k] = std::move(*e);
      }
      if (k < 2 && SkipOp(":")) { slice = true; continue; }
      break;
    }
    R1_RETURN_IF_ERROR(ExpectOp("]"));
    auto e = Make(slice ? Expr::Kind::kSlice : Expr::Kind::kGetItem, line);
    e->args.push_back(std::move(obj));
    if (!slice) {
      if (!parts[0]) return Err("expected subscript expression");
      e->args.push_back(std::move(parts[0]));
    } else {
      for (auto& p : parts) e->args.push_back(std::move(p));
    }
    return e;
  }

  Status ParseCallArgs(Expr* e) {
    R1_RETURN_IF_ERROR(ExpectOp("("));
    while (!IsOp(")")) {
      if (Cur().type == TokenType::kName && Peek().type == TokenType::kOp && Peek().value == "=") {
        std::string key = Cur().value;
        Next();
        Next();
        auto v = ParseExpression(true);
        if (!v.ok()) return v.status();
        e->kwargs.emplace_back(key, std::move(*v));
      } else {
        if (!e->kwargs.empty()) return Err("positional argument after keyword argument");
        auto v = ParseExpression(true);
        if (!v.ok()) return v.status();
        e->args.push_back(std::move(*v));
      }
      if (!SkipOp(",")) break;
    }
    return ExpectOp(")");
  }

  StatusOr<ExprPtr> ParseCall(ExprPtr callee) {
    auto e = Make(Expr::Kind::kCall, Cur().line);
    e->args.push_back(std::move(callee));
    R1_RETURN_IF_ERROR(ParseCallArgs(e.get()));
    return e;
  }

  // | filter, is test, (call) — repeated.
  StatusOr<ExprPtr> ParseFilters(ExprPtr node, bool first_pipe = true) {
    bool need_pipe = first_pipe;
    DepthRestore restore(depth_);
    while (true) {
      R1_RETURN_IF_ERROR(Deeper());
      int line = Cur().line;
      if (!need_pipe || SkipOp("|")) {
        need_pipe = true;
        auto n = ExpectName();
        if (!n.ok()) return n.status();
        auto e = Make(Expr::Kind::kFilter, line);
        e->name = *n;
        while (SkipOp(".")) {
          auto m = ExpectName();
          if (!m.ok()) return m.status();
          e->name += "." + *m;
        }
        e->args.push_back(std::move(node));
        if (IsOp("(")) R1_RETURN_IF_ERROR(ParseCallArgs(e.get()));
        node = std::move(e);
      } else if (IsName("is")) {
        Next();
        auto e = Make(Expr::Kind::kTest, line);
        e->negated = SkipName("not");
        auto n = ExpectName();
        if (!n.ok()) return n.status();
        e->name = *n;
        e->args.push_back(std::move(node));
        const Token& c = Cur();
        if (IsOp("(")) {
          R1_RETURN_IF_ERROR(ParseCallArgs(e.get()));
        } else if ((c.type == TokenType::kName || c.type == TokenType::kString || c.type == TokenType::kInt ||
                    c.type == TokenType::kFloat || IsOp("[") || IsOp("{")) &&
                   !IsName("else") && !IsName("or") && !IsName("and")) {
          if (IsName("is")) return Err("You cannot chain multiple tests with is");
          auto arg = ParsePrimary();
          if (!arg.ok()) return arg;
          auto post = ParsePostfix(std::move(*arg));
          if (!post.ok()) return post;
          e->args.push_back(std::move(*post));
        }
        node = std::move(e);
      } else if (IsOp("(")) {
        auto r = ParseCall(std::move(node));
        if (!r.ok()) return r;
        node = std::move(*r);
      } else {
        return node;
      }
    }
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

StatusOr<std::shared_ptr<const StmtList>> ParseTemplate(const std::string& source) {
  auto tokens = Tokenize(source);
  if (!tokens.ok()) return tokens.status();
  auto body = Parser(std::move(*tokens)).ParseAll();
  if (!body.ok()) return body.status();
  return std::shared_ptr<const StmtList>(std::make_shared<StmtList>(std::move(*body)));
}

}  // namespace r1::jinja
