// Internal to the Jinja parser: the Parser class, shared by
// jinja_parser.cc (statements) and jinja_parser_expr.cc (expressions).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "jinja/jinja_ast.h"
#include "jinja/jinja_lexer.h"
#include "jinja/jinja_parser.h"

namespace r1::jinja::internal {

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  StatusOr<StmtList> ParseAll();

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
  Status ParseBody(const std::set<std::string>& ends, StmtList* out);

  // Consumes "{% endname %}" after ParseBody stopped at `endname`.
  Status EndTag(const char* name);

  Status ParseStatement(StmtList* out);

  Status ParseTargets(std::vector<std::string>* targets);

  // ---- expressions --------------------------------------------------------
  // `a, b` forms a tuple (a list here) where jinja2 allows one.
  StatusOr<ExprPtr> ParseTuple(bool with_condexpr);

  StatusOr<ExprPtr> ParseExpression(bool with_condexpr);

  StatusOr<ExprPtr> ParseOr();

  StatusOr<ExprPtr> ParseAnd();

  StatusOr<ExprPtr> ParseNot();

  StatusOr<ExprPtr> ParseCompare();

  // Levels: 0 = + -, 1 = ~, 2 = * / // %, 3 = **.
  StatusOr<ExprPtr> ParseBinaryLevel(int level);

  StatusOr<ExprPtr> ParseUnary(bool with_filter);

  StatusOr<ExprPtr> ParsePrimary();

  StatusOr<ExprPtr> ParsePostfix(ExprPtr node);

  StatusOr<ExprPtr> ParseSubscript(ExprPtr obj, int line);

  Status ParseCallArgs(Expr* e);

  StatusOr<ExprPtr> ParseCall(ExprPtr callee);

  // | filter, is test, (call) — repeated.
  StatusOr<ExprPtr> ParseFilters(ExprPtr node, bool first_pipe = true);

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace r1::jinja::internal
