// ember serve MODEL [--host H] [--port P] [--api-key K] [limits]: the OpenAI-compatible server.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdlib>

#include "../server/server.h"
#include "command.h"
#include "progress_bar.h"

namespace {

struct ServeArgs {
  std::string model;
  int threads = 0;
  ember::server::ServerOptions s;
};

ember::cli::Command serve_cmd("serve", [](CLI::App& app) {
  auto a = std::make_shared<ServeArgs>();
  auto& s = a->s;
  auto* sub =
      app.add_subcommand("serve", "OpenAI-compatible HTTP server (/v1/chat/completions, /v1/completions)");
  sub->add_option("model", a->model, "Model directory or .gguf file")->required();
  sub->add_option("--host", s.host, "Address to listen on");
  sub->add_option("--port", s.port, "Port (0: any free port)")->check(CLI::Range(0, 65535));
  sub->add_option("--api-key", s.api_key, "Require 'Authorization: Bearer KEY' (default: env EMBER_API_KEY)");
  sub->add_option("--model-name", s.model_id, "Model id clients use (default: the model's directory name)");
  sub->add_option("--max-seqs", s.engine.max_seqs, "Sequences generated concurrently")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--queue", s.engine.max_queue, "Requests waiting beyond --max-seqs (more get 429)")
      ->check(CLI::Range(0, 1 << 20));
  sub->add_option("--prefix-cache", s.engine.prefix_pool, "Finished sessions kept for prefix reuse")
      ->check(CLI::Range(0, 4096));
  sub->add_option("--max-prompt-tokens", s.max_prompt_tokens, "Longest prompt (0: the context length)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--max-tokens", s.max_tokens, "Most tokens one request may generate (and its default)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--timeout", s.timeout_s, "Per-request time limit in seconds")->check(CLI::PositiveNumber);
  sub->add_option("--max-body", s.max_body, "Largest request body in bytes (beyond: 413)")
      ->check(CLI::PositiveNumber);
  sub->add_option("-t,--threads", a->threads, "CPU threads (0 = one per core)");
  sub->add_option("-c,--ctx", s.context_length, "Context length (tokens) of each sequence")
      ->check(CLI::PositiveNumber);
  sub->add_option("--step-tokens", s.engine.step_tokens,
                  "Token rows per batched step (decode tokens + prefill chunks)")
      ->check(CLI::Range(1, 1 << 16));
  sub->add_flag("--no-batch{false}", s.engine.batch,
                "One forward per sequence per step, prompts prefilled whole (for comparisons)");
  sub->add_option("--debug-step-delay-ms", s.engine.step_delay_ms, "Testing aid: sleep per scheduler step")
      ->group("");
  return [a] {
    if (a->s.api_key.empty())
      if (const char* k = std::getenv("EMBER_API_KEY")) a->s.api_key = k;
    ember::ModelOptions mo;
    mo.threads = a->threads;
    mo.context_length = a->s.context_length;
    // Prefill chunks are at most --step-tokens; a larger model chunk also makes the sliding-window
    // rings hold more history, so prefix-cache rewinds stay exact further back.
    mo.prefill_chunk = std::max<int64_t>(mo.prefill_chunk, a->s.engine.step_tokens);
    auto model = ember::cli::load_with_progress(a->model, mo);
    return ember::server::serve(model, a->s);
  };
});

}  // namespace
