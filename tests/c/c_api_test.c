/* The C API (ember/ember.h), compiled as C: load, tokenize round trip, chat rendering,
 * prefill/logits, greedy generation (first token = argmax of the prefill logits; two sessions
 * agree, also on two threads at once), a callback that stops generation, and bad input
 * (NULLs, bad paths, out-of-range ids, bad options) giving error statuses, never a crash.
 * Usage: c_api_test MODEL_DIR */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ember.h"

static int failures = 0;
#define CHECK(cond)                                                                            \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
              ember_last_error());                                                             \
      failures++;                                                                              \
    }                                                                                          \
  } while (0)
#define REQUIRE_OK(expr)                                                                          \
  do {                                                                                            \
    ember_status st_ = (expr);                                                                    \
    if (st_ != EMBER_OK) {                                                                        \
      fprintf(stderr, "%s:%d: %s -> %s: %s\n", __FILE__, __LINE__, #expr, ember_status_name(st_), \
              ember_last_error());                                                                \
      exit(1);                                                                                    \
    }                                                                                             \
  } while (0)

static ember_model* model;

/* Greedy generation of n tokens after prompt; writes the whole sequence to out (cap ids). */
static size_t greedy(const int32_t* prompt, size_t n_prompt, int n, int32_t* out, size_t cap) {
  ember_session* s = NULL;
  REQUIRE_OK(ember_session_new(model, &s));
  REQUIRE_OK(ember_session_prefill(s, prompt, n_prompt));
  ember_generate_options g;
  ember_generate_options_init(&g);
  g.temperature = 0;
  g.max_tokens = n;
  g.stop_on_eos = 0;
  REQUIRE_OK(ember_session_generate(s, &g, NULL, NULL, NULL, NULL));
  const int32_t* ids;
  size_t len;
  REQUIRE_OK(ember_session_tokens(s, &ids, &len));
  if (len > cap) len = cap;
  memcpy(out, ids, len * sizeof(int32_t));
  ember_session_free(s);
  return len;
}

struct job {
  const int32_t* prompt;
  size_t n_prompt;
  int32_t out[64];
  size_t len;
};
static void* run_job(void* p) {
  struct job* j = (struct job*)p;
  j->len = greedy(j->prompt, j->n_prompt, 10, j->out, 64);
  return NULL;
}

struct stop_after {
  int calls, limit;
};
static int on_token(const char* text, size_t len, int32_t token, void* user) {
  struct stop_after* s = (struct stop_after*)user;
  (void)text;
  (void)len;
  (void)token;
  return ++s->calls < s->limit;
}

static void test_bad_input(void) {
  ember_model* m = (ember_model*)1;
  CHECK(ember_model_load("/nonexistent/model", NULL, &m) == EMBER_ERR_NOT_FOUND || m == NULL);
  CHECK(m == NULL);
  CHECK(strlen(ember_last_error()) > 0);
  CHECK(ember_model_load(NULL, NULL, &m) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(ember_model_load("x", NULL, NULL) == EMBER_ERR_INVALID_ARGUMENT);
  ember_model_options o;
  ember_model_options_init(&o);
  o.prefill_chunk = 0;
  CHECK(ember_model_load("x", &o, &m) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(strstr(ember_last_error(), "prefill_chunk") != NULL);
  size_t n = 0;
  CHECK(ember_tokenize(NULL, "a", 1, 0, NULL, 0, &n) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(ember_session_prefill(NULL, NULL, 0) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(ember_session_generate(NULL, NULL, NULL, NULL, NULL, NULL) == EMBER_ERR_INVALID_ARGUMENT);
  ember_model_free(NULL);
  ember_session_free(NULL);
  ember_session_reset(NULL);
  CHECK(ember_session_length(NULL) == 0);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s MODEL_DIR\n", argv[0]);
    return 2;
  }
  test_bad_input();

  ember_model_options mo;
  ember_model_options_init(&mo);
  mo.threads = 2;
  mo.context_length = 128;
  REQUIRE_OK(ember_model_load(argv[1], &mo, &model));
  ember_model_info info;
  REQUIRE_OK(ember_model_get_info(model, &info));
  CHECK(strcmp(info.architecture, "gemma4") == 0);
  CHECK(info.vocab_size > 0 && info.max_context == 128);

  /* Tokenize with a size query, then detokenize back to the same text. */
  const char* text = "Hello world";
  size_t n_ids = 0;
  CHECK(ember_tokenize(model, text, strlen(text), 0, NULL, 0, &n_ids) == EMBER_ERR_BUFFER_TOO_SMALL);
  CHECK(n_ids > 0 && n_ids < 64);
  int32_t ids[64];
  size_t n2 = 0;
  REQUIRE_OK(ember_tokenize(model, text, strlen(text), 0, ids, 64, &n2));
  CHECK(n2 == n_ids);
  char buf[256];
  size_t len = 0;
  REQUIRE_OK(ember_detokenize(model, ids, n2, buf, sizeof buf, &len));
  CHECK(len == strlen(text) && memcmp(buf, text, len) == 0);
  CHECK(ember_detokenize(model, ids, n2, buf, 3, &len) == EMBER_ERR_BUFFER_TOO_SMALL && len == strlen(text));
  int32_t bad_id = 1 << 30;
  CHECK(ember_detokenize(model, &bad_id, 1, buf, sizeof buf, &len) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(strstr(ember_last_error(), "out of range") != NULL);

  /* Chat prompt -> tokens -> prefill -> logits. */
  ember_message msgs[1] = {{"user", "What is the capital of France?"}};
  char prompt[1024];
  size_t plen = 0;
  REQUIRE_OK(ember_render_chat(model, msgs, 1, 1, 0, prompt, sizeof prompt, &plen));
  CHECK(plen > 0 && strstr(prompt, "France") != NULL);
  int32_t p_ids[256];
  size_t n_p = 0;
  REQUIRE_OK(ember_tokenize(model, prompt, plen, 1, p_ids, 256, &n_p));

  ember_session* s = NULL;
  REQUIRE_OK(ember_session_new(model, &s));
  const float* logits = NULL;
  size_t n_logits = 0;
  CHECK(ember_session_logits(s, &logits, &n_logits) == EMBER_ERR_INVALID_ARGUMENT); /* nothing yet */
  CHECK(ember_session_generate(s, NULL, NULL, NULL, NULL, NULL) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(ember_session_prefill(s, &bad_id, 1) == EMBER_ERR_INVALID_ARGUMENT);
  REQUIRE_OK(ember_session_prefill(s, p_ids, n_p)); /* still usable after the error */
  CHECK(ember_session_length(s) == n_p);
  REQUIRE_OK(ember_session_logits(s, &logits, &n_logits));
  CHECK((int64_t)n_logits == info.vocab_size);
  size_t argmax = 0;
  for (size_t i = 1; i < n_logits; ++i)
    if (logits[i] > logits[argmax]) argmax = i;

  ember_generate_options g;
  ember_generate_options_init(&g);
  g.top_p = 2.0f;
  CHECK(ember_session_generate(s, &g, NULL, NULL, NULL, NULL) == EMBER_ERR_INVALID_ARGUMENT);
  CHECK(strstr(ember_last_error(), "top_p") != NULL);

  /* A callback that stops after 3 pieces of text. */
  ember_generate_options_init(&g);
  g.temperature = 0;
  g.max_tokens = 20;
  g.stop_on_eos = 0;
  struct stop_after st = {0, 3};
  ember_stop_reason why = EMBER_STOP_EOS;
  size_t n_gen = 0;
  REQUIRE_OK(ember_session_generate(s, &g, on_token, &st, &why, &n_gen));
  CHECK(why == EMBER_STOP_CALLBACK && st.calls == 3 && n_gen >= 3 && n_gen < 20);
  const int32_t* seq = NULL;
  size_t n_seq = 0;
  REQUIRE_OK(ember_session_tokens(s, &seq, &n_seq));
  CHECK(n_seq > n_p && (size_t)seq[n_p] == argmax); /* greedy's first token is the argmax */
  ember_session_free(s);

  /* Greedy twice, then on two threads at once over the same model: identical sequences. */
  int32_t a[64], b[64];
  size_t la = greedy(p_ids, n_p, 10, a, 64), lb = greedy(ids, n2, 10, b, 64);
  CHECK(la == n_p + 10 && lb == n2 + 10);
  struct job j1 = {p_ids, n_p, {0}, 0}, j2 = {ids, n2, {0}, 0};
  pthread_t t1, t2;
  pthread_create(&t1, NULL, run_job, &j1);
  pthread_create(&t2, NULL, run_job, &j2);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  CHECK(j1.len == la && memcmp(j1.out, a, la * sizeof(int32_t)) == 0);
  CHECK(j2.len == lb && memcmp(j2.out, b, lb * sizeof(int32_t)) == 0);

  ember_model_free(model);
  if (failures) {
    fprintf(stderr, "c_api_test: %d failure(s)\n", failures);
    return 1;
  }
  printf("c_api_test: ok (%s, vocab %lld)\n", ember_version(), (long long)info.vocab_size);
  return 0;
}
