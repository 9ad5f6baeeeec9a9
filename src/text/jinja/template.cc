#include "text/jinja/template.h"

#include "core/status.h"
#include "text/jinja/lexer.h"
#include "text/jinja/parser.h"

namespace ember::jinja {

struct Template::Impl {
  SourceMap source;
  Body body;
};

namespace {

// jinja2 rejects unknown filters and tests when compiling, even in branches never taken.
void check_expr(const Expr* e, const SourceMap& map) {
  if (!e) return;
  if (e->kind == ExprKind::kFilter && !has_filter(e->name))
    fail(ErrorCode::kTemplate, "template error at ", map.position(e->offset), ": No filter named '", e->name, "'.");
  if (e->kind == ExprKind::kTest && !has_test(e->name))
    fail(ErrorCode::kTemplate, "template error at ", map.position(e->offset), ": No test named '", e->name, "'.");
  check_expr(e->a.get(), map);
  check_expr(e->b.get(), map);
  check_expr(e->c.get(), map);
  check_expr(e->dyn_args.get(), map);
  check_expr(e->dyn_kwargs.get(), map);
  for (const auto& a : e->args) check_expr(a.get(), map);
  for (const auto& [k, v] : e->kwargs) check_expr(v.get(), map);
}

void check_body(const Body& body, const SourceMap& map) {
  for (const auto& s : body) {
    check_expr(s->expr.get(), map);
    check_expr(s->cond.get(), map);
    check_expr(s->filter.get(), map);
    for (const auto& [cond, b] : s->branches) {
      check_expr(cond.get(), map);
      check_body(b, map);
    }
    for (const auto& [name, def] : s->params) check_expr(def.get(), map);
    check_body(s->body, map);
    check_body(s->else_body, map);
  }
}

}  // namespace

Template::Template(std::string_view source)
    : impl_(std::make_unique<Impl>(Impl{SourceMap(normalize_template_source(source)), {}})) {
  impl_->body = parse(tokenize(impl_->source), impl_->source);
  check_body(impl_->body, impl_->source);
}

Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;
Template::~Template() = default;

std::string Template::render(const std::vector<std::pair<std::string, Value>>& vars,
                             const RenderLimits& limits) const {
  auto globals = std::make_shared<Scope>();
  add_globals(*globals);
  auto root = std::make_shared<Scope>();
  root->parent = globals;
  for (const auto& [k, v] : vars) root->vars[k] = v;
  Interp interp(impl_->source, limits);
  std::string out;
  try {
    interp.render(impl_->body, root, out);
  } catch (const RuntimeError& e) {  // only reachable for errors outside any statement
    fail(ErrorCode::kTemplate, "template error: ", e.message);
  }
  return out;
}

}  // namespace ember::jinja
