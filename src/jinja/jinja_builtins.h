// Jinja builtins: filters, tests, methods of str/dict/list, and globals.
//
// Filters: abs attr batch capitalize count d default dictsort e escape first
//   float int items join last length list lower map max min reject
//   rejectattr replace reverse round safe select selectattr sort string sum
//   title tojson trim unique upper indent wordcount center
// Tests: boolean callable defined divisibleby eq equalto escaped even false
//   float ge gt in integer iterable le lower lt mapping ne none number odd
//   sameas sequence string true undefined upper == != < <= > >=
// Methods: str: capitalize count endswith find join lower lstrip replace
//   rfind rsplit rstrip split startswith strip title upper isdigit isalpha
//   isspace islower isupper isalnum; dict: get items keys values; list:
//   count index. Mutating methods (append, pop, update...) are refused, as in
//   jinja2's ImmutableSandboxedEnvironment.
// Globals: range namespace dict raise_exception strftime_now
//   (HF: tojson(indent=...) is json.dumps(x, ensure_ascii=False, indent=...)).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>

#include "jinja/jinja_evaluator.h"

namespace r1::jinja {

bool IsKnownFilter(const std::string& name);
bool IsKnownTest(const std::string& name);

StatusOr<Value> ApplyFilter(Evaluator& ev, const std::string& name, const Value& v, CallArgs& args);
StatusOr<bool> ApplyTest(Evaluator& ev, const std::string& name, const Value& v, CallArgs& args);

// A bound method of obj (e.g. "abc".upper), or nullopt if it has none.
std::optional<Value> GetMethod(const Value& obj, const std::string& name);

void AddGlobals(Scope& scope);

// The items a for-loop visits: list elements, dict keys, string characters;
// Undefined iterates as empty. Error for None, numbers and other types.
StatusOr<ValueList> Iterate(const Value& v);

// Binds call arguments to parameter names, positionally then by keyword.
// Unbound parameters are left as a plain Undefined (is_undefined()).
Status BindArgs(const CallArgs& args, const std::string& fname,
                std::initializer_list<const char*> names, std::vector<Value>* out);

// "can only concatenate str (not "int") to str"-style TypeErrors.
Status TypeError(const std::string& msg);

}  // namespace r1::jinja
