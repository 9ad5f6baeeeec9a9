// Implementation classes behind the public API (include/ember/ember.hpp).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "ember/ember.hpp"
#include "models/language_model.h"
#include "runtime/sampler.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace ember {

// Shared by Model and the standalone TextTokenizer / PromptTemplate (src/api/text.cc).
bool is_gguf_path(const std::string& path);
Tokenizer tokenizer_for_path(const std::string& path);         // tokenizer.json, model dir or .gguf
ChatTemplate chat_template_for_path(const std::string& path);  // model dir or .gguf
ChatInput chat_input_from_messages(std::span<const Message> messages, const ChatOptions& options);
// kInvalidArgument naming the first id outside [0, vocab_size).
void check_token_ids(std::span<const int32_t> ids, size_t vocab_size);

class ModelImpl final : public Model {
 public:
  ModelImpl(const std::string& path, const ModelOptions& options);

  const ModelInfo& info() const override { return info_; }
  std::string describe(bool tensors) const override { return lm_->describe(tensors); }
  std::vector<int32_t> tokenize(std::string_view text, bool add_bos, bool parse_special) const override;
  std::string detokenize(std::span<const int32_t> ids, bool skip_special) const override;
  std::string token_piece(int32_t id) const override;
  std::string render_chat(std::span<const Message> messages, const ChatOptions& options) const override;
  Prompt encode_prompt(std::string_view text, std::span<const Media> media, bool add_bos) const override;
  MediaTokenIds media_token_ids(MediaKind kind) const override;
  std::unique_ptr<Session> new_session() const override;

  const LanguageModel& lm() const { return *lm_; }
  const Tokenizer& tokenizer() const;
  const ModelOptions& options() const { return options_; }
  int64_t context_length() const { return context_; }
  size_t vocab_limit() const;
  // ModelOptions::kv_memory_limit accounting: reserves `bytes` for a new session or throws
  // kResourceExhausted; release() gives them back when the session is destroyed.
  void reserve_kv(size_t bytes) const;
  void release_kv(size_t bytes) const;

 private:
  ModelOptions options_;
  ModelInfo info_;
  std::unique_ptr<LanguageModel> lm_;
  std::optional<Tokenizer> tokenizer_;
  std::string tokenizer_error_;
  std::optional<ChatTemplate> template_;
  int64_t context_ = 0;
  mutable std::mutex kv_mu_;
  mutable size_t kv_reserved_ = 0;  // bytes reserved by live sessions
  mutable int64_t kv_sessions_ = 0;
};

}  // namespace ember
