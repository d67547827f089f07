// A Jinja template engine that renders chat templates the way HF transformers
// does with jinja2 (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks,
// loopcontrols, a json.dumps-based tojson, raise_exception, strftime_now).
//
//   auto t = r1::jinja::Template::Parse(source);         // parse errors
//   r1::jinja::Dict vars;                                 // name each line
//   vars.Set(Value::String("messages"), Value::FromJson(messages_json));
//   auto text = t->Render(vars);                          // render errors too
//
// Coverage is what the DeepSeek-R1/V3, R1-Distill, Qwen2.5, Qwen3 and
// Llama-3.x chat templates use, plus the rest of jinja2's common surface (see
// jinja_parser.h for syntax and jinja_builtins.h for filters/tests/methods).
// Not supported: include/import/extends/block, call blocks, recursive loops,
// chained comparisons (a < b < c is read as (a < b) < c), str % formatting.
//
// Undefined variables follow jinja2's default Undefined: falsy, print as "",
// iterate as empty, `is defined` false; attribute access, arithmetic or a
// call on one is an error ("'x' is undefined").
//
// Hostile templates are contained: every loop iteration, expression and byte
// produced is charged to a budget (RenderLimits), so parse+render of any
// input terminates with a result or a ResourceExhausted status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "jinja/jinja_value.h"
#include "r1/status.h"

namespace r1::jinja {

struct Stmt;
using StmtList = std::vector<std::unique_ptr<Stmt>>;

// What one render may spend. Every limit is checked as the work is done or
// the value is built (never after), so no render allocates more than about
// max_output_bytes at once or runs past its budget.
struct RenderLimits {
  size_t max_output_bytes = 64u << 20;    // any single string or list (at kValueBytes a slot), the output included
  int64_t max_loop_iterations = 1000000;  // summed over all loops
  int max_call_depth = 64;                // nested macro calls
  int64_t max_calls = 100000;             // macro calls in all (f(n-1) twice per call is 2^n)
  uint64_t max_work = 400000000;          // expression evaluations + bytes built, in all
  double max_seconds = 0;                 // wall clock (0: none)
  std::function<bool()> cancelled;        // polled while rendering; true stops it (the client left)
};

// The bytes a list or dict slot is charged as (Value plus its share of the container).
inline constexpr size_t kValueBytes = 48;

class Template {
 public:
  // Errors: InvalidArgument "line N: ..." (N is the template line).
  static StatusOr<Template> Parse(const std::string& source);

  // `vars` are the template's global variables. Errors: InvalidArgument
  // "line N: ..." for template errors (raise_exception included),
  // ResourceExhausted when a limit is hit.
  StatusOr<std::string> Render(const Dict& vars, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const StmtList> body_;
};

}  // namespace r1::jinja
