#include "jinja/jinja_value.h"

#include <algorithm>
#include <cmath>

#include "jinja/jinja_string.h"
#include "r1/json.h"

namespace r1::jinja {

const Value* Dict::Find(const Value& key) const {
  for (const auto& [k, v] : items)
    if (k.Equals(key)) return &v;
  return nullptr;
}

const Value* Dict::Find(const std::string& key) const {
  for (const auto& [k, v] : items)
    if (k.is_string() && k.as_string() == key) return &v;
  return nullptr;
}

void Dict::Set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (k.Equals(key)) {
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

Value Value::List(ValueList items) {
  Value v(Kind::kList);
  for (const auto& x : items) v.depth_ = std::max(v.depth_, x.depth_ + 1);
  v.list_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}

Value Value::MakeDict(Dict d) {
  Value v(Kind::kDict);
  for (const auto& kv : d.items) v.depth_ = std::max(v.depth_, kv.second.depth_ + 1);
  v.dict_ = std::make_shared<Dict>(std::move(d));
  return v;
}

Value Value::MakeNamespace(Dict attrs) {
  Value v(Kind::kNamespace);
  for (const auto& kv : attrs.items) v.depth_ = std::max(v.depth_, kv.second.depth_ + 1);
  v.dict_ = std::make_shared<Dict>(std::move(attrs));
  return v;
}

Value Value::Function(std::string name, NativeFn fn) {
  Value v(Kind::kCallable);
  v.fn_ = std::make_shared<const Callable>(Callable{std::move(name), std::move(fn)});
  return v;
}

namespace {

template <typename Json>
Value FromJsonImpl(const Json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::None();
    case nlohmann::json::value_t::boolean: return Value::Bool(j.template get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::Int(j.template get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.template get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::Float(static_cast<double>(u));
      return Value::Int(static_cast<int64_t>(u));
    }
    case nlohmann::json::value_t::number_float: return Value::Float(j.template get<double>());
    case nlohmann::json::value_t::string: return Value::String(j.template get<std::string>());
    case nlohmann::json::value_t::array: {
      ValueList items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(FromJsonImpl(e));
      return Value::List(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict d;
      d.items.reserve(j.size());
      for (auto it = j.begin(); it != j.end(); ++it)
        d.items.emplace_back(Value::String(it.key()), FromJsonImpl(it.value()));
      return Value::MakeDict(std::move(d));
    }
    default: return Value::None();  // binary / discarded: not produced by parsing
  }
}

}  // namespace

Value Value::FromJson(const nlohmann::json& j) { return FromJsonImpl(j); }
Value Value::FromJson(const nlohmann::ordered_json& j) { return FromJsonImpl(j); }

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined: case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0;
    case Kind::kString: return !str_.empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return !dict_->items.empty();
    case Kind::kNamespace: case Kind::kCallable: return true;
  }
  return false;
}

const char* Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "NoneType";
    case Kind::kBool: return "bool";
    case Kind::kInt: return "int";
    case Kind::kFloat: return "float";
    case Kind::kString: return "str";
    case Kind::kList: return tuple_ ? "tuple" : "list";
    case Kind::kDict: return "dict";
    case Kind::kNamespace: return "Namespace";
    case Kind::kCallable: return "function";
  }
  return "object";
}

std::string Value::Str() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kString: return str_;
    default: return Repr();
  }
}

namespace {

// Appends repr(v). Stops descending past depth 1000 or 16 MiB of text, so a
// namespace that contains itself cannot recurse forever.
void ReprImpl(const Value& v, int depth, std::string& out) {
  constexpr size_t kMaxRepr = 16u << 20;
  if (depth > 1000 || out.size() > kMaxRepr) {
    out += "...";
    return;
  }
  switch (v.kind()) {
    case Value::Kind::kList: {
      out += v.is_tuple() ? "(" : "[";
      const ValueList& l = v.as_list();
      for (size_t i = 0; i < l.size() && out.size() <= kMaxRepr; ++i) {
        if (i) out += ", ";
        ReprImpl(l[i], depth + 1, out);
      }
      if (v.is_tuple() && l.size() == 1) out += ",";
      out += v.is_tuple() ? ")" : "]";
      return;
    }
    case Value::Kind::kDict: case Value::Kind::kNamespace: {
      bool ns = v.is_namespace();
      out += ns ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, x] : (ns ? v.namespace_attrs() : v.as_dict()).items) {
        if (out.size() > kMaxRepr) break;
        if (!first) out += ", ";
        first = false;
        ReprImpl(k, depth + 1, out);
        out += ": ";
        ReprImpl(x, depth + 1, out);
      }
      out += ns ? "}>" : "}";
      return;
    }
    default:
      out += v.Repr();
  }
}

}  // namespace

std::string Value::Repr(int depth) const {
  switch (kind_) {
    case Kind::kUndefined: return "Undefined";
    case Kind::kNone: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return PyFloatRepr(f_);
    case Kind::kString: return PyRepr(str_);
    case Kind::kCallable: return "<function " + fn_->name + ">";
    default: {
      std::string out;
      ReprImpl(*this, depth, out);
      return out;
    }
  }
}

namespace {

Status ToJsonImpl(const Value& v, int indent, bool ensure_ascii, bool sort_keys, int depth, size_t max_bytes,
                  std::string& out) {
  if (depth > 512) return Status::InvalidArgument("tojson: nesting too deep");
  if (out.size() > max_bytes)  // checked as the text grows, so it never gets much past the cap
    return Status::ResourceExhausted("tojson output exceeds " + std::to_string(max_bytes) + " bytes");
  auto newline = [&](int d) {
    out.push_back('\n');
    out.append(static_cast<size_t>(indent) * static_cast<size_t>(d), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kNone: out += "null"; return Status::Ok();
    case Value::Kind::kBool: out += v.as_bool() ? "true" : "false"; return Status::Ok();
    case Value::Kind::kInt: out += std::to_string(v.as_int()); return Status::Ok();
    case Value::Kind::kFloat: {
      double f = v.as_float();
      if (std::isnan(f)) out += "NaN";
      else if (std::isinf(f)) out += f > 0 ? "Infinity" : "-Infinity";
      else out += PyFloatRepr(f);
      return Status::Ok();
    }
    case Value::Kind::kString: AppendJsonString(out, v.as_string(), ensure_ascii); return Status::Ok();
    case Value::Kind::kList: {
      const ValueList& l = v.as_list();
      if (l.empty()) { out += "[]"; return Status::Ok(); }
      out.push_back('[');
      for (size_t i = 0; i < l.size(); ++i) {
        if (i) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        R1_RETURN_IF_ERROR(ToJsonImpl(l[i], indent, ensure_ascii, sort_keys, depth + 1, max_bytes, out));
      }
      if (indent >= 0) newline(depth);
      out.push_back(']');
      return Status::Ok();
    }
    case Value::Kind::kDict: {
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.as_dict().items) items.push_back(&kv);
      if (items.empty()) { out += "{}"; return Status::Ok(); }
      std::vector<std::string> keys;
      for (const auto* kv : items) {
        const Value& k = kv->first;
        if (k.is_string()) keys.push_back(k.as_string());
        else if (k.is_none()) keys.push_back("null");
        else if (k.is_bool()) keys.push_back(k.as_bool() ? "true" : "false");
        else if (k.is_int() || k.is_float()) keys.push_back(k.Str());
        else return Status::InvalidArgument(std::string("keys must be str, int, float, bool or None, not ") + k.TypeName());
      }
      std::vector<size_t> order(items.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      if (sort_keys)
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
      out.push_back('{');
      for (size_t n = 0; n < order.size(); ++n) {
        if (n) out += indent >= 0 ? "," : ", ";
        if (indent >= 0) newline(depth + 1);
        AppendJsonString(out, keys[order[n]], ensure_ascii);
        out += ": ";
        R1_RETURN_IF_ERROR(ToJsonImpl(items[order[n]]->second, indent, ensure_ascii, sort_keys, depth + 1, max_bytes, out));
      }
      if (indent >= 0) newline(depth);
      out.push_back('}');
      return Status::Ok();
    }
    default:
      return Status::InvalidArgument(std::string("Object of type ") + v.TypeName() +
                                     " is not JSON serializable");
  }
}

}  // namespace

StatusOr<std::string> Value::ToJson(int indent, bool ensure_ascii, bool sort_keys, size_t max_bytes) const {
  std::string out;
  R1_RETURN_IF_ERROR(ToJsonImpl(*this, indent, ensure_ascii, sort_keys, 0, max_bytes, out));
  if (out.size() > max_bytes)
    return Status::ResourceExhausted("tojson output exceeds " + std::to_string(max_bytes) + " bytes");
  return out;
}

StatusOr<nlohmann::ordered_json> Value::ToJsonValue() const {
  auto text = ToJson(-1, false, false);
  if (!text.ok()) return text.status();
  auto j = ParseJson<nlohmann::ordered_json>(*text, "the value");
  if (!j.ok()) return Status::InvalidArgument("value is not representable as JSON (" + j.status().message() + ")");
  return std::move(*j);
}

bool Value::Equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (is_float() || o.is_float()) return as_float() == o.as_float();
    return as_int() == o.as_int();
  }
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined: case Kind::kNone: return true;
    case Kind::kString: return str_ == o.str_;
    case Kind::kList: {
      if (list_->size() != o.list_->size()) return false;
      for (size_t i = 0; i < list_->size(); ++i)
        if (!(*list_)[i].Equals((*o.list_)[i])) return false;
      return true;
    }
    case Kind::kDict: {
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        const Value* ov = o.dict_->Find(k);
        if (!ov || !v.Equals(*ov)) return false;
      }
      return true;
    }
    case Kind::kNamespace: return dict_ == o.dict_;
    case Kind::kCallable: return fn_ == o.fn_;
    default: return false;
  }
}

StatusOr<bool> Value::Less(const Value& a, const Value& b) {
  if (a.is_undefined()) return Status::InvalidArgument(a.undefined_hint());
  if (b.is_undefined()) return Status::InvalidArgument(b.undefined_hint());
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();
  if (a.is_list() && b.is_list()) {
    const ValueList& x = a.as_list();
    const ValueList& y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (x[i].Equals(y[i])) continue;
      return Less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  return Status::InvalidArgument(std::string("'<' not supported between instances of '") +
                                 a.TypeName() + "' and '" + b.TypeName() + "'");
}

}  // namespace r1::jinja
