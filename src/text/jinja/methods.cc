// Attribute and item access, slicing, operators and the Python str/dict methods that templates
// call (`text.split('x')`, `message.items()`, ...), with the semantics of jinja2's sandbox.
#include <algorithm>
#include <cmath>

#include "text/jinja/interp.h"
#include "text/jinja/strings.h"

namespace ember::jinja {
namespace {

// jinja2's object_type_repr, used in undefined-value messages.
std::string object_type(const Value& v) {
  if (v.is_none()) return "None";
  return v.type_name() + " object";
}

Value no_attribute(const Value& obj, const std::string& name) {
  return Value::undefined("'" + object_type(obj) + "' has no attribute '" + name + "'");
}

Value arg(const CallArgs& args, size_t i, const char* name, const Value& fallback) {
  const Value* v = args.get(name, i);
  return v ? *v : fallback;
}

std::string need_str(const Value& v, const char* what) {
  if (!v.is_string()) runtime_error(std::string(what) + " must be str, not " + v.type_name());
  return v.as_string();
}

Value dict_method(const Value& self, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Value::function(name, [self, name](Interp&, const CallArgs&) {
      std::vector<Value> out;
      for (const auto& [k, v] : self.as_dict().items) {
        if (name == "items") out.push_back(Value::list({k, v}, true));
        else out.push_back(name == "keys" ? k : v);
      }
      return Value::list(std::move(out));
    });
  }
  if (name == "get") {
    return Value::function(name, [self](Interp&, const CallArgs& args) {
      if (args.positional.empty()) runtime_error("get expected at least 1 argument, got 0");
      const Value* v = self.as_dict().find(args.positional[0]);
      if (v) return *v;
      return args.positional.size() > 1 ? args.positional[1] : Value::none();
    });
  }
  return Value();
}

Value string_method(const Value& self, const std::string& name) {
  const std::string& s = self.as_string();
  using Fn = std::function<Value(Interp&, const CallArgs&)>;
  Fn fn;
  const Value none = Value::none();
  if (name == "split" || name == "rsplit") {
    fn = [s, name](Interp& in, const CallArgs& a) {
      const Value sep = arg(a, 0, "sep", Value::none());
      const Value maxv = arg(a, 1, "maxsplit", Value(-1));
      const int64_t maxsplit = maxv.is_number() && !maxv.is_float() ? maxv.to_int() : -1;
      std::vector<std::string> parts =
          sep.is_none() ? split_whitespace(s, maxsplit, name == "rsplit")
                        : split_on(s, need_str(sep, "separator"), maxsplit, name == "rsplit");
      std::vector<Value> out;
      for (auto& p : parts) out.emplace_back(std::move(p));
      return Value::list(std::move(out));
    };
  } else if (name == "strip" || name == "lstrip" || name == "rstrip") {
    fn = [s, name](Interp&, const CallArgs& a) {
      const Value chars = arg(a, 0, "chars", Value::none());
      const bool left = name != "rstrip", right = name != "lstrip";
      if (chars.is_none()) return Value(py_strip(s, nullptr, left, right));
      const std::string set = need_str(chars, "chars");
      return Value(py_strip(s, &set, left, right));
    };
  } else if (name == "startswith" || name == "endswith") {
    fn = [s, name](Interp&, const CallArgs& a) {
      if (a.positional.empty()) runtime_error(name + "() takes at least 1 argument (0 given)");
      std::vector<Value> options = a.positional[0].is_list() && a.positional[0].as_list().is_tuple
                                       ? a.positional[0].as_list().items
                                       : std::vector<Value>{a.positional[0]};
      for (const auto& o : options) {
        const std::string p = need_str(o, name == "startswith" ? "startswith first arg" : "endswith first arg");
        if (p.size() <= s.size() &&
            (name == "startswith" ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0))
          return Value(true);
      }
      return Value(false);
    };
  } else if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    fn = [s, name](Interp&, const CallArgs&) {
      return Value(name == "upper" ? ascii_upper(s) : name == "lower" ? ascii_lower(s) : name == "title" ? py_title(s) : py_capitalize(s));
    };
  } else if (name == "replace") {
    fn = [s](Interp& in, const CallArgs& a) {
      if (a.positional.size() < 2) runtime_error("replace expected at least 2 arguments");
      const Value count = arg(a, 2, "count", Value(-1));
      std::string r = py_replace(s, need_str(a.positional[0], "replace() argument 1"),
                                 need_str(a.positional[1], "replace() argument 2"), count.is_number() ? count.to_int() : -1,
                                 in.limits().max_output_bytes);
      return Value(std::move(r));
    };
  } else if (name == "find" || name == "rfind" || name == "count" || name == "index") {
    fn = [s, name](Interp&, const CallArgs& a) {
      if (a.positional.empty()) runtime_error(name + "() takes at least 1 argument (0 given)");
      const std::string sub = need_str(a.positional[0], "substring");
      if (name == "count") return Value(py_count(s, sub));
      const size_t pos = name == "rfind" ? s.rfind(sub) : s.find(sub);
      if (pos == std::string::npos) {
        if (name == "index") runtime_error("substring not found");
        return Value(-1);
      }
      return Value(static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, pos))));
    };
  } else if (name == "join") {
    fn = [s](Interp& in, const CallArgs& a) {
      if (a.positional.empty()) runtime_error("join() takes exactly one argument (0 given)");
      std::string out;
      size_t i = 0;
      for (const auto& v : iterate(a.positional[0])) {
        if (!v.is_string())
          runtime_error("sequence item " + std::to_string(i) + ": expected str instance, " + v.type_name() + " found");
        if (i++) out += s;
        out += v.as_string();
        in.check_size(out.size());
      }
      return Value(std::move(out));
    };
  } else if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
             name == "isupper") {
    fn = [s, name](Interp&, const CallArgs&) { return Value(ascii_predicate(s, name)); };
  } else {
    return Value();
  }
  return Value::function(name, std::move(fn));
}

}  // namespace

Value get_attr(const Value& obj, const std::string& name) {
  if (obj.is_undefined()) runtime_error(obj.undefined_hint());
  if (!name.empty() && name[0] == '_') return no_attribute(obj, name);  // sandbox: no private attributes
  if (obj.is_string()) {
    Value m = string_method(obj, name);
    return m.is_function() ? m : no_attribute(obj, name);
  }
  if (obj.is_dict()) {
    Value m = dict_method(obj, name);
    if (m.is_function()) return m;
    const Value* v = obj.as_dict().find(std::string_view(name));
    return v ? *v : no_attribute(obj, name);
  }
  if (obj.is_object()) {
    const Value* v = obj.as_object().attrs.find(std::string_view(name));
    return v ? *v : no_attribute(obj, name);
  }
  return no_attribute(obj, name);
}

Value get_item(const Value& obj, const Value& key) {
  if (obj.is_undefined()) runtime_error(obj.undefined_hint());
  const auto no_element = [&] {
    return key.is_string() ? no_attribute(obj, key.as_string())
                           : Value::undefined("'" + object_type(obj) + "' has no element " + key.repr());
  };
  if (obj.is_dict()) {
    if (!(key.is_list() && !key.as_list().is_tuple) && !key.is_dict()) {
      const Value* v = obj.as_dict().find(key);
      if (v) return *v;
    }
    return key.is_string() ? get_attr(obj, key.as_string()) : no_element();
  }
  if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
    const int64_t n = py_len(obj);
    int64_t i = key.to_int();
    if (i < 0) i += n;
    if (i < 0 || i >= n) return no_element();
    if (obj.is_list()) return obj.as_list().items[static_cast<size_t>(i)];
    auto cps = utf8_decode(obj.as_string());
    return Value(utf8_encode(cps, static_cast<size_t>(i), static_cast<size_t>(i) + 1));
  }
  if (key.is_string()) return get_attr(obj, key.as_string());
  return no_element();
}

Value slice(const Value& obj, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (obj.is_undefined()) runtime_error(obj.undefined_hint());
  auto as_index = [](const Value& v) -> bool { return v.is_none() || v.is_int() || v.is_bool(); };
  if (!(obj.is_list() || obj.is_string()) || !as_index(start_v) || !as_index(stop_v) || !as_index(step_v))
    return Value::undefined("'" + object_type(obj) + "' cannot be sliced with these indices");
  const int64_t step = step_v.is_none() ? 1 : step_v.to_int();
  if (step == 0) runtime_error("slice step cannot be zero");
  std::vector<uint32_t> cps;
  if (obj.is_string()) cps = utf8_decode(obj.as_string());
  const int64_t n = obj.is_string() ? static_cast<int64_t>(cps.size()) : static_cast<int64_t>(obj.as_list().items.size());
  // Python's PySlice_AdjustIndices.
  auto adjust = [&](const Value& v, int64_t def, int64_t lo, int64_t hi) {
    if (v.is_none()) return def;
    int64_t i = v.to_int();
    if (i < 0) i = std::max(i + n, lo);
    return std::min(i, hi);
  };
  const int64_t start = step > 0 ? adjust(start_v, 0, 0, n) : adjust(start_v, n - 1, -1, n - 1);
  const int64_t stop = step > 0 ? adjust(stop_v, n, 0, n) : adjust(stop_v, -1, -1, n - 1);
  std::vector<int64_t> idx;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) idx.push_back(i);
  if (obj.is_string()) {
    std::string out;
    for (int64_t i : idx) utf8_append(out, cps[static_cast<size_t>(i)]);
    return Value(std::move(out));
  }
  std::vector<Value> out;
  for (int64_t i : idx) out.push_back(obj.as_list().items[static_cast<size_t>(i)]);
  return Value::list(std::move(out), obj.as_list().is_tuple);
}

std::vector<Value> iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return {};
    case Value::Kind::kList: return v.as_list().items;
    case Value::Kind::kDict: {
      std::vector<Value> keys;
      for (const auto& [k, val] : v.as_dict().items) keys.push_back(k);
      return keys;
    }
    case Value::Kind::kString: {
      std::vector<Value> chars;
      for (uint32_t cp : utf8_decode(v.as_string())) {
        std::string c;
        utf8_append(c, cp);
        chars.emplace_back(std::move(c));
      }
      return chars;
    }
    default: runtime_error("'" + v.type_name() + "' object is not iterable");
  }
}

int64_t py_len(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined: return 0;
    case Value::Kind::kString: return static_cast<int64_t>(utf8_length(v.as_string()));
    case Value::Kind::kList: return static_cast<int64_t>(v.as_list().items.size());
    case Value::Kind::kDict: return static_cast<int64_t>(v.as_dict().items.size());
    default: runtime_error("object of type '" + v.type_name() + "' has no len()");
  }
}

bool py_contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    if (!item.is_string())
      runtime_error("'in <string>' requires string as left operand, not " + item.type_name());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_dict()) return container.as_dict().find(item) != nullptr;
  if (container.is_list()) {
    for (const auto& v : container.as_list().items)
      if (py_equal(v, item)) return true;
    return false;
  }
  if (container.is_undefined()) return false;
  runtime_error("argument of type '" + container.type_name() + "' is not iterable");
}

namespace {

// Applies an overflow-checked builtin; Python ints are unbounded, ours stop at 64 bits.
template <typename Op>
int64_t checked(Op op, int64_t x, int64_t y) {
  int64_t r = 0;
  if (op(x, y, &r)) runtime_error("integer overflow");
  return r;
}
bool add_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_add_overflow(x, y, r); }
bool sub_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_sub_overflow(x, y, r); }
bool mul_ovf(int64_t x, int64_t y, int64_t* r) { return __builtin_mul_overflow(x, y, r); }

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  const bool ints = !a.is_float() && !b.is_float();
  if (ints) {
    const int64_t x = a.to_int(), y = b.to_int();
    if (op == "+") return Value(checked(add_ovf, x, y));
    if (op == "-") return Value(checked(sub_ovf, x, y));
    if (op == "*") return Value(checked(mul_ovf, x, y));
    if (op == "//" || op == "%") {
      if (y == 0) runtime_error("integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) runtime_error("integer overflow");
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {  // Python floors toward negative infinity
        --q;
        m += y;
      }
      return Value(op == "//" ? q : m);
    }
    if (op == "**" && y >= 0) {
      int64_t result = 1;
      for (int64_t i = 0; i < y; ++i) {
        result = checked(mul_ovf, result, x);
        if (result == 0 || result == 1) break;
        if (result == -1) {
          result = (y - i - 1) % 2 == 0 ? -1 : 1;
          break;
        }
      }
      return Value(result);
    }
  }
  const double x = a.to_double(), y = b.to_double();
  if (op == "+") return Value(x + y);
  if (op == "-") return Value(x - y);
  if (op == "*") return Value(x * y);
  if (op == "/") {
    if (y == 0) runtime_error("division by zero");
    return Value(x / y);
  }
  if (op == "//" || op == "%") {
    if (y == 0) runtime_error("float floor division by zero");
    double m = std::fmod(x, y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return Value(op == "//" ? std::floor((x - m) / y + 0.5) : m);
  }
  if (op == "**") return Value(std::pow(x, y));
  runtime_error("unknown operator " + op);
}

}  // namespace

Value binary_op(const std::string& op, const Value& a, const Value& b, const Interp& interp) {
  if (a.is_undefined()) runtime_error(a.undefined_hint());
  if (b.is_undefined()) runtime_error(b.undefined_hint());
  if (a.is_number() && b.is_number()) return arithmetic(op, a, b);
  if (op == "+" && a.is_string() && b.is_string()) {
    interp.check_size(a.as_string().size() + b.as_string().size());
    return Value(a.as_string() + b.as_string());
  }
  if (op == "+" && a.is_list() && b.is_list() && a.as_list().is_tuple == b.as_list().is_tuple) {
    interp.check_size(a.as_list().items.size() + b.as_list().items.size());
    std::vector<Value> items = a.as_list().items;
    items.insert(items.end(), b.as_list().items.begin(), b.as_list().items.end());
    return Value::list(std::move(items), a.as_list().is_tuple);
  }
  if (op == "*" && (((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool())) ||
                    ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool())))) {
    const Value& seq = a.is_int() || a.is_bool() ? b : a;
    const int64_t n = std::max<int64_t>(0, (a.is_int() || a.is_bool() ? a : b).to_int());
    const size_t unit = seq.is_string() ? seq.as_string().size() : seq.as_list().items.size();
    if (unit && static_cast<uint64_t>(n) > interp.limits().max_output_bytes / unit) interp.check_size(SIZE_MAX);
    if (seq.is_string()) {
      std::string out;
      for (int64_t i = 0; i < n; ++i) out += seq.as_string();
      return Value(std::move(out));
    }
    std::vector<Value> items;
    for (int64_t i = 0; i < n; ++i) items.insert(items.end(), seq.as_list().items.begin(), seq.as_list().items.end());
    return Value::list(std::move(items), seq.as_list().is_tuple);
  }
  if (op == "%" && a.is_string()) runtime_error("printf-style string formatting (%) is not supported");
  if (op == "+" && a.is_string())
    runtime_error("can only concatenate str (not \"" + b.type_name() + "\") to str");
  runtime_error("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
}

}  // namespace ember::jinja
