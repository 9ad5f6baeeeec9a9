// Syntax tree of the Jinja2 subset. Node shapes follow jinja2.nodes closely so that evaluation
// order and precedence match the reference; every node keeps the byte offset of its first token
// for error messages.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "text/jinja/value.h"

namespace ember::jinja {

enum class ExprKind {
  kConst,        // value
  kName,         // name
  kList,         // args = items
  kTuple,        // args = items
  kDict,         // pairs in args: key0, value0, key1, value1, ...
  kGetAttr,      // a.name
  kGetItem,      // a[b]
  kSlice,        // args = {start, stop, step} (null = omitted)
  kCall,         // a(args..., kwargs...)
  kFilter,       // a | name(args, kwargs); a null means "the block body" in filter blocks
  kTest,         // a is name(args, kwargs)
  kNot,          // not a
  kNeg,          // -a
  kPos,          // +a
  kBinary,       // a <name> b, name in + - * / // % ** and or
  kConcat,       // args joined with ~
  kCompare,      // a ops[i] args[i] ...
  kCondExpr,     // b if a else c (c may be null)
};

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  ExprKind kind;
  size_t offset = 0;
  std::string name;
  Value value;
  ExprPtr a, b, c;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr dyn_args, dyn_kwargs;  // *args / **kwargs in calls
  std::vector<std::string> ops;  // kCompare: "==", "!=", "<", "<=", ">", ">=", "in", "notin"
};

enum class StmtKind {
  kData,      // text
  kEmit,      // {{ expr }}
  kIf,        // branches, else_body
  kFor,       // target, expr (iterable), cond (filter), body, else_body
  kSet,       // target, expr
  kSetBlock,  // target, filter (optional), body
  kMacro,     // name, params, body
  kFilterBlock,
  kWith,      // assigns (params), body
  kBreak,
  kContinue,
  kScope,     // body rendered as-is ({% generation %} of transformers)
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

// An assignment target: one name, a tuple of names, or a namespace attribute (ns.attr).
struct Target {
  std::vector<std::string> names;
  bool is_tuple = false;
  std::string ns_attr;  // non-empty: names[0].ns_attr
};

struct Stmt {
  StmtKind kind;
  size_t offset = 0;
  std::string text;  // kData text, kMacro name
  ExprPtr expr;
  ExprPtr cond;
  ExprPtr filter;
  Target target;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::pair<std::string, ExprPtr>> params;  // macro parameters / with-assignments
  Body body, else_body;
};

}  // namespace ember::jinja
