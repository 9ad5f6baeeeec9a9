// Fuzzes the server's request parser (JSON body -> ParsedRequest) for both endpoints, and its
// view of Gemma 4 output (OutputParser over ember::OutputStream) on the same bytes fed in
// pieces. Bad input must end in ApiError, never a crash. The server sources live in apps/server
// (not in libember), so they are compiled in.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "../../apps/server/request.cc"
#include "../../apps/server/responses.cc"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (bool chat : {true, false}) {
    try {
      auto r = chat ? ember::server::parse_chat_request(in) : ember::server::parse_completion_request(in);
      (void)ember::server::sampling_for(r, {});
    } catch (const ember::server::ApiError& e) {
      if (e.status < 400 || e.status > 499) __builtin_trap();
      (void)e.to_json();
    }
  }
  // Model output arriving in uneven pieces must give the same events as in one piece (adjacent
  // text of one kind merged).
  using ember::server::OutputEvent;
  auto collect = [](std::vector<OutputEvent>& all, std::vector<OutputEvent> evs) {
    for (auto& e : evs) {
      if (!all.empty() && e.kind != OutputEvent::Kind::kToolCall && all.back().kind == e.kind)
        all.back().text += e.text;
      else
        all.push_back(std::move(e));
    }
  };
  ember::server::OutputParser whole, pieces;
  std::vector<OutputEvent> a, b;
  collect(a, whole.feed(in));
  collect(a, whole.finish());
  for (size_t i = 0; i < in.size(); i += 1 + (i % 7)) collect(b, pieces.feed(in.substr(i, 1 + (i % 7))));
  collect(b, pieces.finish());
  if (a.size() != b.size()) __builtin_trap();
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].kind != b[i].kind || a[i].text != b[i].text || a[i].call.name != b[i].call.name ||
        a[i].call.arguments != b[i].call.arguments)
      __builtin_trap();
  return 0;
}
