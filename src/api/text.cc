// Public tokenizer and chat-template classes (include/ember/text.hpp) and the helpers the
// Model shares with them, so a model and a standalone tokenizer/template behave identically.
#include "ember/text.hpp"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/gguf_tokenizer.h"
#include "api/model_impl.h"
#include "core/status.h"
#include "io/gguf.h"

namespace ember {

namespace fs = std::filesystem;

// By content, not by name: a regular file starting with the GGUF magic.
bool is_gguf_path(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::string_view(magic, 4) == "GGUF";
}

Tokenizer tokenizer_for_path(const std::string& path) {
  if (is_gguf_path(path)) return tokenizer_from_gguf(*GgufFile::open(path));
  return Tokenizer::from_file(path);
}

ChatTemplate chat_template_for_path(const std::string& path) {
  if (is_gguf_path(path)) {
    auto f = GgufFile::open(path);
    if (auto tpl = f->opt_string("tokenizer.chat_template"))
      return ChatTemplate(*tpl, path + ": tokenizer.chat_template");
    return builtin_chat_template_for_gguf(*f);
  }
  return ChatTemplate::from_model_dir(path);
}

void check_token_ids(std::span<const int32_t> ids, size_t vocab_size) {
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i] < 0 || size_t(ids[i]) >= vocab_size)
      fail(ErrorCode::kInvalidArgument, "token id ", ids[i], " at index ", i,
           " is out of range (vocabulary size ", vocab_size, ")");
}

// ---- TextTokenizer ----

struct TextTokenizer::Impl {
  Tokenizer tok;
};

TextTokenizer::TextTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextTokenizer::TextTokenizer(TextTokenizer&&) noexcept = default;
TextTokenizer& TextTokenizer::operator=(TextTokenizer&&) noexcept = default;
TextTokenizer::~TextTokenizer() = default;

TextTokenizer TextTokenizer::load(const std::string& path) {
  return TextTokenizer(std::make_unique<Impl>(Impl{tokenizer_for_path(path)}));
}

std::vector<int32_t> TextTokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  return impl_->tok.encode(text, add_bos, parse_special);
}

std::string TextTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  check_token_ids(ids, impl_->tok.vocab_size());
  return impl_->tok.decode(ids, skip_special);
}

std::string TextTokenizer::piece(int32_t id) const {
  check_token_ids(std::span<const int32_t>(&id, 1), impl_->tok.vocab_size());
  return impl_->tok.token_to_piece(id);
}

size_t TextTokenizer::vocab_size() const { return impl_->tok.vocab_size(); }
int32_t TextTokenizer::bos_id() const { return impl_->tok.bos_id(); }
int32_t TextTokenizer::eos_id() const { return impl_->tok.eos_id(); }

// ---- PromptTemplate ----

struct PromptTemplate::Impl {
  ChatTemplate tpl;
};

PromptTemplate::PromptTemplate(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PromptTemplate::PromptTemplate(PromptTemplate&&) noexcept = default;
PromptTemplate& PromptTemplate::operator=(PromptTemplate&&) noexcept = default;
PromptTemplate::~PromptTemplate() = default;

PromptTemplate PromptTemplate::from_file(const std::string& path) {
  return PromptTemplate(std::make_unique<Impl>(Impl{ChatTemplate::from_file(path)}));
}

PromptTemplate PromptTemplate::from_model(const std::string& path) {
  return PromptTemplate(std::make_unique<Impl>(Impl{chat_template_for_path(path)}));
}

PromptTemplate PromptTemplate::from_source(const std::string& source, const std::string& origin) {
  return PromptTemplate(std::make_unique<Impl>(Impl{ChatTemplate(source, origin)}));
}

std::string PromptTemplate::render(std::span<const Message> messages, const ChatOptions& options) const {
  return impl_->tpl.render(chat_input_from_messages(messages, options));
}

std::string PromptTemplate::render_json(std::string_view conversation_json, const std::string& origin) const {
  nlohmann::ordered_json conversation;
  try {
    conversation = nlohmann::ordered_json::parse(conversation_json);
  } catch (const nlohmann::ordered_json::exception& e) {
    fail(ErrorCode::kInvalidArgument, origin, ": invalid JSON: ", e.what());
  }
  ChatInput in;
  try {
    in = chat_input_from_json(conversation);
  } catch (const Error& e) {
    fail(e.code(), origin, ": ", e.what());
  } catch (const nlohmann::ordered_json::exception& e) {
    fail(ErrorCode::kInvalidArgument, origin, ": ", e.what());
  }
  return impl_->tpl.render(in);
}

const std::string& PromptTemplate::source() const { return impl_->tpl.source(); }

}  // namespace ember
