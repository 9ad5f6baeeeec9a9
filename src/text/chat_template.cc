#include "text/chat_template.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/status.h"
#include "text/jinja/template.h"

namespace ember {
namespace {

using ojson = nlohmann::ordered_json;

std::string read_text_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail(ErrorCode::kIo, "cannot open ", path);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// What transformers does to each message before rendering: drop keys whose value is None, then
// alias the reasoning under "thinking" and "reasoning_content" (`_alias_reasoning_fields`).
ojson normalize_message(const ojson& message, size_t index) {
  if (!message.is_object())
    fail(ErrorCode::kInvalidArgument, "messages[", index, "] must be an object, got ", message.type_name());
  ojson m = ojson::object();
  for (const auto& [k, v] : message.items())
    if (!v.is_null()) m[k] = v;
  const ojson* reasoning = nullptr;
  for (const char* key : {"reasoning_content", "thinking", "reasoning"})
    if (m.contains(key)) {
      reasoning = &m[key];
      break;
    }
  if (!reasoning) return m;
  ojson out = ojson::object();
  out["thinking"] = *reasoning;  // first position, as in {"thinking": r, **message, ...}
  for (const auto& [k, v] : m.items()) out[k] = v;
  out["reasoning_content"] = *reasoning;
  return out;
}

// tokenizer_config.json token entries are strings or AddedToken objects {"content": ...}.
std::optional<std::string> token_string(const ojson& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
  return std::nullopt;
}

}  // namespace

ChatInput chat_input_from_json(const ojson& c) {
  if (!c.is_object()) fail(ErrorCode::kInvalidArgument, "conversation must be a JSON object with \"messages\"");
  ChatInput in;
  if (!c.contains("messages") || !c["messages"].is_array())
    fail(ErrorCode::kInvalidArgument, "conversation: \"messages\" must be an array");
  in.messages = c["messages"];
  auto list_or_null = [&](const char* key) -> ojson {
    if (!c.contains(key) || c[key].is_null()) return nullptr;
    if (!c[key].is_array()) fail(ErrorCode::kInvalidArgument, "conversation: \"", key, "\" must be an array");
    return c[key];
  };
  in.tools = list_or_null("tools");
  in.documents = list_or_null("documents");
  auto boolean = [&](const char* key) -> std::optional<bool> {
    if (!c.contains(key) || c[key].is_null()) return std::nullopt;
    if (!c[key].is_boolean()) fail(ErrorCode::kInvalidArgument, "conversation: \"", key, "\" must be true or false");
    return c[key].get<bool>();
  };
  in.add_generation_prompt = boolean("add_generation_prompt").value_or(true);
  in.enable_thinking = boolean("enable_thinking");
  for (const char* key : {"bos_token", "eos_token"}) {
    if (!c.contains(key)) continue;
    if (!c[key].is_string()) fail(ErrorCode::kInvalidArgument, "conversation: \"", key, "\" must be a string");
    (std::string(key) == "bos_token" ? in.bos_token : in.eos_token) = c[key].get<std::string>();
  }
  if (c.contains("kwargs")) {
    if (!c["kwargs"].is_object()) fail(ErrorCode::kInvalidArgument, "conversation: \"kwargs\" must be an object");
    in.extra = c["kwargs"];
  }
  return in;
}

ChatTemplate::ChatTemplate(const std::string& source, std::string origin)
    : source_(source), origin_(std::move(origin)) {
  try {
    template_ = std::make_unique<jinja::Template>(source_);
  } catch (const Error& e) {
    fail(ErrorCode::kTemplate, origin_, ": ", e.what());
  }
}

ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::~ChatTemplate() = default;

ChatTemplate ChatTemplate::builtin_gemma4() { return ChatTemplate(builtin_gemma4_chat_template(), "built-in Gemma 4 chat template"); }

ChatTemplate ChatTemplate::from_file(const std::string& path) { return ChatTemplate(read_text_file(path), path); }

std::string ChatTemplate::select_template(const ojson& value, bool has_tools) {
  if (value.is_string()) return value.get<std::string>();
  if (!value.is_array()) fail(ErrorCode::kInvalidArgument, "chat_template must be a string or a list of named templates");
  std::optional<std::string> def, tool_use;
  for (const auto& entry : value) {
    if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") || !entry["name"].is_string() ||
        !entry["template"].is_string())
      fail(ErrorCode::kInvalidArgument, "chat_template list entries must be {\"name\": str, \"template\": str}");
    if (entry["name"] == "default") def = entry["template"].get<std::string>();
    if (entry["name"] == "tool_use") tool_use = entry["template"].get<std::string>();
  }
  if (has_tools && tool_use) return *tool_use;
  if (def) return *def;
  fail(ErrorCode::kInvalidArgument, "chat_template lists several templates but none named \"default\"");
}

ChatTemplate ChatTemplate::from_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(dir)) fail(ErrorCode::kNotFound, "model directory not found: ", dir);
  const std::string config_path = (fs::path(dir) / "tokenizer_config.json").string();
  ojson config = ojson::object();
  if (fs::exists(config_path)) {
    try {
      config = ojson::parse(read_text_file(config_path));
    } catch (const ojson::exception& e) {
      fail(ErrorCode::kCorruptFile, config_path, ": invalid JSON: ", e.what());
    }
    if (!config.is_object()) fail(ErrorCode::kCorruptFile, config_path, ": expected a JSON object");
  }
  std::optional<ChatTemplate> tpl;
  const std::string jinja_path = (fs::path(dir) / "chat_template.jinja").string();
  if (fs::exists(jinja_path)) {
    tpl.emplace(from_file(jinja_path));
  } else if (config.contains("chat_template") && !config["chat_template"].is_null()) {
    try {
      tpl.emplace(ChatTemplate(select_template(config["chat_template"], false), config_path + " (chat_template)"));
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kTemplate) throw;
      fail(e.code(), config_path, ": ", e.what());
    }
  } else {
    tpl.emplace(builtin_gemma4());
  }
  ojson tokens = ojson::object();
  for (const char* key : {"bos_token", "eos_token", "unk_token", "pad_token"})
    if (config.contains(key))
      if (auto s = token_string(config[key])) tokens[key] = *s;
  tpl->set_special_tokens(std::move(tokens));
  return std::move(*tpl);
}

std::string ChatTemplate::render(const ChatInput& in) const {
  if (!in.messages.is_array()) fail(ErrorCode::kInvalidArgument, "messages must be an array");
  ojson messages = ojson::array();
  for (size_t i = 0; i < in.messages.size(); ++i) messages.push_back(normalize_message(in.messages[i], i));
  if (!in.extra.is_object()) fail(ErrorCode::kInvalidArgument, "extra template variables must be an object");

  std::vector<std::pair<std::string, jinja::Value>> vars;
  auto set = [&](const std::string& k, jinja::Value v) {
    for (auto& [name, val] : vars)
      if (name == k) {
        val = std::move(v);
        return;
      }
    vars.emplace_back(k, std::move(v));
  };
  // Order of precedence as in apply_chat_template: special tokens < explicit tokens < kwargs.
  set("bos_token", jinja::Value(std::string("<bos>")));
  set("eos_token", jinja::Value(std::string("<eos>")));
  for (const auto& [k, v] : special_tokens_.items()) set(k, jinja::from_json(v));
  if (in.bos_token) set("bos_token", jinja::Value(*in.bos_token));
  if (in.eos_token) set("eos_token", jinja::Value(*in.eos_token));
  if (in.enable_thinking) set("enable_thinking", jinja::Value(*in.enable_thinking));
  for (const auto& [k, v] : in.extra.items()) set(k, jinja::from_json(v));
  set("messages", jinja::from_json(messages));
  set("tools", jinja::from_json(in.tools));
  set("documents", jinja::from_json(in.documents));
  set("add_generation_prompt", jinja::Value(in.add_generation_prompt));
  try {
    return template_->render(vars);
  } catch (const Error& e) {
    fail(ErrorCode::kTemplate, origin_, ": ", e.what());
  }
}

}  // namespace ember
