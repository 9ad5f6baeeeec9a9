// Filters, tests and globals of the Jinja2 subset, as jinja2 3.1 defines them, with the
// overrides transformers installs (tojson, raise_exception, strftime_now, namespace, dict).
#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include "text/jinja/interp.h"
#include "text/jinja/strings.h"

namespace ember::jinja {
namespace {

using FilterFn = Value (*)(Interp&, const Value&, const CallArgs&);
using TestFn = bool (*)(Interp&, const Value&, const CallArgs&);

Value arg(const CallArgs& a, size_t i, const char* name, const Value& fallback) {
  const Value* v = a.get(name, i);
  return v ? *v : fallback;
}
Value none() { return Value::none(); }

// jinja2's make_attrgetter: "a.b.0" looks up items (then attributes) part by part.
Value attr_path(const Value& obj, const Value& attribute) {
  if (!attribute.is_string()) return get_item(obj, attribute);
  Value cur = obj;
  const std::string& path = attribute.as_string();
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    const bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) && part.size() < 18;
    cur = get_item(cur, digits ? Value(static_cast<int64_t>(std::stoll(part))) : Value(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

// Sort key for dictsort/sort/min/max/unique: lower-cased strings unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  return !case_sensitive && v.is_string() ? Value(ascii_lower(v.as_string())) : v;
}

Value f_trim(Interp&, const Value& v, const CallArgs& a) {
  const Value chars = arg(a, 0, "chars", none());
  const std::string s = v.str();
  return Value(chars.is_string() ? py_strip(s, &chars.as_string(), true, true) : py_strip(s, nullptr, true, true));
}
Value f_upper(Interp&, const Value& v, const CallArgs&) { return Value(ascii_upper(v.str())); }
Value f_lower(Interp&, const Value& v, const CallArgs&) { return Value(ascii_lower(v.str())); }
Value f_title(Interp&, const Value& v, const CallArgs&) { return Value(py_title(v.str())); }
Value f_capitalize(Interp&, const Value& v, const CallArgs&) { return Value(py_capitalize(v.str())); }
Value f_string(Interp&, const Value& v, const CallArgs&) { return Value(v.str()); }
Value f_safe(Interp&, const Value& v, const CallArgs&) { return v; }

Value f_default(Interp&, const Value& v, const CallArgs& a) {
  const Value def = arg(a, 0, "default_value", Value(""));
  const bool boolean = arg(a, 1, "boolean", Value(false)).truthy();
  return v.is_undefined() || (boolean && !v.truthy()) ? def : v;
}

Value f_length(Interp&, const Value& v, const CallArgs&) { return Value(py_len(v)); }
Value f_list(Interp&, const Value& v, const CallArgs&) { return Value::list(iterate(v)); }

Value f_first(Interp&, const Value& v, const CallArgs&) {
  auto items = iterate(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}
Value f_last(Interp&, const Value& v, const CallArgs&) {
  auto items = iterate(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

Value f_items(Interp&, const Value& v, const CallArgs&) {
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) runtime_error("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, val] : v.as_dict().items) out.push_back(Value::list({k, val}, true));
  return Value::list(std::move(out));
}

Value f_dictsort(Interp&, const Value& v, const CallArgs& a) {
  if (v.is_undefined()) runtime_error(v.undefined_hint());
  if (!v.is_dict()) runtime_error("'" + v.type_name() + "' object has no attribute 'items'");
  const bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const Value by = arg(a, 1, "by", Value("key"));
  const bool reverse = arg(a, 2, "reverse", Value(false)).truthy();
  if (!by.is_string() || (by.as_string() != "key" && by.as_string() != "value"))
    runtime_error("You can only sort by either \"key\" or \"value\"");
  const size_t pos = by.as_string() == "key" ? 0 : 1;
  std::vector<Value> pairs;
  for (const auto& [k, val] : v.as_dict().items) pairs.push_back(Value::list({k, val}, true));
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    const Value kx = sort_key(x.as_list().items[pos], cs), ky = sort_key(y.as_list().items[pos], cs);
    return reverse ? py_less(ky, kx) : py_less(kx, ky);
  });
  return Value::list(std::move(pairs));
}

Value f_join(Interp& in, const Value& v, const CallArgs& a) {
  const std::string sep = arg(a, 0, "d", Value("")).str();
  const Value attribute = arg(a, 1, "attribute", none());
  std::string out;
  bool first = true;
  for (const auto& item : iterate(v)) {
    if (!first) out += sep;
    first = false;
    out += (attribute.is_none() ? item : attr_path(item, attribute)).str();
    in.check_size(out.size());
  }
  return Value(std::move(out));
}

Value f_replace(Interp& in, const Value& v, const CallArgs& a) {
  if (a.positional.size() < 2 && !a.get("new", 1)) runtime_error("replace() missing required arguments");
  const Value count = arg(a, 2, "count", none());
  return Value(py_replace(v.str(), arg(a, 0, "old", Value("")).str(), arg(a, 1, "new", Value("")).str(),
                          count.is_number() ? count.to_int() : -1, in.limits().max_output_bytes));
}

Value f_tojson(Interp&, const Value& v, const CallArgs& a) {
  // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  JsonDumpOptions o;
  o.ensure_ascii = arg(a, 0, "ensure_ascii", Value(false)).truthy();
  const Value indent = arg(a, 1, "indent", none());
  if (indent.is_string()) {
    o.has_indent = true;
    o.indent = indent.as_string();
  } else if (indent.is_int() || indent.is_bool()) {
    o.has_indent = true;
    o.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(indent.to_int(), 0, 1024)), ' ');
  } else if (!indent.is_none()) {
    runtime_error("indent must be an int or a str");
  }
  if (o.has_indent) o.item_separator = ",";
  const Value seps = arg(a, 2, "separators", none());
  if (!seps.is_none()) {
    auto items = iterate(seps);
    if (items.size() != 2 || !items[0].is_string() || !items[1].is_string())
      runtime_error("separators must be a pair of strings");
    o.item_separator = items[0].as_string();
    o.key_separator = items[1].as_string();
  }
  o.sort_keys = arg(a, 3, "sort_keys", Value(false)).truthy();
  return Value(to_json_text(v, o));
}

Value f_map(Interp& in, const Value& v, const CallArgs& a) {
  std::vector<Value> out;
  if (const Value* attribute = a.get("attribute", SIZE_MAX)) {
    const Value* def = a.get("default", SIZE_MAX);
    for (const auto& item : iterate(v)) {
      Value r = attr_path(item, *attribute);
      out.push_back(r.is_undefined() && def ? *def : r);
    }
    return Value::list(std::move(out));
  }
  if (a.positional.empty() || !a.positional[0].is_string()) runtime_error("map requires a filter name or attribute=");
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + 1, a.positional.end());
  rest.keyword = a.keyword;
  for (const auto& item : iterate(v)) out.push_back(in.filter(a.positional[0].as_string(), item, rest));
  return Value::list(std::move(out));
}

// select / reject / selectattr / rejectattr share this: keep items whose test result == keep.
Value select_impl(Interp& in, const Value& v, const CallArgs& a, bool by_attr, bool keep) {
  size_t next = 0;
  Value attribute;
  if (by_attr) {
    if (a.positional.empty()) runtime_error("selectattr/rejectattr require an attribute name");
    attribute = a.positional[next++];
  }
  std::string test_name;
  if (next < a.positional.size()) test_name = a.positional[next++].str();
  CallArgs rest;
  rest.positional.assign(a.positional.begin() + static_cast<long>(std::min(next, a.positional.size())), a.positional.end());
  rest.keyword = a.keyword;
  std::vector<Value> out;
  for (const auto& item : iterate(v)) {
    const Value subject = by_attr ? attr_path(item, attribute) : item;
    const bool ok = test_name.empty() ? subject.truthy() : in.test(test_name, subject, rest);
    if (ok == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}
Value f_select(Interp& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, false, true); }
Value f_reject(Interp& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, false, false); }
Value f_selectattr(Interp& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, true, true); }
Value f_rejectattr(Interp& in, const Value& v, const CallArgs& a) { return select_impl(in, v, a, true, false); }

Value f_sort(Interp&, const Value& v, const CallArgs& a) {
  const bool reverse = arg(a, 0, "reverse", Value(false)).truthy();
  const bool cs = arg(a, 1, "case_sensitive", Value(false)).truthy();
  const Value attribute = arg(a, 2, "attribute", none());
  std::vector<Value> items = iterate(v);
  auto key = [&](const Value& x) { return sort_key(attribute.is_none() ? x : attr_path(x, attribute), cs); };
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return reverse ? py_less(key(y), key(x)) : py_less(key(x), key(y));
  });
  return Value::list(std::move(items));
}

Value f_reverse(Interp&, const Value& v, const CallArgs&) {
  if (v.is_string()) {
    auto cps = utf8_decode(v.as_string());
    std::reverse(cps.begin(), cps.end());
    return Value(utf8_encode(cps, 0, cps.size()));
  }
  std::vector<Value> items = iterate(v);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_unique(Interp&, const Value& v, const CallArgs& a) {
  const bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
  std::vector<Value> out, seen;
  for (const auto& item : iterate(v)) {
    Value k = sort_key(item, cs);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, k); })) {
      seen.push_back(k);
      out.push_back(item);
    }
  }
  return Value::list(std::move(out));
}

Value min_max(const Value& v, const CallArgs& a, bool want_max) {
  const bool cs = arg(a, 0, "case_sensitive", Value(false)).truthy();
  const Value attribute = arg(a, 1, "attribute", none());
  auto items = iterate(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  auto key = [&](const Value& x) { return sort_key(attribute.is_none() ? x : attr_path(x, attribute), cs); };
  Value best = items[0];
  for (size_t i = 1; i < items.size(); ++i)
    if (want_max ? py_less(key(best), key(items[i])) : py_less(key(items[i]), key(best))) best = items[i];
  return best;
}
Value f_min(Interp&, const Value& v, const CallArgs& a) { return min_max(v, a, false); }
Value f_max(Interp&, const Value& v, const CallArgs& a) { return min_max(v, a, true); }

Value f_sum(Interp& in, const Value& v, const CallArgs& a) {
  const Value attribute = arg(a, 0, "attribute", none());
  Value total = arg(a, 1, "start", Value(0));
  for (const auto& item : iterate(v)) total = binary_op("+", total, attribute.is_none() ? item : attr_path(item, attribute), in);
  return total;
}

Value f_abs(Interp&, const Value& v, const CallArgs&) {
  if (!v.is_number()) runtime_error("bad operand type for abs(): '" + v.type_name() + "'");
  if (v.is_float()) return Value(std::fabs(v.as_float()));
  if (v.to_int() == INT64_MIN) runtime_error("integer overflow");
  return Value(v.to_int() < 0 ? -v.to_int() : v.to_int());
}

Value f_int(Interp&, const Value& v, const CallArgs& a) {
  const Value def = arg(a, 0, "default", Value(0));
  if (v.is_float()) return std::isfinite(v.as_float()) && std::fabs(v.as_float()) < 9.2e18 ? Value(static_cast<int64_t>(v.as_float())) : def;
  if (v.is_number()) return Value(v.to_int());
  if (!v.is_string()) return def;
  const std::string s = py_strip(v.as_string(), nullptr, true, true);
  char* end = nullptr;
  errno = 0;
  long long r = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && end && *end == '\0' && errno == 0) return Value(static_cast<int64_t>(r));
  double d = std::strtod(s.c_str(), &end);  // jinja falls back to int(float(s))
  if (!s.empty() && end && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
  return def;
}

Value f_float(Interp&, const Value& v, const CallArgs& a) {
  const Value def = arg(a, 0, "default", Value(0.0));
  if (v.is_number()) return Value(v.to_double());
  if (!v.is_string()) return def;
  const std::string s = py_strip(v.as_string(), nullptr, true, true);
  char* end = nullptr;
  double d = std::strtod(s.c_str(), &end);
  return !s.empty() && end && *end == '\0' ? Value(d) : def;
}

Value f_round(Interp&, const Value& v, const CallArgs& a) {
  if (!v.is_number()) runtime_error("round() needs a number, got " + v.type_name());
  const int64_t precision = std::clamp<int64_t>(arg(a, 0, "precision", Value(0)).to_int(), -300, 300);
  const std::string method = arg(a, 1, "method", Value("common")).str();
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = v.to_double() * scale;
  double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x);
  if (method != "common" && method != "ceil" && method != "floor") runtime_error("method must be common, ceil or floor");
  return Value(r / scale);
}

Value f_indent(Interp&, const Value& v, const CallArgs& a) {
  const Value width = arg(a, 0, "width", Value(4));
  const bool first = arg(a, 1, "first", Value(false)).truthy();
  const bool blank = arg(a, 2, "blank", Value(false)).truthy();
  const std::string pad = width.is_string() ? width.as_string() : std::string(static_cast<size_t>(std::clamp<int64_t>(width.to_int(), 0, 4096)), ' ');
  const std::string s = v.str();
  std::string out;
  size_t start = 0;
  bool is_first = true;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    const bool indent_it = is_first ? first : (blank || !py_strip(line, nullptr, true, true).empty());
    if (indent_it) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    start = nl + 1;
    is_first = false;
  }
  return Value(std::move(out));
}

Value f_escape(Interp&, const Value& v, const CallArgs&) {
  std::string out;
  for (char c : v.str()) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return Value(std::move(out));
}

Value f_attr(Interp&, const Value& v, const CallArgs& a) {
  if (a.positional.empty() || !a.positional[0].is_string()) runtime_error("attr() requires an attribute name");
  return get_attr(v, a.positional[0].as_string());
}

const std::map<std::string, FilterFn>& filters() {
  static const std::map<std::string, FilterFn> m = {
      {"trim", f_trim},       {"upper", f_upper},         {"lower", f_lower},       {"title", f_title},
      {"capitalize", f_capitalize}, {"string", f_string}, {"safe", f_safe},          {"default", f_default},
      {"d", f_default},       {"length", f_length},       {"count", f_length},      {"list", f_list},
      {"first", f_first},     {"last", f_last},           {"items", f_items},       {"dictsort", f_dictsort},
      {"join", f_join},       {"replace", f_replace},     {"tojson", f_tojson},     {"map", f_map},
      {"select", f_select},   {"reject", f_reject},       {"selectattr", f_selectattr}, {"rejectattr", f_rejectattr},
      {"sort", f_sort},       {"reverse", f_reverse},     {"unique", f_unique},     {"min", f_min},
      {"max", f_max},         {"sum", f_sum},             {"abs", f_abs},           {"int", f_int},
      {"float", f_float},     {"round", f_round},         {"indent", f_indent},     {"escape", f_escape},
      {"e", f_escape},        {"forceescape", f_escape},  {"attr", f_attr},
  };
  return m;
}

// ---- tests ------------------------------------------------------------------------------------
const Value& test_arg(const CallArgs& a) {
  if (a.positional.empty()) runtime_error("test requires an argument");
  return a.positional[0];
}
bool t_defined(Interp&, const Value& v, const CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Interp&, const Value& v, const CallArgs&) { return v.is_undefined(); }
bool t_none(Interp&, const Value& v, const CallArgs&) { return v.is_none(); }
bool t_boolean(Interp&, const Value& v, const CallArgs&) { return v.is_bool(); }
bool t_true(Interp&, const Value& v, const CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(Interp&, const Value& v, const CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_integer(Interp&, const Value& v, const CallArgs&) { return v.is_int(); }
bool t_float(Interp&, const Value& v, const CallArgs&) { return v.is_float(); }
bool t_number(Interp&, const Value& v, const CallArgs&) { return v.is_number(); }
bool t_string(Interp&, const Value& v, const CallArgs&) { return v.is_string(); }
bool t_mapping(Interp&, const Value& v, const CallArgs&) { return v.is_dict(); }
// jinja2: len() and __getitem__ exist -> strings, lists, dicts and (quirk) Undefined.
bool t_sequence(Interp&, const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_iterable(Interp&, const Value& v, const CallArgs&) {
  return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_callable(Interp&, const Value& v, const CallArgs&) { return v.is_function(); }
bool t_sameas(Interp&, const Value& v, const CallArgs& a) {
  const Value& o = test_arg(a);
  if (v.identity() || o.identity()) return v.identity() == o.identity();
  return v.kind() == o.kind() && (v.is_none() || (v.is_bool() && v.as_bool() == o.as_bool()));
}
bool t_eq(Interp&, const Value& v, const CallArgs& a) { return py_equal(v, test_arg(a)); }
bool t_ne(Interp&, const Value& v, const CallArgs& a) { return !py_equal(v, test_arg(a)); }
bool t_lt(Interp&, const Value& v, const CallArgs& a) { return py_less(v, test_arg(a)); }
bool t_le(Interp&, const Value& v, const CallArgs& a) { return py_less(v, test_arg(a)) || py_equal(v, test_arg(a)); }
bool t_gt(Interp&, const Value& v, const CallArgs& a) { return py_less(test_arg(a), v); }
bool t_ge(Interp&, const Value& v, const CallArgs& a) { return py_less(test_arg(a), v) || py_equal(v, test_arg(a)); }
bool t_in(Interp&, const Value& v, const CallArgs& a) { return py_contains(test_arg(a), v); }
int64_t need_int(const Value& v) {
  if (!v.is_number() || v.is_float()) runtime_error("expected an integer, got " + v.type_name());
  return v.to_int();
}
bool t_odd(Interp&, const Value& v, const CallArgs&) { return need_int(v) % 2 != 0; }
bool t_even(Interp&, const Value& v, const CallArgs&) { return need_int(v) % 2 == 0; }
bool t_divisibleby(Interp&, const Value& v, const CallArgs& a) {
  const int64_t d = need_int(test_arg(a));
  if (d == 0) runtime_error("integer division or modulo by zero");
  return d == -1 || need_int(v) % d == 0;
}
bool t_lower(Interp&, const Value& v, const CallArgs&) { return ascii_predicate(v.str(), "islower"); }
bool t_upper(Interp&, const Value& v, const CallArgs&) { return ascii_predicate(v.str(), "isupper"); }

const std::map<std::string, TestFn>& tests() {
  static const std::map<std::string, TestFn> m = {
      {"defined", t_defined}, {"undefined", t_undefined}, {"none", t_none},       {"boolean", t_boolean},
      {"true", t_true},       {"false", t_false},         {"integer", t_integer}, {"float", t_float},
      {"number", t_number},   {"string", t_string},       {"mapping", t_mapping}, {"sequence", t_sequence},
      {"iterable", t_iterable}, {"callable", t_callable}, {"sameas", t_sameas},   {"eq", t_eq},
      {"equalto", t_eq},      {"==", t_eq},               {"ne", t_ne},           {"!=", t_ne},
      {"lt", t_lt},           {"lessthan", t_lt},         {"<", t_lt},            {"le", t_le},
      {"<=", t_le},           {"gt", t_gt},               {"greaterthan", t_gt},  {">", t_gt},
      {"ge", t_ge},           {">=", t_ge},               {"in", t_in},           {"odd", t_odd},
      {"even", t_even},       {"divisibleby", t_divisibleby}, {"lower", t_lower}, {"upper", t_upper},
  };
  return m;
}

// ---- globals ----------------------------------------------------------------------------------
Value g_range(Interp&, const CallArgs& a) {
  std::vector<int64_t> p;
  for (const auto& v : a.positional) {
    if (!v.is_number() || v.is_float()) runtime_error("range() integer argument expected, got " + v.type_name());
    p.push_back(v.to_int());
  }
  if (p.empty() || p.size() > 3) runtime_error("range expected 1 to 3 arguments");
  const int64_t start = p.size() == 1 ? 0 : p[0], stop = p.size() == 1 ? p[0] : p[1], step = p.size() == 3 ? p[2] : 1;
  if (step == 0) runtime_error("range() arg 3 must not be zero");
  std::vector<Value> out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    // The sandbox transformers uses refuses ranges longer than 100000.
    if (out.size() >= 100000) runtime_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
    out.emplace_back(i);
    if ((step > 0 && i > INT64_MAX - step) || (step < 0 && i < INT64_MIN - step)) break;
  }
  return Value::list(std::move(out));
}

// dict(*args, **kwargs) semantics shared by namespace() and dict().
std::shared_ptr<Dict> dict_from_args(const CallArgs& a) {
  auto d = std::make_shared<Dict>();
  if (a.positional.size() > 1) runtime_error("expected at most 1 positional argument");
  if (!a.positional.empty()) {
    const Value& src = a.positional[0];
    if (src.is_dict()) {
      *d = src.as_dict();
    } else {
      for (const auto& pair : iterate(src)) {
        auto kv = iterate(pair);
        if (kv.size() != 2) runtime_error("dictionary update sequence element has wrong length");
        d->set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : a.keyword) d->set(Value(k), v);
  return d;
}

Value g_namespace(Interp&, const CallArgs& a) {
  auto ns = std::make_shared<Object>();
  ns->type_name = "Namespace";
  ns->assignable = true;
  ns->attrs = *dict_from_args(a);
  for (const auto& [k, v] : ns->attrs.items)
    if (k.is_string() && !k.as_string().empty() && k.as_string()[0] == '_')
      runtime_error("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '" +
                    k.as_string() + "'. Please rename the attribute.");
  return Value(std::move(ns));
}

Value g_dict(Interp&, const CallArgs& a) { return Value(dict_from_args(a)); }

Value g_raise_exception(Interp&, const CallArgs& a) {
  runtime_error("raise_exception: " + (a.positional.empty() ? std::string() : a.positional[0].str()));
}

Value g_strftime_now(Interp&, const CallArgs& a) {
  const std::string fmt = a.positional.empty() ? std::string() : a.positional[0].str();
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[512];
  const size_t n = fmt.empty() ? 0 : std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  return Value(std::string(buf, n));
}

}  // namespace

Value apply_filter(Interp& in, const std::string& name, const Value& v, const CallArgs& args) {
  auto it = filters().find(name);
  if (it == filters().end()) runtime_error("No filter named '" + name + "'.");
  return it->second(in, v, args);
}

bool apply_test(Interp& in, const std::string& name, const Value& v, const CallArgs& args) {
  auto it = tests().find(name);
  if (it == tests().end()) runtime_error("No test named '" + name + "'.");
  return it->second(in, v, args);
}

bool has_filter(const std::string& name) { return filters().count(name) > 0; }
bool has_test(const std::string& name) { return tests().count(name) > 0; }

void add_globals(Scope& scope) {
  scope.vars["range"] = Value::function("range", g_range);
  scope.vars["namespace"] = Value::function("namespace", g_namespace);
  scope.vars["dict"] = Value::function("dict", g_dict);
  scope.vars["raise_exception"] = Value::function("raise_exception", g_raise_exception);
  scope.vars["strftime_now"] = Value::function("strftime_now", g_strftime_now);
}

}  // namespace ember::jinja
