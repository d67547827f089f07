// Jinja lexer: template text → tokens, with jinja2's whitespace control.
//
// Configured the way HF transformers configures jinja2:
//   trim_blocks=True      the first newline after a block tag (%} or #}) is
//                         removed
//   lstrip_blocks=True    spaces and tabs from the start of a line up to a
//                         block tag ({% or {#) are removed
//   keep_trailing_newline=False   one trailing newline of the source is removed
// `{%-`/`-%}` (and the {{ }} / {# #} forms) strip all whitespace, newlines
// included, on that side; `{%+` / `+%}` disable lstrip / trim for that tag.
// Newlines (\r\n, \r) are normalised to \n first, as jinja2 does.
#pragma once

#include <string>
#include <vector>

#include "r1/status.h"

namespace r1::jinja {

enum class TokenType {
  kText,        // template data between tags
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,      // value already unescaped
  kInt,
  kFloat,
  kOp,          // operator or punctuation: + - ** // == ( ) [ ] { } . , : | ~ ...
  kEof,
};

struct Token {
  TokenType type;
  std::string value;
  int line = 1;
};

const char* TokenTypeName(TokenType t);

// Errors name the line: "line 3: unexpected end of template (unclosed '{{')".
StatusOr<std::vector<Token>> Tokenize(const std::string& source);

}  // namespace r1::jinja
