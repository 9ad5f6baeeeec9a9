// ember — public C++ API. The headers under include/ember/ are the whole surface apps use; the
// CLI and the server are built on nothing else:
//   ember.hpp    models, sessions, generation, chat (this file)
//   text.hpp     a tokenizer or chat template on its own (no weights loaded)
//   inspect.hpp  checkpoint and GGUF reports (no backend built)
//   error.hpp    ember::Error, the one way errors are reported
//   ember.h      the C API over the same objects, for bindings from other languages
// Guide: docs/api.md.
//
// Ownership, lifetimes and threads:
//  * Model::load returns a shared_ptr<Model>. A Model is immutable after loading: every const
//    member (info, tokenize, detokenize, render_chat, new_session, ...) may be called from any
//    number of threads at once, and one Model may be shared by any number of Sessions running
//    on different threads (weights are read-only mapped memory; each Session has its own KV
//    cache and scratch buffers). Generation on two threads gives the same tokens as running
//    the two sessions one after the other.
//  * A Session owns one sequence's KV cache and sampler state. It is NOT thread-safe: use one
//    Session from one thread at a time (different Sessions may run concurrently). A Session
//    (and a Chat) keeps its Model alive, so the shared_ptr from load may be dropped early.
//  * Spans returned by Session (logits) point into the Session and are valid until its next
//    non-const call; returned strings and vectors are owned by the caller.
//  * Callbacks (TokenCallback, ModelOptions::on_progress) run on the calling thread, inside the
//    call that triggers them; they must not call back into the same Session.
//  * Every function reports bad input (a path, a token id, an option out of range, a malformed
//    JSON string) by throwing ember::Error (error.hpp) with a message that names what was
//    wrong; nothing aborts on bad input, and the object stays usable after such an error.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ember/error.hpp"

namespace ember {

// Loading progress: checkpoint tensors validated and bound so far. bytes_done never decreases
// and the last call has bytes_done == bytes_total (and tensors_done == tensors_total).
struct LoadProgress {
  uint64_t bytes_done = 0, bytes_total = 0;
  int64_t tensors_done = 0, tensors_total = 0;
  std::string_view tensor;  // the tensor just handled ("" on the first and last call)
  double fraction() const { return bytes_total ? double(bytes_done) / double(bytes_total) : 1.0; }
};

struct ModelOptions {
  std::string backend = "cpu";     // "cpu" (or "cuda" when built with EMBER_CUDA)
  int threads = 0;                 // 0: one per core
  int64_t context_length = 8192;   // per-session KV capacity; 0 = the model's maximum
  int64_t prefill_chunk = 512;     // tokens per prefill step
  bool f32_reference = false;      // transformers-float32 numerics (exact scale constants)
  bool yoco = true;  // YOCO fast prefill: KV-shared layers compute only the last prompt row
  // Memory limit for the KV caches of all live sessions of this model together, in bytes
  // (0: none). Each session reserves its cache's size at full context_length when it is created
  // (new_session, fork) and releases it when destroyed; a session that would not fit is refused
  // with ErrorCode::kResourceExhausted, so memory never runs out in the middle of a generation.
  // The weights are memory-mapped and not counted.
  int64_t kv_memory_limit = 0;
  // Called on the loading thread as the checkpoint's tensors are validated and bound.
  std::function<void(const LoadProgress&)> on_progress;
};

struct SamplingOptions {
  float temperature = 1.0f;  // 0 = greedy
  int top_k = 0;
  float top_p = 1.0f;
  float min_p = 0.0f;
  float repeat_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int64_t seed = -1;  // < 0: random
};

struct ModelInfo {
  std::string path;
  std::string architecture;  // "gemma4", "gemma3"
  int64_t vocab_size = 0, n_layers = 0, hidden_size = 0, max_context = 0;
  int32_t bos_id = 2, eos_id = 1, pad_id = 0;
  std::vector<int32_t> stop_ids;  // generation ends on any of these
  std::string backend;            // e.g. "cpu (avx512, 2 threads)"
  bool has_chat_template = false;
  // Sampling defaults: generation_config.json when present (do_sample false => greedy), else
  // Gemma's recommended temperature 1.0, top_k 64, top_p 0.95.
  SamplingOptions default_sampling;
};

// ---- multimodal input (Gemma 4 E2B/E4B) ------------------------------------------------
enum class MediaKind { kImage, kAudio };

// One image or audio clip, as the bytes of its file.
struct Media {
  MediaKind kind = MediaKind::kImage;
  std::string bytes;     // PNG/JPEG (images), WAV (audio)
  std::string source;    // names it in error messages (a path, "messages[0].content[1]")
  int image_tokens = 0;  // image soft-token budget: 70, 140, 280, 560 or 1120; 0 = 280
  // Reads a file (throws ember::Error kNotFound).
  static Media from_file(const std::string& path, MediaKind kind = MediaKind::kImage);
};

// Token ids of a modality's prompt layout: begin <|image> / <|audio>, the soft-token
// placeholder <|image|> / <|audio|> and end <image|> / <audio|> (-1 when absent).
struct MediaTokenIds {
  int32_t begin = -1, soft = -1, end = -1;
};

// A tokenized prompt with its soft tokens (Model::encode_prompt; Session::prefill).
struct Prompt {
  std::vector<int32_t> tokens;     // placeholders expanded: begin, soft × n, end per medium
  std::vector<float> soft_tokens;  // f32 [n_soft, hidden_size]: row k replaces the embedding of
                                   // the k-th soft-token placeholder in `tokens`
};

// A chat message. content is plain text; tool_calls_json (optional) is a JSON array of
// {"type":"function","function":{"name":..,"arguments":{..}}}; for role "tool", name is the tool.
struct Message {
  std::string role;     // "system", "developer", "user", "assistant", "tool"
  std::string content;
  std::string tool_calls_json;
  std::string name;
  std::string reasoning;  // thinking of an earlier assistant turn (templates usually drop it)
  // Images / audio clips of this message: rendered as content items in the model card's order
  // (images, then the text, then audio); Model::encode_prompt binds them to Media in order.
  int images = 0, audios = 0;
};

struct ChatOptions {
  bool add_generation_prompt = true;
  bool enable_thinking = false;
  std::string tools_json;  // JSON array of tool (function) declarations, or empty
};


struct GenerateOptions {
  SamplingOptions sampling;
  int64_t max_tokens = 256;
  std::vector<std::string> stop;  // stop strings (not included in the output)
  bool stop_on_eos = true;        // stop on the model's stop ids
  std::vector<int32_t> extra_stop_ids;  // more token ids that end generation
};

enum class StopReason { kEos, kStopString, kMaxTokens, kCallback, kContextFull };
const char* stop_reason_name(StopReason r);

struct Timings {
  int64_t prompt_tokens = 0;    // tokens fed by prefill() calls
  int64_t prefill_tokens = 0;   // of those, tokens actually computed (prefix reuse skips some)
  int64_t generated_tokens = 0;
  double prefill_ms = 0, decode_ms = 0, first_token_ms = 0;
  double prefill_tok_s() const { return prefill_ms > 0 ? 1000.0 * double(prefill_tokens) / prefill_ms : 0; }
  double decode_tok_s() const { return decode_ms > 0 ? 1000.0 * double(generated_tokens) / decode_ms : 0; }
};

struct GenerateResult {
  std::string text;
  std::vector<int32_t> tokens;
  StopReason stop_reason = StopReason::kMaxTokens;
};

// Streaming callback: the text that became complete (whole UTF-8) and the token that produced
// it. Return false to stop generation.
using TokenCallback = std::function<bool(std::string_view text, int32_t token)>;

class Session;

// Step-wise generation over one Session (Session::begin_generate): a scheduler that owns many
// sessions advances each by one token at a time and lets requests join and leave between
// steps. Generation::step does exactly one iteration of Session::generate, so stepping to the
// end gives the same tokens, text and stop reason. The Session must outlive the Generation and
// must not be used otherwise until done() is true.
class Generation {
 public:
  virtual ~Generation() = default;
  // Samples the next token, streams its text through on_token, and computes the logits that
  // follow it. Returns false once generation has ended (then result() is final).
  virtual bool step(const TokenCallback& on_token = {}) = 0;
  // Ends generation now (stop reason kCallback, as when a callback returns false).
  virtual void cancel() = 0;
  virtual bool done() const = 0;
  virtual const GenerateResult& result() const = 0;
};

class Model : public std::enable_shared_from_this<Model> {
 public:
  // Loads a model directory (config.json + safetensors + tokenizer) or a .gguf file.
  static std::shared_ptr<Model> load(const std::string& path, const ModelOptions& options = {});
  virtual ~Model() = default;

  virtual const ModelInfo& info() const = 0;
  // The checkpoint report (architecture, layer structure, quantization, tensors).
  virtual std::string describe(bool tensors = false) const = 0;

  virtual std::vector<int32_t> tokenize(std::string_view text, bool add_bos = false,
                                        bool parse_special = true) const = 0;
  virtual std::string detokenize(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  virtual std::string token_piece(int32_t id) const = 0;

  // Tokenizes `text` (special tokens parsed) in which each <|image|> / <|audio|> marks where the
  // next image / audio clip of `media` goes (in order, per kind), encodes them with the model's
  // towers and expands each marker to begin + n soft placeholders + end. The number of markers
  // must equal the number of media of each kind; a model without the tower is an error.
  virtual Prompt encode_prompt(std::string_view text, std::span<const Media> media,
                               bool add_bos = false) const = 0;
  // The ids of the image / audio prompt layout (soft == -1: no such tower).
  virtual MediaTokenIds media_token_ids(MediaKind kind) const = 0;

  // Renders the checkpoint's chat template (or the built-in Gemma 4 one).
  virtual std::string render_chat(std::span<const Message> messages, const ChatOptions& options = {}) const = 0;

  virtual std::unique_ptr<Session> new_session() const = 0;
};

class Session {
 public:
  virtual ~Session() = default;

  // Appends tokens to the sequence and computes the logits of the last one. Returns the number
  // of tokens actually computed.
  virtual int64_t prefill(std::span<const int32_t> tokens) = 0;
  // Appends a prompt with soft tokens (Model::encode_prompt). The cache past the first soft
  // token is never reused by prefill_reuse (token ids do not identify an image).
  virtual int64_t prefill(const Prompt& prompt) = 0;
  // Replaces the sequence by `tokens`, keeping the longest prefix already in the cache
  // (prefix reuse: only the new suffix is computed). Returns tokens computed.
  virtual int64_t prefill_reuse(std::span<const int32_t> tokens) = 0;
  // Logits of the last position (after prefill or generate).
  virtual std::span<const float> logits() const = 0;
  // Bytes this session's KV cache takes at full context (what it reserves of
  // ModelOptions::kv_memory_limit).
  virtual size_t kv_bytes() const = 0;
  // Float32 logits of every position of `tokens` appended to the sequence ([T, vocab]);
  // no YOCO. dump (optional) receives named intermediate activations.
  virtual std::vector<float> logits_all(
      std::span<const int32_t> tokens,
      const std::function<void(const std::string& name, const float* data, int64_t rows, int64_t cols)>& dump = {}) = 0;

  // Generates after the current sequence (which must not be empty).
  virtual GenerateResult generate(const GenerateOptions& options, const TokenCallback& on_token = {}) = 0;
  // The same generation, one step() at a time (see Generation).
  virtual std::unique_ptr<Generation> begin_generate(const GenerateOptions& options) = 0;

  virtual const std::vector<int32_t>& tokens() const = 0;
  // Drops the sequence after the first n tokens (false if the cache cannot rewind exactly;
  // then the session is reset to empty).
  virtual bool truncate(size_t n) = 0;
  virtual void reset() = 0;
  // An independent copy of this session (sequence, cache and sampler state).
  virtual std::unique_ptr<Session> fork() const = 0;

  virtual const Timings& timings() const = 0;
  virtual void reset_timings() = 0;
};

// Continuous batching (used by the server's scheduler): many sessions advance with ONE batched
// forward per step — the new tokens of every item go through each matmul together (the weights
// are read once per step), while KV caches, positions and attention stay per session. An item
// either prefills a chunk of prompt into a session or steps a Generation by one token; a step
// gives the same results as doing the items one after another.
struct BatchItem {
  // Prefill: appends `tokens` (1..ModelOptions::prefill_chunk of them) to `session`. The logits
  // of the last one are computed only when last_chunk (so begin_generate may follow).
  Session* session = nullptr;
  std::span<const int32_t> tokens;
  bool last_chunk = true;
  // Decode: exactly one Generation::step (sample, stream through on_token, compute the logits
  // after the new token).
  Generation* generation = nullptr;
  TokenCallback on_token;
  // Outputs. more: the generation goes on (decode). error: the item was rejected (bad tokens,
  // context full, ...) and left unchanged; the other items still ran.
  bool more = false;
  std::string error;
};

class Batcher {
 public:
  explicit Batcher(std::shared_ptr<const Model> model);
  ~Batcher();
  // Runs every item in one batched forward. Each Session (and each Generation's Session) may
  // appear once; they must come from this Batcher's Model.
  void step(std::span<BatchItem> items);

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// A multi-turn conversation over one Session: the history stays in the KV cache, and each new
// turn prefills only the text the chat template adds for it (the end of the previous answer
// and the new message), not the whole conversation.
class Chat {
 public:
  explicit Chat(std::shared_ptr<Model> model, ChatOptions options = {});
  ~Chat();
  Chat(Chat&&) noexcept;
  Chat& operator=(Chat&&) noexcept;

  // Sets (or clears, with "") the system prompt; resets the conversation.
  void set_system(const std::string& text);
  // Appends a user message, generates the answer and appends it to the history.
  GenerateResult send(const std::string& user_text, const GenerateOptions& options,
                      const TokenCallback& on_token = {});
  void reset();
  const std::vector<Message>& messages() const;
  Session& session();
  // Tokens computed by the prefill of the last send() (the new turn only when the cache was
  // reused).
  int64_t last_prefill_tokens() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

// Writes a float32 array as a NumPy .npy file (C order).
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace ember
