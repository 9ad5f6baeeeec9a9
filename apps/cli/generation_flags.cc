#include "generation_flags.h"

#include <CLI/CLI.hpp>
#include <cstdio>

#include "progress_bar.h"

namespace ember::cli {

void GenerationFlags::add_to(CLI::App* sub) {
  // Ranges are checked here, before the model loads, so a typo fails fast and names the flag.
  sub->add_option("model", model, "Model directory or .gguf file")->required();
  sub->add_option("-t,--threads", threads, "CPU threads (0 = one per core)")->check(CLI::NonNegativeNumber);
  sub->add_option("-c,--ctx", ctx, "Context length (tokens) of the session (0 = the model's maximum)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--backend", backend, "cpu or cuda");
  sub->add_flag("--no-yoco", no_yoco,
                "Compute every prompt row in the KV-shared layers (slower, same answer)");
  sub->add_option("--temperature,--temp", temperature, "Sampling temperature (0 = greedy)")
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--top-k", top_k, "Top-k (0 = off)")->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", top_p, "Top-p (1 = off)")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--min-p", min_p, "Min-p (0 = off)")->check(CLI::Range(0.0, 1.0));
  sub->add_option("--repeat-penalty", repeat_penalty, "Repetition penalty (1 = off)")
      ->check(CLI::PositiveNumber);
  sub->add_option("--presence-penalty", presence_penalty, "Presence penalty (0 = off)")
      ->check(CLI::Range(-2.0, 2.0));
  sub->add_option("--frequency-penalty", frequency_penalty, "Frequency penalty (0 = off)")
      ->check(CLI::Range(-2.0, 2.0));
  sub->add_option("--seed", seed, "Random seed (same seed, same output; default: random)");
  sub->add_option("-n,--max-tokens", max_tokens, "Maximum tokens to generate")->check(CLI::NonNegativeNumber);
  // One string per --stop (repeat the flag for more), so a stop string never swallows MODEL.
  sub->add_option("--stop", stop, "Stop string, not included in the output (repeatable)")
      ->allow_extra_args(false);
  sub->add_flag("--ignore-eos", ignore_eos, "Generate past the model's stop tokens (benchmarks, tests)");
  sub->add_option("--system", system, "System prompt");
  sub->add_flag("--think", think, "Enable Gemma 4 thinking mode");
  sub->add_flag("--show-thinking", show_thinking, "Show the thought channel (dimmed)");
  sub->add_option("--stats", stats, "Statistics after generation: text, json or none")
      ->check(CLI::IsMember({"text", "json", "none"}));
  sub->add_flag("-v,--verbose", verbose, "Print the model, the sampling settings and the stop ids to stderr");
}

std::shared_ptr<Model> GenerationFlags::load_model() const {
  ModelOptions mo;
  mo.threads = threads;
  mo.context_length = ctx;
  mo.backend = backend;
  mo.yoco = !no_yoco;
  return load_with_progress(model, mo);
}

GenerateOptions GenerationFlags::generate_options(const Model& model) const {
  GenerateOptions g;
  g.sampling = model.info().default_sampling;
  auto& s = g.sampling;
  if (temperature) s.temperature = *temperature;
  if (top_k) s.top_k = *top_k;
  if (top_p) s.top_p = *top_p;
  if (min_p) s.min_p = *min_p;
  if (repeat_penalty) s.repeat_penalty = *repeat_penalty;
  if (presence_penalty) s.presence_penalty = *presence_penalty;
  if (frequency_penalty) s.frequency_penalty = *frequency_penalty;
  if (seed) s.seed = *seed;
  g.max_tokens = max_tokens;
  g.stop = stop;
  g.stop_on_eos = !ignore_eos;
  return g;
}

void print_settings(const Model& model, const GenerateOptions& g) {
  const ModelInfo& m = model.info();
  const SamplingOptions& s = g.sampling;
  std::string ids;
  for (int32_t id : m.stop_ids) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  std::fprintf(
      stderr,
      "[model %s: %s, %lld layers, vocab %lld, context %lld, backend %s]\n"
      "[sampling: temperature %g, top_k %d, top_p %g, min_p %g, repeat_penalty %g, presence_penalty %g, "
      "frequency_penalty %g, seed %lld, max_tokens %lld, stop ids %s, stop strings %zu]\n",
      m.path.c_str(), m.architecture.c_str(), (long long)m.n_layers, (long long)m.vocab_size,
      (long long)m.max_context, m.backend.c_str(), double(s.temperature), s.top_k, double(s.top_p),
      double(s.min_p), double(s.repeat_penalty), double(s.presence_penalty), double(s.frequency_penalty),
      (long long)s.seed, (long long)g.max_tokens, ids.c_str(), g.stop.size());
}

void print_stats(const Timings& t, const std::string& mode) {
  if (mode == "none") return;
  if (mode == "json") {
    std::fprintf(stderr,
                 "{\"prompt_tokens\": %lld, \"prefill_tokens\": %lld, \"generated_tokens\": %lld, "
                 "\"ttft_ms\": %.2f, \"prefill_tok_s\": %.2f, \"decode_tok_s\": %.2f}\n",
                 (long long)t.prompt_tokens, (long long)t.prefill_tokens, (long long)t.generated_tokens,
                 t.prefill_ms + t.first_token_ms, t.prefill_tok_s(), t.decode_tok_s());
    return;
  }
  std::fprintf(stderr,
               "\n[prompt %lld tokens (%lld computed), time to first token %.1f ms, prefill %.1f tok/s, "
               "decode %lld tokens at %.1f tok/s]\n",
               (long long)t.prompt_tokens, (long long)t.prefill_tokens, t.prefill_ms + t.first_token_ms,
               t.prefill_tok_s(), (long long)t.generated_tokens, t.decode_tok_s());
}

}  // namespace ember::cli
