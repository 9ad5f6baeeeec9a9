// Evaluator of the Jinja2 subset. Scoping follows jinja2: a for-loop iteration, a macro call, a
// with-block and a filter/set block get a child scope; `set` writes to the innermost scope; if
// blocks share their parent's scope; namespace() objects are shared by reference.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "text/jinja/ast.h"
#include "text/jinja/lexer.h"
#include "text/jinja/value.h"

namespace ember::jinja {

// Bounds on one render, so hostile templates cannot hang or exhaust memory.
struct RenderLimits {
  size_t max_output_bytes = size_t{256} << 20;  // also bounds any single string or list built
  uint64_t max_steps = 100'000'000;             // statements + expressions evaluated
  int max_call_depth = 200;                     // nested macro calls
};

struct Scope {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Scope> parent;
  const Value* find(const std::string& name) const;
};
using ScopePtr = std::shared_ptr<Scope>;

class Interp {
 public:
  Interp(const SourceMap& source, const RenderLimits& limits) : map_(source), limits_(limits) {}

  void render(const Body& body, const ScopePtr& scope, std::string& out);
  Value eval(const Expr& e, const ScopePtr& scope);

  // Calls a function value (macro, builtin or bound method).
  Value call(const Value& callee, const CallArgs& args);
  Value filter(const std::string& name, const Value& v, const CallArgs& args);
  bool test(const std::string& name, const Value& v, const CallArgs& args);

  // Guards used by builtins that build large values.
  void check_size(size_t bytes_or_items) const;
  const RenderLimits& limits() const { return limits_; }

 private:
  enum class Flow { kNormal, kBreak, kContinue };
  Flow exec(const Stmt& s, const ScopePtr& scope, std::string& out);
  Flow exec_body(const Body& body, const ScopePtr& scope, std::string& out);
  Flow exec_for(const Stmt& s, const ScopePtr& scope, std::string& out);
  void assign(const Target& t, const Value& v, const ScopePtr& scope);
  Value make_macro(const Stmt& s, const ScopePtr& scope);
  Value eval_inner(const Expr& e, const ScopePtr& scope);
  Value eval_filter(const Expr& e, const ScopePtr& scope, const Value* body_value);
  CallArgs eval_args(const Expr& e, const ScopePtr& scope);
  bool compare(const std::string& op, const Value& a, const Value& b);
  void step();
  [[noreturn]] void error_at(size_t offset, const std::string& msg) const;

  const SourceMap& map_;
  RenderLimits limits_;
  uint64_t steps_ = 0;
  int call_depth_ = 0;
};

// Value operations shared by the evaluator and the builtins (methods.cc).
Value get_attr(const Value& obj, const std::string& name);
Value get_item(const Value& obj, const Value& key);
Value slice(const Value& obj, const Value& start, const Value& stop, const Value& step);
Value binary_op(const std::string& op, const Value& a, const Value& b, const Interp& interp);
// Python iteration: list items, dict keys, string characters; Undefined yields nothing.
std::vector<Value> iterate(const Value& v);
// Python len(); a runtime error for values without a length.
int64_t py_len(const Value& v);
bool py_contains(const Value& container, const Value& item);

// Builtin registry (builtins.cc).
bool has_filter(const std::string& name);
bool has_test(const std::string& name);
void add_globals(Scope& scope);

}  // namespace ember::jinja
