// Chat-template rendering, as transformers' tokenizer.apply_chat_template(..., tokenize=False)
// does it: the checkpoint's Jinja template rendered with messages, tools, documents,
// add_generation_prompt, the special-token strings and any extra keyword arguments.
//
//   auto tpl = ember::ChatTemplate::from_model_dir("/models/gemma-4-E4B-it");
//   ember::ChatInput in;
//   in.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])");
//   std::string prompt = tpl.render(in);
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace ember {

namespace jinja {
class Template;
}

struct ChatInput {
  // Messages: {role, content (string or list of {type: text|image|audio|video, ...}), tool_calls,
  // tool_responses, reasoning_content/thinking/reasoning, ...}. Keys are kept in their order.
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;      // null (passed as None) or a list of JSON-schema tools
  nlohmann::ordered_json documents;  // null (passed as None) or a list of documents
  bool add_generation_prompt = true;
  std::optional<bool> enable_thinking;  // unset: the template sees it undefined
  // Special-token strings; unset uses the template's (from tokenizer_config.json, else <bos>/<eos>).
  std::optional<std::string> bos_token, eos_token;
  // More template variables (an object), like transformers' **kwargs; they override the above.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

// Parses a ChatInput from a conversation JSON object: {"messages": [...], "tools": [...],
// "documents": [...], "add_generation_prompt": bool, "enable_thinking": bool, "bos_token": str,
// "eos_token": str, "kwargs": {...}}. Errors name the offending key.
ChatInput chat_input_from_json(const nlohmann::ordered_json& conversation);

class ChatTemplate {
 public:
  // Parses a template source; `origin` names it in error messages (a file path, "built-in").
  explicit ChatTemplate(const std::string& source, std::string origin = "chat template");
  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ~ChatTemplate();

  // The checkpoint's template: MODEL_DIR/chat_template.jinja, else "chat_template" in
  // MODEL_DIR/tokenizer_config.json, else MODEL_DIR/chat_template.json (a processor's file), else
  // the built-in Gemma 4 template. Special-token strings come from tokenizer_config.json.
  static ChatTemplate from_model_dir(const std::string& model_dir);
  static ChatTemplate from_file(const std::string& path);
  static ChatTemplate builtin_gemma4();
  // Gemma 3's template (tokenizer_config.json of google/gemma-3-*-it), for files that carry none.
  static ChatTemplate builtin_gemma3();
  // The template source named by a tokenizer_config.json "chat_template" value: a string, or a
  // list of {name, template} (picks "tool_use" when tools are given and present, else "default").
  static std::string select_template(const nlohmann::ordered_json& chat_template_value, bool has_tools);

  // Renders a conversation. Template errors raise ember::Error(kTemplate) with line:column.
  std::string render(const ChatInput& input) const;

  const std::string& source() const { return source_; }
  const std::string& origin() const { return origin_; }
  // Special tokens from tokenizer_config.json (bos_token, eos_token, unk_token, pad_token, ...).
  const nlohmann::ordered_json& special_tokens() const { return special_tokens_; }
  void set_special_tokens(nlohmann::ordered_json tokens) { special_tokens_ = std::move(tokens); }

 private:
  std::string source_;
  std::string origin_;
  std::unique_ptr<jinja::Template> template_;
  nlohmann::ordered_json special_tokens_ = nlohmann::ordered_json::object();
};

// The Gemma 4 chat template shipped with ember (generated from the shared asset).
const char* builtin_gemma4_chat_template();
const char* builtin_gemma3_chat_template();

}  // namespace ember
