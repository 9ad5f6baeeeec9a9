// Recursive-descent parser of the Jinja2 subset, with jinja2's grammar and precedence:
// condexpr < or < and < not < compare (in, not in, chained) < + - < ~ < * / // % < ** < unary,
// with filters, tests and calls binding tighter than any binary operator.
#pragma once

#include <vector>

#include "text/jinja/ast.h"
#include "text/jinja/lexer.h"

namespace ember::jinja {

// Parses the token stream into the template body. Throws ember::Error(kTemplate) naming line and
// column on a syntax error.
Body parse(const std::vector<Token>& tokens, const SourceMap& source);

}  // namespace ember::jinja
