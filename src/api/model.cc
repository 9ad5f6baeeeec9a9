// ember::Model: a LanguageModel plus its tokenizer and chat template.
#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "api/model_impl.h"

#include <cstdio>
#include "core/status.h"
#include "io/npy.h"

namespace ember {

namespace fs = std::filesystem;

const char* stop_reason_name(StopReason r) {
  switch (r) {
    case StopReason::kEos: return "stop";
    case StopReason::kStopString: return "stop";
    case StopReason::kMaxTokens: return "length";
    case StopReason::kCallback: return "cancelled";
    case StopReason::kContextFull: return "length";
  }
  return "?";
}

void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy(path, data, shape);
}

std::shared_ptr<Model> Model::load(const std::string& path, const ModelOptions& options) {
  return std::make_shared<ModelImpl>(path, options);
}

ModelImpl::ModelImpl(const std::string& path, const ModelOptions& options) : options_(options) {
  if (options.prefill_chunk <= 0) fail(ErrorCode::kInvalidArgument, "prefill_chunk must be > 0");
  if (options.context_length < 0) fail(ErrorCode::kInvalidArgument, "context_length must be >= 0");
  ModelLoadOptions lo;
  lo.backend = options.backend;
  lo.threads = options.threads;
  lo.f32_reference = options.f32_reference;
  lo.progress = options.on_progress;
  lm_ = load_language_model(path, lo);
  const ModelSummary& s = lm_->summary();
  context_ = options.context_length > 0 ? std::min(options.context_length, s.max_context) : s.max_context;

  try {
    tokenizer_ = tokenizer_for_path(path);
  } catch (const Error& e) {
    tokenizer_error_ = e.what();
  }
  template_.emplace(chat_template_for_path(path));
  if (!template_) template_.emplace(ChatTemplate::builtin_gemma4());

  info_.path = path;
  info_.architecture = s.architecture;
  info_.vocab_size = s.vocab_size;
  info_.n_layers = s.n_layers;
  info_.hidden_size = s.hidden_size;
  info_.max_context = context_;
  info_.bos_id = s.bos_id;
  info_.eos_id = s.eos_id;
  info_.pad_id = s.pad_id;
  info_.stop_ids = s.stop_ids;
  info_.backend = lm_->backend().description();
  info_.has_chat_template = true;
  SamplingOptions& d = info_.default_sampling;
  d.temperature = 1.0f;
  d.top_k = 64;
  d.top_p = 0.95f;
  if (s.temperature) d.temperature = *s.temperature;
  if (s.top_k) d.top_k = *s.top_k;
  if (s.top_p) d.top_p = *s.top_p;
  if (s.min_p) d.min_p = *s.min_p;
  if (s.repetition_penalty) d.repeat_penalty = *s.repetition_penalty;
  if (s.do_sample && !*s.do_sample) d.temperature = 0.0f;
}

const Tokenizer& ModelImpl::tokenizer() const {
  if (!tokenizer_)
    fail(ErrorCode::kNotFound, info_.path, ": no usable tokenizer (", tokenizer_error_, ")");
  return *tokenizer_;
}

std::vector<int32_t> ModelImpl::tokenize(std::string_view text, bool add_bos, bool parse_special) const {
  return tokenizer().encode(text, add_bos, parse_special);
}

// Ids the model can produce but the tokenizer lacks (padded embedding rows) decode to nothing,
// as in HF; ids beyond both are a caller's error.
size_t ModelImpl::vocab_limit() const {
  return std::max(tokenizer().vocab_size(), size_t(std::max<int64_t>(info_.vocab_size, 0)));
}

void ModelImpl::reserve_kv(size_t bytes) const {
  const int64_t limit = options_.kv_memory_limit;
  std::lock_guard<std::mutex> lock(kv_mu_);
  if (limit > 0 && kv_reserved_ + bytes > size_t(limit)) {
    auto mib = [](size_t b) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", double(b) / (1024.0 * 1024.0));
      return std::string(buf);
    };
    fail(ErrorCode::kResourceExhausted, "new session: its KV cache at full context (", context_, " tokens) needs ",
         mib(bytes), " MiB, and ", kv_sessions_, " live session(s) hold ",
         mib(kv_reserved_), " MiB of the kv_memory_limit of ",
         mib(size_t(limit)),
         " MiB (close a session, lower context_length or raise the limit)");
  }
  kv_reserved_ += bytes;
  ++kv_sessions_;
}

void ModelImpl::release_kv(size_t bytes) const {
  std::lock_guard<std::mutex> lock(kv_mu_);
  kv_reserved_ -= std::min(bytes, kv_reserved_);
  --kv_sessions_;
}

std::string ModelImpl::detokenize(std::span<const int32_t> ids, bool skip_special) const {
  check_token_ids(ids, vocab_limit());
  return tokenizer().decode(ids, skip_special);
}

std::string ModelImpl::token_piece(int32_t id) const {
  check_token_ids(std::span<const int32_t>(&id, 1), vocab_limit());
  return tokenizer().token_to_piece(id);
}

// Messages and options as the template sees them (shared with PromptTemplate, src/api/text.cc).
ChatInput chat_input_from_messages(std::span<const Message> messages, const ChatOptions& options) {
  ChatInput in;
  for (const Message& m : messages) {
    if (m.role.empty()) fail(ErrorCode::kInvalidArgument, "chat message without a role");
    nlohmann::ordered_json j = {{"role", m.role}, {"content", m.content}};
    if (m.images < 0 || m.audios < 0)
      fail(ErrorCode::kInvalidArgument, "chat message with a negative media count");
    if (m.images > 0 || m.audios > 0) {  // content items: images, text, audio (model card order)
      nlohmann::ordered_json parts = nlohmann::ordered_json::array();
      for (int i = 0; i < m.images; ++i) parts.push_back({{"type", "image"}});
      if (!m.content.empty()) parts.push_back({{"type", "text"}, {"text", m.content}});
      for (int i = 0; i < m.audios; ++i) parts.push_back({{"type", "audio"}});
      j["content"] = std::move(parts);
    }
    if (!m.tool_calls_json.empty()) {
      auto calls = nlohmann::ordered_json::parse(m.tool_calls_json, nullptr, false);
      if (calls.is_discarded() || !calls.is_array())
        fail(ErrorCode::kInvalidArgument, "message tool_calls is not a JSON array: ", m.tool_calls_json);
      j["tool_calls"] = calls;
    }
    if (!m.name.empty()) j["name"] = m.name;
    if (!m.reasoning.empty()) j["reasoning_content"] = m.reasoning;
    in.messages.push_back(std::move(j));
  }
  if (!options.tools_json.empty()) {
    auto tools = nlohmann::ordered_json::parse(options.tools_json, nullptr, false);
    if (tools.is_discarded() || !tools.is_array()) fail(ErrorCode::kInvalidArgument, "tools is not a JSON array");
    in.tools = tools;
  }
  in.add_generation_prompt = options.add_generation_prompt;
  in.enable_thinking = options.enable_thinking;
  return in;
}

std::string ModelImpl::render_chat(std::span<const Message> messages, const ChatOptions& options) const {
  return template_->render(chat_input_from_messages(messages, options));
}

}  // namespace ember
