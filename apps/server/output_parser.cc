#include "output_parser.h"

#include <nlohmann/json.hpp>

namespace ember::server {

namespace {

constexpr std::string_view kChannelOpen = "<|channel>", kChannelClose = "<channel|>";
constexpr std::string_view kCallOpen = "<|tool_call>", kCallClose = "<tool_call|>";
constexpr std::string_view kQuote = "<|\"|>";

// Length of the longest suffix of s that is a proper prefix of marker.
size_t partial_suffix(std::string_view s, std::string_view marker) {
  for (size_t k = std::min(s.size(), marker.size() - 1); k > 0; --k)
    if (s.substr(s.size() - k) == marker.substr(0, k)) return k;
  return 0;
}

void add(std::vector<OutputEvent>& out, OutputEvent::Kind kind, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == kind && kind != OutputEvent::Kind::kToolCall) {
    out.back().text += text;
    return;
  }
  out.push_back({kind, std::string(text), {}});
}

// Recursive-descent parser of Gemma 4 tool-call values into JSON.
class ValueParser {
 public:
  explicit ValueParser(std::string_view s) : s_(s) {}
  bool value(nlohmann::ordered_json* v, int depth = 0) {
    if (depth > 64) return false;
    skip_ws();
    if (s_.substr(i_).starts_with(kQuote)) {
      i_ += kQuote.size();
      size_t end = s_.find(kQuote, i_);
      if (end == std::string_view::npos) return false;
      *v = std::string(s_.substr(i_, end - i_));
      i_ = end + kQuote.size();
      return true;
    }
    if (i_ < s_.size() && s_[i_] == '{') return object(v, depth);
    if (i_ < s_.size() && s_[i_] == '[') return array(v, depth);
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']') ++i_;
    std::string tok(s_.substr(start, i_ - start));
    while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\n')) tok.pop_back();
    if (tok.empty()) return false;
    if (tok == "None" || tok == "null")
      *v = nullptr;
    else if (tok == "true" || tok == "True")
      *v = true;
    else if (tok == "false" || tok == "False")
      *v = false;
    else {
      auto num = nlohmann::ordered_json::parse(tok, nullptr, false);
      *v = num.is_discarded() || !num.is_number() ? nlohmann::ordered_json(tok) : num;
    }
    return true;
  }
  bool object(nlohmann::ordered_json* v, int depth) {
    *v = nlohmann::ordered_json::object();
    ++i_;  // '{'
    skip_ws();
    if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
    while (i_ < s_.size()) {
      skip_ws();
      std::string key;
      if (s_.substr(i_).starts_with(kQuote)) {
        nlohmann::ordered_json k;
        if (!value(&k, depth + 1)) return false;
        key = k.get<std::string>();
      } else {
        size_t colon = s_.find(':', i_);
        if (colon == std::string_view::npos) return false;
        key = std::string(s_.substr(i_, colon - i_));
        i_ = colon;
      }
      skip_ws();
      if (i_ >= s_.size() || s_[i_] != ':') return false;
      ++i_;
      nlohmann::ordered_json item;
      if (!value(&item, depth + 1)) return false;
      (*v)[key] = std::move(item);
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == '}') return ++i_, true;
      return false;
    }
    return false;
  }
  bool array(nlohmann::ordered_json* v, int depth) {
    *v = nlohmann::ordered_json::array();
    ++i_;  // '['
    skip_ws();
    if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
    while (i_ < s_.size()) {
      nlohmann::ordered_json item;
      if (!value(&item, depth + 1)) return false;
      v->push_back(std::move(item));
      skip_ws();
      if (i_ < s_.size() && s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (i_ < s_.size() && s_[i_] == ']') return ++i_, true;
      return false;
    }
    return false;
  }
  bool at_end() {
    skip_ws();
    return i_ == s_.size();
  }

 private:
  void skip_ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

bool parse_tool_call(std::string_view body, ToolCall* call) {
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n')) body.remove_prefix(1);
  if (!body.starts_with("call:")) return false;
  body.remove_prefix(5);
  size_t brace = body.find('{');
  if (brace == std::string_view::npos || brace == 0) return false;
  call->name = std::string(body.substr(0, brace));
  ValueParser p(body.substr(brace));
  nlohmann::ordered_json args;
  if (!p.value(&args) || !args.is_object() || !p.at_end()) return false;
  call->arguments = args.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  return true;
}

std::vector<OutputEvent> OutputParser::feed(std::string_view text) {
  buf_ += text;
  std::vector<OutputEvent> out;
  run(out, false);
  return out;
}

std::vector<OutputEvent> OutputParser::finish() {
  std::vector<OutputEvent> out;
  run(out, true);
  if (state_ == State::kToolCall)
    add(out, OutputEvent::Kind::kContent, std::string(kCallOpen) + buf_);
  else if (state_ == State::kThought || state_ == State::kChannelName)
    add(out, OutputEvent::Kind::kReasoning, buf_);
  buf_.clear();
  state_ = State::kAnswer;
  return out;
}

// Consumes buf_ as far as it is decided; keeps a possible partial marker.
void OutputParser::run(std::vector<OutputEvent>& out, bool at_end) {
  using K = OutputEvent::Kind;
  for (;;) {
    if (state_ == State::kAnswer || state_ == State::kThought) {
      const K kind = state_ == State::kAnswer ? K::kContent : K::kReasoning;
      // In the answer a channel or a tool call may open; in a thought only the channel closes.
      std::string_view m1 = state_ == State::kAnswer ? kChannelOpen : kChannelClose;
      std::string_view m2 = state_ == State::kAnswer ? kCallOpen : kChannelClose;
      size_t p1 = buf_.find(m1), p2 = buf_.find(m2);
      size_t p = std::min(p1, p2);
      if (p == std::string::npos) {
        size_t keep = at_end ? 0 : std::max(partial_suffix(buf_, m1), partial_suffix(buf_, m2));
        add(out, kind, std::string_view(buf_).substr(0, buf_.size() - keep));
        buf_.erase(0, buf_.size() - keep);
        return;
      }
      add(out, kind, std::string_view(buf_).substr(0, p));
      const bool call = state_ == State::kAnswer && p == p2 && p2 < p1;
      const bool open = state_ == State::kAnswer && !call;
      buf_.erase(0, p + (call ? kCallOpen.size() : open ? kChannelOpen.size() : kChannelClose.size()));
      state_ = call ? State::kToolCall : open ? State::kChannelName : State::kAnswer;
    } else if (state_ == State::kChannelName) {
      size_t nl = buf_.find('\n'), close = buf_.find(kChannelClose);
      if (close != std::string::npos && close < nl) {  // an empty channel
        buf_.erase(0, close + kChannelClose.size());
        state_ = State::kAnswer;
      } else if (nl != std::string::npos) {
        buf_.erase(0, nl + 1);
        state_ = State::kThought;
      } else {
        return;
      }
    } else {  // kToolCall
      size_t close = buf_.find(kCallClose);
      if (close == std::string::npos) return;
      ToolCall call;
      if (parse_tool_call(std::string_view(buf_).substr(0, close), &call)) {
        out.push_back({K::kToolCall, {}, std::move(call)});
      } else {
        add(out, K::kContent, std::string(kCallOpen) + buf_.substr(0, close + kCallClose.size()));
      }
      buf_.erase(0, close + kCallClose.size());
      state_ = State::kAnswer;
    }
  }
}

}  // namespace ember::server
