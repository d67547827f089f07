// Jinja filters (value | name(args)), with jinja2 3.1 semantics.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "jinja/jinja_builtins.h"
#include "jinja/jinja_string.h"

namespace r1::jinja {

namespace {

using FilterFn = StatusOr<Value> (*)(Evaluator&, const Value&, CallArgs&);

Status NoArgs(const CallArgs& a, const char* name) {
  std::vector<Value> none;
  return BindArgs(a, name, {}, &none);
}

StatusOr<int64_t> Length(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(CodePointCount(v.as_string()));
    case Value::Kind::kList: return static_cast<int64_t>(v.as_list().size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.as_dict().items.size());
    default: return TypeError(std::string("object of type '") + v.TypeName() + "' has no len()");
  }
}

// Resolves "a.b.0"-style attribute paths, as jinja2's make_attrgetter does.
StatusOr<Value> AttrPath(Evaluator& ev, const Value& item, const std::string& path) {
  Value cur = item;
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    bool numeric = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    auto next = numeric ? ev.GetItem(cur, Value::Int(std::atoll(part.c_str()))) : ev.GetItem(cur, Value::String(part));
    if (!next.ok()) return next;
    cur = std::move(*next);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// Key used by sort/unique/min/max: strings lowercased unless case_sensitive.
Value SortKey(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::String(PyLower(v.as_string()));
  return v;
}

StatusOr<Value> Abs(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "abs"));
  if (v.is_float()) return Value::Float(std::fabs(v.as_float()));
  if (v.is_int() || v.is_bool()) {
    if (v.as_int() == INT64_MIN) return Status::OutOfRange("integer overflow");
    return Value::Int(std::llabs(v.as_int()));
  }
  return TypeError(std::string("bad operand type for abs(): '") + v.TypeName() + "'");
}

StatusOr<Value> Attr(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "attr", {"name"}, &p));
  if (!p[0].is_string()) return TypeError("attribute name must be a string");
  return ev.GetAttr(v, p[0].as_string());
}

StatusOr<Value> Batch(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "batch", {"linecount", "fill_with"}, &p));
  if (!p[0].is_int() || p[0].as_int() <= 0) return TypeError("batch() linecount must be a positive integer");
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  size_t n = static_cast<size_t>(p[0].as_int());
  ValueList out, cur;
  for (auto& it : *items) {
    cur.push_back(it);
    if (cur.size() == n) { out.push_back(Value::List(std::move(cur))); cur.clear(); }
  }
  if (!cur.empty()) {
    if (!p[1].is_undefined() && !p[1].is_none()) while (cur.size() < n) cur.push_back(p[1]);
    out.push_back(Value::List(std::move(cur)));
  }
  return Value::List(std::move(out));
}

StatusOr<Value> Capitalize(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "capitalize"));
  return Value::String(PyCapitalize(v.Str()));
}

StatusOr<Value> Center(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "center", {"width"}, &p));
  int64_t width = p[0].is_undefined() ? 80 : p[0].as_int();
  std::string s = v.Str();
  int64_t len = static_cast<int64_t>(CodePointCount(s));
  if (width <= len) return Value::String(s);
  R1_RETURN_IF_ERROR(ev.CheckSize(static_cast<size_t>(width)));
  int64_t marg = width - len;
  int64_t left = marg / 2 + (marg & width & 1);  // CPython's str.center
  return Value::String(std::string(static_cast<size_t>(left), ' ') + s +
                       std::string(static_cast<size_t>(marg - left), ' '));
}

StatusOr<Value> Default(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "default", {"default_value", "boolean"}, &p));
  Value def = p[0].is_undefined() ? Value::String("") : p[0];
  bool boolean = p[1].Truthy();
  if (v.is_undefined() || (boolean && !v.Truthy())) return def;
  return v;
}

StatusOr<Value> DictSort(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "dictsort", {"case_sensitive", "by", "reverse"}, &p));
  if (!v.is_dict()) return TypeError("dictsort() requires a mapping");
  bool by_value = p[1].is_string() && p[1].as_string() == "value";
  if (p[1].is_string() && !by_value && p[1].as_string() != "key")
    return Status::InvalidArgument("You can only sort by either \"key\" or \"value\"");
  ValueList pairs;
  for (const auto& [k, val] : v.as_dict().items) pairs.push_back(Value::Tuple({k, val}));
  Status err;
  bool cs = p[0].Truthy();
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    auto r = Value::Less(SortKey(x.as_list()[by_value], cs), SortKey(y.as_list()[by_value], cs));
    if (!r.ok()) { err = r.status(); return false; }
    return *r;
  });
  R1_RETURN_IF_ERROR(err);
  if (p[2].Truthy()) std::reverse(pairs.begin(), pairs.end());
  return Value::List(std::move(pairs));
}

StatusOr<Value> Escape(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "escape"));
  std::string out;
  for (char c : v.Str()) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return Value::String(std::move(out));
}

StatusOr<Value> First(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "first"));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  if (items->empty()) return Value::Undefined("No first item, sequence was empty.");
  return items->front();
}

StatusOr<Value> Last(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "last"));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  if (items->empty()) return Value::Undefined("No last item, sequence was empty.");
  return items->back();
}

StatusOr<Value> Float(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "float", {"default"}, &p));
  Value def = p[0].is_undefined() ? Value::Float(0.0) : p[0];
  if (v.is_number()) return Value::Float(v.as_float());
  if (v.is_string()) {
    std::string s = PyStrip(v.as_string(), std::nullopt, true, true);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return Value::Float(d);
  }
  return def;
}

StatusOr<Value> Int(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "int", {"default", "base"}, &p));
  Value def = p[0].is_undefined() ? Value::Int(0) : p[0];
  int base = p[1].is_int() ? static_cast<int>(p[1].as_int()) : 10;
  if (v.is_int() || v.is_bool()) return Value::Int(v.as_int());
  if (v.is_float()) {
    double f = v.as_float();
    if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) return def;
    return Value::Int(static_cast<int64_t>(f));
  }
  if (v.is_string()) {
    std::string s = PyStrip(v.as_string(), std::nullopt, true, true);
    std::string digits;
    for (char c : s) if (c != '_') digits.push_back(c);
    if (base >= 2 && base <= 36 && !digits.empty()) {
      char* end = nullptr;
      errno = 0;
      long long r = std::strtoll(digits.c_str(), &end, base);
      if (end == digits.c_str() + digits.size() && errno == 0) return Value::Int(r);
    }
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(d) && std::fabs(d) < 9.2e18)
      return Value::Int(static_cast<int64_t>(d));
  }
  return def;
}

StatusOr<Value> Items(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "items"));
  if (v.is_undefined()) return Value::List({});
  if (!v.is_dict()) return TypeError("Can only get item pairs from a mapping.");
  ValueList pairs;
  for (const auto& [k, val] : v.as_dict().items) pairs.push_back(Value::Tuple({k, val}));
  return Value::List(std::move(pairs));
}

StatusOr<Value> Join(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "join", {"d", "attribute"}, &p));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  std::string sep = p[0].is_undefined() ? "" : p[0].Str();
  std::string out;
  for (size_t i = 0; i < items->size(); ++i) {
    Value item = (*items)[i];
    if (!p[1].is_undefined()) {
      auto r = AttrPath(ev, item, p[1].Str());
      if (!r.ok()) return r;
      item = *r;
    }
    if (i) out += sep;
    out += item.Str();
    R1_RETURN_IF_ERROR(ev.CheckSize(out.size()));
  }
  R1_RETURN_IF_ERROR(ev.Charge(out.size()));
  return Value::String(std::move(out));
}

StatusOr<Value> LengthFilter(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "length"));
  auto n = Length(v);
  if (!n.ok()) return n.status();
  return Value::Int(*n);
}

StatusOr<Value> ListFilter(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "list"));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  return Value::List(std::move(*items));
}

StatusOr<Value> Lower(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "lower"));
  return Value::String(PyLower(v.Str()));
}

StatusOr<Value> Upper(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "upper"));
  return Value::String(PyUpper(v.Str()));
}

StatusOr<Value> Map(Evaluator& ev, const Value& v, CallArgs& a) {
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  ValueList out;
  std::string attribute;
  Value def;
  bool by_attr = false;
  for (const auto& [k, val] : a.keyword) {
    if (k == "attribute") { attribute = val.Str(); by_attr = true; }
    else if (k == "default") def = val;
  }
  if (by_attr) {
    for (const auto& item : *items) {
      auto r = AttrPath(ev, item, attribute);
      if (!r.ok()) return r;
      out.push_back(r->is_undefined() && !def.is_undefined() ? def : *r);
    }
    return Value::List(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) return TypeError("map() requires a filter name or attribute=");
  std::string name = a.positional[0].as_string();
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& item : *items) {
    auto r = ApplyFilter(ev, name, item, rest);
    if (!r.ok()) return r;
    out.push_back(std::move(*r));
  }
  return Value::List(std::move(out));
}

StatusOr<Value> MinMax(Evaluator& ev, const Value& v, CallArgs& a, bool want_max) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, want_max ? "max" : "min", {"case_sensitive", "attribute"}, &p));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  if (items->empty()) return Value::Undefined(std::string("No aggregated item, sequence was empty."));
  bool cs = p[0].Truthy();
  Value best = (*items)[0], best_key;
  auto key_of = [&](const Value& item) -> StatusOr<Value> {
    Value k = item;
    if (!p[1].is_undefined()) {
      auto r = AttrPath(ev, item, p[1].Str());
      if (!r.ok()) return r;
      k = *r;
    }
    return SortKey(k, cs);
  };
  auto bk = key_of(best);
  if (!bk.ok()) return bk;
  best_key = *bk;
  for (size_t i = 1; i < items->size(); ++i) {
    auto k = key_of((*items)[i]);
    if (!k.ok()) return k;
    auto lt = want_max ? Value::Less(best_key, *k) : Value::Less(*k, best_key);
    if (!lt.ok()) return lt.status();
    if (*lt) { best = (*items)[i]; best_key = *k; }
  }
  return best;
}
StatusOr<Value> Max(Evaluator& ev, const Value& v, CallArgs& a) { return MinMax(ev, v, a, true); }
StatusOr<Value> Min(Evaluator& ev, const Value& v, CallArgs& a) { return MinMax(ev, v, a, false); }

// select / reject / selectattr / rejectattr.
StatusOr<Value> SelectImpl(Evaluator& ev, const Value& v, CallArgs& a, bool by_attr, bool keep_if) {
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  size_t pos = 0;
  std::string attr;
  if (by_attr) {
    if (a.positional.empty()) return TypeError("selectattr() requires an attribute name");
    attr = a.positional[pos++].Str();
  }
  std::string test;
  bool has_test = pos < a.positional.size();
  if (has_test) test = a.positional[pos++].Str();
  CallArgs targs;
  targs.positional.assign(a.positional.begin() + static_cast<std::ptrdiff_t>(pos), a.positional.end());
  targs.keyword = a.keyword;
  ValueList out;
  for (const auto& item : *items) {
    Value subject = item;
    if (by_attr) {
      auto r = AttrPath(ev, item, attr);
      if (!r.ok()) return r;
      subject = *r;
    }
    bool ok;
    if (has_test) {
      auto r = ApplyTest(ev, test, subject, targs);
      if (!r.ok()) return r.status();
      ok = *r;
    } else {
      ok = subject.Truthy();
    }
    if (ok == keep_if) out.push_back(item);
  }
  return Value::List(std::move(out));
}
StatusOr<Value> Select(Evaluator& ev, const Value& v, CallArgs& a) { return SelectImpl(ev, v, a, false, true); }
StatusOr<Value> Reject(Evaluator& ev, const Value& v, CallArgs& a) { return SelectImpl(ev, v, a, false, false); }
StatusOr<Value> SelectAttr(Evaluator& ev, const Value& v, CallArgs& a) { return SelectImpl(ev, v, a, true, true); }
StatusOr<Value> RejectAttr(Evaluator& ev, const Value& v, CallArgs& a) { return SelectImpl(ev, v, a, true, false); }

StatusOr<Value> Replace(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "replace", {"old", "new", "count"}, &p));
  int64_t count = p[2].is_int() ? p[2].as_int() : -1;
  // The result's size first, so that nested replaces cannot build gigabytes before the check.
  const std::string s = v.Str(), old_s = p[0].Str(), new_s = p[1].Str();
  size_t n = 0;
  if (old_s.empty()) {
    n = DecodeUtf8(s).size() + 1;
  } else {
    for (size_t at = s.find(old_s); at != std::string::npos; at = s.find(old_s, at + old_s.size())) ++n;
  }
  if (count >= 0) n = std::min(n, static_cast<size_t>(count));
  R1_RETURN_IF_ERROR(ev.Charge(s.size()));
  if (new_s.size() > old_s.size() && n > 0 &&
      (new_s.size() - old_s.size()) > (ev.limits().max_output_bytes - std::min(s.size(), ev.limits().max_output_bytes)) / n)
    return ev.CheckSize(ev.limits().max_output_bytes + 1);
  std::string r = PyReplace(s, old_s, new_s, count);
  R1_RETURN_IF_ERROR(ev.CheckSize(r.size()));
  R1_RETURN_IF_ERROR(ev.Charge(r.size()));
  return Value::String(std::move(r));
}

StatusOr<Value> Reverse(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "reverse"));
  if (v.is_string()) {
    std::u32string u = DecodeUtf8(v.as_string());
    std::reverse(u.begin(), u.end());
    return Value::String(EncodeUtf8(u));
  }
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  std::reverse(items->begin(), items->end());
  return Value::List(std::move(*items));
}

StatusOr<Value> Round(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "round", {"precision", "method"}, &p));
  int64_t prec = p[0].is_undefined() ? 0 : p[0].as_int();
  std::string method = p[1].is_undefined() ? "common" : p[1].Str();
  if (!v.is_number()) return TypeError(std::string("type ") + v.TypeName() + " doesn't define __round__ method");
  double x = v.as_float(), scale = std::pow(10.0, static_cast<double>(prec));
  if (method == "ceil") return Value::Float(std::ceil(x * scale) / scale);
  if (method == "floor") return Value::Float(std::floor(x * scale) / scale);
  if (method != "common") return Status::InvalidArgument("method must be common, ceil or floor");
  return Value::Float(std::nearbyint(x * scale) / scale);
}

StatusOr<Value> Safe(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "safe"));
  return Value::String(v.Str());
}

StatusOr<Value> Sort(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "sort", {"reverse", "case_sensitive", "attribute"}, &p));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& item : *items) {
    Value k = item;
    if (!p[2].is_undefined()) {
      auto r = AttrPath(ev, item, p[2].Str());
      if (!r.ok()) return r;
      k = *r;
    }
    keyed.emplace_back(SortKey(k, p[1].Truthy()), item);
  }
  Status err;
  bool rev = p[0].Truthy();
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    auto r = rev ? Value::Less(y.first, x.first) : Value::Less(x.first, y.first);
    if (!r.ok()) { err = r.status(); return false; }
    return *r;
  });
  R1_RETURN_IF_ERROR(err);
  ValueList out;
  for (auto& kv : keyed) out.push_back(std::move(kv.second));
  return Value::List(std::move(out));
}

StatusOr<Value> StringFilter(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "string"));
  return Value::String(v.Str());
}

StatusOr<Value> Sum(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "sum", {"attribute", "start"}, &p));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  Value total = p[1].is_undefined() ? Value::Int(0) : p[1];
  for (const auto& item : *items) {
    Value x = item;
    if (!p[0].is_undefined()) {
      auto r = AttrPath(ev, item, p[0].Str());
      if (!r.ok()) return r;
      x = *r;
    }
    if (!x.is_number() || !total.is_number())
      return TypeError(std::string("unsupported operand type(s) for +: '") + total.TypeName() + "' and '" + x.TypeName() + "'");
    if (x.is_float() || total.is_float()) {
      total = Value::Float(total.as_float() + x.as_float());
    } else {
      int64_t r;
      if (__builtin_add_overflow(total.as_int(), x.as_int(), &r)) return Status::OutOfRange("integer overflow");
      total = Value::Int(r);
    }
  }
  return total;
}

StatusOr<Value> Title(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "title"));
  return Value::String(JinjaTitle(v.Str()));
}

StatusOr<Value> ToJson(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "tojson", {"indent", "ensure_ascii", "separators", "sort_keys"}, &p));
  int indent = -1;
  if (p[0].is_int()) indent = static_cast<int>(std::clamp<int64_t>(p[0].as_int(), 0, 64));
  else if (!p[0].is_undefined() && !p[0].is_none()) return TypeError("tojson indent must be an integer");
  auto r = v.ToJson(indent, p[1].Truthy(), p[3].Truthy(), ev.limits().max_output_bytes);
  if (!r.ok()) return r.status();
  R1_RETURN_IF_ERROR(ev.CheckSize(r->size()));
  R1_RETURN_IF_ERROR(ev.Charge(r->size()));
  return Value::String(std::move(*r));
}

StatusOr<Value> Trim(Evaluator&, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "trim", {"chars"}, &p));
  std::optional<std::string> chars;
  if (!p[0].is_undefined() && !p[0].is_none()) chars = p[0].Str();
  return Value::String(PyStrip(v.Str(), chars, true, true));
}

StatusOr<Value> Unique(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "unique", {"case_sensitive", "attribute"}, &p));
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  ValueList out, seen;
  for (const auto& item : *items) {
    Value k = item;
    if (!p[1].is_undefined()) {
      auto r = AttrPath(ev, item, p[1].Str());
      if (!r.ok()) return r;
      k = *r;
    }
    k = SortKey(k, p[0].Truthy());
    bool dup = false;
    for (const auto& s : seen) dup |= s.Equals(k);
    if (!dup) { seen.push_back(k); out.push_back(item); }
  }
  return Value::List(std::move(out));
}

StatusOr<Value> Indent(Evaluator& ev, const Value& v, CallArgs& a) {
  std::vector<Value> p;
  R1_RETURN_IF_ERROR(BindArgs(a, "indent", {"width", "first", "blank"}, &p));
  std::string ind = p[0].is_string() ? p[0].as_string()
                                      : std::string(static_cast<size_t>(std::clamp<int64_t>(p[0].is_undefined() ? 4 : p[0].as_int(), 0, 1024)), ' ');
  std::string s = v.Str() + "\n";
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' || s[i] == '\r') {
      lines.push_back(s.substr(start, i - start));
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  std::string rv;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) rv += "\n";
    if (i && (p[2].Truthy() || !lines[i].empty())) rv += ind;
    rv += lines[i];
    R1_RETURN_IF_ERROR(ev.CheckSize(rv.size()));
  }
  if (p[1].Truthy()) rv = ind + rv;
  return Value::String(std::move(rv));
}

StatusOr<Value> WordCount(Evaluator&, const Value& v, CallArgs& a) {
  R1_RETURN_IF_ERROR(NoArgs(a, "wordcount"));
  int64_t n = 0;
  bool in_word = false;
  for (char32_t c : DecodeUtf8(v.Str())) {
    bool w = c == '_' || (c < 128 ? std::isalnum(static_cast<int>(c)) != 0 : !IsPySpace(c));
    if (w && !in_word) ++n;
    in_word = w;
  }
  return Value::Int(n);
}

const std::unordered_map<std::string, FilterFn>& Filters() {
  static const auto* m = new std::unordered_map<std::string, FilterFn>{
      {"abs", Abs}, {"attr", Attr}, {"batch", Batch}, {"capitalize", Capitalize}, {"center", Center},
      {"count", LengthFilter}, {"d", Default}, {"default", Default}, {"dictsort", DictSort},
      {"e", Escape}, {"escape", Escape}, {"first", First}, {"float", Float}, {"int", Int},
      {"items", Items}, {"join", Join}, {"last", Last}, {"length", LengthFilter}, {"list", ListFilter},
      {"lower", Lower}, {"map", Map}, {"max", Max}, {"min", Min}, {"reject", Reject},
      {"rejectattr", RejectAttr}, {"replace", Replace}, {"reverse", Reverse}, {"round", Round},
      {"safe", Safe}, {"select", Select}, {"selectattr", SelectAttr}, {"sort", Sort},
      {"string", StringFilter}, {"sum", Sum}, {"title", Title}, {"tojson", ToJson}, {"trim", Trim},
      {"unique", Unique}, {"upper", Upper}, {"indent", Indent}, {"wordcount", WordCount},
  };
  return *m;
}

}  // namespace

bool IsKnownFilter(const std::string& name) { return Filters().count(name) > 0; }

StatusOr<Value> ApplyFilter(Evaluator& ev, const std::string& name, const Value& v, CallArgs& args) {
  auto it = Filters().find(name);
  if (it == Filters().end()) return Status::InvalidArgument("No filter named '" + name + "'.");
  R1_RETURN_IF_ERROR(ev.Charge(1));
  return it->second(ev, v, args);
}

}  // namespace r1::jinja
