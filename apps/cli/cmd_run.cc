// ember run MODEL -p "prompt" | -f FILE | (stdin) [--raw] [--system ...] [--image FILE ...] [--audio WAV ...]
// [sampling flags]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "answer_printer.h"
#include "command.h"
#include "generation_flags.h"

namespace {

struct RunArgs {
  ember::cli::GenerationFlags g;
  std::string prompt, file;
  bool has_prompt = false;  // -p given (an empty -p "" is a prompt too)
  bool raw = false;
  std::vector<std::string> images;
  int image_tokens = 0;
  std::vector<std::string> audios;
};

std::string read_prompt(const RunArgs& a) {
  if (a.has_prompt) return a.prompt;
  if (!a.file.empty()) {
    std::ifstream in(a.file, std::ios::binary);
    if (!in) throw ember::Error(ember::ErrorCode::kNotFound, a.file + ": cannot read prompt file");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  if (isatty(0)) std::fputs("reading the prompt from stdin (end it with Ctrl-D)\n", stderr);
  std::string s((std::istreambuf_iterator<char>(std::cin)), {});
  if (s.empty())
    throw ember::Error(ember::ErrorCode::kInvalidArgument, "no prompt: use -p TEXT, -f FILE or stdin");
  return s;
}

ember::cli::Command run_cmd("run", [](CLI::App& app) {
  auto a = std::make_shared<RunArgs>();
  auto* sub = app.add_subcommand("run", "Generate an answer to one prompt (streamed)");
  a->g.add_to(sub);
  auto* popt = sub->add_option("-p,--prompt", a->prompt, "Prompt text");
  auto* f = sub->add_option("-f,--file", a->file, "Read the prompt from a file (default: -p, else stdin)");
  f->excludes(popt);
  auto* raw = sub->add_flag("--raw", a->raw, "No chat template: tokenize the prompt as plain text with BOS");
  // The system prompt and the thinking switch live in the chat template.
  raw->excludes(sub->get_option("--system"));
  raw->excludes(sub->get_option("--think"));
  sub->add_option("--image", a->images, "Image file (PNG/JPEG) shown before the prompt; repeatable");
  sub->add_option("--image-tokens", a->image_tokens,
                  "Soft tokens per image: 70, 140, 280 (default), 560, 1120");
  sub->add_option("--audio", a->audios,
                  "Audio file (WAV, resampled to 16 kHz) heard after the prompt; repeatable");
  return [a, popt] {
    a->has_prompt = popt->count() > 0;
    const std::string prompt = read_prompt(*a);
    auto model = a->g.load_model();
    std::vector<ember::Media> media;
    for (const auto& path : a->images) {
      media.push_back(ember::Media::from_file(path, ember::MediaKind::kImage));
      media.back().image_tokens = a->image_tokens;
    }
    const size_t n_images = media.size();
    for (const auto& path : a->audios)
      media.push_back(ember::Media::from_file(path, ember::MediaKind::kAudio));
    ember::Prompt p;
    if (a->raw && media.empty()) {
      p.tokens = model->tokenize(prompt, /*add_bos=*/true, /*parse_special=*/false);
    } else if (a->raw) {  // base models: "<|image|>" markers, then the text
      std::string text;
      for (size_t i = 0; i < n_images; ++i) text += "<|image|>";
      std::string audio;  // audio after the text (model card order)
      for (size_t i = n_images; i < media.size(); ++i) audio += "<|audio|>";
      p = model->encode_prompt((n_images ? text + "\n\n" : text) + prompt + audio, media, /*add_bos=*/true);
    } else {
      std::vector<ember::Message> msgs;
      auto add = [&](const char* role, const std::string& text) {
        msgs.emplace_back();
        msgs.back().role = role;
        msgs.back().content = text;
      };
      if (!a->g.system.empty()) add("system", a->g.system);
      add("user", prompt);
      msgs.back().images = int(n_images);
      msgs.back().audios = int(media.size() - n_images);
      ember::ChatOptions co;
      co.enable_thinking = a->g.think;
      p = model->encode_prompt(model->render_chat(msgs, co), media);
    }
    const ember::GenerateOptions opts = a->g.generate_options(*model);
    if (a->g.verbose) ember::cli::print_settings(*model, opts);
    auto session = model->new_session();
    session->prefill(p);
    ember::cli::AnswerPrinter printer(a->g.show_thinking, isatty(1), stdout, a->g.ignore_eos);
    session->generate(opts, [&](std::string_view text, int32_t) { return printer.write(text); });
    printer.finish();
    std::fputc('\n', stdout);
    std::fflush(stdout);
    ember::cli::print_stats(session->timings(), a->g.stats);
    return 0;
  };
});

}  // namespace
