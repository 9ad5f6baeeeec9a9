#include "text/jinja/parser.h"

#include <algorithm>
#include <initializer_list>

#include "core/status.h"

namespace ember::jinja {
namespace {

// Deeper nesting than this is rejected, so hostile templates cannot exhaust the stack.
constexpr int kMaxDepth = 200;

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const SourceMap& source) : toks_(tokens), map_(source) {}

  Body parse_template() {
    Body body = subparse({});
    if (cur().type != Tok::kEof) error(cur().offset, "unexpected tag");
    return body;
  }

 private:
  struct DepthGuard {
    Parser& p;
    explicit DepthGuard(Parser& parser) : p(parser) {
      if (++p.depth_ > kMaxDepth) p.error(p.cur().offset, "template nesting too deep");
    }
    ~DepthGuard() { --p.depth_; }
  };

  // ---- token stream -------------------------------------------------------------------------
  const Token& cur() const { return toks_[std::min(pos_, toks_.size() - 1)]; }
  const Token& peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
  void next() {
    if (pos_ < toks_.size() - 1) ++pos_;
  }
  bool is_op(const char* op) const { return cur().type == Tok::kOp && cur().text == op; }
  bool is_name(const char* n) const { return cur().type == Tok::kName && cur().text == n; }
  bool skip_op(const char* op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(const char* n) {
    if (!is_name(n)) return false;
    next();
    return true;
  }

  [[noreturn]] void error(size_t offset, const std::string& msg) const {
    fail(ErrorCode::kTemplate, "template syntax error at ", map_.position(offset), ": ", msg);
  }

  static std::string describe(const Token& t) {
    switch (t.type) {
      case Tok::kEof: return "end of template";
      case Tok::kBlockEnd: return "end of statement block";
      case Tok::kVarEnd: return "end of print statement";
      case Tok::kBlockBegin: return "begin of statement block";
      case Tok::kVarBegin: return "begin of print statement";
      case Tok::kData: return "template data";
      case Tok::kString: return "string";
      default: return t.text;
    }
  }

  void expect_op(const char* op) {
    if (!skip_op(op)) error(cur().offset, std::string("expected '") + op + "', got '" + describe(cur()) + "'");
  }
  void expect_type(Tok type, const char* what) {
    if (cur().type != type) error(cur().offset, std::string("expected ") + what + ", got '" + describe(cur()) + "'");
    next();
  }
  std::string expect_name() {
    if (cur().type != Tok::kName) error(cur().offset, "expected name, got '" + describe(cur()) + "'");
    std::string n = cur().text;
    next();
    return n;
  }

  static ExprPtr make(ExprKind kind, size_t offset) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->offset = offset;
    return e;
  }

  // ---- statements ---------------------------------------------------------------------------
  // Parses until a block tag whose name is in `ends`; leaves the stream at that name.
  Body subparse(std::initializer_list<const char*> ends) {
    DepthGuard guard(*this);
    Body body;
    while (cur().type != Tok::kEof) {
      const Token& t = cur();
      if (t.type == Tok::kData) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kData;
        s->offset = t.offset;
        s->text = t.text;
        body.push_back(std::move(s));
        next();
      } else if (t.type == Tok::kVarBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kEmit;
        s->offset = cur().offset;
        s->expr = parse_tuple(true, {});
        expect_type(Tok::kVarEnd, "end of print statement");
        body.push_back(std::move(s));
      } else if (t.type == Tok::kBlockBegin) {
        next();
        if (cur().type == Tok::kName)
          for (const char* e : ends)
            if (cur().text == e) return body;
        body.push_back(parse_statement(ends));
        expect_type(Tok::kBlockEnd, "end of statement block");
      } else {
        error(t.offset, "unexpected '" + describe(t) + "'");
      }
    }
    if (ends.size() > 0) {
      std::string want;
      for (const char* e : ends) want += std::string(want.empty() ? "" : " or ") + "'" + e + "'";
      error(cur().offset, "unexpected end of template, expected " + want);
    }
    return body;
  }

  // Body of a block statement: skips an optional ':' and the block end, then parses to `ends`.
  Body statements(std::initializer_list<const char*> ends) {
    skip_op(":");
    expect_type(Tok::kBlockEnd, "end of statement block");
    return subparse(ends);
  }

  StmtPtr parse_statement(std::initializer_list<const char*> outer_ends) {
    if (cur().type != Tok::kName) error(cur().offset, "tag name expected");
    const std::string tag = cur().text;
    auto s = std::make_unique<Stmt>();
    s->offset = cur().offset;
    if (tag == "if") return parse_if(std::move(s));
    if (tag == "for") return parse_for(std::move(s));
    if (tag == "set") return parse_set(std::move(s));
    if (tag == "macro") return parse_macro(std::move(s));
    if (tag == "filter") {
      next();
      s->kind = StmtKind::kFilterBlock;
      s->filter = parse_filter(nullptr, true);
      s->body = statements({"endfilter"});
      next();
      return s;
    }
    if (tag == "with") return parse_with(std::move(s));
    if (tag == "break" || tag == "continue") {
      next();
      s->kind = tag == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      return s;
    }
    if (tag == "print") {
      next();
      s->kind = StmtKind::kEmit;
      s->expr = parse_tuple(true, {});
      return s;
    }
    if (tag == "generation") {  // transformers' AssistantTracker extension: renders its body
      next();
      s->kind = StmtKind::kScope;
      s->body = statements({"endgeneration"});
      next();
      return s;
    }
    for (const char* e : outer_ends)
      if (tag == e) error(cur().offset, "unexpected '" + tag + "'");
    static const char* kUnsupported[] = {"block", "extends", "include", "import", "from", "call", "autoescape", "do"};
    for (const char* u : kUnsupported)
      if (tag == u) error(cur().offset, "the '" + tag + "' tag is not supported");
    error(cur().offset, "Encountered unknown tag '" + tag + "'");
  }

  StmtPtr parse_if(StmtPtr s) {
    s->kind = StmtKind::kIf;
    next();
    while (true) {
      ExprPtr test = parse_tuple(false, {});
      Body body = statements({"elif", "else", "endif"});
      s->branches.emplace_back(std::move(test), std::move(body));
      const std::string t = cur().text;
      next();
      if (t == "elif") continue;
      if (t == "else") {
        s->else_body = statements({"endif"});
        next();
      }
      return s;
    }
  }

  StmtPtr parse_for(StmtPtr s) {
    s->kind = StmtKind::kFor;
    next();
    s->target = parse_target(false);
    if (!skip_name("in")) error(cur().offset, "expected 'in', got '" + describe(cur()) + "'");
    s->expr = parse_tuple(false, {"recursive"});
    if (skip_name("if")) s->cond = parse_expression(true);
    if (is_name("recursive")) error(cur().offset, "recursive loops are not supported");
    s->body = statements({"endfor", "else"});
    if (cur().text == "else") {
      next();
      s->else_body = statements({"endfor"});
    }
    next();
    return s;
  }

  StmtPtr parse_set(StmtPtr s) {
    next();
    s->target = parse_target(true);
    if (skip_op("=")) {
      s->kind = StmtKind::kSet;
      s->expr = parse_tuple(true, {});
      return s;
    }
    s->kind = StmtKind::kSetBlock;
    if (is_op("|")) s->filter = parse_filter(nullptr, false);
    s->body = statements({"endset"});
    next();
    return s;
  }

  StmtPtr parse_macro(StmtPtr s) {
    s->kind = StmtKind::kMacro;
    next();
    s->text = expect_name();
    parse_signature(*s);
    s->body = statements({"endmacro"});
    next();
    return s;
  }

  void parse_signature(Stmt& s) {
    expect_op("(");
    bool have_default = false;
    while (!is_op(")")) {
      if (!s.params.empty()) expect_op(",");
      std::string name = expect_name();
      ExprPtr def;
      if (skip_op("=")) {
        def = parse_expression(true);
        have_default = true;
      } else if (have_default) {
        error(cur().offset, "non-default argument follows default argument");
      }
      s.params.emplace_back(std::move(name), std::move(def));
    }
    expect_op(")");
  }

  StmtPtr parse_with(StmtPtr s) {
    s->kind = StmtKind::kWith;
    next();
    while (cur().type != Tok::kBlockEnd) {
      if (!s->params.empty()) expect_op(",");
      std::string name = expect_name();
      expect_op("=");
      s->params.emplace_back(std::move(name), parse_expression(true));
    }
    s->body = statements({"endwith"});
    next();
    return s;
  }

  // for-targets: name or tuple of names; set-targets also allow ns.attr.
  Target parse_target(bool with_namespace) {
    Target t;
    const size_t at = cur().offset;
    bool paren = skip_op("(");
    while (true) {
      std::string n = expect_name();
      if (with_namespace && !paren && t.names.empty() && is_op(".")) {
        next();
        t.names.push_back(n);
        t.ns_attr = expect_name();
        return t;
      }
      t.names.push_back(std::move(n));
      if (!is_op(",")) break;
      next();
      t.is_tuple = true;
      if (cur().type != Tok::kName) break;  // trailing comma
    }
    if (paren) {
      expect_op(")");
      t.is_tuple = true;
    }
    if (t.names.empty()) error(at, "can't assign to this target");
    return t;
  }

  // ---- expressions --------------------------------------------------------------------------
  bool is_tuple_end(std::initializer_list<const char*> extra) const {
    const Token& t = cur();
    if (t.type == Tok::kVarEnd || t.type == Tok::kBlockEnd || t.type == Tok::kEof) return true;
    if (t.type == Tok::kOp && t.text == ")") return true;
    if (t.type == Tok::kName)
      for (const char* e : extra)
        if (t.text == e) return true;
    return false;
  }

  ExprPtr parse_tuple(bool with_condexpr, std::initializer_list<const char*> extra, bool explicit_parens = false) {
    const size_t at = cur().offset;
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra)) break;
      items.push_back(parse_expression(with_condexpr));
      if (is_op(",")) is_tuple = true;
      else break;
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parens) error(cur().offset, "Expected an expression, got '" + describe(cur()) + "'");
    }
    auto e = make(ExprKind::kTuple, at);
    e->args = std::move(items);
    return e;
  }

  ExprPtr parse_expression(bool with_condexpr) {
    DepthGuard guard(*this);
    return with_condexpr ? parse_condexpr() : parse_or();
  }

  ExprPtr parse_condexpr() {
    ExprPtr e = parse_or();
    while (is_name("if")) {
      const size_t at = cur().offset;
      next();
      auto c = make(ExprKind::kCondExpr, at);
      c->a = parse_or();
      if (skip_name("else")) c->c = parse_condexpr();
      c->b = std::move(e);
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(const char* op, size_t at, ExprPtr l, ExprPtr r) {
    auto e = make(ExprKind::kBinary, at);
    e->name = op;
    e->a = std::move(l);
    e->b = std::move(r);
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (is_name("or")) {
      const size_t at = cur().offset;
      next();
      e = binary("or", at, std::move(e), parse_and());
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (is_name("and")) {
      const size_t at = cur().offset;
      next();
      e = binary("and", at, std::move(e), parse_not());
    }
    return e;
  }

  ExprPtr parse_not() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::kNot, cur().offset);
      next();
      e->a = parse_not();
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const size_t at = cur().offset;
    ExprPtr first = parse_math1();
    std::unique_ptr<Expr> cmp;
    while (true) {
      std::string op;
      if (cur().type == Tok::kOp &&
          (cur().text == "==" || cur().text == "!=" || cur().text == "<" || cur().text == "<=" ||
           cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && peek().type == Tok::kName && peek().text == "in") {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::kCompare, at);
        cmp->a = std::move(first);
      }
      cmp->ops.push_back(op);
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = cur().text;
      const size_t at = cur().offset;
      next();
      e = binary(op.c_str(), at, std::move(e), parse_concat());
    }
    return e;
  }

  ExprPtr parse_concat() {
    const size_t at = cur().offset;
    ExprPtr first = parse_math2();
    if (!is_op("~")) return first;
    auto e = make(ExprKind::kConcat, at);
    e->args.push_back(std::move(first));
    while (skip_op("~")) e->args.push_back(parse_math2());
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = cur().text;
      const size_t at = cur().offset;
      next();
      e = binary(op.c_str(), at, std::move(e), parse_pow());
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary(true);
    while (is_op("**")) {
      const size_t at = cur().offset;
      next();
      e = binary("**", at, std::move(e), parse_unary(true));
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(is_op("-") ? ExprKind::kNeg : ExprKind::kPos, cur().offset);
      next();
      node->a = parse_unary(false);
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = cur();
    const size_t at = t.offset;
    if (t.type == Tok::kName) {
      const std::string n = t.text;
      next();
      auto e = make(ExprKind::kConst, at);
      if (n == "true" || n == "True") e->value = Value(true);
      else if (n == "false" || n == "False") e->value = Value(false);
      else if (n == "none" || n == "None") e->value = Value::none();
      else {
        e->kind = ExprKind::kName;
        e->name = n;
      }
      return e;
    }
    if (t.type == Tok::kString) {
      std::string s;
      while (cur().type == Tok::kString) {  // adjacent literals concatenate
        s += cur().text;
        next();
      }
      auto e = make(ExprKind::kConst, at);
      e->value = Value(std::move(s));
      return e;
    }
    if (t.type == Tok::kInt || t.type == Tok::kFloat) {
      auto e = make(ExprKind::kConst, at);
      e->value = t.type == Tok::kInt ? Value(t.int_value) : Value(t.float_value);
      next();
      return e;
    }
    if (is_op("(")) {
      next();
      ExprPtr e = parse_tuple(true, {}, true);
      expect_op(")");
      return e;
    }
    if (is_op("[")) return parse_list();
    if (is_op("{")) return parse_dict();
    error(at, "unexpected '" + describe(t) + "'");
  }

  ExprPtr parse_list() {
    auto e = make(ExprKind::kList, cur().offset);
    next();
    while (!is_op("]")) {
      if (!e->args.empty()) expect_op(",");
      if (is_op("]")) break;
      e->args.push_back(parse_expression(true));
    }
    expect_op("]");
    return e;
  }

  ExprPtr parse_dict() {
    auto e = make(ExprKind::kDict, cur().offset);
    next();
    while (!is_op("}")) {
      if (!e->args.empty()) expect_op(",");
      if (is_op("}")) break;
      e->args.push_back(parse_expression(true));
      expect_op(":");
      e->args.push_back(parse_expression(true));
    }
    expect_op("}");
    return e;
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) node = parse_subscript(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (is_op("|")) node = parse_filter(std::move(node), false);
      else if (is_name("is")) node = parse_test(std::move(node));
      else if (is_op("(")) node = parse_call(std::move(node));
      else return node;
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    DepthGuard guard(*this);
    const size_t at = cur().offset;
    if (skip_op(".")) {
      const Token& t = cur();
      if (t.type == Tok::kName) {
        auto e = make(ExprKind::kGetAttr, at);
        e->name = t.text;
        e->a = std::move(node);
        next();
        return e;
      }
      if (t.type != Tok::kInt) error(t.offset, "expected name or number");
      auto e = make(ExprKind::kGetItem, at);
      e->a = std::move(node);
      e->b = make(ExprKind::kConst, t.offset);
      e->b->value = Value(t.int_value);
      next();
      return e;
    }
    next();  // '['
    std::vector<ExprPtr> subs;
    while (!is_op("]")) {
      if (!subs.empty()) expect_op(",");
      subs.push_back(parse_subscribed());
    }
    expect_op("]");
    auto e = make(ExprKind::kGetItem, at);
    e->a = std::move(node);
    if (subs.size() == 1) {
      e->b = std::move(subs[0]);
    } else {
      e->b = make(ExprKind::kTuple, at);
      e->b->args = std::move(subs);
    }
    return e;
  }

  ExprPtr parse_subscribed() {
    const size_t at = cur().offset;
    std::vector<ExprPtr> parts;
    if (is_op(":")) {
      next();
      parts.push_back(nullptr);
    } else {
      ExprPtr e = parse_expression(true);
      if (!is_op(":")) return e;
      next();
      parts.push_back(std::move(e));
    }
    auto ends_part = [&] { return is_op("]") || is_op(","); };
    if (is_op(":") || ends_part()) parts.push_back(nullptr);
    else parts.push_back(parse_expression(true));
    if (skip_op(":")) parts.push_back(ends_part() ? nullptr : parse_expression(true));
    else parts.push_back(nullptr);
    auto s = make(ExprKind::kSlice, at);
    s->args = std::move(parts);
    return s;
  }

  void parse_call_args(Expr& e) {
    const size_t at = cur().offset;
    expect_op("(");
    bool need_comma = false;
    auto ensure = [&](bool ok) {
      if (!ok) error(at, "invalid syntax for function call expression");
    };
    while (!is_op(")")) {
      if (need_comma) {
        expect_op(",");
        if (is_op(")")) break;
      }
      if (is_op("*")) {
        ensure(!e.dyn_args && !e.dyn_kwargs);
        next();
        e.dyn_args = parse_expression(true);
      } else if (is_op("**")) {
        ensure(!e.dyn_kwargs);
        next();
        e.dyn_kwargs = parse_expression(true);
      } else if (cur().type == Tok::kName && peek().type == Tok::kOp && peek().text == "=") {
        ensure(!e.dyn_kwargs);
        std::string key = cur().text;
        next();
        next();
        e.kwargs.emplace_back(std::move(key), parse_expression(true));
      } else {
        ensure(!e.dyn_args && !e.dyn_kwargs && e.kwargs.empty());
        e.args.push_back(parse_expression(true));
      }
      need_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr node) {
    DepthGuard guard(*this);
    auto e = make(ExprKind::kCall, cur().offset);
    e->a = std::move(node);
    parse_call_args(*e);
    return e;
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (skip_op(".")) name += "." + expect_name();
    return name;
  }

  ExprPtr parse_filter(ExprPtr node, bool start_inline) {
    DepthGuard guard(*this);
    while (is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      auto e = make(ExprKind::kFilter, cur().offset);
      e->name = dotted_name();
      if (is_op("(")) parse_call_args(*e);
      e->a = std::move(node);
      node = std::move(e);
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    DepthGuard guard(*this);
    const size_t at = cur().offset;
    next();  // 'is'
    const bool negated = skip_name("not");
    auto e = make(ExprKind::kTest, at);
    e->name = dotted_name();
    e->a = std::move(node);
    const Token& t = cur();
    if (is_op("(")) {
      parse_call_args(*e);
    } else if ((t.type == Tok::kName || t.type == Tok::kString || t.type == Tok::kInt || t.type == Tok::kFloat ||
                is_op("[") || is_op("{")) &&
               !(t.type == Tok::kName && (t.text == "else" || t.text == "or" || t.text == "and"))) {
      if (is_name("is")) error(t.offset, "You cannot chain multiple tests with is");
      e->args.push_back(parse_postfix(parse_primary()));
    }
    if (!negated) return e;
    auto n = make(ExprKind::kNot, at);
    n->a = std::move(e);
    return n;
  }

  const std::vector<Token>& toks_;
  const SourceMap& map_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens, const SourceMap& source) { return Parser(tokens, source).parse_template(); }

}  // namespace ember::jinja
