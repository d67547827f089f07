#include "jinja/jinja_evaluator.h"

#include <cmath>

#include "jinja/jinja_builtins.h"
#include "jinja/jinja_string.h"

namespace r1::jinja {

const Value* Scope::Lookup(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Status AtLine(const Status& s, int line) {
  if (s.ok() || s.message().rfind("line ", 0) == 0) return s;
  return Status(s.code(), "line " + std::to_string(line) + ": " + s.message());
}

Evaluator::~Evaluator() {
  for (auto& ns : namespaces_) ns.namespace_attrs().items.clear();
}

Evaluator::Evaluator(const RenderLimits& limits) : limits_(limits) {
  if (limits_.max_seconds > 0)
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(limits_.max_seconds));
}

Status Evaluator::Charge(uint64_t units) {
  work_ += units;
  if (work_ > limits_.max_work) return Status::ResourceExhausted("template exceeded its work budget");
  if (work_ >= next_poll_) {  // every ~64k units: a few hundred microseconds of rendering
    next_poll_ = work_ + (1u << 16);
    if (limits_.max_seconds > 0 && std::chrono::steady_clock::now() > deadline_)
      return Status::ResourceExhausted("template rendering took longer than " + std::to_string(limits_.max_seconds) +
                                      " s");
    if (limits_.cancelled && limits_.cancelled()) return Status::Cancelled("template rendering was cancelled");
  }
  return Status::Ok();
}

Status Evaluator::CheckSlots(size_t n) const {
  if (n > limits_.max_output_bytes / kValueBytes)
    return Status::ResourceExhausted("template built a list of more than " +
                                     std::to_string(limits_.max_output_bytes / kValueBytes) + " items");
  return Status::Ok();
}

Status Evaluator::CountCall() {
  if (++calls_ > limits_.max_calls)
    return Status::ResourceExhausted("template made more than " + std::to_string(limits_.max_calls) + " macro calls");
  return Charge(1);
}

Status Evaluator::CheckSize(size_t n) const {
  if (n > limits_.max_output_bytes)
    return Status::ResourceExhausted("template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
  return Status::Ok();
}

Status Evaluator::CheckDepth(const Value& v) const {
  if (v.depth() > kMaxValueDepth)
    return Status::ResourceExhausted("values nested deeper than " + std::to_string(kMaxValueDepth) + " levels");
  return Status::Ok();
}

Status Evaluator::CountIterations(int64_t n) {
  iterations_ += n;
  if (iterations_ > limits_.max_loop_iterations)
    return Status::ResourceExhausted("template exceeded " + std::to_string(limits_.max_loop_iterations) +
                                     " loop iterations");
  return Charge(static_cast<uint64_t>(n));
}

Status Evaluator::RenderBody(const StmtList& body, const std::shared_ptr<Scope>& scope, std::string* out) {
  for (const auto& s : body) {
    R1_RETURN_IF_ERROR(RenderStmt(*s, scope, out));
    if (flow_ != Flow::kNormal) break;
  }
  return Status::Ok();
}

Status Evaluator::RenderStmt(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string* out) {
  R1_RETURN_IF_ERROR(Charge(1));
  switch (s.kind) {
    case Stmt::Kind::kText:
      out->append(s.text);
      R1_RETURN_IF_ERROR(Charge(s.text.size()));
      return AtLine(CheckSize(out->size()), s.line);
    case Stmt::Kind::kOutput: {
      auto v = Eval(*s.expr, scope);
      if (!v.ok()) return v.status();
      std::string text = v->Str();
      out->append(text);
      R1_RETURN_IF_ERROR(Charge(text.size()));
      return AtLine(CheckSize(out->size()), s.line);
    }
    case Stmt::Kind::kIf:
      for (size_t i = 0; i < s.conds.size(); ++i) {
        auto c = Eval(*s.conds[i], scope);
        if (!c.ok()) return c.status();
        if (c->Truthy()) return RenderBody(s.bodies[i], scope, out);
      }
      if (s.bodies.size() > s.conds.size()) return RenderBody(s.bodies.back(), scope, out);
      return Status::Ok();
    case Stmt::Kind::kFor:
      return RenderFor(s, scope, out);
    case Stmt::Kind::kSet: {
      auto v = Eval(*s.expr, scope);
      if (!v.ok()) return v.status();
      return AtLine(Assign(s, *v, *scope), s.line);
    }
    case Stmt::Kind::kSetBlock: {
      std::string body;
      R1_RETURN_IF_ERROR(RenderBody(s.bodies[0], scope, &body));
      Value v = Value::String(std::move(body));
      if (s.filter) {
        auto f = ApplyFilterChain(*s.filter, v, scope);
        if (!f.ok()) return f.status();
        v = std::move(*f);
      }
      scope->vars[s.targets[0]] = std::move(v);
      return Status::Ok();
    }
    case Stmt::Kind::kFilterBlock: {
      std::string body;
      R1_RETURN_IF_ERROR(RenderBody(s.bodies[0], scope, &body));
      auto f = ApplyFilterChain(*s.filter, Value::String(std::move(body)), scope);
      if (!f.ok()) return f.status();
      out->append(f->Str());
      return AtLine(CheckSize(out->size()), s.line);
    }
    case Stmt::Kind::kMacro:
      scope->vars[s.name] = MakeMacro(s, scope);
      return Status::Ok();
    case Stmt::Kind::kBreak:
      flow_ = Flow::kBreak;
      return Status::Ok();
    case Stmt::Kind::kContinue:
      flow_ = Flow::kContinue;
      return Status::Ok();
    case Stmt::Kind::kScope: {
      if (s.with_vars.empty()) return RenderBody(s.bodies[0], scope, out);
      auto inner = std::make_shared<Scope>();
      inner->parent = scope;
      for (const auto& [name, expr] : s.with_vars) {
        auto v = Eval(*expr, scope);
        if (!v.ok()) return v.status();
        inner->vars[name] = std::move(*v);
      }
      return RenderBody(s.bodies[0], inner, out);
    }
  }
  return Status::Ok();
}

Status Evaluator::Assign(const Stmt& s, const Value& v, Scope& scope) {
  R1_RETURN_IF_ERROR(CheckDepth(v));
  if (!s.attr.empty()) {
    const Value* ns = scope.Lookup(s.targets[0]);
    if (!ns || !ns->is_namespace())
      return Status::InvalidArgument("cannot assign attribute on non-namespace object");
    ns->namespace_attrs().Set(Value::String(s.attr), v);
    return Status::Ok();
  }
  if (s.targets.size() == 1) {
    scope.vars[s.targets[0]] = v;
    return Status::Ok();
  }
  auto items = Iterate(v);
  if (!items.ok()) return items.status();
  if (items->size() != s.targets.size())
    return Status::InvalidArgument(items->size() > s.targets.size() ? "too many values to unpack"
                                                                     : "not enough values to unpack");
  for (size_t i = 0; i < s.targets.size(); ++i) scope.vars[s.targets[i]] = (*items)[i];
  return Status::Ok();
}

Status Evaluator::RenderFor(const Stmt& s, const std::shared_ptr<Scope>& scope, std::string* out) {
  auto seq = Eval(*s.expr, scope);
  if (!seq.ok()) return seq.status();
  auto all = Iterate(*seq);
  if (!all.ok()) return AtLine(all.status(), s.line);
  auto bind = [&](Scope& sc, const Value& item) -> Status {
    if (s.targets.size() == 1) {
      sc.vars[s.targets[0]] = item;
      return Status::Ok();
    }
    auto parts = Iterate(item);
    if (!parts.ok()) return AtLine(parts.status(), s.line);
    if (parts->size() != s.targets.size())
      return AtLine(Status::InvalidArgument(parts->size() > s.targets.size() ? "too many values to unpack"
                                                                             : "not enough values to unpack"),
                    s.line);
    for (size_t i = 0; i < parts->size(); ++i) sc.vars[s.targets[i]] = (*parts)[i];
    return Status::Ok();
  };
  ValueList items;
  if (s.filter) {
    for (const Value& item : *all) {
      R1_RETURN_IF_ERROR(AtLine(CountIterations(1), s.line));
      auto sc = std::make_shared<Scope>();
      sc->parent = scope;
      R1_RETURN_IF_ERROR(bind(*sc, item));
      auto keep = Eval(*s.filter, sc);
      if (!keep.ok()) return keep.status();
      if (keep->Truthy()) items.push_back(item);
    }
  } else {
    items = std::move(*all);
  }
  if (items.empty()) return RenderBody(s.bodies[1], scope, out);
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    R1_RETURN_IF_ERROR(AtLine(CountIterations(1), s.line));
    auto sc = std::make_shared<Scope>();
    sc->parent = scope;
    R1_RETURN_IF_ERROR(bind(*sc, items[static_cast<size_t>(i)]));
    Dict loop;
    loop.Set(Value::String("index"), Value::Int(i + 1));
    loop.Set(Value::String("index0"), Value::Int(i));
    loop.Set(Value::String("revindex"), Value::Int(n - i));
    loop.Set(Value::String("revindex0"), Value::Int(n - i - 1));
    loop.Set(Value::String("first"), Value::Bool(i == 0));
    loop.Set(Value::String("last"), Value::Bool(i == n - 1));
    loop.Set(Value::String("length"), Value::Int(n));
    loop.Set(Value::String("depth"), Value::Int(1));
    loop.Set(Value::String("depth0"), Value::Int(0));
    loop.Set(Value::String("previtem"),
             i > 0 ? items[static_cast<size_t>(i - 1)] : Value::Undefined("there is no previous item"));
    loop.Set(Value::String("nextitem"),
             i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::Undefined("there is no next item"));
    loop.Set(Value::String("cycle"), Value::Function("loop.cycle", [i](Evaluator&, CallArgs& a) -> StatusOr<Value> {
               if (a.positional.empty()) return TypeError("no items for cycling given");
               return a.positional[static_cast<size_t>(i) % a.positional.size()];
             }));
    sc->vars["loop"] = Value::MakeDict(std::move(loop));
    R1_RETURN_IF_ERROR(RenderBody(s.bodies[0], sc, out));
    Flow f = flow_;
    flow_ = Flow::kNormal;
    if (f == Flow::kBreak) break;
  }
  return Status::Ok();
}

Value Evaluator::MakeMacro(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  std::weak_ptr<Scope> weak = scope;
  const Stmt* def = &s;
  return Value::Function(s.name, [def, weak](Evaluator& ev, CallArgs& args) -> StatusOr<Value> {
    auto parent = weak.lock();
    if (!parent) return Status::InvalidArgument("macro '" + def->name + "' called outside its scope");
    if (args.positional.size() > def->params.size())
      return TypeError("macro '" + def->name + "' takes not more than " + std::to_string(def->params.size()) +
                       " argument(s)");
    auto sc = std::make_shared<Scope>();
    sc->parent = parent;
    for (size_t i = 0; i < def->params.size(); ++i) {
      if (i < args.positional.size()) sc->vars[def->params[i]] = args.positional[i];
    }
    for (auto& [k, v] : args.keyword) {
      size_t idx = 0;
      while (idx < def->params.size() && def->params[idx] != k) ++idx;
      if (idx == def->params.size()) return TypeError("macro '" + def->name + "' takes no keyword argument '" + k + "'");
      if (idx < args.positional.size()) return TypeError("macro '" + def->name + "' got multiple values for argument '" + k + "'");
      sc->vars[k] = v;
    }
    for (size_t i = 0; i < def->params.size(); ++i) {
      if (sc->vars.count(def->params[i])) continue;
      if (def->defaults[i]) {
        auto d = ev.Eval(*def->defaults[i], sc);
        if (!d.ok()) return d.status();
        sc->vars[def->params[i]] = std::move(*d);
      } else {
        sc->vars[def->params[i]] = Value::Undefined("'" + def->params[i] + "' is undefined");
      }
    }
    R1_RETURN_IF_ERROR(ev.CountCall());
    if (++ev.call_depth_ > ev.limits_.max_call_depth) {
      --ev.call_depth_;
      return Status::ResourceExhausted("macro calls nested too deeply");
    }
    std::string out;
    Status st = ev.RenderBody(def->bodies[0], sc, &out);
    ev.flow_ = Flow::kNormal;
    --ev.call_depth_;
    if (!st.ok()) return st;
    return Value::String(std::move(out));
  });
}

Status Evaluator::EvalArgs(const Expr& e, size_t first, const std::shared_ptr<Scope>& scope, CallArgs* out) {
  for (size_t i = first; i < e.args.size(); ++i) {
    auto v = Eval(*e.args[i], scope);
    if (!v.ok()) return v.status();
    out->positional.push_back(std::move(*v));
  }
  for (const auto& [k, ex] : e.kwargs) {
    auto v = Eval(*ex, scope);
    if (!v.ok()) return v.status();
    out->keyword.emplace_back(k, std::move(*v));
  }
  return Status::Ok();
}

StatusOr<Value> Evaluator::ApplyFilterChain(const Expr& f, Value input, const std::shared_ptr<Scope>& scope) {
  if (f.kind != Expr::Kind::kFilter) {
    if (f.kind == Expr::Kind::kLiteral) return input;  // the placeholder at the bottom
    return Status::InvalidArgument("line " + std::to_string(f.line) + ": expected a filter");
  }
  auto base = ApplyFilterChain(*f.args[0], std::move(input), scope);
  if (!base.ok()) return base;
  CallArgs args;
  R1_RETURN_IF_ERROR(EvalArgs(f, 1, scope, &args));
  auto r = ApplyFilter(*this, f.name, *base, args);
  if (!r.ok()) return AtLine(r.status(), f.line);
  return r;
}

StatusOr<Value> Evaluator::Call(const Value& fn, CallArgs& args) {
  if (fn.is_undefined()) return Status::InvalidArgument(fn.undefined_hint());
  if (!fn.is_callable()) return TypeError(std::string("'") + fn.TypeName() + "' object is not callable");
  return fn.as_callable().fn(*this, args);
}

StatusOr<Value> Evaluator::Eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  R1_RETURN_IF_ERROR(AtLine(Charge(1), e.line));
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.literal;
    case Expr::Kind::kName: {
      const Value* v = scope->Lookup(e.name);
      if (v) return *v;
      return Value::Undefined("'" + e.name + "' is undefined");
    }
    case Expr::Kind::kList: {
      ValueList items;
      for (const auto& a : e.args) {
        auto v = Eval(*a, scope);
        if (!v.ok()) return v;
        items.push_back(std::move(*v));
      }
      Value list = e.name == "tuple" ? Value::Tuple(std::move(items)) : Value::List(std::move(items));
      R1_RETURN_IF_ERROR(AtLine(CheckDepth(list), e.line));
      return list;
    }
    case Expr::Kind::kDict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        auto k = Eval(*e.args[i], scope);
        if (!k.ok()) return k;
        auto v = Eval(*e.args[i + 1], scope);
        if (!v.ok()) return v;
        if (k->is_list() || k->is_dict() || k->is_undefined())
          return AtLine(TypeError(std::string("unhashable type: '") + k->TypeName() + "'"), e.line);
        d.Set(std::move(*k), std::move(*v));
      }
      Value dict = Value::MakeDict(std::move(d));
      R1_RETURN_IF_ERROR(AtLine(CheckDepth(dict), e.line));
      return dict;
    }
    case Expr::Kind::kGetAttr: {
      auto obj = Eval(*e.args[0], scope);
      if (!obj.ok()) return obj;
      auto r = GetAttr(*obj, e.name);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kGetItem: {
      auto obj = Eval(*e.args[0], scope);
      if (!obj.ok()) return obj;
      auto key = Eval(*e.args[1], scope);
      if (!key.ok()) return key;
      auto r = GetItem(*obj, *key);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kSlice:
      return EvalSlice(e, scope);
    case Expr::Kind::kCall: {
      auto fn = Eval(*e.args[0], scope);
      if (!fn.ok()) return fn;
      CallArgs args;
      R1_RETURN_IF_ERROR(EvalArgs(e, 1, scope, &args));
      auto r = Call(*fn, args);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kFilter: {
      auto v = Eval(*e.args[0], scope);
      if (!v.ok()) return v;
      CallArgs args;
      R1_RETURN_IF_ERROR(EvalArgs(e, 1, scope, &args));
      auto r = ApplyFilter(*this, e.name, *v, args);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return r;
    }
    case Expr::Kind::kTest: {
      auto v = Eval(*e.args[0], scope);
      if (!v.ok()) return v;
      CallArgs args;
      R1_RETURN_IF_ERROR(EvalArgs(e, 1, scope, &args));
      auto r = ApplyTest(*this, e.name, *v, args);
      if (!r.ok()) return AtLine(r.status(), e.line);
      return Value::Bool(*r != e.negated);
    }
    case Expr::Kind::kUnary: {
      auto v = Eval(*e.args[0], scope);
      if (!v.ok()) return v;
      if (e.name == "not") return Value::Bool(!v->Truthy());
      if (v->is_undefined()) return AtLine(Status::InvalidArgument(v->undefined_hint()), e.line);
      if (!v->is_number())
        return AtLine(TypeError(std::string("bad operand type for unary ") + e.name + ": '" + v->TypeName() + "'"), e.line);
      if (e.name == "+") return v->is_float() ? *v : Value::Int(v->as_int());
      if (v->is_float()) return Value::Float(-v->as_float());
      if (v->as_int() == INT64_MIN) return AtLine(Status::OutOfRange("integer overflow"), e.line);
      return Value::Int(-v->as_int());
    }
    case Expr::Kind::kBinary:
      return EvalBinary(e, scope);
    case Expr::Kind::kCond: {
      auto c = Eval(*e.args[0], scope);
      if (!c.ok()) return c;
      if (c->Truthy()) return Eval(*e.args[1], scope);
      if (e.args[2]) return Eval(*e.args[2], scope);
      return Value::Undefined("the inline if-expression on line " + std::to_string(e.line) +
                              " evaluated to false and no else section was defined.");
    }
  }
  return Value();
}

StatusOr<Value> Evaluator::EvalSlice(const Expr& e, const std::shared_ptr<Scope>& scope) {
  auto obj = Eval(*e.args[0], scope);
  if (!obj.ok()) return obj;
  int64_t parts[3];
  bool given[3];
  for (int k = 0; k < 3; ++k) {
    given[k] = false;
    parts[k] = 0;
    if (!e.args[static_cast<size_t>(k) + 1]) continue;
    auto v = Eval(*e.args[static_cast<size_t>(k) + 1], scope);
    if (!v.ok()) return v;
    if (v->is_none()) continue;
    if (!v->is_int() && !v->is_bool())
      return AtLine(TypeError("slice indices must be integers or None"), e.line);
    given[k] = true;
    parts[k] = v->as_int();
  }
  int64_t step = given[2] ? parts[2] : 1;
  if (step == 0) return AtLine(Status::InvalidArgument("slice step cannot be zero"), e.line);
  std::u32string chars;
  int64_t len;
  if (obj->is_string()) {
    chars = DecodeUtf8(obj->as_string());
    len = static_cast<int64_t>(chars.size());
  } else if (obj->is_list()) {
    len = static_cast<int64_t>(obj->as_list().size());
  } else if (obj->is_undefined()) {
    return AtLine(Status::InvalidArgument(obj->undefined_hint()), e.line);
  } else {
    return AtLine(TypeError(std::string("'") + obj->TypeName() + "' object is not subscriptable"), e.line);
  }
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](int64_t v, bool is_given, int64_t def) {
    if (!is_given) return def;
    if (v < 0) {
      v += len;
      if (v < 0) v = step < 0 ? -1 : 0;
    } else if (v >= len) {
      v = step < 0 ? len - 1 : len;
    }
    return v;
  };
  int64_t start = adjust(parts[0], given[0], step < 0 ? len - 1 : 0);
  int64_t stop = adjust(parts[1], given[1], step < 0 ? -1 : len);
  std::vector<size_t> idx;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) idx.push_back(static_cast<size_t>(i));
  R1_RETURN_IF_ERROR(AtLine(Charge(idx.size()), e.line));
  if (obj->is_string()) {
    std::u32string out;
    for (size_t i : idx) out.push_back(chars[i]);
    return Value::String(EncodeUtf8(out));
  }
  ValueList out;
  for (size_t i : idx) out.push_back(obj->as_list()[i]);
  return Value::List(std::move(out));
}

}  // namespace r1::jinja
