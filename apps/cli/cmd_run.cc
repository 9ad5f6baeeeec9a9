// ember run MODEL -p "prompt" | -f FILE | (stdin) [--raw] [--system ...] [--image FILE ...] [sampling flags]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "command.h"
#include "generation_flags.h"

namespace {

struct RunArgs {
  ember::cli::GenerationFlags g;
  std::string prompt, file;
  bool raw = false;
  std::vector<std::string> images;
  int image_tokens = 0;
};

std::string read_prompt(const RunArgs& a) {
  if (!a.prompt.empty()) return a.prompt;
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) throw ember::Error(ember::ErrorCode::kNotFound, a.file + ": cannot read prompt file");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string s((std::istreambuf_iterator<char>(std::cin)), {});
  if (s.empty()) throw ember::Error(ember::ErrorCode::kInvalidArgument, "no prompt: use -p TEXT, -f FILE or stdin");
  return s;
}

ember::cli::Command run_cmd("run", [](CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* sub = app.add_subcommand("run", "Generate an answer to one prompt (streamed)");
  a->g.add_to(sub);
  sub->add_option("-p,--prompt", a->prompt, "Prompt text");
  sub->add_option("-f,--file", a->file, "Read the prompt from a file");
  sub->add_flag("--raw", a->raw, "No chat template: tokenize the prompt as plain text with BOS");
  sub->add_option("--image", a->images, "Image file (PNG/JPEG) shown before the prompt; repeatable");
  sub->add_option("--image-tokens", a->image_tokens,
                  "Soft tokens per image: 70, 140, 280 (default), 560, 1120");
  return [a] {
    const std::string prompt = read_prompt(*a);
    auto model = a->g.load_model();
    std::vector<ember::Media> media;
    for (const auto& path : a->images) {
      media.push_back(ember::Media::from_file(path, ember::MediaKind::kImage));
      media.back().image_tokens = a->image_tokens;
    }
    ember::Prompt p;
    if (a->raw && media.empty()) {
      p.tokens = model->tokenize(prompt, /*add_bos=*/true, /*parse_special=*/false);
    } else if (a->raw) {  // base models: "<|image|>" markers, then the text
      std::string text;
      for (size_t i = 0; i < media.size(); ++i) text += "<|image|>";
      p = model->encode_prompt(text + "\n\n" + prompt, media, /*add_bos=*/true);
    } else {
      std::vector<ember::Message> msgs;
      if (!a->g.system.empty()) msgs.push_back({"system", a->g.system});
      msgs.push_back({"user", prompt});
      msgs.back().images = int(media.size());
      ember::ChatOptions co;
      co.enable_thinking = a->g.think;
      p = model->encode_prompt(model->render_chat(msgs, co), media);
    }
    auto session = model->new_session();
    session->prefill(p);
    ember::cli::ThoughtFilter filter(a->g.show_thinking);
    auto res = session->generate(a->g.generate_options(*model), [&](std::string_view text, int32_t) {
      filter.write(text);
      return true;
    });
    filter.finish();
    std::fputc('\n', stdout);
    std::fflush(stdout);
    ember::cli::print_stats(session->timings(), a->g.stats);
    return 0;
  };
});

}  // namespace
