#include "jinja/jinja.h"

#include "jinja/jinja_builtins.h"
#include "jinja/jinja_evaluator.h"
#include "jinja/jinja_parser.h"

namespace r1::jinja {
namespace {

// jinja2 rejects unknown filters and tests when compiling, even in branches
// that never run; so do we.
Status CheckExpr(const Expr& e) {
  if (e.kind == Expr::Kind::kFilter && !IsKnownFilter(e.name))
    return Status::InvalidArgument("line " + std::to_string(e.line) + ": No filter named '" + e.name + "'.");
  if (e.kind == Expr::Kind::kTest && !IsKnownTest(e.name))
    return Status::InvalidArgument("line " + std::to_string(e.line) + ": No test named '" + e.name + "'.");
  for (const auto& a : e.args)
    if (a) R1_RETURN_IF_ERROR(CheckExpr(*a));
  for (const auto& kv : e.kwargs) R1_RETURN_IF_ERROR(CheckExpr(*kv.second));
  return Status::Ok();
}

Status CheckBody(const StmtList& body, int loop_depth) {
  for (const auto& s : body) {
    if ((s->kind == Stmt::Kind::kBreak || s->kind == Stmt::Kind::kContinue) && loop_depth == 0)
      return Status::InvalidArgument("line " + std::to_string(s->line) + ": '" +
                                     (s->kind == Stmt::Kind::kBreak ? "break" : "continue") +
                                     "' outside of a loop");
    for (const ExprPtr* e : {&s->expr, &s->filter})
      if (*e) R1_RETURN_IF_ERROR(CheckExpr(**e));
    for (const auto& c : s->conds) R1_RETURN_IF_ERROR(CheckExpr(*c));
    for (const auto& d : s->defaults)
      if (d) R1_RETURN_IF_ERROR(CheckExpr(*d));
    for (const auto& w : s->with_vars) R1_RETURN_IF_ERROR(CheckExpr(*w.second));
    for (size_t i = 0; i < s->bodies.size(); ++i) {
      // A for-loop's body (not its else) is inside the loop; a macro body is not.
      int depth = s->kind == Stmt::Kind::kFor && i == 0 ? loop_depth + 1
                  : s->kind == Stmt::Kind::kMacro     ? 0
                                                      : loop_depth;
      R1_RETURN_IF_ERROR(CheckBody(s->bodies[i], depth));
    }
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Template> Template::Parse(const std::string& source) {
  auto body = ParseTemplate(source);
  if (!body.ok()) return body.status();
  R1_RETURN_IF_ERROR(CheckBody(**body, 0));
  Template t;
  t.body_ = std::move(*body);
  return t;
}

StatusOr<std::string> Template::Render(const Dict& vars, const RenderLimits& limits) const {
  if (!body_) return std::string();
  auto globals = std::make_shared<Scope>();
  AddGlobals(*globals);
  auto root = std::make_shared<Scope>();
  root->parent = globals;
  for (const auto& [k, v] : vars.items) root->vars[k.Str()] = v;
  std::string out;
  Status st;
  {
    Evaluator ev(limits);
    st = ev.RenderBody(*body_, root, &out);
  }
  if (!st.ok()) return st;
  return out;
}

}  // namespace r1::jinja
