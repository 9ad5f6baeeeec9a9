// The Jinja2 subset against transformers' chat-template environment (fixtures made by
// tools/gen_template_cases.py), plus error positions and resource limits.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ember/error.hpp"
#include "text/jinja/template.h"

namespace ember::jinja {
namespace {

using ojson = nlohmann::ordered_json;

ojson load_fixture(const std::string& name) {
  std::ifstream f(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/templates/" + name);
  EXPECT_TRUE(f.good()) << name;
  std::stringstream ss;
  ss << f.rdbuf();
  return ojson::parse(ss.str());
}

std::vector<std::pair<std::string, Value>> vars_of(const ojson& context) {
  std::vector<std::pair<std::string, Value>> vars;
  for (const auto& [k, v] : context.items()) vars.emplace_back(k, from_json(v));
  return vars;
}

std::string render(const std::string& src, const ojson& context = ojson::object(),
                   const RenderLimits& limits = {}) {
  return Template(src).render(vars_of(context), limits);
}

// The error ember raises for `src`, or "" if it renders.
std::string error_of(const std::string& src, const ojson& context = ojson::object(),
                     const RenderLimits& limits = {}) {
  try {
    render(src, context, limits);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTemplate) << e.what();
    return e.what();
  }
  return "";
}

TEST(JinjaParity, MatchesTransformersEnvironment) {
  const ojson cases = load_fixture("jinja_cases.json");
  ASSERT_GT(cases.size(), 60u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string src = c["template"];
    if (c.contains("expected")) {
      std::string out;
      try {
        out = render(src, c["context"]);
      } catch (const Error& e) {
        ADD_FAILURE() << "unexpected error: " << e.what();
        continue;
      }
      EXPECT_EQ(out, c["expected"].get<std::string>());
      continue;
    }
    const std::string err = error_of(src, c["context"]);
    ASSERT_FALSE(err.empty()) << "expected an error like: " << c["error"];
    // Runtime errors carry the reference's message; syntax errors its line.
    if (c["error_type"] != "TemplateSyntaxError") {
      EXPECT_NE(err.find(c["error"].get<std::string>()), std::string::npos) << err;
    }
    if (c.contains("error_line")) {
      EXPECT_NE(err.find("line " + std::to_string(c["error_line"].get<int>()) + ","), std::string::npos)
          << err;
    }
  }
}

TEST(JinjaErrors, SyntaxErrorsNameLineAndColumn) {
  EXPECT_NE(error_of("ab\ncd {{ 1 + }}").find("line 2, column 11"), std::string::npos)
      << error_of("ab\ncd {{ 1 + }}");
  EXPECT_NE(error_of("{% if x %}\n  x\n").find("unexpected end of template"), std::string::npos);
  EXPECT_NE(error_of("x\n\n   {% bogus %}").find("line 3, column 7"), std::string::npos)
      << error_of("x\n\n   {% bogus %}");
  EXPECT_NE(error_of("{{ 'abc }}").find("line 1, column 4"), std::string::npos) << error_of("{{ 'abc }}");
  EXPECT_NE(error_of("{# never closed").find("Missing end of comment tag"), std::string::npos);
  EXPECT_NE(error_of("{{ x $ y }}").find("unexpected char '$'"), std::string::npos);
  EXPECT_NE(error_of("{% for %}{% endfor %}").find("expected name"), std::string::npos);
  EXPECT_NE(error_of("{% macro m(a=1, b) %}{% endmacro %}").find("non-default argument"), std::string::npos);
  // Columns count characters, not bytes.
  EXPECT_NE(error_of("héllo {{ ) }}").find("line 1, column 10"), std::string::npos)
      << error_of("héllo {{ ) }}");
}

TEST(JinjaErrors, RuntimeErrorsNameLineAndColumn) {
  const std::string err = error_of("line1\n  {{ raise_exception('bad input') }}");
  EXPECT_NE(err.find("line 2, column 6"), std::string::npos) << err;
  EXPECT_NE(err.find("bad input"), std::string::npos) << err;
  const std::string undef = error_of("{% for m in messages %}\n{{ m.content.text.x }}{% endfor %}",
                                     ojson::parse(R"({"messages":[{"role":"user"}]})"));
  EXPECT_NE(undef.find("line 2, column 13"), std::string::npos) << undef;  // the failing ".text"

  EXPECT_NE(undef.find("'dict object' has no attribute 'content'"), std::string::npos) << undef;
}

TEST(JinjaLimits, HostileTemplatesFailCleanly) {
  RenderLimits small;
  small.max_steps = 20000;
  small.max_output_bytes = 1 << 20;
  EXPECT_NE(
      error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", {}, small)
          .find("steps"),
      std::string::npos);
  EXPECT_NE(error_of("{{ 'x' * 100000000 }}", {}, small).find("limit"), std::string::npos);
  EXPECT_NE(
      error_of(
          "{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}",
          {}, small)
          .find("limit"),
      std::string::npos);
  EXPECT_NE(error_of("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").find("recursion"), std::string::npos);
  EXPECT_NE(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").find("too deep"),
            std::string::npos);
  std::string nested_ifs;
  for (int i = 0; i < 1000; ++i) nested_ifs += "{% if 1 %}";
  EXPECT_NE(error_of(nested_ifs).find("too deep"), std::string::npos);
  EXPECT_NE(error_of("{{ range(1000000) }}").find("Range too big"), std::string::npos);
  EXPECT_NE(error_of("{{ 9223372036854775807 + 1 }}").find("overflow"), std::string::npos);
}

TEST(JinjaValues, FloatReprMatchesPython) {
  EXPECT_EQ(float_repr(1.0), "1.0");
  EXPECT_EQ(float_repr(0.1), "0.1");
  EXPECT_EQ(float_repr(1e16), "1e+16");
  EXPECT_EQ(float_repr(1e15), "1000000000000000.0");
  EXPECT_EQ(float_repr(1.5e-5), "1.5e-05");
  EXPECT_EQ(float_repr(0.0001), "0.0001");
  EXPECT_EQ(float_repr(123456789.125), "123456789.125");
  EXPECT_EQ(float_repr(-0.0), "-0.0");
  EXPECT_EQ(float_repr(1.0 / 3), "0.3333333333333333");
}

}  // namespace
}  // namespace ember::jinja
