#include "jinja/jinja_parser.h"

#include "jinja/jinja_lexer.h"
#include "jinja/jinja_parser_impl.h"

namespace r1::jinja {
namespace internal {

StatusOr<StmtList> Parser::ParseAll() {
  StmtList body;
  R1_RETURN_IF_ERROR(ParseBody({}, &body));
  if (Cur().type != TokenType::kEof) return Err("unexpected '" + Cur().value + "'");
  return body;
}

// Parses until a block whose first name is in `ends` (left unconsumed,
// positioned at that name) or the end of the template.
Status Parser::ParseBody(const std::set<std::string>& ends, StmtList* out) {
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
Status Parser::EndTag(const char* name) {
  if (!SkipName(name)) return Err(std::string("expected '") + name + "'");
  return ExpectBlockEnd();
}

Status Parser::ParseStatement(StmtList* out) {
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

Status Parser::ParseTargets(std::vector<std::string>* targets) {
  bool paren = SkipOp("(");
  do {
    auto n = ExpectName();
    if (!n.ok()) return n.status();
    targets->push_back(*n);
  } while (SkipOp(","));
  if (paren) R1_RETURN_IF_ERROR(ExpectOp(")"));
  return Status::Ok();
}

}  // namespace internal

StatusOr<std::shared_ptr<const StmtList>> ParseTemplate(const std::string& source) {
  auto tokens = Tokenize(source);
  if (!tokens.ok()) return tokens.status();
  auto body = internal::Parser(std::move(*tokens)).ParseAll();
  if (!body.ok()) return body.status();
  return std::shared_ptr<const StmtList>(std::make_shared<StmtList>(std::move(*body)));
}

}  // namespace r1::jinja
