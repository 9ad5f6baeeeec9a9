// ember chat MODEL: an interactive conversation. The history stays in the KV cache (each turn
// prefills only its new tokens). Multi-line input: end a line with "\" to continue, or wrap a
// block in lines of """. Commands: /reset, /system TEXT, /stats, /exit. Ctrl-C stops the
// current answer; Ctrl-D (end of input) exits. Works with a non-TTY stdin (one message per
// line / block).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <string>

#include "answer_printer.h"
#include "command.h"
#include "generation_flags.h"

namespace {

std::atomic<bool> g_interrupt{false};
void on_sigint(int) { g_interrupt = true; }

void install_sigint() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns, so Ctrl-C at the prompt is seen
  sigaction(SIGINT, &sa, nullptr);
}

// Reads one message (possibly multi-line). Returns false at end of input.
bool read_message(bool tty, std::string* out) {
  out->clear();
  std::string line;
  bool block = false;
  for (;;) {
    if (tty) std::fputs(out->empty() && !block ? "> " : ". ", stdout), std::fflush(stdout);
    if (!std::getline(std::cin, line)) {
      // Ctrl-C at the prompt: the read failed with EINTR, which the stream reports as end of
      // input; drop what was typed and read again.
      if (g_interrupt.exchange(false)) {
        std::cin.clear();
        clearerr(stdin);  // std::cin reads through stdin's FILE (synced with stdio)
        if (tty) std::fputc('\n', stdout);
        out->clear();
        block = false;
        continue;
      }
      return !out->empty();
    }
    if (line == "\"\"\"") {
      if (block) return true;
      block = true;
      continue;
    }
    if (block) {
      *out += line + "\n";
      continue;
    }
    if (!line.empty() && line.back() == '\\') {
      line.pop_back();
      *out += line + "\n";
      continue;
    }
    *out += line;
    return true;
  }
}

constexpr const char* kHelp =
    "commands: /reset (forget the conversation), /system TEXT (set the system prompt and reset; "
    "/system alone clears it), /stats (timings of the last turn and the cache), /exit (or Ctrl-D). "
    "End a line with \\ to continue it, or wrap a block in lines of \"\"\". Ctrl-C stops an answer.\n";

struct ChatArgs {
  ember::cli::GenerationFlags g;
};

ember::cli::Command chat_cmd("chat", [](CLI::App& app) {
  auto a = std::make_shared<ChatArgs>();
  auto* sub = app.add_subcommand("chat", "Interactive conversation (history kept in the KV cache)");
  a->g.add_to(sub);
  return [a] {
    auto model = a->g.load_model();
    ember::ChatOptions co;
    co.enable_thinking = a->g.think;
    ember::Chat chat(model, co);
    ember::Timings last_turn;  // what /stats shows
    if (!a->g.system.empty()) chat.set_system(a->g.system);
    const bool tty = isatty(0);
    install_sigint();
    if (tty)
      std::fprintf(stderr,
                   "ember chat — %s (%s). /help for commands; Ctrl-C stops an answer, Ctrl-D exits.\n",
                   model->info().architecture.c_str(), model->info().backend.c_str());
    auto opts = a->g.generate_options(*model);
    if (a->g.verbose) ember::cli::print_settings(*model, opts);
    std::string msg;
    while (read_message(tty, &msg)) {
      if (msg.empty()) continue;
      if (msg == "/exit" || msg == "/quit") break;
      if (msg == "/reset") {
        chat.reset();
        std::fprintf(stderr, "[conversation reset]\n");
        continue;
      }
      if (msg == "/system" || msg.rfind("/system ", 0) == 0 || msg.rfind("/system\n", 0) == 0) {
        const std::string text = msg.size() > 8 ? msg.substr(8) : "";
        chat.set_system(text);
        std::fprintf(stderr, text.empty() ? "[system prompt cleared; conversation reset]\n"
                                          : "[system prompt set; conversation reset]\n");
        continue;
      }
      if (msg == "/help") {
        std::fputs(kHelp, stderr);
        continue;
      }
      if (msg == "/stats") {
        ember::cli::print_stats(last_turn, "text");
        std::fprintf(stderr, "[%zu tokens in the cache, last turn prefilled %lld]\n",
                     chat.session().tokens().size(), (long long)chat.last_prefill_tokens());
        continue;
      }
      if (msg[0] == '/') {
        std::fprintf(stderr, "unknown command %s\n%s", msg.c_str(), kHelp);
        continue;
      }
      g_interrupt = false;
      ember::cli::AnswerPrinter printer(a->g.show_thinking, isatty(1), stdout, a->g.ignore_eos);
      try {
        chat.send(msg, opts,
                  [&](std::string_view text, int32_t) { return printer.write(text) && !g_interrupt.load(); });
      } catch (const ember::Error& e) {
        printer.finish();
        std::fprintf(stderr, "\nember: error: %s\n", e.what());
        continue;
      }
      printer.finish();
      if (g_interrupt.exchange(false)) std::fputs(" [stopped]", stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
      last_turn = chat.session().timings();
      if (a->g.stats == "json") ember::cli::print_stats(last_turn, "json");
      chat.session().reset_timings();
    }
    return 0;
  };
});

}  // namespace
