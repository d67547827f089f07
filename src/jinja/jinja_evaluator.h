// Jinja evaluator: renders a syntax tree against variables.
//
// Scoping follows jinja2: each for-loop iteration and each macro call gets a
// fresh scope whose parent is the enclosing one; `set` writes to the
// innermost scope, so an assignment inside a loop is gone after the
// iteration (templates use namespace() to carry state out). if-blocks do not
// open a scope.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "jinja/jinja.h"
#include "jinja/jinja_ast.h"

namespace r1::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::unordered_map<std::string, Value> vars;

  const Value* Lookup(const std::string& name) const;
};

class Evaluator {
 public:
  explicit Evaluator(const RenderLimits& limits);
  ~Evaluator();
  Evaluator(const Evaluator&) = delete;
  Evaluator& operator=(const Evaluator&) = delete;

  Status RenderBody(const StmtList& body, const std::shared_ptr<Scope>& scope, std::string* out);
  StatusOr<Value> Eval(const Expr& e, const std::shared_ptr<Scope>& scope);

  // obj.name (attribute first, then item) and obj[key] (item first).
  StatusOr<Value> GetAttr(const Value& obj, const std::string& name);
  StatusOr<Value> GetItem(const Value& obj, const Value& key);
  StatusOr<Value> Call(const Value& fn, CallArgs& args);

  // Charges `units` of work; ResourceExhausted past the budget.
  Status Charge(uint64_t units);
  // Errors for strings larger than max_output_bytes.
  Status CheckSize(size_t n) const;
  // Errors for lists (or dicts) of n slots larger than max_output_bytes at kValueBytes a slot.
  Status CheckSlots(size_t n) const;
  // Counts one macro call against max_calls.
  Status CountCall();
  Status CountIterations(int64_t n);
  // Lists/dicts nested deeper than this are refused (see Value::depth).
  static constexpr uint32_t kMaxValueDepth = 512;
  Status CheckDepth(const Value& v) const;
  const RenderLimits& limits() const { return limits_; }
  // namespace() objects are tracked so reference cycles between them are
  // broken when rendering ends.
  void TrackNamespace(const Value& ns) { namespaces_.push_back(ns); }

 private:
  Status RenderStmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string* out);
  Status RenderFor(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string* out);
  Status Assign(const Stmt& s, const Value& v, Scope& scope);
  StatusOr<Value> EvalBinary(const Expr& e, const std::shared_ptr<Scope>& scope);
  StatusOr<Value> EvalSlice(const Expr& e, const std::shared_ptr<Scope>& scope);
  StatusOr<Value> ApplyFilterChain(const Expr& f, Value input, const std::shared_ptr<Scope>& scope);
  Status EvalArgs(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope, CallArgs* out);
  Value MakeMacro(const Stmt& s, const std::shared_ptr<Scope>& scope);

  RenderLimits limits_;
  uint64_t work_ = 0;
  uint64_t next_poll_ = 0;  // work_ at which the clock and `cancelled` are looked at next
  int64_t calls_ = 0;
  std::chrono::steady_clock::time_point deadline_;
  int64_t iterations_ = 0;
  int call_depth_ = 0;
  enum class Flow { kNormal, kBreak, kContinue } flow_ = Flow::kNormal;
  std::vector<Value> namespaces_;
};

// Prefixes "line N: " unless the message already names a line.
Status AtLine(const Status& s, int line);

}  // namespace r1::jinja
