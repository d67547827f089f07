// Jinja tests (`x is name`), methods of str/dict/list, and global functions.
#include <ctime>
#include <unordered_map>

#include "jinja/jinja_builtins.h"
#include "jinja/jinja_string.h"

namespace r1::jinja {

Status TypeError(const std::string& msg) { return Status::InvalidArgument(msg); }

Status BindArgs(const CallArgs& args, const std::string& fname, std::initializer_list<const char*> names,
                std::vector<Value>* out) {
  out->assign(names.size(), Value());
  if (args.positional.size() > names.size())
    return TypeError(fname + "() takes at most " + std::to_string(names.size()) + " argument(s) (" +
                     std::to_string(args.positional.size()) + " given)");
  for (size_t i = 0; i < args.positional.size(); ++i) (*out)[i] = args.positional[i];
  for (const auto& [k, v] : args.keyword) {
    size_t i = 0;
    for (const char* n : names) {
      if (k == n) break;
      ++i;
    }
    if (i == names.size()) return TypeError(fname + "() got an unexpected keyword argument '" + k + "'");
    (*out)[i] = v;
  }
  return Status::Ok();
}

StatusOr<ValueList> Iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return ValueList{};
    case Value::Kind::kList: return v.as_list();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& kv : v.as_dict().items) keys.push_back(kv.first);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (char32_t c : DecodeUtf8(v.as_string())) chars.push_back(Value::String(EncodeUtf8(std::u32string(1, c))));
      return chars;
    }
    default:
      return TypeError(std::string("'") + v.TypeName() + "' object is not iterable");
  }
}

namespace {

// ---- tests ------------------------------------------------------------------
using TestFn = StatusOr<bool> (*)(Evaluator&, const Value&, CallArgs&);

StatusOr<Value> OneArg(const CallArgs& a, const char* name) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, name, {"other"}, &p));
  return p[0];
}

StatusOr<bool> Compare(const Value& v, const CallArgs& a, const char* name, const char* op) {
  auto o = OneArg(a, name);
  if (!o.ok()) return o.status();
  std::string s = op;
  if (s == "==") return v.Equals(*o);
  if (s == "!=") return !v.Equals(*o);
  bool swap = s == ">" || s == "<=";
  auto lt = Value::Less(swap ? *o : v, swap ? v : *o);
  if (!lt.ok()) return lt.status();
  return (s == "<" || s == ">") ? *lt : !*lt;
}

StatusOr<bool> Even(Evaluator&, const Value& v, CallArgs&) {
  if (v.is_undefined()) return Status::InvalidArgument(v.undefined_hint());
  if (!v.is_number()) return TypeError(std::string("unsupported operand type(s) for %: '") + v.TypeName() + "' and 'int'");
  if (v.is_float()) return std::fmod(v.as_float(), 2.0) == 0;
  return v.as_int() % 2 == 0;
}

StatusOr<bool> Odd(Evaluator& ev, const Value& v, CallArgs& a) {
  auto e = Even(ev, v, a);
  if (!e.ok()) return e;
  if (v.is_float()) return std::fabs(std::fmod(v.as_float(), 2.0)) == 1;
  return !*e;
}

StatusOr<bool> DivisibleBy(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "divisibleby", {"num"}, &p));
  if (!v.is_number() || !p[0].is_number()) return TypeError("divisibleby requires numbers");
  if (p[0].as_float() == 0) return Status::InvalidArgument("integer division or modulo by zero");
  if (v.is_float() || p[0].is_float()) return std::fmod(v.as_float(), p[0].as_float()) == 0;
  if (p[0].as_int() == -1) return true;
  return v.as_int() % p[0].as_int() == 0;
}

StatusOr<bool> In(Evaluator&, const Value& v, CallArgs& a) {
  auto o = OneArg(a, "in");
  if (!o.ok()) return o.status();
  if (o->is_string()) {
    if (!v.is_string()) return TypeError("'in <string>' requires string as left operand");
    return o->as_string().find(v.as_string()) != std::string::npos;
  }
  if (o->is_dict()) return o->as_dict().Find(v) != nullptr;
  if (o->is_undefined()) return false;
  if (!o->is_list()) return TypeError(std::string("argument of type '") + o->TypeName() + "' is not iterable");
  for (const auto& x : o->as_list())
    if (x.Equals(v)) return true;
  return false;
}

StatusOr<bool> SameAs(Evaluator&, const Value& v, CallArgs& a) {
  auto o = OneArg(a, "sameas");
  if (!o.ok()) return o.status();
  if (v.kind() != o->kind()) return false;
  if (v.is_none() || v.is_undefined()) return true;
  if (v.is_bool()) return v.as_bool() == o->as_bool();
  if (v.is_namespace() || v.is_callable()) return v.Equals(*o);
  return false;
}

bool AllCased(const std::string& s, bool upper) {
  bool any = false;
  for (char32_t c : DecodeUtf8(s)) {
    std::string one = EncodeUtf8(std::u32string(1, c));
    std::string lo = PyLower(one), up = PyUpper(one);
    if (lo == up) continue;  // uncased
    any = true;
    if ((upper ? up : lo) != one) return false;
  }
  return any;
}

#define R1_SIMPLE_TEST(fn, expr) \
  StatusOr<bool> fn(Evaluator&, const Value& v, CallArgs&) { return (expr); }
R1_SIMPLE_TEST(Defined, !v.is_undefined())
R1_SIMPLE_TEST(IsUndefined, v.is_undefined())
R1_SIMPLE_TEST(IsNone, v.is_none())
R1_SIMPLE_TEST(IsBoolean, v.is_bool())
R1_SIMPLE_TEST(IsFalse, v.is_bool() && !v.as_bool())
R1_SIMPLE_TEST(IsTrue, v.is_bool() && v.as_bool())
R1_SIMPLE_TEST(IsInteger, v.is_int())
R1_SIMPLE_TEST(IsFloat, v.is_float())
R1_SIMPLE_TEST(IsNumber, v.is_number())
R1_SIMPLE_TEST(IsString, v.is_string())
R1_SIMPLE_TEST(IsMapping, v.is_dict())
R1_SIMPLE_TEST(IsIterable, v.is_list() || v.is_dict() || v.is_string() || v.is_undefined())
R1_SIMPLE_TEST(IsSequence, v.is_list() || v.is_dict() || v.is_string() || v.is_undefined())
R1_SIMPLE_TEST(IsCallable, v.is_callable())
R1_SIMPLE_TEST(IsEscaped, v.is_undefined() && false)
R1_SIMPLE_TEST(IsLower, v.is_string() && AllCased(v.as_string(), false))
R1_SIMPLE_TEST(IsUpper, v.is_string() && AllCased(v.as_string(), true))
#undef R1_SIMPLE_TEST

#define R1_COMPARE_TEST(fn, name, op) \
  StatusOr<bool> fn(Evaluator&, const Value& v, CallArgs& a) { return Compare(v, a, name, op); }
R1_COMPARE_TEST(Eq, "eq", "==")
R1_COMPARE_TEST(Ne, "ne", "!=")
R1_COMPARE_TEST(Lt, "lt", "<")
R1_COMPARE_TEST(Le, "le", "<=")
R1_COMPARE_TEST(Gt, "gt", ">")
R1_COMPARE_TEST(Ge, "ge", ">=")
#undef R1_COMPARE_TEST

const std::unordered_map<std::string, TestFn>& Tests() {
  static const auto* m = new std::unordered_map<std::string, TestFn>{
      {"defined", Defined}, {"undefined", IsUndefined}, {"none", IsNone}, {"boolean", IsBoolean},
      {"false", IsFalse}, {"true", IsTrue}, {"integer", IsInteger}, {"float", IsFloat},
      {"number", IsNumber}, {"string", IsString}, {"mapping", IsMapping}, {"iterable", IsIterable},
      {"sequence", IsSequence}, {"callable", IsCallable}, {"escaped", IsEscaped}, {"lower", IsLower},
      {"upper", IsUpper}, {"even", Even}, {"odd", Odd}, {"divisibleby", DivisibleBy}, {"in", In},
      {"sameas", SameAs}, {"eq", Eq}, {"equalto", Eq}, {"==", Eq}, {"ne", Ne}, {"!=", Ne},
      {"lt", Lt}, {"lessthan", Lt}, {"<", Lt}, {"le", Le}, {"<=", Le}, {"gt", Gt},
      {"greaterthan", Gt}, {">", Gt}, {"ge", Ge}, {">=", Ge},
  };
  return *m;
}

// ---- methods ----------------------------------------------------------------
using MethodFn = StatusOr<Value> (*)(Evaluator&, const Value& self, CallArgs&);

std::optional<std::string> OptStr(const Value& v) {
  if (v.is_undefined() || v.is_none()) return std::nullopt;
  return v.Str();
}

StatusOr<Value> StrStrip(const Value& s, CallArgs& a, const char* name, bool l, bool r) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, name, {"chars"}, &p));
  return Value::String(PyStrip(s.as_string(), OptStr(p[0]), l, r));
}

StatusOr<Value> StrSplit(const Value& s, CallArgs& a, const char* name, bool from_right) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, name, {"sep", "maxsplit"}, &p));
  if (!p[0].is_undefined() && !p[0].is_none() && !p[0].is_string())
    return TypeError(std::string("must be str or None, not ") + p[0].TypeName());
  std::vector<std::string> parts;
  if (!PySplit(s.as_string(), OptStr(p[0]), p[1].is_int() ? p[1].as_int() : -1, from_right, &parts))
    return Status::InvalidArgument("empty separator");
  ValueList out;
  for (auto& x : parts) out.push_back(Value::String(std::move(x)));
  return Value::List(std::move(out));
}

StatusOr<Value> StrAffix(const Value& s, CallArgs& a, const char* name, bool prefix) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, name, {"prefix"}, &p));
  ValueList cands = p[0].is_list() ? p[0].as_list() : ValueList{p[0]};
  const std::string& str = s.as_string();
  for (const auto& c : cands) {
    if (!c.is_string())
      return TypeError(std::string(name) + " first arg must be str or a tuple of str, not " + c.TypeName());
    const std::string& x = c.as_string();
    if (x.size() > str.size()) continue;
    if (prefix ? str.compare(0, x.size(), x) == 0 : str.compare(str.size() - x.size(), x.size(), x) == 0)
      return Value::Bool(true);
  }
  return Value::Bool(false);
}

StatusOr<Value> CallStrMethod(Evaluator& ev, const std::string& m, const Value& s, CallArgs& a) {
  const std::string& str = s.as_string();
  std::vector<Value> p;
  if (m == "strip") return StrStrip(s, a, "strip", true, true);
  if (m == "lstrip") return StrStrip(s, a, "lstrip", true, false);
  if (m == "rstrip") return StrStrip(s, a, "rstrip", false, true);
  if (m == "split") return StrSplit(s, a, "split", false);
  if (m == "rsplit") return StrSplit(s, a, "rsplit", true);
  if (m == "startswith") return StrAffix(s, a, "startswith", true);
  if (m == "endswith") return StrAffix(s, a, "endswith", false);
  if (m == "replace") {
    R1_RETURN_IF_ERROR(BindArgs(a, "replace", {"old", "new", "count"}, &p));
    if (!p[0].is_string() || !p[1].is_string()) return TypeError("replace() arguments must be str");
    std::string r = PyReplace(str, p[0].as_string(), p[1].as_string(), p[2].is_int() ? p[2].as_int() : -1);
    R1_RETURN_IF_ERROR(ev.CheckSize(r.size()));
    return Value::String(std::move(r));
  }
  if (m == "find" || m == "rfind" || m == "count" || m == "index") {
    R1_RETURN_IF_ERROR(BindArgs(a, m, {"sub"}, &p));
    if (!p[0].is_string()) return TypeError("must be str, not " + std::string(p[0].TypeName()));
    const std::string& sub = p[0].as_string();
    if (m == "count") {
      if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePointCount(str)) + 1);
      int64_t n = 0;
      for (size_t pos = str.find(sub); pos != std::string::npos; pos = str.find(sub, pos + sub.size())) ++n;
      return Value::Int(n);
    }
    size_t pos = m == "rfind" ? str.rfind(sub) : str.find(sub);
    if (pos == std::string::npos) {
      if (m == "index") return Status::InvalidArgument("substring not found");
      return Value::Int(-1);
    }
    return Value::Int(static_cast<int64_t>(CodePointCount(str.substr(0, pos))));
  }
  if (m == "join") {
    R1_RETURN_IF_ERROR(BindArgs(a, "join", {"iterable"}, &p));
    auto items = Iterate(p[0]);
    if (!items.ok()) return items.status();
    std::string out;
    for (size_t i = 0; i < items->size(); ++i) {
      if (!(*items)[i].is_string()) return TypeError("sequence item " + std::to_string(i) + ": expected str instance");
      if (i) out += str;
      out += (*items)[i].as_string();
      R1_RETURN_IF_ERROR(ev.CheckSize(out.size()));
    }
    return Value::String(std::move(out));
  }
  R1_RETURN_IF_ERROR(BindArgs(a, m, {}, &p));
  if (m == "upper") return Value::String(PyUpper(str));
  if (m == "lower") return Value::String(PyLower(str));
  if (m == "title") return Value::String(PyTitle(str));
  if (m == "capitalize") return Value::String(PyCapitalize(str));
  if (m == "splitlines") {
    ValueList out;
    size_t start = 0;
    for (size_t i = 0; i < str.size(); ++i) {
      if (str[i] == '\n' || str[i] == '\r') {
        out.push_back(Value::String(str.substr(start, i - start)));
        if (str[i] == '\r' && i + 1 < str.size() && str[i + 1] == '\n') ++i;
        start = i + 1;
      }
    }
    if (start < str.size()) out.push_back(Value::String(str.substr(start)));
    return Value::List(std::move(out));
  }
  std::u32string u = DecodeUtf8(str);
  auto all = [&](auto pred) {
    if (u.empty()) return false;
    for (char32_t c : u) if (!pred(c)) return false;
    return true;
  };
  if (m == "isdigit") return Value::Bool(all([](char32_t c) { return c >= '0' && c <= '9'; }));
  if (m == "isalpha") return Value::Bool(all([](char32_t c) { return c < 128 && std::isalpha(static_cast<int>(c)); }));
  if (m == "isalnum") return Value::Bool(all([](char32_t c) { return c < 128 && std::isalnum(static_cast<int>(c)); }));
  if (m == "isspace") return Value::Bool(all([](char32_t c) { return IsPySpace(c); }));
  if (m == "islower") return Value::Bool(AllCased(str, false));
  if (m == "isupper") return Value::Bool(AllCased(str, true));
  return Status::Internal("unknown str method " + m);
}

const char* const kStrMethods[] = {"strip", "lstrip", "rstrip", "split", "rsplit", "startswith", "endswith",
                                   "replace", "find", "rfind", "count", "index", "join", "upper", "lower",
                                   "title", "capitalize", "splitlines", "isdigit", "isalpha", "isalnum",
                                   "isspace", "islower", "isupper"};
const char* const kUnsafeMethods[] = {"append", "extend", "insert", "pop", "remove", "clear", "sort",
                                      "reverse", "update", "setdefault", "popitem"};

StatusOr<Value> CallDictMethod(const std::string& m, const Value& d, CallArgs& a) {
  std::vector<Value> p;
  if (m == "get") {
    R1_RETURN_IF_ERROR(BindArgs(a, "get", {"key", "default"}, &p));
    if (const Value* v = d.as_dict().Find(p[0])) return *v;
    return p[1].is_undefined() ? Value::None() : p[1];
  }
  R1_RETURN_IF_ERROR(BindArgs(a, m, {}, &p));
  ValueList out;
  for (const auto& [k, v] : d.as_dict().items) {
    if (m == "keys") out.push_back(k);
    else if (m == "values") out.push_back(v);
    else out.push_back(Value::Tuple({k, v}));
  }
  return Value::List(std::move(out));
}

}  // namespace

bool IsKnownTest(const std::string& name) { return Tests().count(name) > 0; }

StatusOr<bool> ApplyTest(Evaluator& ev, const std::string& name, const Value& v, CallArgs& args) {
  auto it = Tests().find(name);
  if (it == Tests().end()) return Status::InvalidArgument("No test named '" + name + "'.");
  return it->second(ev, v, args);
}

std::optional<Value> GetMethod(const Value& obj, const std::string& name) {
  if (obj.is_string()) {
    for (const char* m : kStrMethods) {
      if (name == m)
        return Value::Function("str." + name, [obj, name](Evaluator& ev, CallArgs& a) {
          return CallStrMethod(ev, name, obj, a);
        });
    }
  } else if (obj.is_dict()) {
    if (name == "get" || name == "items" || name == "keys" || name == "values")
      return Value::Function("dict." + name, [obj, name](Evaluator&, CallArgs& a) { return CallDictMethod(name, obj, a); });
  } else if (obj.is_list() && (name == "count" || name == "index")) {
    return Value::Function("list." + name, [obj, name](Evaluator&, CallArgs& a) -> StatusOr<Value> {
      std::vector<Value> p;
      R1_RETURN_IF_ERROR(BindArgs(a, name, {"value"}, &p));
      int64_t n = 0;
      for (size_t i = 0; i < obj.as_list().size(); ++i) {
        if (!obj.as_list()[i].Equals(p[0])) continue;
        if (name == "index") return Value::Int(static_cast<int64_t>(i));
        ++n;
      }
      if (name == "index") return Status::InvalidArgument(p[0].Repr() + " is not in list");
      return Value::Int(n);
    });
  }
  if (obj.is_list() || obj.is_dict()) {
    for (const char* m : kUnsafeMethods) {
      if (name == m) {
        std::string msg = "access to attribute '" + name + "' of '" + obj.TypeName() + "' object is unsafe.";
        return Value::Function(name, [msg](Evaluator&, CallArgs&) -> StatusOr<Value> {
          return Status::InvalidArgument(msg);
        });
      }
    }
  }
  return std::nullopt;
}

void AddGlobals(Scope& scope) {
  scope.vars["range"] = Value::Function("range", [](Evaluator& ev, CallArgs& a) -> StatusOr<Value> {
    if (!a.keyword.empty()) return TypeError("range() takes no keyword arguments");
    if (a.positional.empty() || a.positional.size() > 3) return TypeError("range expected 1 to 3 arguments");
    for (const auto& v : a.positional)
      if (!v.is_int() && !v.is_bool()) return TypeError(std::string("'") + v.TypeName() + "' object cannot be interpreted as an integer");
    int64_t start = 0, stop, step = 1;
    if (a.positional.size() == 1) {
      stop = a.positional[0].as_int();
    } else {
      start = a.positional[0].as_int();
      stop = a.positional[1].as_int();
      if (a.positional.size() == 3) step = a.positional[2].as_int();
    }
    if (step == 0) return Status::InvalidArgument("range() arg 3 must not be zero");
    ValueList out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop;) {
      // jinja2's sandbox caps range() at MAX_RANGE = 100000 items.
      if (out.size() >= 100000) return Status::ResourceExhausted("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
      R1_RETURN_IF_ERROR(ev.Charge(1));
      out.push_back(Value::Int(i));
      if (__builtin_add_overflow(i, step, &i)) break;
    }
    return Value::List(std::move(out));
  });
  auto kwargs_dict = [](CallArgs& a, const char* name, Dict* d) -> Status {
    if (a.positional.size() > 1) return TypeError(std::string(name) + "() takes at most 1 positional argument");
    if (!a.positional.empty()) {
      if (!a.positional[0].is_dict()) return TypeError(std::string(name) + "() positional argument must be a mapping");
      *d = a.positional[0].as_dict();
    }
    for (auto& [k, v] : a.keyword) d->Set(Value::String(k), v);
    return Status::Ok();
  };
  scope.vars["namespace"] = Value::Function("namespace", [kwargs_dict](Evaluator& ev, CallArgs& a) -> StatusOr<Value> {
    Dict d;
    R1_RETURN_IF_ERROR(kwargs_dict(a, "namespace", &d));
    Value ns = Value::MakeNamespace(std::move(d));
    ev.TrackNamespace(ns);
    return ns;
  });
  scope.vars["dict"] = Value::Function("dict", [kwargs_dict](Evaluator&, CallArgs& a) -> StatusOr<Value> {
    Dict d;
    R1_RETURN_IF_ERROR(kwargs_dict(a, "dict", &d));
    return Value::MakeDict(std::move(d));
  });
  scope.vars["raise_exception"] = Value::Function("raise_exception", [](Evaluator&, CallArgs& a) -> StatusOr<Value> {
    std::string msg = a.positional.empty() ? "raise_exception called" : a.positional[0].Str();
    return Status::InvalidArgument(msg);
  });
  scope.vars["strftime_now"] = Value::Function("strftime_now", [](Evaluator&, CallArgs& a) -> StatusOr<Value> {
    if (a.positional.size() != 1 || !a.positional[0].is_string()) return TypeError("strftime_now(format) needs a format string");
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[256];
    size_t n = std::strftime(buf, sizeof buf, a.positional[0].as_string().c_str(), &tm);
    return Value::String(std::string(buf, n));
  });
}

}  // namespace r1::jinja
