// The C API (include/ember/ember.h) over the C++ API: every entry point catches every
// exception and turns it into a status plus a thread-local message, so no C++ exception
// crosses into C.
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "ember/ember.h"
#include "ember/ember.hpp"

struct ember_model {
  std::shared_ptr<ember::Model> model;
};
struct ember_session {
  std::unique_ptr<ember::Session> session;
};

namespace {

static_assert(int(ember::ErrorCode::kInvalidArgument) == EMBER_ERR_INVALID_ARGUMENT &&
              int(ember::ErrorCode::kInternal) == EMBER_ERR_INTERNAL &&
              int(ember::ErrorCode::kResourceExhausted) == EMBER_ERR_RESOURCE_EXHAUSTED);
static_assert(int(ember::StopReason::kEos) == EMBER_STOP_EOS &&
              int(ember::StopReason::kContextFull) == EMBER_STOP_CONTEXT_FULL);

thread_local std::string g_last_error;

// A caller's output buffer is too small (EMBER_ERR_BUFFER_TOO_SMALL; the needed size is set).
struct BufferTooSmall {
  std::string message;
};

ember_status set_error(ember_status s, const std::string& message) {
  g_last_error = message;
  return s;
}

// Runs f (which returns nothing), mapping exceptions to statuses.
template <typename F>
ember_status guarded(F&& f) {
  g_last_error.clear();
  try {
    f();
    return EMBER_OK;
  } catch (const BufferTooSmall& e) {
    return set_error(EMBER_ERR_BUFFER_TOO_SMALL, e.message);
  } catch (const ember::Error& e) {
    return set_error(static_cast<ember_status>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return set_error(EMBER_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return set_error(EMBER_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return set_error(EMBER_ERR_INTERNAL, "internal error: unknown exception");
  }
}

void require(bool ok, const char* what) {
  if (!ok) throw ember::Error(ember::ErrorCode::kInvalidArgument, what);
}

// Copies `s` to a caller buffer with the size-query convention (see ember.h).
void copy_out(const std::string& s, char* buf, size_t capacity, size_t* out_len) {
  *out_len = s.size();
  if (s.size() > capacity)
    throw BufferTooSmall{"buffer too small: " + std::to_string(s.size()) + " bytes needed, capacity " +
                         std::to_string(capacity)};
  if (!s.empty()) std::memcpy(buf, s.data(), s.size());
}

}  // namespace

extern "C" {

const char* ember_last_error(void) { return g_last_error.c_str(); }

const char* ember_status_name(ember_status s) {
  switch (s) {
    case EMBER_OK:
      return "ok";
    case EMBER_ERR_BUFFER_TOO_SMALL:
      return "buffer too small";
    case EMBER_ERR_OUT_OF_MEMORY:
      return "out of memory";
    default:
      if (s >= EMBER_ERR_INVALID_ARGUMENT && s <= EMBER_ERR_RESOURCE_EXHAUSTED)
        return ember::error_code_name(static_cast<ember::ErrorCode>(s));
      return "unknown status";
  }
}

const char* ember_version(void) { return "0.1.0"; }

void ember_model_options_init(ember_model_options* o) {
  if (!o) return;
  ember::ModelOptions d;
  o->backend = nullptr;
  o->threads = d.threads;
  o->context_length = d.context_length;
  o->prefill_chunk = d.prefill_chunk;
  o->kv_memory_limit = d.kv_memory_limit;
}

ember_status ember_model_load(const char* path, const ember_model_options* options, ember_model** out) {
  return guarded([&] {
    require(out != nullptr, "ember_model_load: out_model is NULL");
    *out = nullptr;
    require(path != nullptr, "ember_model_load: path is NULL");
    ember::ModelOptions o;
    if (options) {
      if (options->backend) o.backend = options->backend;
      o.threads = options->threads;
      o.context_length = options->context_length;
      o.prefill_chunk = options->prefill_chunk;
      o.kv_memory_limit = options->kv_memory_limit;
    }
    require(o.threads >= 0, "ember_model_load: threads must be >= 0");
    auto m = std::make_unique<ember_model>();
    m->model = ember::Model::load(path, o);
    *out = m.release();
  });
}

void ember_model_free(ember_model* model) { delete model; }

ember_status ember_model_get_info(const ember_model* model, ember_model_info* out) {
  return guarded([&] {
    require(model && out, "ember_model_get_info: NULL argument");
    const ember::ModelInfo& i = model->model->info();
    out->architecture = i.architecture.c_str();
    out->vocab_size = i.vocab_size;
    out->n_layers = i.n_layers;
    out->hidden_size = i.hidden_size;
    out->max_context = i.max_context;
    out->bos_id = i.bos_id;
    out->eos_id = i.eos_id;
  });
}

ember_status ember_tokenize(const ember_model* model, const char* text, size_t text_len, int add_bos,
                            int32_t* ids, size_t capacity, size_t* out_len) {
  return guarded([&] {
    require(model && out_len, "ember_tokenize: NULL model or out_len");
    require(text || text_len == 0, "ember_tokenize: text is NULL");
    require(ids || capacity == 0, "ember_tokenize: ids is NULL with a nonzero capacity");
    auto v = model->model->tokenize(std::string_view(text ? text : "", text_len), add_bos != 0);
    *out_len = v.size();
    if (v.size() > capacity)
      throw BufferTooSmall{"buffer too small: " + std::to_string(v.size()) + " ids needed, capacity " +
                           std::to_string(capacity)};
    std::copy(v.begin(), v.end(), ids);
  });
}

ember_status ember_detokenize(const ember_model* model, const int32_t* ids, size_t n_ids, char* text,
                              size_t capacity, size_t* out_len) {
  return guarded([&] {
    require(model && out_len, "ember_detokenize: NULL model or out_len");
    require(ids || n_ids == 0, "ember_detokenize: ids is NULL");
    require(text || capacity == 0, "ember_detokenize: text is NULL with a nonzero capacity");
    std::string out = model->model->detokenize(std::span<const int32_t>(ids, n_ids));
    copy_out(out, text, capacity, out_len);
  });
}

ember_status ember_render_chat(const ember_model* model, const ember_message* messages, size_t n_messages,
                               int add_generation_prompt, int enable_thinking, char* text, size_t capacity,
                               size_t* out_len) {
  return guarded([&] {
    require(model && out_len, "ember_render_chat: NULL model or out_len");
    require(messages || n_messages == 0, "ember_render_chat: messages is NULL");
    require(text || capacity == 0, "ember_render_chat: text is NULL with a nonzero capacity");
    std::vector<ember::Message> msgs(n_messages);
    for (size_t i = 0; i < n_messages; ++i) {
      require(messages[i].role && messages[i].content,
              "ember_render_chat: a message has a NULL role or content");
      msgs[i].role = messages[i].role;
      msgs[i].content = messages[i].content;
    }
    ember::ChatOptions o;
    o.add_generation_prompt = add_generation_prompt != 0;
    o.enable_thinking = enable_thinking != 0;
    std::string out = model->model->render_chat(msgs, o);
    copy_out(out, text, capacity, out_len);
  });
}

ember_status ember_session_new(const ember_model* model, ember_session** out) {
  return guarded([&] {
    require(out != nullptr, "ember_session_new: out_session is NULL");
    *out = nullptr;
    require(model != nullptr, "ember_session_new: model is NULL");
    auto s = std::make_unique<ember_session>();
    s->session = model->model->new_session();
    *out = s.release();
  });
}

void ember_session_free(ember_session* session) { delete session; }

ember_status ember_session_prefill(ember_session* session, const int32_t* ids, size_t n_ids) {
  return guarded([&] {
    require(session != nullptr, "ember_session_prefill: session is NULL");
    require(ids || n_ids == 0, "ember_session_prefill: ids is NULL");
    session->session->prefill(std::span<const int32_t>(ids, n_ids));
  });
}

ember_status ember_session_logits(const ember_session* session, const float** out_logits, size_t* out_len) {
  return guarded([&] {
    require(session && out_logits && out_len, "ember_session_logits: NULL argument");
    auto l = session->session->logits();
    require(!l.empty(), "ember_session_logits: no logits yet (prefill first)");
    *out_logits = l.data();
    *out_len = l.size();
  });
}

size_t ember_session_length(const ember_session* session) {
  return session ? session->session->tokens().size() : 0;
}

ember_status ember_session_tokens(const ember_session* session, const int32_t** out_ids, size_t* out_len) {
  return guarded([&] {
    require(session && out_ids && out_len, "ember_session_tokens: NULL argument");
    const auto& t = session->session->tokens();
    *out_ids = t.data();
    *out_len = t.size();
  });
}

void ember_session_reset(ember_session* session) {
  if (session) guarded([&] { session->session->reset(); });
}

void ember_generate_options_init(ember_generate_options* o) {
  if (!o) return;
  ember::GenerateOptions d;
  o->temperature = d.sampling.temperature;
  o->top_k = d.sampling.top_k;
  o->top_p = d.sampling.top_p;
  o->min_p = d.sampling.min_p;
  o->repeat_penalty = d.sampling.repeat_penalty;
  o->seed = d.sampling.seed;
  o->max_tokens = d.max_tokens;
  o->stop_on_eos = d.stop_on_eos ? 1 : 0;
}

ember_status ember_session_generate(ember_session* session, const ember_generate_options* options,
                                    ember_token_callback callback, void* user_data,
                                    ember_stop_reason* out_reason, size_t* out_n_tokens) {
  return guarded([&] {
    require(session != nullptr, "ember_session_generate: session is NULL");
    ember::GenerateOptions g;
    if (options) {
      g.sampling.temperature = options->temperature;
      g.sampling.top_k = options->top_k;
      g.sampling.top_p = options->top_p;
      g.sampling.min_p = options->min_p;
      g.sampling.repeat_penalty = options->repeat_penalty;
      g.sampling.seed = options->seed;
      g.max_tokens = options->max_tokens;
      g.stop_on_eos = options->stop_on_eos != 0;
    }
    ember::TokenCallback cb;
    if (callback)
      cb = [&](std::string_view text, int32_t token) {
        return callback(text.data(), text.size(), token, user_data) != 0;
      };
    ember::GenerateResult r = session->session->generate(g, cb);
    if (out_reason) *out_reason = static_cast<ember_stop_reason>(static_cast<int>(r.stop_reason));
    if (out_n_tokens) *out_n_tokens = r.tokens.size();
  });
}

}  // extern "C"
