// A parsed Jinja2 template (the subset chat templates use), rendered with the environment
// transformers' apply_chat_template uses: trim_blocks, lstrip_blocks, jinja2's default Undefined,
// loopcontrols, and the globals raise_exception, strftime_now, namespace, dict, range.
//
//   ember::jinja::Template t(source);             // throws Error(kTemplate) "... line L, column C: ..."
//   std::string text = t.render(vars);            // vars: name -> Value
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/jinja/interp.h"
#include "text/jinja/value.h"

namespace ember::jinja {

class Template {
 public:
  // Parses `source`; syntax errors and unknown filters/tests raise ember::Error(kTemplate) with
  // the line and column where they occur.
  explicit Template(std::string_view source);
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;
  ~Template();

  // Renders with the given top-level variables; runtime errors (including raise_exception) raise
  // ember::Error(kTemplate) naming line and column.
  std::string render(const std::vector<std::pair<std::string, Value>>& vars, const RenderLimits& limits = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember::jinja
