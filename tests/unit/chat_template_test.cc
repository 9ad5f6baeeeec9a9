// Chat templates against transformers' apply_chat_template (fixtures made by
// tools/gen_template_cases.py): byte-equal prompts for the Gemma 4 and Gemma 3 templates, the
// reference's raise_exception errors, and template discovery in a model directory.
#include "text/chat_template.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "ember/error.hpp"
#include "util/test_paths.h"

namespace ember {
namespace {

using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string gemma4_asset_path() {
  return std::string(EMBER_SOURCE_DIR) + "/../shared/assets/gemma4-chat-template/chat_template.jinja";
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream f(p, std::ios::binary);
  f << text;
}

TEST(ChatTemplateParity, MatchesApplyChatTemplate) {
  const ojson doc =
      ojson::parse(read_file(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/templates/chat_cases.json"));
  const ChatTemplate gemma4 = ChatTemplate::from_file(gemma4_asset_path());
  const ChatTemplate gemma3(doc["gemma3_template"].get<std::string>(), "gemma3 template");
  size_t g3 = 0, g4 = 0, errors = 0;
  for (const auto& c : doc["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    ChatInput in = chat_input_from_json(c["conversation"]);
    // transformers passes the tokenizer's special tokens map, then the caller's kwargs.
    ojson extra = c["special_tokens"];
    for (const auto& [k, v] : in.extra.items()) extra[k] = v;
    in.extra = extra;
    const ChatTemplate& tpl = c["template"] == "gemma4" ? gemma4 : gemma3;
    (c["template"] == "gemma4" ? g4 : g3)++;
    if (c.contains("expected")) {
      try {
        EXPECT_EQ(tpl.render(in), c["expected"].get<std::string>());
      } catch (const Error& e) {
        ADD_FAILURE() << e.what();
      }
      continue;
    }
    ++errors;
    try {
      tpl.render(in);
      ADD_FAILURE() << "expected error: " << c["error"];
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kTemplate);
      EXPECT_NE(std::string(e.what()).find(c["error"].get<std::string>()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("line "), std::string::npos) << e.what();
    }
  }
  EXPECT_GE(g4, 15u);
  EXPECT_GE(g3, 5u);
  EXPECT_GE(errors, 2u);
}

TEST(ChatTemplate, BuiltinIsTheGemma4Asset) {
  EXPECT_EQ(ChatTemplate::builtin_gemma4().source(), read_file(gemma4_asset_path()));
}

TEST(ChatTemplate, MinimalGemma4Prompt) {
  ChatInput in;
  in.messages = ojson::parse(R"([{"role":"user","content":"Hi"}])");
  EXPECT_EQ(ChatTemplate::builtin_gemma4().render(in),
            "<bos><|turn>user\nHi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
  in.enable_thinking = true;
  EXPECT_EQ(ChatTemplate::builtin_gemma4().render(in),
            "<bos><|turn>system\n<|think|><turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n");
}

TEST(ChatTemplate, FromModelDir) {
  const fs::path dir = testing::make_temp_dir("ember-chat-template");
  ChatInput in;
  in.messages = ojson::parse(R"([{"role":"user","content":"Hi"}])");
  in.add_generation_prompt = false;

  // No template at all: the built-in Gemma 4 one.
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string()).render(in), "<bos><|turn>user\nHi<turn|>\n");

  // A processor's chat_template.json.
  write_file(dir / "chat_template.json", R"({"chat_template": "P{{ messages[0].content }}"})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string()).render(in), "PHi");

  // tokenizer_config.json: string template and special tokens (plain or AddedToken form).
  write_file(
      dir / "tokenizer_config.json",
      R"({"bos_token": {"content": "<B>"}, "eos_token": "<E>", "chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string()).render(in), "<B>Hi<E>");

  // The list-of-named-templates form picks "default" (or "tool_use" when asked with tools).
  write_file(
      dir / "tokenizer_config.json",
      R"({"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D{{ bos_token }}"}]})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string()).render(in), "D<bos>");
  EXPECT_EQ(
      ChatTemplate::select_template(
          ojson::parse(R"([{"name":"tool_use","template":"T"},{"name":"default","template":"D"}])"), true),
      "T");

  // chat_template.jinja wins over tokenizer_config.json.
  write_file(dir / "chat_template.jinja", "J{{ messages | length }}");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string()).render(in), "J1");

  // A broken template names the file, line and column.
  write_file(dir / "chat_template.jinja", "ok\n{% if %}");
  try {
    ChatTemplate::from_model_dir(dir.string());
    ADD_FAILURE() << "expected a template error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kTemplate);
    EXPECT_NE(std::string(e.what()).find("chat_template.jinja"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("line 2, column 7"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

TEST(ChatTemplate, ConversationJsonErrors) {
  EXPECT_THROW(chat_input_from_json(ojson::parse(R"({"msgs": []})")), Error);
  EXPECT_THROW(chat_input_from_json(ojson::parse(R"({"messages": [], "tools": 3})")), Error);
  EXPECT_THROW(chat_input_from_json(ojson::parse(R"({"messages": [], "enable_thinking": "yes"})")), Error);
  ChatInput in;
  in.messages = ojson::parse(R"([5])");
  EXPECT_THROW(ChatTemplate::builtin_gemma4().render(in), Error);
}

}  // namespace
}  // namespace ember
