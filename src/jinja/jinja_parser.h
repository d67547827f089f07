// Jinja parser: tokens → syntax tree, following jinja2's grammar.
//
// Expression precedence, loosest first (as in jinja2.parser):
//   x if c else y  →  or  →  and  →  not  →  == != < > <= >= in, not in
//   →  + -  →  ~  →  * / // %  →  **  →  unary - +  →  primary with
//   .attr [item] [a:b:c] (call), then | filter, is test, (call)
// Statements: if/elif/else, for/else (with `if` filter), set (plain,
// namespace attribute, tuple, block), macro, break/continue (loopcontrols),
// filter blocks, with, generation (HF's AssistantTracker; renders its body),
// raw (handled by the lexer).
#pragma once

#include <memory>
#include <string>

#include "jinja/jinja_ast.h"
#include "r1/status.h"

namespace r1::jinja {

// Nesting deeper than this (expressions or blocks) is a parse error, so a
// hostile template cannot overflow the stack.
inline constexpr int kMaxParseDepth = 256;

StatusOr<std::shared_ptr<const StmtList>> ParseTemplate(const std::string& source);

}  // namespace r1::jinja
