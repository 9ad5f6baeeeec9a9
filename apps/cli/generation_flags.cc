#include "generation_flags.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

namespace ember::cli {

void GenerationFlags::add_to(CLI::App* sub) {
  sub->add_option("model", model, "Model directory or .gguf file")->required();
  sub->add_option("-t,--threads", threads, "CPU threads (0 = one per core)");
  sub->add_option("-c,--ctx", ctx, "Context length (tokens) of the session");
  sub->add_option("--backend", backend, "cpu or cuda");
  sub->add_option("--temperature,--temp", temperature, "Sampling temperature (0 = greedy)");
  sub->add_option("--top-k", top_k, "Top-k (0 = off)");
  sub->add_option("--top-p", top_p, "Top-p (1 = off)");
  sub->add_option("--min-p", min_p, "Min-p (0 = off)");
  sub->add_option("--repeat-penalty", repeat_penalty, "Repetition penalty (1 = off)");
  sub->add_option("--presence-penalty", presence_penalty, "Presence penalty");
  sub->add_option("--frequency-penalty", frequency_penalty, "Frequency penalty");
  sub->add_option("--seed", seed, "Random seed (same seed, same output)");
  sub->add_option("-n,--max-tokens", max_tokens, "Maximum tokens to generate")->check(CLI::NonNegativeNumber);
  sub->add_option("--stop", stop, "Stop string (repeatable)");
  sub->add_option("--system", system, "System prompt");
  sub->add_flag("--think", think, "Enable Gemma 4 thinking mode");
  sub->add_flag("--show-thinking", show_thinking, "Show the thought channel (dimmed)");
  sub->add_option("--stats", stats, "Statistics after generation: text, json or none")
      ->check(CLI::IsMember({"text", "json", "none"}));
}

std::shared_ptr<Model> GenerationFlags::load_model() const {
  ModelOptions mo;
  mo.threads = threads;
  mo.context_length = ctx;
  mo.backend = backend;
  const bool tty = isatty(2);
  if (tty) std::fprintf(stderr, "loading %s ...", model.c_str());
  auto m = Model::load(model, mo);
  if (tty) std::fprintf(stderr, "\r\033[K");
  return m;
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
  return g;
}

namespace {
constexpr std::string_view kOpen = "<|channel>", kClose = "<channel|>";
}

ThoughtFilter::ThoughtFilter(bool show_thinking) : show_(show_thinking), tty_(isatty(1)) {}

void ThoughtFilter::out(std::string_view s, bool thought) {
  if (s.empty()) return;
  if (thought) {
    if (!show_) return;
    if (tty_) std::fputs("\033[2m", stdout);
    std::fwrite(s.data(), 1, s.size(), stdout);
    if (tty_) std::fputs("\033[0m", stdout);
  } else {
    std::fwrite(s.data(), 1, s.size(), stdout);
  }
  std::fflush(stdout);
}

void ThoughtFilter::write(std::string_view text) {
  pending_ += text;
  for (;;) {
    std::string_view marker = in_thought_ ? kClose : kOpen;
    size_t p = pending_.find(marker);
    if (p != std::string::npos) {
      out(std::string_view(pending_).substr(0, p), in_thought_);
      pending_.erase(0, p + marker.size());
      in_thought_ = !in_thought_;
      continue;
    }
    // Keep a tail that could be the start of the marker.
    size_t keep = 0;
    for (size_t k = std::min(marker.size() - 1, pending_.size()); k > 0; --k)
      if (pending_.compare(pending_.size() - k, k, marker.substr(0, k)) == 0) {
        keep = k;
        break;
      }
    out(std::string_view(pending_).substr(0, pending_.size() - keep), in_thought_);
    pending_.erase(0, pending_.size() - keep);
    return;
  }
}

void ThoughtFilter::finish() {
  out(pending_, in_thought_);
  pending_.clear();
  if (in_thought_ && show_ && tty_) std::fputs("\033[0m", stdout);
  in_thought_ = false;
  std::fflush(stdout);
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
