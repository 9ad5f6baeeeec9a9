/* ember — C API, for bindings from other languages (a thin layer over ember.hpp).
 *
 * Handles: ember_model and ember_session are opaque. ember_model_load creates a model, which
 * ember_model_free releases; ember_session_new creates a session over a model, which
 * ember_session_free releases. A session keeps its model alive, so the model may be freed
 * before its sessions. Freeing NULL is a no-op.
 *
 * Errors: every function that can fail returns an ember_status; EMBER_OK (0) is success.
 * On failure, ember_last_error() returns the message (naming what was wrong), valid until the
 * next ember_* call on the same thread (the message is thread-local). Nothing aborts on bad
 * input: NULL handles or pointers, bad paths, out-of-range token ids and option values all
 * return an error status, and the handles stay usable.
 *
 * Threads: a model may be used from any number of threads at once (tokenize, detokenize,
 * ember_session_new); a session must be used by one thread at a time. Sessions over one model
 * may generate concurrently on different threads.
 *
 * Strings are UTF-8 and passed with explicit lengths; output buffers follow the
 * "size query" convention: when `capacity` is too small the call returns
 * EMBER_ERR_BUFFER_TOO_SMALL and stores the needed size in *out_len (a NULL buffer with
 * capacity 0 asks for the size). */
#ifndef EMBER_EMBER_H_
#define EMBER_EMBER_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ember_status {
  EMBER_OK = 0,
  /* The categories of ember::ErrorCode (error.hpp), same values. */
  EMBER_ERR_INVALID_ARGUMENT = 1,
  EMBER_ERR_NOT_FOUND = 2,
  EMBER_ERR_IO = 3,
  EMBER_ERR_CORRUPT_FILE = 4,
  EMBER_ERR_INVALID_CHECKPOINT = 5,
  EMBER_ERR_UNSUPPORTED = 6,
  EMBER_ERR_TEMPLATE = 7,
  EMBER_ERR_INTERNAL = 8,
  EMBER_ERR_RESOURCE_EXHAUSTED = 9, /* a configured limit (kv_memory_limit) would be exceeded */
  /* C API only. */
  EMBER_ERR_BUFFER_TOO_SMALL = 100,
  EMBER_ERR_OUT_OF_MEMORY = 101
} ember_status;

typedef struct ember_model ember_model;
typedef struct ember_session ember_session;

/* The message of the last failed call on this thread ("" when none). */
const char* ember_last_error(void);
/* A short name for a status ("invalid argument", "buffer too small", ...). */
const char* ember_status_name(ember_status status);
/* The library version, "0.1.0". */
const char* ember_version(void);

/* ---- Models ---- */

typedef struct ember_model_options {
  const char* backend;    /* "cpu" (default when NULL) or "cuda" */
  int threads;            /* 0: one per core */
  int64_t context_length; /* per-session KV capacity; 0: the model's maximum */
  int64_t prefill_chunk;  /* tokens per prefill step (> 0) */
  int64_t kv_memory_limit; /* bytes for all sessions' KV caches at full context; 0: no limit */
} ember_model_options;

/* Fills *options with the defaults (cpu, all cores, context 8192, chunk 512). */
void ember_model_options_init(ember_model_options* options);

/* Loads a model directory (config.json + safetensors + tokenizer) or a .gguf file.
 * options may be NULL (defaults). On success *out_model owns the new model. */
ember_status ember_model_load(const char* path, const ember_model_options* options, ember_model** out_model);
void ember_model_free(ember_model* model);

typedef struct ember_model_info {
  const char* architecture; /* "gemma4", "gemma3"; owned by the model */
  int64_t vocab_size, n_layers, hidden_size, max_context;
  int32_t bos_id, eos_id;
} ember_model_info;
ember_status ember_model_get_info(const ember_model* model, ember_model_info* out_info);

/* Text -> token ids. Writes up to `capacity` ids to `ids` and the count to *out_len. */
ember_status ember_tokenize(const ember_model* model, const char* text, size_t text_len, int add_bos,
                            int32_t* ids, size_t capacity, size_t* out_len);
/* Token ids -> text (not NUL-terminated; *out_len bytes). Ids out of range are an error. */
ember_status ember_detokenize(const ember_model* model, const int32_t* ids, size_t n_ids, char* text,
                              size_t capacity, size_t* out_len);

/* A chat message for ember_render_chat. */
typedef struct ember_message {
  const char* role;    /* "system", "user", "assistant", "tool" (NUL-terminated) */
  const char* content; /* NUL-terminated */
} ember_message;
/* Renders the model's chat template over messages (thinking off unless enable_thinking). */
ember_status ember_render_chat(const ember_model* model, const ember_message* messages, size_t n_messages,
                               int add_generation_prompt, int enable_thinking, char* text, size_t capacity,
                               size_t* out_len);

/* ---- Sessions ---- */

ember_status ember_session_new(const ember_model* model, ember_session** out_session);
void ember_session_free(ember_session* session);
/* Appends tokens and computes the logits of the last one. */
ember_status ember_session_prefill(ember_session* session, const int32_t* ids, size_t n_ids);
/* Logits of the last position: *out_logits points into the session (vocab_size floats), valid
 * until the next call that changes the session. */
ember_status ember_session_logits(const ember_session* session, const float** out_logits, size_t* out_len);
/* Number of tokens in the session's sequence (prompt and generated). */
size_t ember_session_length(const ember_session* session);
/* The sequence itself: *out_ids points into the session (*out_len ids), valid until the next
 * call that changes the session. */
ember_status ember_session_tokens(const ember_session* session, const int32_t** out_ids, size_t* out_len);
/* Drops everything (the session can be reused for a new prompt). */
void ember_session_reset(ember_session* session);

typedef struct ember_generate_options {
  float temperature;    /* 0: greedy */
  int top_k;            /* 0: off */
  float top_p;          /* 1: off */
  float min_p;          /* 0: off */
  float repeat_penalty; /* 1: off */
  int64_t seed;         /* < 0: random */
  int64_t max_tokens;
  int stop_on_eos; /* stop on the model's end-of-turn / eos ids */
} ember_generate_options;

/* Fills *options with the defaults (temperature 1, no top-k/p, 256 tokens, stop on eos). */
void ember_generate_options_init(ember_generate_options* options);

/* Called for each piece of generated text (whole UTF-8; not NUL-terminated) with the token
 * that completed it (-1 for a final flush). Return nonzero to continue, 0 to stop. */
typedef int (*ember_token_callback)(const char* text, size_t len, int32_t token, void* user_data);

typedef enum ember_stop_reason {
  EMBER_STOP_EOS = 0,
  EMBER_STOP_STRING = 1,
  EMBER_STOP_MAX_TOKENS = 2,
  EMBER_STOP_CALLBACK = 3,
  EMBER_STOP_CONTEXT_FULL = 4
} ember_stop_reason;

/* Generates after the current sequence (which must not be empty). callback may be NULL;
 * out_reason and out_n_tokens may be NULL. */
ember_status ember_session_generate(ember_session* session, const ember_generate_options* options,
                                    ember_token_callback callback, void* user_data,
                                    ember_stop_reason* out_reason, size_t* out_n_tokens);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_EMBER_H_ */
