#include "text/jinja/template.h"

#include "core/status.h"
#include "text/jinja/lexer.h"
#include "text/jinja/parser.h"

namespace ember::jinja {

struct Template::Impl {
  SourceMap source;
  Body body;
};

Template::Template(std::string_view source)
    : impl_(std::make_unique<Impl>(Impl{SourceMap(normalize_template_source(source)), {}})) {
  impl_->body = parse(tokenize(impl_->source), impl_->source);
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
