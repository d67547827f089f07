// Syntax tree of a parsed Jinja template.
//
// One Expr and one Stmt struct with a kind tag keep the tree small; the
// layout of `args` per kind is documented beside each kind.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "jinja/jinja_value.h"

namespace r1::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // literal
    kName,     // name
    kList,     // args = elements (also tuples)
    kDict,     // args = key0, value0, key1, value1, ...
    kGetAttr,  // args[0].name
    kGetItem,  // args[0][args[1]]
    kSlice,    // args[0][args[1]:args[2]:args[3]]; absent parts are null
    kCall,     // args[0](args[1..], kwargs)
    kFilter,   // args[0] | name(args[1..], kwargs)
    kTest,     // args[0] is [not] name(args[1..])
    kUnary,    // name in {"-", "+", "not"}; args[0]
    kBinary,   // args[0] name args[1]; name is the operator ("+", "in", "and"...)
    kCond,     // args[1] if args[0] else args[2] (args[2] may be null)
  };

  Kind kind;
  int line = 0;
  Value literal;
  std::string name;
  bool negated = false;  // kTest: `is not`
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using StmtList = std::vector<StmtPtr>;

struct Stmt {
  enum class Kind {
    kText,      // text
    kOutput,    // {{ expr }}
    kIf,        // conds[i] → bodies[i]; bodies.back() is the else body when
                // bodies.size() == conds.size() + 1
    kFor,       // for targets in expr [if filter]: bodies[0]; else: bodies[1]
    kSet,       // targets = expr, or targets[0].attr = expr when attr != ""
    kSetBlock,  // {% set targets[0] %}bodies[0]{% endset %}, filtered by `filter`
    kMacro,     // {% macro name(params = defaults) %}bodies[0]
    kBreak,
    kContinue,
    kFilterBlock,  // {% filter f %}bodies[0]{% endfilter %}; `filter` holds f
                   // applied to a null value placeholder
    kScope,        // bodies[0] rendered as is ({% generation %}, {% with %})
  };

  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  ExprPtr filter;  // for-loop condition, or the filter of a set/filter block
  std::vector<std::string> targets;
  std::string attr;
  std::string name;
  std::vector<std::string> params;
  std::vector<ExprPtr> defaults;  // one per param, null if none
  std::vector<ExprPtr> conds;
  std::vector<StmtList> bodies;
  // {% with a = 1 %}: assignments made in the new scope.
  std::vector<std::pair<std::string, ExprPtr>> with_vars;
};

}  // namespace r1::jinja
