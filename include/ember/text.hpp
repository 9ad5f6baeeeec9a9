// ember — tokenizers and chat templates on their own, without loading a model's weights
// (for `ember tokenize`, `ember template`, and apps that count tokens or build prompts).
//
// Both classes are immutable after construction: const methods may be called concurrently
// from any number of threads. They own all their data (nothing refers back to the files).
// Bad input throws ember::Error naming the file, line:column or id that was wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ember/ember.hpp"

namespace ember {

class TextTokenizer {
 public:
  // path: tokenizer.json (or .json.gz), a model directory (its tokenizer.json, with
  // tokenizer_config.json's special tokens), or a .gguf file (its tokenizer.ggml.* vocabulary).
  static TextTokenizer load(const std::string& path);
  TextTokenizer(TextTokenizer&&) noexcept;
  TextTokenizer& operator=(TextTokenizer&&) noexcept;
  ~TextTokenizer();

  // parse_special=false treats special-token text such as "<bos>" as plain text.
  std::vector<int32_t> encode(std::string_view text, bool add_bos = false, bool parse_special = true) const;
  // Throws kInvalidArgument for an id outside [0, vocab_size()).
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // The stored piece of id ("▁hello", "<0x0A>", "<bos>"); throws for an id out of range.
  std::string piece(int32_t id) const;
  size_t vocab_size() const;
  int32_t bos_id() const;  // -1 when the tokenizer has none
  int32_t eos_id() const;

 private:
  struct Impl;
  explicit TextTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A Jinja chat template, rendered as transformers' apply_chat_template(tokenize=False) does.
class PromptTemplate {
 public:
  // A template file (.jinja, or a tokenizer_config.json / chat_template.json holding one).
  static PromptTemplate from_file(const std::string& path);
  // A model's template: MODEL_DIR/chat_template.jinja, tokenizer_config.json or
  // chat_template.json, or a .gguf file's tokenizer.chat_template; else the built-in Gemma
  // template. Special-token strings come from tokenizer_config.json.
  static PromptTemplate from_model(const std::string& path);
  // Template source text; `origin` names it in error messages.
  static PromptTemplate from_source(const std::string& source, const std::string& origin = "chat template");
  PromptTemplate(PromptTemplate&&) noexcept;
  PromptTemplate& operator=(PromptTemplate&&) noexcept;
  ~PromptTemplate();

  // Same rendering as Model::render_chat.
  std::string render(std::span<const Message> messages, const ChatOptions& options = {}) const;
  // Renders a conversation given as JSON: {"messages": [...], "tools": [...], "documents": [...],
  // "add_generation_prompt": bool (default true), "enable_thinking": bool, "bos_token": str,
  // "eos_token": str, "kwargs": {...}}. Messages may carry content lists, tool_calls,
  // reasoning_content. Errors in the JSON are prefixed with `origin` (e.g. the file name).
  std::string render_json(std::string_view conversation_json,
                          const std::string& origin = "conversation") const;
  const std::string& source() const;

 private:
  struct Impl;
  explicit PromptTemplate(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ember
