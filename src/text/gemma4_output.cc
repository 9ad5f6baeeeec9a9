#include "text/gemma4_output.h"

#include <algorithm>
#include <cstdlib>

#include "core/status.h"
#include "text/jinja/strings.h"
#include "text/jinja/value.h"

namespace ember {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kChannelOpen = "<|channel>";
constexpr std::string_view kChannelClose = "<channel|>";
constexpr std::string_view kToolOpen = "<|tool_call>";
constexpr std::string_view kToolClose = "<tool_call|>";
constexpr std::string_view kQuote = "<|\"|>";
constexpr std::string_view kTurnEnd = "<turn|>";
constexpr std::string_view kToolResponse = "<|tool_response>";
constexpr size_t kMaxHeader = 32;  // a channel name longer than this is treated as content
constexpr int kMaxValueDepth = 128;

bool starts_with(std::string_view s, size_t i, std::string_view m) { return s.substr(i, m.size()) == m; }

// Whether `rest` is a proper prefix of one of `markers` (so more text may complete it).
bool proper_prefix_of_any(std::string_view rest, std::initializer_list<std::string_view> markers) {
  for (std::string_view m : markers)
    if (rest.size() < m.size() && m.substr(0, rest.size()) == rest) return true;
  return false;
}

// Length of the longest suffix of `s` that is a proper prefix of one of `markers`.
size_t partial_marker_suffix(std::string_view s, std::initializer_list<std::string_view> markers) {
  size_t best = 0;
  for (std::string_view m : markers)
    for (size_t len = std::min(m.size() - 1, s.size()); len > best; --len)
      if (s.substr(s.size() - len) == m.substr(0, len)) {
        best = len;
        break;
      }
  return best;
}

// ---- tool-call value syntax -----------------------------------------------------------------
class ValueParser {
 public:
  explicit ValueParser(std::string_view s) : s_(s) {}

  ojson parse_all() {
    ojson v = value(0);
    skip_ws();
    if (i_ != s_.size()) error("unexpected text after value");
    return v;
  }

  // "call:NAME{...}"
  Gemma4ToolCall tool_call() {
    skip_ws();
    if (!starts_with(s_, i_, "call:")) error("expected 'call:'");
    i_ += 5;
    const size_t brace = s_.find('{', i_);
    if (brace == std::string_view::npos) error("expected '{' after the tool name");
    Gemma4ToolCall call;
    call.name = jinja::py_strip(std::string(s_.substr(i_, brace - i_)), nullptr, true, true);
    if (call.name.empty()) error("empty tool name");
    i_ = brace;
    call.arguments = object(0);
    skip_ws();
    if (i_ != s_.size()) error("unexpected text after the arguments");
    return call;
  }

 private:
  [[noreturn]] void error(const std::string& msg) const {
    fail(ErrorCode::kInvalidArgument, "malformed Gemma 4 tool syntax at offset ", i_, ": ", msg);
  }
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }

  ojson value(int depth) {
    if (depth > kMaxValueDepth) error("nesting too deep");
    skip_ws();
    if (i_ >= s_.size()) error("expected a value");
    if (starts_with(s_, i_, kQuote)) return string();
    if (s_[i_] == '{') return object(depth + 1);
    if (s_[i_] == '[') return array(depth + 1);
    return bare();
  }

  std::string string() {
    i_ += kQuote.size();
    const size_t end = s_.find(kQuote, i_);
    if (end == std::string_view::npos) error("unterminated <|\"|> string");
    std::string out(s_.substr(i_, end - i_));
    i_ = end + kQuote.size();
    return out;
  }

  std::string key() {
    skip_ws();
    if (starts_with(s_, i_, kQuote)) return string();
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ':' && s_[i_] != '}' && s_[i_] != ',') ++i_;
    std::string k = jinja::py_strip(std::string(s_.substr(start, i_ - start)), nullptr, true, true);
    if (k.empty()) error("expected a key");
    return k;
  }

  ojson object(int depth) {
    if (depth > kMaxValueDepth) error("nesting too deep");
    ++i_;  // '{'
    ojson obj = ojson::object();
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') {
      ++i_;
      return obj;
    }
    while (true) {
      std::string k = key();
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') error("expected ':' after key '" + k + "'");
      ++i_;
      obj[k] = value(depth);
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') {
        ++i_;
        return obj;
      }
      error("expected ',' or '}'");
    }
  }

  ojson array(int depth) {
    ++i_;  // '['
    ojson arr = ojson::array();
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') {
      ++i_;
      return arr;
    }
    while (true) {
      arr.push_back(value(depth));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') {
        ++i_;
        return arr;
      }
      error("expected ',' or ']'");
    }
  }

  // Numbers, true/false, null/None; anything else up to a delimiter is kept as a string, since
  // models do sometimes leave strings unquoted.
  ojson bare() {
    const size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && !starts_with(s_, i_, kQuote))
      ++i_;
    const std::string tok = jinja::py_strip(std::string(s_.substr(start, i_ - start)), nullptr, true, true);
    if (tok.empty()) error("expected a value");
    if (tok == "true" || tok == "True") return true;
    if (tok == "false" || tok == "False") return false;
    if (tok == "null" || tok == "None" || tok == "none") return nullptr;
    const char* b = tok.c_str();
    char* end = nullptr;
    const bool looks_float = tok.find_first_of(".eE") != std::string::npos;
    if (!looks_float) {
      errno = 0;
      long long v = std::strtoll(b, &end, 10);
      if (*end == '\0' && errno == 0) return static_cast<int64_t>(v);
    }
    if ((std::isdigit(static_cast<unsigned char>(tok[0])) || tok[0] == '-' || tok[0] == '.')) {
      double d = std::strtod(b, &end);
      if (*end == '\0' && std::isfinite(d)) return d;
    }
    return tok;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Gemma4ToolCall parse_gemma4_tool_call(std::string_view body) { return ValueParser(body).tool_call(); }

ojson parse_gemma4_value(std::string_view text) { return ValueParser(text).parse_all(); }

std::string format_gemma4_value(const ojson& v) {
  switch (v.type()) {
    case ojson::value_t::string:
      return std::string(kQuote) + v.get<std::string>() + std::string(kQuote);
    case ojson::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case ojson::value_t::null:
      return "None";
    case ojson::value_t::number_float:
      return jinja::float_repr(v.get<double>());
    case ojson::value_t::object: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, val] : v.items()) {
        if (!first) out += ",";
        first = false;
        out += k + ":" + format_gemma4_value(val);
      }
      return out + "}";
    }
    case ojson::value_t::array: {
      std::string out = "[";
      for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + format_gemma4_value(v[i]);
      return out + "]";
    }
    default:
      return v.dump();  // integers
  }
}

// ---- streaming ------------------------------------------------------------------------------

void Gemma4StreamParser::emit_text(std::vector<Gemma4Event>& out, std::string text) {
  if (text.empty()) return;
  if (channel_ == Gemma4Channel::kToolCall) tool_body_ += text;
  // Merge with the previous piece of the same channel, so callers see fewer, larger events.
  if (merge_ok_ && !out.empty() && out.back().kind == Gemma4Event::Kind::kText &&
      out.back().channel == channel_) {
    out.back().text += text;
    return;
  }
  merge_ok_ = true;
  Gemma4Event e;
  e.channel = channel_;
  e.text = std::move(text);
  out.push_back(std::move(e));
}

void Gemma4StreamParser::close_tool_call(std::vector<Gemma4Event>& out) {
  Gemma4Event e;
  e.kind = Gemma4Event::Kind::kToolCall;
  e.channel = Gemma4Channel::kToolCall;
  e.text = tool_body_;
  try {
    e.tool_call = parse_gemma4_tool_call(tool_body_);
  } catch (const Error& err) {
    e.error = err.what();
  }
  out.push_back(std::move(e));
  tool_body_.clear();
  tool_in_string_ = false;
  channel_ = Gemma4Channel::kAnswer;
}

void Gemma4StreamParser::step(std::vector<Gemma4Event>& out, bool at_end) {
  while (!ended_ && !pending_.empty()) {
    const std::string_view p = pending_;
    if (channel_ == Gemma4Channel::kAnswer) {
      size_t best = std::string_view::npos;
      std::string_view marker;
      for (std::string_view m : {kChannelOpen, kToolOpen, kTurnEnd, kToolResponse}) {
        const size_t i = p.find(m);
        if (i < best) {
          best = i;
          marker = m;
        }
      }
      if (best == std::string_view::npos) {
        const size_t hold =
            at_end ? 0 : partial_marker_suffix(p, {kChannelOpen, kToolOpen, kTurnEnd, kToolResponse});
        emit_text(out, std::string(p.substr(0, p.size() - hold)));
        pending_.erase(0, p.size() - hold);
        return;
      }
      emit_text(out, std::string(p.substr(0, best)));
      pending_.erase(0, best + marker.size());
      if (marker == kChannelOpen) {
        channel_ = Gemma4Channel::kThought;
        in_header_ = true;
      } else if (marker == kToolOpen) {
        channel_ = Gemma4Channel::kToolCall;
      } else {
        ended_ = true;
        out.push_back(Gemma4Event{Gemma4Event::Kind::kEnd, channel_, {}, std::nullopt, {}});
      }
    } else if (channel_ == Gemma4Channel::kThought && in_header_) {
      // The channel name ("thought") runs to the first newline.
      const size_t nl = p.find('\n'), close = p.find(kChannelClose);
      if (close != std::string_view::npos && close < nl) {
        pending_.erase(0, close + kChannelClose.size());
        in_header_ = false;
        channel_ = Gemma4Channel::kAnswer;
      } else if (nl != std::string_view::npos) {
        pending_.erase(0, nl + 1);
        in_header_ = false;
      } else if (p.size() > kMaxHeader || at_end) {
        in_header_ = false;  // no newline: what follows <|channel> is content
      } else {
        return;
      }
    } else if (channel_ == Gemma4Channel::kThought) {
      const size_t close = p.find(kChannelClose), turn_end = p.find(kTurnEnd);
      if (close == std::string_view::npos && turn_end == std::string_view::npos) {
        const size_t hold = at_end ? 0 : partial_marker_suffix(p, {kChannelClose, kTurnEnd});
        emit_text(out, std::string(p.substr(0, p.size() - hold)));
        pending_.erase(0, p.size() - hold);
        return;
      }
      const bool ends_turn = turn_end < close;  // the turn ended inside an unclosed thought
      emit_text(out, std::string(p.substr(0, ends_turn ? turn_end : close)));
      pending_.erase(0, ends_turn ? turn_end + kTurnEnd.size() : close + kChannelClose.size());
      channel_ = Gemma4Channel::kAnswer;
      if (ends_turn) {
        ended_ = true;
        out.push_back(Gemma4Event{Gemma4Event::Kind::kEnd, channel_, {}, std::nullopt, {}});
      }
    } else {
      // Inside a tool call: find <tool_call|> outside <|"|> strings.
      size_t i = 0;
      bool closed = false;
      while (i < p.size()) {
        if (starts_with(p, i, kQuote)) {
          tool_in_string_ = !tool_in_string_;
          i += kQuote.size();
        } else if (!tool_in_string_ && starts_with(p, i, kToolClose)) {
          closed = true;
          break;
        } else if (!tool_in_string_ && starts_with(p, i, kTurnEnd)) {
          // The turn ended inside an unclosed tool call: report it, then end.
          emit_text(out, std::string(p.substr(0, i)));
          Gemma4Event e;
          e.kind = Gemma4Event::Kind::kToolCall;
          e.channel = Gemma4Channel::kToolCall;
          e.text = tool_body_;
          e.error = "tool call ended by <turn|> before <tool_call|>";
          out.push_back(std::move(e));
          tool_body_.clear();
          tool_in_string_ = false;
          channel_ = Gemma4Channel::kAnswer;
          ended_ = true;
          out.push_back(Gemma4Event{Gemma4Event::Kind::kEnd, channel_, {}, std::nullopt, {}});
          pending_.clear();
          return;
        } else if (!at_end && proper_prefix_of_any(p.substr(i), {kQuote, kToolClose, kTurnEnd})) {
          break;  // the rest may be the start of a marker: wait for more text
        } else {
          ++i;
        }
      }
      emit_text(out, std::string(p.substr(0, i)));
      pending_.erase(0, closed ? i + kToolClose.size() : i);
      if (!closed) return;
      close_tool_call(out);
    }
    merge_ok_ = false;  // a marker was consumed: start a new event
  }
  if (ended_) pending_.clear();
}

std::vector<Gemma4Event> Gemma4StreamParser::feed(std::string_view text) {
  std::vector<Gemma4Event> out;
  if (ended_) return out;
  pending_ += text;
  step(out, false);
  return out;
}

std::vector<Gemma4Event> Gemma4StreamParser::finish() {
  std::vector<Gemma4Event> out;
  step(out, true);
  if (channel_ == Gemma4Channel::kToolCall) {
    Gemma4Event e;
    e.kind = Gemma4Event::Kind::kToolCall;
    e.channel = Gemma4Channel::kToolCall;
    e.text = tool_body_;
    e.error = "unterminated tool call (no <tool_call|>)";
    out.push_back(std::move(e));
    tool_body_.clear();
  }
  channel_ = Gemma4Channel::kAnswer;
  in_header_ = false;
  tool_in_string_ = false;
  pending_.clear();
  return out;
}

Gemma4Output parse_gemma4_output(std::string_view text) {
  Gemma4StreamParser parser;
  std::vector<Gemma4Event> events = parser.feed(text);
  for (auto& e : parser.finish()) events.push_back(std::move(e));
  Gemma4Output out;
  std::vector<std::string> thoughts;
  Gemma4Channel last = Gemma4Channel::kAnswer;
  bool first = true;
  for (auto& e : events) {
    if (e.kind == Gemma4Event::Kind::kToolCall) {
      if (e.tool_call)
        out.tool_calls.push_back(std::move(*e.tool_call));
      else
        out.errors.push_back(e.error + ": " + e.text);
    } else if (e.kind == Gemma4Event::Kind::kText && e.channel == Gemma4Channel::kAnswer) {
      out.content += e.text;
    } else if (e.kind == Gemma4Event::Kind::kText && e.channel == Gemma4Channel::kThought) {
      if (first || last != Gemma4Channel::kThought) thoughts.emplace_back();
      thoughts.back() += e.text;
    }
    if (e.kind == Gemma4Event::Kind::kText) {
      last = e.channel;
      first = false;
    } else {
      last = Gemma4Channel::kToolCall;
    }
  }
  for (auto& t : thoughts) {
    std::string trimmed = jinja::py_strip(t, nullptr, true, true);
    if (trimmed.empty()) continue;
    if (!out.thinking.empty()) out.thinking += "\n";
    out.thinking += trimmed;
  }
  out.content = jinja::py_strip(out.content, nullptr, true, true);
  return out;
}

}  // namespace ember
