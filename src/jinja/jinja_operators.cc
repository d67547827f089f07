// Jinja operators and subscripting with Python semantics.
#include <cmath>

#include "jinja/jinja_builtins.h"
#include "jinja/jinja_evaluator.h"
#include "jinja/jinja_string.h"

namespace r1::jinja {
namespace {

// jinja2's object_type_repr, quoted: 'dict object', 'None'.
std::string ObjectRepr(const Value& v) {
  if (v.is_none()) return "'None'";
  return std::string("'") + v.TypeName() + " object'";
}

Status Unsupported(const std::string& op, const Value& a, const Value& b) {
  return TypeError("unsupported operand type(s) for " + op + ": '" + a.TypeName() + "' and '" + b.TypeName() + "'");
}

StatusOr<Value> IntResult(bool overflow, int64_t v) {
  if (overflow) return Status::OutOfRange("integer overflow");
  return Value::Int(v);
}

// Python's floored modulo and floor division.
double FloorMod(double a, double b) {
  double m = std::fmod(a, b);
  if (m != 0 && ((m < 0) != (b < 0))) m += b;
  return m;
}

StatusOr<Value> Repeat(Evaluator& ev, const Value& seq, int64_t n) {
  if (n < 0) n = 0;
  if (seq.is_string()) {
    size_t total = seq.as_string().size() * static_cast<size_t>(n);
    if (!seq.as_string().empty() && static_cast<size_t>(n) > ev.limits().max_output_bytes)
      return ev.CheckSize(ev.limits().max_output_bytes + 1);
    R1_RETURN_IF_ERROR(ev.CheckSize(total));
    R1_RETURN_IF_ERROR(ev.Charge(total));
    std::string out;
    out.reserve(total);
    for (int64_t i = 0; i < n; ++i) out += seq.as_string();
    return Value::String(std::move(out));
  }
  size_t len = seq.as_list().size();
  if (len && static_cast<size_t>(n) > ev.limits().max_output_bytes) return ev.CheckSlots(ev.limits().max_output_bytes);
  R1_RETURN_IF_ERROR(ev.CheckSlots(len * static_cast<size_t>(n)));
  R1_RETURN_IF_ERROR(ev.Charge(len * static_cast<size_t>(n)));
  ValueList out;
  for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
  return Value::List(std::move(out));
}

StatusOr<Value> Arith(Evaluator& ev, const std::string& op, const Value& a, const Value& b) {
  if (a.is_undefined()) return Status::InvalidArgument(a.undefined_hint());
  if (b.is_undefined()) return Status::InvalidArgument(b.undefined_hint());
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      R1_RETURN_IF_ERROR(ev.CheckSize(a.as_string().size() + b.as_string().size()));
      R1_RETURN_IF_ERROR(ev.Charge(a.as_string().size() + b.as_string().size()));
      return Value::String(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      R1_RETURN_IF_ERROR(ev.CheckSlots(a.as_list().size() + b.as_list().size()));
      R1_RETURN_IF_ERROR(ev.Charge(a.as_list().size() + b.as_list().size()));
      ValueList out = a.as_list();
      out.insert(out.end(), b.as_list().begin(), b.as_list().end());
      return Value::List(std::move(out));
    }
    if (a.is_string()) return TypeError(std::string("can only concatenate str (not \"") + b.TypeName() + "\") to str");
    if (a.is_list()) return TypeError(std::string("can only concatenate list (not \"") + b.TypeName() + "\") to list");
  }
  if (op == "*") {
    if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) return Repeat(ev, a, b.as_int());
    if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())) return Repeat(ev, b, a.as_int());
  }
  if (!a.is_number() || !b.is_number()) return Unsupported(op == "**" ? "** or pow()" : op, a, b);
  bool is_float = a.is_float() || b.is_float();
  if (op == "/") {
    if (b.as_float() == 0) return Status::InvalidArgument("division by zero");
    return Value::Float(a.as_float() / b.as_float());
  }
  if (is_float) {
    double x = a.as_float(), y = b.as_float();
    if (op == "+") return Value::Float(x + y);
    if (op == "-") return Value::Float(x - y);
    if (op == "*") return Value::Float(x * y);
    if (op == "**") {
      if (x == 0 && y < 0) return Status::InvalidArgument("0.0 cannot be raised to a negative power");
      return Value::Float(std::pow(x, y));
    }
    if (y == 0) return Status::InvalidArgument("float division by zero");
    if (op == "//") {  // Python's float_floor_div
      double mod = std::fmod(x, y), div = (x - mod) / y;
      if (mod != 0 && ((y < 0) != (mod < 0))) div -= 1.0;
      if (div == 0) return Value::Float(std::copysign(0.0, x / y));
      double fl = std::floor(div);
      return Value::Float(div - fl > 0.5 ? fl + 1.0 : fl);
    }
    return Value::Float(FloorMod(x, y));  // %
  }
  int64_t x = a.as_int(), y = b.as_int(), r = 0;
  if (op == "+" || op == "-" || op == "*") {
    bool overflow = op == "+"   ? __builtin_add_overflow(x, y, &r)
                    : op == "-" ? __builtin_sub_overflow(x, y, &r)
                                : __builtin_mul_overflow(x, y, &r);
    return IntResult(overflow, r);
  }
  if (op == "**") {
    if (y < 0) return Value::Float(std::pow(static_cast<double>(x), static_cast<double>(y)));
    int64_t result = 1;
    for (int64_t i = 0; i < y; ++i) {
      if (__builtin_mul_overflow(result, x, &result)) return Status::OutOfRange("integer overflow");
      if (result == 0 || result == 1) break;
      if (result == -1) { result = (y - i - 1) % 2 == 0 ? -1 : 1; break; }
    }
    return Value::Int(result);
  }
  if (y == 0) return Status::InvalidArgument("integer division or modulo by zero");
  if (x == INT64_MIN && y == -1) return Status::OutOfRange("integer overflow");
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {
    q -= 1;
    m += y;
  }
  return Value::Int(op == "//" ? q : m);
}

StatusOr<bool> Contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kUndefined: return false;
    case Value::Kind::kString:
      if (!item.is_string())
        return TypeError(std::string("'in <string>' requires string as left operand, not ") + item.TypeName());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
      for (const auto& v : container.as_list())
        if (v.Equals(item)) return true;
      return false;
    case Value::Kind::kDict:
      return container.as_dict().Find(item) != nullptr;
    default:
      return TypeError(std::string("argument of type '") + container.TypeName() + "' is not iterable");
  }
}

}  // namespace

StatusOr<Value> Evaluator::EvalBinary(const Expr& e, const std::shared_ptr<Scope>& scope) {
  const std::string& op = e.name;
  auto a = Eval(*e.args[0], scope);
  if (!a.ok()) return a;
  if (op == "and") return a->Truthy() ? Eval(*e.args[1], scope) : a;
  if (op == "or") return a->Truthy() ? a : Eval(*e.args[1], scope);
  auto b = Eval(*e.args[1], scope);
  if (!b.ok()) return b;
  StatusOr<Value> r = Value();
  if (op == "~") {
    std::string s = a->Str() + b->Str();
    Status st = CheckSize(s.size());
    if (st.ok()) st = Charge(s.size());
    r = st.ok() ? StatusOr<Value>(Value::String(std::move(s))) : StatusOr<Value>(st);
  } else if (op == "==") {
    r = Value::Bool(a->Equals(*b));
  } else if (op == "!=") {
    r = Value::Bool(!a->Equals(*b));
  } else if (op == "<" || op == ">" || op == "<=" || op == ">=") {
    bool swap = op == ">" || op == "<=";
    auto lt = Value::Less(swap ? *b : *a, swap ? *a : *b);
    if (!lt.ok()) {
      r = lt.status();
      if (lt.status().message().find("not supported") != std::string::npos)
        r = TypeError("'" + op + "' not supported between instances of '" + a->TypeName() + "' and '" +
                      b->TypeName() + "'");
    } else {
      r = Value::Bool(op == "<" || op == ">" ? *lt : !*lt);
    }
  } else if (op == "in" || op == "not in") {
    auto c = Contains(*b, *a);
    r = c.ok() ? StatusOr<Value>(Value::Bool(*c != (op == "not in"))) : StatusOr<Value>(c.status());
  } else {
    r = Arith(*this, op, *a, *b);
  }
  if (!r.ok()) return AtLine(r.status(), e.line);
  return r;
}

StatusOr<Value> Evaluator::GetAttr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) return Status::InvalidArgument(obj.undefined_hint());
  if (obj.is_namespace()) {
    if (const Value* v = obj.namespace_attrs().Find(name)) return *v;
  } else if (obj.is_dict()) {
    if (auto m = GetMethod(obj, name)) return *m;
    if (const Value* v = obj.as_dict().Find(name)) return *v;
  } else if (auto m = GetMethod(obj, name)) {
    return *m;
  }
  return Value::Undefined(ObjectRepr(obj) + " has no attribute " + PyRepr(name));
}

StatusOr<Value> Evaluator::GetItem(const Value& obj, const Value& key) {
  if (obj.is_undefined()) return Status::InvalidArgument(obj.undefined_hint());
  if (obj.is_dict()) {
    if (key.is_list() || key.is_dict()) return TypeError(std::string("unhashable type: '") + key.TypeName() + "'");
    if (const Value* v = obj.as_dict().Find(key)) return *v;
  } else if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    int64_t i = key.as_int();
    if (obj.is_list()) {
      int64_t n = static_cast<int64_t>(obj.as_list().size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return obj.as_list()[static_cast<size_t>(i)];
    } else {
      std::u32string u = DecodeUtf8(obj.as_string());
      int64_t n = static_cast<int64_t>(u.size());
      if (i < 0) i += n;
      if (i >= 0 && i < n) return Value::String(EncodeUtf8(std::u32string(1, u[static_cast<size_t>(i)])));
    }
  }
  if (key.is_string()) {
    // jinja2 falls back to getattr for string keys.
    if (obj.is_namespace()) {
      if (const Value* v = obj.namespace_attrs().Find(key.as_string())) return *v;
    } else if (auto m = GetMethod(obj, key.as_string())) {
      return *m;
    }
    return Value::Undefined(ObjectRepr(obj) + " has no attribute " + PyRepr(key.as_string()));
  }
  return Value::Undefined(ObjectRepr(obj) + " has no element " + key.Repr());
}

}  // namespace r1::jinja
