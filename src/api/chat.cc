// ember::Chat: multi-turn conversations with incremental prefill.
//
// After a turn, the KV cache holds the prompt and the generated answer tokens (the stop token
// is not fed). The template renders the history differently from what was generated (e.g.
// Gemma 4 strips the thought channel of earlier answers), so re-rendering everything would
// recompute the whole answer. Instead the next turn feeds only:
//   closing = what the template writes after the answer text (Gemma 4: "<turn|>\n"), and
//   delta   = render(history + new message, generation prompt) minus render(history).
// When the template does not render that way (delta is not a suffix extension), the turn falls
// back to prefix reuse of the full rendering.
#include <algorithm>

#include "core/status.h"
#include "ember/ember.hpp"

namespace ember {

namespace {
// Removes Gemma 4 thought-channel segments (<|channel>...<channel|>) from an answer, as the
// template does for earlier turns.
std::string strip_thought(const std::string& text) {
  std::string out;
  size_t i = 0;
  for (;;) {
    size_t open = text.find("<|channel>", i);
    if (open == std::string::npos) break;
    out += text.substr(i, open - i);
    size_t close = text.find("<channel|>", open);
    if (close == std::string::npos) return out;
    i = close + 10;
  }
  out += text.substr(i);
  return out;
}
}  // namespace

struct Chat::State {
  std::shared_ptr<Model> model;
  ChatOptions options;
  std::unique_ptr<Session> session;
  std::vector<Message> messages;  // includes the system message when set
  std::string system;
  int64_t last_prefill = 0;
  bool cache_matches_history = false;  // session holds history up to the last answer's text
};

Chat::Chat(std::shared_ptr<Model> model, ChatOptions options) : s_(std::make_unique<State>()) {
  if (!model) fail(ErrorCode::kInvalidArgument, "Chat: null model");
  s_->model = std::move(model);
  s_->options = std::move(options);
  s_->session = s_->model->new_session();
}
Chat::~Chat() = default;
Chat::Chat(Chat&&) noexcept = default;
Chat& Chat::operator=(Chat&&) noexcept = default;

void Chat::set_system(const std::string& text) {
  s_->system = text;
  reset();
}

void Chat::reset() {
  s_->messages.clear();
  if (!s_->system.empty()) s_->messages.push_back({"system", s_->system});
  s_->session->reset();
  s_->cache_matches_history = false;
}

const std::vector<Message>& Chat::messages() const { return s_->messages; }
Session& Chat::session() { return *s_->session; }
int64_t Chat::last_prefill_tokens() const { return s_->last_prefill; }

GenerateResult Chat::send(const std::string& user_text, const GenerateOptions& options,
                          const TokenCallback& on_token) {
  Model& m = *s_->model;
  ChatOptions no_prompt = s_->options;
  no_prompt.add_generation_prompt = false;
  ChatOptions with_prompt = s_->options;
  with_prompt.add_generation_prompt = true;

  std::vector<Message> next = s_->messages;
  next.push_back({"user", user_text});
  const std::string full = m.render_chat(next, with_prompt);

  bool incremental = false;
  if (s_->cache_matches_history && !s_->messages.empty() && s_->messages.back().role == "assistant") {
    const std::string before = m.render_chat(s_->messages, no_prompt);
    const std::string& answer = s_->messages.back().content;
    const size_t at = answer.empty() ? std::string::npos : before.rfind(answer);
    if (at != std::string::npos && full.compare(0, before.size(), before) == 0) {
      const std::string closing = before.substr(at + answer.size());
      const std::string delta = full.substr(before.size());
      auto ids = m.tokenize(closing + delta, false, true);
      s_->last_prefill = s_->session->prefill(ids);
      incremental = true;
    }
  }
  if (!incremental) s_->last_prefill = s_->session->prefill_reuse(m.tokenize(full, false, true));

  GenerateResult res = s_->session->generate(options, on_token);
  s_->messages = std::move(next);
  s_->messages.push_back({"assistant", strip_thought(res.text)});
  // The cache holds exactly the answer text's tokens unless a stop string or the callback cut
  // the stream between a fed token and the text shown.
  s_->cache_matches_history = res.stop_reason == StopReason::kEos || res.stop_reason == StopReason::kMaxTokens;
  return res;
}

}  // namespace ember
