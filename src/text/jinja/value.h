// Values of the Jinja2 subset: Python-like dynamic values (None, bool, int, float, str, list/tuple,
// dict, objects such as namespace() and loop, callables) plus jinja2's default Undefined.
//
// Containers are shared and immutable once built (transformers renders in jinja2's
// ImmutableSandboxedEnvironment, where templates cannot mutate lists or dicts); the one mutable
// thing is an Object with mutable attributes (namespace()), shared by reference like in Python.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace ember::jinja {

class Value;
class Interp;

// An error without a position; the evaluator adds the line:column of the expression it evaluated.
struct RuntimeError {
  std::string message;
};
[[noreturn]] void runtime_error(std::string message);

struct List {
  std::vector<Value> items;
  bool is_tuple = false;
};

// Insertion-ordered dictionary (Python dict semantics); keys compare with Python ==.
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);
};

// An object with attributes: namespace(), loop, cycler. Only namespaces allow assignment.
struct Object {
  std::string type_name;  // for repr: "Namespace", "LoopContext"
  Dict attrs;
  bool assignable = false;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The keyword named `name`, else the positional at `index`, else nullptr.
  const Value* get(std::string_view name, size_t index) const;
};

struct Function {
  std::string name;
  std::function<Value(Interp&, const CallArgs&)> fn;
};

struct Undefined {
  std::string hint;  // the jinja2-style message used when an undefined value is misused
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kObject, kFunction };

  Value() : v_(Undefined{}) {}
  static Value undefined(std::string hint) { return Value(Undefined{std::move(hint)}); }
  static Value none() { return Value(nullptr); }
  Value(bool b) : v_(b) {}
  Value(int64_t i) : v_(i) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::shared_ptr<List> l) : v_(std::move(l)) {}
  Value(std::shared_ptr<Dict> d) : v_(std::move(d)) {}
  Value(std::shared_ptr<Object> o) : v_(std::move(o)) {}
  Value(std::shared_ptr<Function> f) : v_(std::move(f)) {}
  static Value list(std::vector<Value> items, bool is_tuple = false);
  static Value function(std::string name, std::function<Value(Interp&, const CallArgs&)> fn);

  Kind kind() const { return static_cast<Kind>(v_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  bool is_number() const { return is_int() || is_float() || is_bool(); }  // Python: bool is an int
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_object() const { return kind() == Kind::kObject; }
  bool is_function() const { return kind() == Kind::kFunction; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  double as_float() const { return std::get<double>(v_); }
  // Numeric value of an int, bool or float (callers check is_number()).
  double to_double() const;
  // Integer value of an int or bool.
  int64_t to_int() const;
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const List& as_list() const { return *std::get<std::shared_ptr<List>>(v_); }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(v_); }
  Object& as_object() const { return *std::get<std::shared_ptr<Object>>(v_); }
  const Function& as_function() const { return *std::get<std::shared_ptr<Function>>(v_); }
  const std::string& undefined_hint() const { return std::get<Undefined>(v_).hint; }
  const void* identity() const;  // pointer identity of containers, for `sameas`

  // Python truthiness (Undefined is false).
  bool truthy() const;
  // Python str(): what {{ value }} prints. Undefined prints as "".
  std::string str() const;
  // Python repr().
  std::string repr() const;
  // Name used in error messages, like jinja2's object_type_repr ("dict object", "None").
  std::string type_name() const;

 private:
  Value(Undefined u) : v_(std::move(u)) {}
  Value(std::nullptr_t) : v_(nullptr) {}

  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<List>,
               std::shared_ptr<Dict>, std::shared_ptr<Object>, std::shared_ptr<Function>>
      v_;
};

// Python == (1 == 1.0 == True; lists elementwise; list != tuple; Undefined == Undefined).
bool py_equal(const Value& a, const Value& b);
// Python <, for numbers, strings and sequences; other combinations are a runtime error.
bool py_less(const Value& a, const Value& b);

// Python float repr: shortest round-trip digits, "1.0", "1e+16", "1e-05", "inf", "nan".
std::string float_repr(double d);

// Conversions between JSON and values (dict order is the JSON object's order).
Value from_json(const nlohmann::ordered_json& j);
// Python json.dumps(x, ensure_ascii=False, indent, separators, sort_keys) as transformers' tojson.
struct JsonDumpOptions {
  bool has_indent = false;
  std::string indent;  // the indent string (an int n means n spaces)
  std::string item_separator = ", ";
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;  // escape non-ASCII as \uXXXX (surrogate pairs above U+FFFF)
};
std::string to_json_text(const Value& v, const JsonDumpOptions& options);
// A value as JSON (for callers outside the template engine); Undefined and callables are errors.
nlohmann::ordered_json to_json(const Value& v);

// UTF-8 helpers: strings index by code point like Python str. An invalid byte b decodes to
// U+DC00+b (Python's surrogateescape) and encodes back to b, so any bytes round-trip.
std::vector<uint32_t> utf8_decode(std::string_view s);
std::string utf8_encode(const std::vector<uint32_t>& cps, size_t begin, size_t end);
void utf8_append(std::string& out, uint32_t cp);
size_t utf8_length(std::string_view s);
// Python str.isspace() for one code point.
bool py_isspace(uint32_t cp);

}  // namespace ember::jinja
