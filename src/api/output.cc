// Public Gemma 4 output parsing (include/ember/output.hpp) over src/text/gemma4_output.
#include "ember/output.hpp"

#include "text/gemma4_output.h"

namespace ember {

namespace {

ParsedToolCall to_public(const Gemma4ToolCall& c) {
  return {c.name, c.arguments.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace)};
}

OutputChannel to_public(Gemma4Channel c) {
  switch (c) {
    case Gemma4Channel::kThought:
      return OutputChannel::kThought;
    case Gemma4Channel::kToolCall:
      return OutputChannel::kToolCall;
    case Gemma4Channel::kAnswer:
      break;
  }
  return OutputChannel::kAnswer;
}

std::vector<OutputEvent> to_public(std::vector<Gemma4Event> evs) {
  std::vector<OutputEvent> out;
  out.reserve(evs.size());
  for (auto& e : evs) {
    OutputEvent o;
    o.kind = e.kind == Gemma4Event::Kind::kText       ? OutputEvent::Kind::kText
             : e.kind == Gemma4Event::Kind::kToolCall ? OutputEvent::Kind::kToolCall
                                                      : OutputEvent::Kind::kEnd;
    o.channel = to_public(e.channel);
    o.text = std::move(e.text);
    if (e.tool_call) o.tool_call = to_public(*e.tool_call);
    o.error = std::move(e.error);
    o.closed = e.closed;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

ParsedOutput parse_output(std::string_view text) {
  Gemma4Output g = parse_gemma4_output(text);
  ParsedOutput out;
  out.content = std::move(g.content);
  out.thinking = std::move(g.thinking);
  for (const auto& c : g.tool_calls) out.tool_calls.push_back(to_public(c));
  out.errors = std::move(g.errors);
  return out;
}

struct OutputStream::Impl {
  Gemma4StreamParser parser;
};

OutputStream::OutputStream() : impl_(std::make_unique<Impl>()) {}
OutputStream::~OutputStream() = default;
OutputStream::OutputStream(OutputStream&&) noexcept = default;
OutputStream& OutputStream::operator=(OutputStream&&) noexcept = default;

std::vector<OutputEvent> OutputStream::feed(std::string_view text) { return to_public(impl_->parser.feed(text)); }
std::vector<OutputEvent> OutputStream::finish() { return to_public(impl_->parser.finish()); }
OutputChannel OutputStream::channel() const { return to_public(impl_->parser.channel()); }

}  // namespace ember
