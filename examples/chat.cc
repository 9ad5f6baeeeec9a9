// A terminal chat over ember's public API: the conversation stays in the session's KV cache,
// so each turn only computes the new message. Build: see examples/CMakeLists.txt.
//   ./chat MODEL [SYSTEM_PROMPT]      (one user message per line; /reset, /exit; EOF ends)
#include <cstdio>
#include <ember/ember.hpp>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [SYSTEM_PROMPT]\n", argv[0]);
    return 2;
  }
  try {
    ember::ModelOptions options;
    options.context_length = 4096;
    auto model = ember::Model::load(argv[1], options);
    ember::Chat chat(model);
    if (argc > 2) chat.set_system(argv[2]);

    ember::GenerateOptions gen;
    gen.sampling = model->info().default_sampling;  // the checkpoint's recommended sampling
    gen.max_tokens = 512;

    std::string line;
    std::fprintf(stderr, "%s loaded (%s). Type a message; /reset or /exit.\n",
                 model->info().architecture.c_str(), model->info().backend.c_str());
    while (std::fprintf(stderr, "> "), std::getline(std::cin, line)) {
      if (line == "/exit") break;
      if (line == "/reset") {
        chat.reset();
        continue;
      }
      if (line.empty()) continue;
      // Stream the answer as it is generated; returning false would stop generation.
      ember::GenerateResult r = chat.send(line, gen, [](std::string_view text, int32_t) {
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      const ember::Timings& t = chat.session().timings();
      std::printf("\n");
      std::fprintf(stderr, "[%zu tokens, %s, %.1f tok/s]\n", r.tokens.size(),
                   ember::stop_reason_name(r.stop_reason), t.decode_tok_s());
    }
  } catch (const ember::Error& e) {  // bad model path, broken checkpoint, ...
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
