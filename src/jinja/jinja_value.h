// Values of the Jinja engine: the Python objects a chat template sees.
//
// Kinds mirror what jinja2 templates get from HF transformers: jinja2's
// Undefined, None, bool, int, float, str, list, dict (insertion-ordered, like
// Python's), namespace() objects and callables (macros, globals, bound
// methods such as "abc".upper).
//
// Lists and dicts are shared and never mutated after construction: HF renders
// in an ImmutableSandboxedEnvironment, where list.append and dict.update are
// refused. Namespaces are the one mutable object (`{% set ns.x = 1 %}`).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "r1/status.h"

namespace r1::jinja {

class Value;
class Evaluator;

using ValueList = std::vector<Value>;

// An insertion-ordered dict. Lookups are linear: template dicts are small.
struct Dict {
  std::vector<std::pair<Value, Value>> items;

  const Value* Find(const Value& key) const;
  const Value* Find(const std::string& key) const;
  void Set(Value key, Value value);  // replaces in place or appends
};

// Arguments of a call: f(a, b, key=c).
struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFn = std::function<StatusOr<Value>(Evaluator&, CallArgs&)>;

struct Callable {
  std::string name;
  NativeFn fn;
};

class Value {
 public:
  enum class Kind : uint8_t {
    kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kCallable,
  };

  Value() = default;  // Undefined with no hint
  static Value Undefined(std::string hint) {
    Value v;
    v.str_ = std::move(hint);
    return v;
  }
  static Value None() { return Value(Kind::kNone); }
  static Value Bool(bool b) { Value v(Kind::kBool); v.b_ = b; return v; }
  static Value Int(int64_t i) { Value v(Kind::kInt); v.i_ = i; return v; }
  static Value Float(double f) { Value v(Kind::kFloat); v.f_ = f; return v; }
  static Value String(std::string s) { Value v(Kind::kString); v.str_ = std::move(s); return v; }
  static Value List(ValueList items);
  // A Python tuple: a list that prints as (a, b). dict.items() yields them.
  static Value Tuple(ValueList items) {
    Value v = List(std::move(items));
    v.tuple_ = true;
    return v;
  }
  static Value MakeDict(Dict d);
  static Value MakeNamespace(Dict attrs);
  static Value Function(std::string name, NativeFn fn);

  // From JSON input (messages, tools). Key order is the json object's.
  static Value FromJson(const nlohmann::json& j);
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kList && tuple_; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_callable() const { return kind_ == Kind::kCallable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return kind_ == Kind::kBool ? (b_ ? 1 : 0) : i_; }
  double as_float() const {
    return kind_ == Kind::kFloat ? f_ : static_cast<double>(as_int());
  }
  const std::string& as_string() const { return str_; }
  // For Undefined: the jinja2 message used when it is misused
  // ("'x' is undefined").
  const std::string& undefined_hint() const { return str_; }
  const ValueList& as_list() const { return *list_; }
  const Dict& as_dict() const { return *dict_; }
  Dict& namespace_attrs() const { return *dict_; }
  const Callable& as_callable() const { return *fn_; }
  // Nesting depth of lists/dicts/namespaces at construction (scalars: 0).
  // The evaluator bounds it so recursive printing and freeing stay shallow.
  uint32_t depth() const { return depth_; }

  // Python truthiness.
  bool Truthy() const;
  // Python type name: "str", "int", "NoneType", "dict"...
  const char* TypeName() const;
  // str(x): what `{{ x }}` prints. Undefined prints "".
  std::string Str() const;
  // repr(x), used for elements when printing lists and dicts.
  std::string Repr(int depth = 0) const;
  // json.dumps(x, ensure_ascii, indent, sort_keys); indent < 0 means None.
  // Stops with ResourceExhausted once the text passes max_bytes.
  StatusOr<std::string> ToJson(int indent, bool ensure_ascii, bool sort_keys,
                               size_t max_bytes = static_cast<size_t>(-1)) const;
  // Converts back to JSON (for callers); Undefined/callables are errors.
  StatusOr<nlohmann::ordered_json> ToJsonValue() const;

  // Python ==. Lists and dicts compare element-wise.
  bool Equals(const Value& other) const;
  // Python <; error for unorderable types ("'<' not supported between ...").
  static StatusOr<bool> Less(const Value& a, const Value& b);

 private:
  explicit Value(Kind k) : kind_(k) {}

  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  bool tuple_ = false;
  uint32_t depth_ = 0;
  int64_t i_ = 0;
  double f_ = 0;
  std::string str_;
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<Dict> dict_;  // dict or namespace attributes
  std::shared_ptr<const Callable> fn_;
};

}  // namespace r1::jinja
