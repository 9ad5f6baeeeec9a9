#include "text/jinja/interp.h"

#include "core/status.h"

namespace ember::jinja {

// Defined in builtins.cc.
Value apply_filter(Interp& in, const std::string& name, const Value& v, const CallArgs& args);
bool apply_test(Interp& in, const std::string& name, const Value& v, const CallArgs& args);

const Value* Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

void Interp::error_at(size_t offset, const std::string& msg) const {
  fail(ErrorCode::kTemplate, "template error at ", map_.position(offset), ": ", msg);
}

void Interp::step() {
  if (++steps_ > limits_.max_steps)
    runtime_error("template evaluation exceeded " + std::to_string(limits_.max_steps) + " steps");
}

void Interp::check_size(size_t n) const {
  if (n > limits_.max_output_bytes)
    runtime_error("template output or value exceeds the limit of " + std::to_string(limits_.max_output_bytes) +
                  " bytes");
}

Value Interp::filter(const std::string& name, const Value& v, const CallArgs& args) {
  return apply_filter(*this, name, v, args);
}

bool Interp::test(const std::string& name, const Value& v, const CallArgs& args) {
  return apply_test(*this, name, v, args);
}

// ---------------------------------------------------------------------------------------------
// Statements

void Interp::render(const Body& body, const ScopePtr& scope, std::string& out) {
  if (exec_body(body, scope, out) != Flow::kNormal) runtime_error("break or continue outside of a loop");
}

Interp::Flow Interp::exec_body(const Body& body, const ScopePtr& scope, std::string& out) {
  for (const auto& s : body) {
    Flow f = exec(*s, scope, out);
    if (f != Flow::kNormal) return f;
  }
  return Flow::kNormal;
}

Interp::Flow Interp::exec(const Stmt& s, const ScopePtr& scope, std::string& out) {
  try {
    step();
    switch (s.kind) {
      case StmtKind::kData:
        out += s.text;
        check_size(out.size());
        return Flow::kNormal;
      case StmtKind::kEmit:
        out += eval(*s.expr, scope).str();
        check_size(out.size());
        return Flow::kNormal;
      case StmtKind::kIf:
        for (const auto& [cond, body] : s.branches)
          if (eval(*cond, scope).truthy()) return exec_body(body, scope, out);
        return exec_body(s.else_body, scope, out);
      case StmtKind::kFor: return exec_for(s, scope, out);
      case StmtKind::kSet: assign(s.target, eval(*s.expr, scope), scope); return Flow::kNormal;
      case StmtKind::kSetBlock: {
        std::string text;
        auto child = std::make_shared<Scope>();
        child->parent = scope;
        render(s.body, child, text);
        Value v(std::move(text));
        if (s.filter) v = eval_filter(*s.filter, scope, &v);
        assign(s.target, v, scope);
        return Flow::kNormal;
      }
      case StmtKind::kMacro: scope->vars[s.text] = make_macro(s, scope); return Flow::kNormal;
      case StmtKind::kFilterBlock: {
        std::string text;
        auto child = std::make_shared<Scope>();
        child->parent = scope;
        render(s.body, child, text);
        Value body_value(std::move(text));
        out += eval_filter(*s.filter, scope, &body_value).str();
        check_size(out.size());
        return Flow::kNormal;
      }
      case StmtKind::kWith: {
        auto child = std::make_shared<Scope>();
        child->parent = scope;
        for (const auto& [name, expr] : s.params) child->vars[name] = eval(*expr, scope);
        return exec_body(s.body, child, out);
      }
      case StmtKind::kBreak: return Flow::kBreak;
      case StmtKind::kContinue: return Flow::kContinue;
      case StmtKind::kScope: return exec_body(s.body, scope, out);
    }
  } catch (const RuntimeError& e) {
    error_at(s.offset, e.message);
  }
  return Flow::kNormal;
}

void Interp::assign(const Target& t, const Value& v, const ScopePtr& scope) {
  if (!t.ns_attr.empty()) {
    const Value* ns = scope->find(t.names[0]);
    if (!ns || !ns->is_object() || !ns->as_object().assignable)
      runtime_error("cannot assign attribute on non-namespace object");
    if (t.ns_attr[0] == '_')
      runtime_error("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                    t.ns_attr + "'. Please rename the attribute.");
    ns->as_object().attrs.set(Value(t.ns_attr), v);
    return;
  }
  if (!t.is_tuple) {
    scope->vars[t.names[0]] = v;
    return;
  }
  std::vector<Value> items = iterate(v);
  if (items.size() != t.names.size())
    runtime_error(items.size() > t.names.size()
                      ? "too many values to unpack (expected " + std::to_string(t.names.size()) + ")"
                      : "not enough values to unpack (expected " + std::to_string(t.names.size()) + ", got " +
                            std::to_string(items.size()) + ")");
  for (size_t i = 0; i < items.size(); ++i) scope->vars[t.names[i]] = items[i];
}

namespace {

Value make_loop(size_t i, const std::vector<Value>& items) {
  auto loop = std::make_shared<Object>();
  loop->type_name = "LoopContext";
  const auto n = static_cast<int64_t>(items.size());
  const auto k = static_cast<int64_t>(i);
  auto& a = loop->attrs.items;
  a.reserve(12);
  a.emplace_back(Value("index"), Value(k + 1));
  a.emplace_back(Value("index0"), Value(k));
  a.emplace_back(Value("revindex"), Value(n - k));
  a.emplace_back(Value("revindex0"), Value(n - k - 1));
  a.emplace_back(Value("first"), Value(k == 0));
  a.emplace_back(Value("last"), Value(k == n - 1));
  a.emplace_back(Value("length"), Value(n));
  a.emplace_back(Value("depth"), Value(1));
  a.emplace_back(Value("depth0"), Value(0));
  a.emplace_back(Value("previtem"), i > 0 ? items[i - 1] : Value::undefined("there is no previous item"));
  a.emplace_back(Value("nextitem"), i + 1 < items.size() ? items[i + 1] : Value::undefined("there is no next item"));
  a.emplace_back(Value("cycle"), Value::function("cycle", [k](Interp&, const CallArgs& args) {
                   if (args.positional.empty()) runtime_error("no items for cycling given");
                   return args.positional[static_cast<size_t>(k) % args.positional.size()];
                 }));
  return Value(std::move(loop));
}

}  // namespace

Interp::Flow Interp::exec_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
  std::vector<Value> items = iterate(eval(*s.expr, scope));
  if (s.cond) {  // `for x in xs if cond`: filter first, so loop.length counts kept items only
    std::vector<Value> kept;
    for (auto& item : items) {
      auto probe = std::make_shared<Scope>();
      probe->parent = scope;
      assign(s.target, item, probe);
      if (eval(*s.cond, probe).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    auto iter_scope = std::make_shared<Scope>();  // fresh per iteration, as in jinja2
    iter_scope->parent = scope;
    assign(s.target, items[i], iter_scope);
    iter_scope->vars["loop"] = make_loop(i, items);
    if (exec_body(s.body, iter_scope, out) == Flow::kBreak) break;
  }
  if (items.empty()) return exec_body(s.else_body, scope, out);
  return Flow::kNormal;
}

Value Interp::make_macro(const Stmt& s, const ScopePtr& defining_scope) {
  const Stmt* macro = &s;
  std::weak_ptr<Scope> weak_scope = defining_scope;  // the scope owns the macro; avoid a cycle
  return Value::function(s.text, [macro, weak_scope](Interp& in, const CallArgs& args) {
    auto parent = weak_scope.lock();
    if (!parent) runtime_error("macro '" + macro->text + "' called after its scope ended");
    if (in.call_depth_ >= in.limits_.max_call_depth) runtime_error("maximum recursion depth exceeded in macro calls");
    auto scope = std::make_shared<Scope>();
    scope->parent = parent;
    const auto& params = macro->params;
    std::vector<Value> varargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < params.size()) scope->vars[params[i].first] = args.positional[i];
      else varargs.push_back(args.positional[i]);
    }
    auto kwargs = std::make_shared<Dict>();
    for (const auto& [k, v] : args.keyword) {
      bool is_param = false;
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i].first == k) {
          if (i < args.positional.size())
            runtime_error("macro '" + macro->text + "' got multiple values for argument '" + k + "'");
          scope->vars[k] = v;
          is_param = true;
        }
      if (!is_param) kwargs->set(Value(k), v);
    }
    for (const auto& [name, def] : params) {  // defaults are evaluated at call time, in order
      if (scope->vars.count(name)) continue;
      scope->vars[name] = def ? in.eval(*def, scope) : Value::undefined("parameter '" + name + "' was not provided");
    }
    scope->vars["varargs"] = Value::list(std::move(varargs));
    scope->vars["kwargs"] = Value(std::move(kwargs));
    std::string out;
    ++in.call_depth_;
    try {
      in.render(macro->body, scope, out);
    } catch (...) {
      --in.call_depth_;
      throw;
    }
    --in.call_depth_;
    return Value(std::move(out));
  });
}

// ---------------------------------------------------------------------------------------------
// Expressions

Value Interp::eval(const Expr& e, const ScopePtr& scope) {
  try {
    step();
    return eval_inner(e, scope);
  } catch (const RuntimeError& err) {
    error_at(e.offset, err.message);  // innermost expression with a position wins
  }
}

CallArgs Interp::eval_args(const Expr& e, const ScopePtr& scope) {
  CallArgs args;
  for (const auto& a : e.args) args.positional.push_back(eval(*a, scope));
  for (const auto& [k, v] : e.kwargs) args.keyword.emplace_back(k, eval(*v, scope));
  if (e.dyn_args)
    for (auto& v : iterate(eval(*e.dyn_args, scope))) args.positional.push_back(std::move(v));
  if (e.dyn_kwargs) {
    Value d = eval(*e.dyn_kwargs, scope);
    if (!d.is_dict()) runtime_error("argument after ** must be a mapping, not " + d.type_name());
    for (const auto& [k, v] : d.as_dict().items) {
      if (!k.is_string()) runtime_error("keywords must be strings");
      args.keyword.emplace_back(k.as_string(), v);
    }
  }
  return args;
}

Value Interp::call(const Value& callee, const CallArgs& args) {
  if (callee.is_undefined()) runtime_error(callee.undefined_hint());
  if (!callee.is_function()) runtime_error("'" + callee.type_name() + "' object is not callable");
  return callee.as_function().fn(*this, args);
}

Value Interp::eval_filter(const Expr& e, const ScopePtr& scope, const Value* body_value) {
  Value base = e.a ? (e.a->kind == ExprKind::kFilter ? eval_filter(*e.a, scope, body_value) : eval(*e.a, scope))
                   : *body_value;
  try {
    return filter(e.name, base, eval_args(e, scope));
  } catch (const RuntimeError& err) {
    error_at(e.offset, err.message);
  }
}

bool Interp::compare(const std::string& op, const Value& a, const Value& b) {
  if (op == "==") return py_equal(a, b);
  if (op == "!=") return !py_equal(a, b);
  if (op == "in") return py_contains(b, a);
  if (op == "notin") return !py_contains(b, a);
  if (op == "<") return py_less(a, b);
  if (op == ">") return py_less(b, a);
  if (op == "<=") return py_less(a, b) || py_equal(a, b);
  return py_less(b, a) || py_equal(a, b);  // ">="
}

Value Interp::eval_inner(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::kConst: return e.value;
    case ExprKind::kName: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined("'" + e.name + "' is undefined");
    }
    case ExprKind::kList:
    case ExprKind::kTuple: {
      std::vector<Value> items;
      for (const auto& a : e.args) items.push_back(eval(*a, scope));
      return Value::list(std::move(items), e.kind == ExprKind::kTuple);
    }
    case ExprKind::kDict: {
      auto d = std::make_shared<Dict>();
      for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        Value key = eval(*e.args[i], scope);
        if (key.is_list() && !key.as_list().is_tuple) runtime_error("unhashable type: 'list'");
        if (key.is_dict()) runtime_error("unhashable type: 'dict'");
        d->set(std::move(key), eval(*e.args[i + 1], scope));
      }
      return Value(std::move(d));
    }
    case ExprKind::kGetAttr: return get_attr(eval(*e.a, scope), e.name);
    case ExprKind::kGetItem: {
      Value obj = eval(*e.a, scope);
      if (e.b->kind == ExprKind::kSlice) {
        const auto& p = e.b->args;
        auto part = [&](size_t i) { return p[i] ? eval(*p[i], scope) : Value::none(); };
        Value start = part(0), stop = part(1), stride = part(2);
        return slice(obj, start, stop, stride);
      }
      return get_item(obj, eval(*e.b, scope));
    }
    case ExprKind::kSlice: runtime_error("slice outside of a subscript");
    case ExprKind::kCall: {
      Value callee = eval(*e.a, scope);
      return call(callee, eval_args(e, scope));
    }
    case ExprKind::kFilter: return eval_filter(e, scope, nullptr);
    case ExprKind::kTest: {
      Value v = eval(*e.a, scope);
      return Value(test(e.name, v, eval_args(e, scope)));
    }
    case ExprKind::kNot: return Value(!eval(*e.a, scope).truthy());
    case ExprKind::kNeg:
    case ExprKind::kPos: {
      Value v = eval(*e.a, scope);
      if (v.is_undefined()) runtime_error(v.undefined_hint());
      if (!v.is_number()) runtime_error("bad operand type for unary " + std::string(e.kind == ExprKind::kNeg ? "-" : "+") + ": '" + v.type_name() + "'");
      if (e.kind == ExprKind::kPos) return v.is_bool() ? Value(v.to_int()) : v;
      if (v.is_float()) return Value(-v.as_float());
      if (v.to_int() == INT64_MIN) runtime_error("integer overflow");
      return Value(-v.to_int());
    }
    case ExprKind::kBinary: {
      if (e.name == "and") {
        Value l = eval(*e.a, scope);
        return l.truthy() ? eval(*e.b, scope) : l;
      }
      if (e.name == "or") {
        Value l = eval(*e.a, scope);
        return l.truthy() ? l : eval(*e.b, scope);
      }
      Value l = eval(*e.a, scope);
      Value r = eval(*e.b, scope);
      return binary_op(e.name, l, r, *this);
    }
    case ExprKind::kConcat: {
      std::string s;
      for (const auto& a : e.args) {
        s += eval(*a, scope).str();
        check_size(s.size());
      }
      return Value(std::move(s));
    }
    case ExprKind::kCompare: {
      Value left = eval(*e.a, scope);
      for (size_t i = 0; i < e.ops.size(); ++i) {
        Value right = eval(*e.args[i], scope);
        if (!compare(e.ops[i], left, right)) return Value(false);
        left = std::move(right);
      }
      return Value(true);
    }
    case ExprKind::kCondExpr:
      if (eval(*e.a, scope).truthy()) return eval(*e.b, scope);
      if (e.c) return eval(*e.c, scope);
      return Value::undefined("the inline if-expression on " + map_.position(e.offset) +
                              " evaluated to false and no else section was defined.");
  }
  return Value();
}

}  // namespace ember::jinja
