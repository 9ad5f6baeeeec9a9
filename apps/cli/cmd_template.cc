// `ember template (MODEL_DIR | --template FILE) --input conversation.json`: prints the prompt the
// chat template renders for a conversation (format: ember::PromptTemplate::render_json).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command.h"
#include "ember/text.hpp"

namespace {

struct TemplateArgs {
  std::string model_dir;
  std::string template_file;
  std::string input;
};

int run_template(const TemplateArgs& args) {
  using ember::ErrorCode;
  if (args.model_dir.empty() == args.template_file.empty())
    throw ember::Error(ErrorCode::kInvalidArgument, "give either MODEL_DIR or --template FILE");
  std::ifstream f(args.input, std::ios::binary);
  if (!f) throw ember::Error(ErrorCode::kIo, "cannot open " + args.input);
  std::ostringstream ss;
  ss << f.rdbuf();
  const ember::PromptTemplate tpl = args.model_dir.empty()
                                        ? ember::PromptTemplate::from_file(args.template_file)
                                        : ember::PromptTemplate::from_model(args.model_dir);
  const std::string prompt = tpl.render_json(ss.str(), args.input);
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  return 0;
}

ember::cli::Command template_cmd("template", [](CLI::App& app) {
  auto args = std::make_shared<TemplateArgs>();
  auto* sub =
      app.add_subcommand("template", "Render a conversation with a chat template and print the prompt");
  sub->add_option("model_dir", args->model_dir,
                  "Model directory (chat_template.jinja or tokenizer_config.json)");
  sub->add_option("--template", args->template_file, "Jinja chat template file");
  sub->add_option("--input", args->input,
                  "conversation.json: {messages, tools?, add_generation_prompt?, enable_thinking?}")
      ->required();
  return [args] { return run_template(*args); };
});

}  // namespace
