// Jinja expression parsing (see jinja_parser.h for the precedence table).
#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include "jinja/jinja_parser_impl.h"

namespace r1::jinja::internal {

// `a, b` forms a tuple (a list here) where jinja2 allows one.
StatusOr<ExprPtr> Parser::ParseTuple(bool with_condexpr) {
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

StatusOr<ExprPtr> Parser::ParseExpression(bool with_condexpr) {
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

StatusOr<ExprPtr> Parser::ParseOr() {
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

StatusOr<ExprPtr> Parser::ParseAnd() {
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

StatusOr<ExprPtr> Parser::ParseNot() {
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

StatusOr<ExprPtr> Parser::ParseCompare() {
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
StatusOr<ExprPtr> Parser::ParseBinaryLevel(int level) {
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

StatusOr<ExprPtr> Parser::ParseUnary(bool with_filter) {
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

StatusOr<ExprPtr> Parser::ParsePrimary() {
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

StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr node) {
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

StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr obj, int line) {
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

Status Parser::ParseCallArgs(Expr* e) {
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

StatusOr<ExprPtr> Parser::ParseCall(ExprPtr callee) {
  auto e = Make(Expr::Kind::kCall, Cur().line);
  e->args.push_back(std::move(callee));
  R1_RETURN_IF_ERROR(ParseCallArgs(e.get()));
  return e;
}

// | filter, is test, (call) — repeated.
StatusOr<ExprPtr> Parser::ParseFilters(ExprPtr node, bool first_pipe) {
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

}  // namespace r1::jinja::internal
