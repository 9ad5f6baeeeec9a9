#include "server.h"

#include <httplib.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "request.h"
#include "responses.h"

namespace ember::server {

using json = nlohmann::json;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string request_id(const char* prefix) {
  static std::atomic<uint64_t> n{0};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s-%llx%06llx", prefix, (unsigned long long)unix_now(),
                (unsigned long long)++n);
  return buf;
}

class Server {
 public:
  Server(std::shared_ptr<Model> model, ServerOptions opt)
      : model_(std::move(model)), opt_(std::move(opt)), engine_(model_, opt_.engine, metrics_) {
    if (opt_.model_id.empty()) opt_.model_id = std::filesystem::path(model_->info().path).filename().string();
    if (opt_.model_id.empty()) opt_.model_id = "ember";
    if (opt_.max_prompt_tokens <= 0 || opt_.max_prompt_tokens >= opt_.context_length)
      opt_.max_prompt_tokens = opt_.context_length - 1;
    // <|tool_response> ends the model's turn after a tool call (the caller runs the tool).
    auto ids = model_->tokenize("<|tool_response>", false, true);
    if (ids.size() == 1) tool_response_id_ = ids[0];
  }
  int run();

 private:
  void routes();
  void error(httplib::Response& res, const ApiError& e);
  void handle(const httplib::Request& req, httplib::Response& res, bool chat);
  void respond(httplib::Response& res, const ParsedRequest& r, std::vector<int32_t> prompt);
  std::vector<int32_t> prompt_of(const ParsedRequest& r);
  std::string chat_text(const ParsedRequest& r);

  std::shared_ptr<Model> model_;
  ServerOptions opt_;
  Metrics metrics_;
  Engine engine_;
  httplib::Server http_;
  int32_t tool_response_id_ = -1;
};

void Server::error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(e.to_json(), "application/json");
  if (e.status == 429)
    metrics_.requests_rejected++;
  else
    metrics_.requests_client_error++;
}

std::vector<int32_t> Server::prompt_of(const ParsedRequest& r) {
  const int64_t vocab = model_->info().vocab_size;
  if (!r.chat) {
    if (r.prompt_ids.empty()) return model_->tokenize(r.prompt, /*add_bos=*/true, /*parse_special=*/true);
    for (int32_t id : r.prompt_ids)
      if (id >= vocab)
        throw ApiError(400, "prompt token id " + std::to_string(id) + " is out of the vocabulary", "prompt");
    return r.prompt_ids;
  }
  return model_->tokenize(chat_text(r), false, true);
}

std::string Server::chat_text(const ParsedRequest& r) {
  ChatOptions co;
  co.enable_thinking = r.enable_thinking;
  co.tools_json = r.tools_json;
  return model_->render_chat(r.messages, co);
}

void Server::handle(const httplib::Request& req, httplib::Response& res, bool chat) {
  try {
    ParsedRequest r = chat ? parse_chat_request(req.body) : parse_completion_request(req.body);
    if (!r.model.empty() && r.model != opt_.model_id)
      throw ApiError(
          404, "The model '" + r.model + "' does not exist (this server serves '" + opt_.model_id + "')",
          "model", "invalid_request_error", "model_not_found");
    std::vector<int32_t> prompt;
    try {
      prompt = prompt_of(r);
    } catch (const Error& e) {  // a template or tokenizer rejected the input
      throw ApiError(400, e.what(), chat ? "messages" : "prompt");
    }
    respond(res, r, std::move(prompt));
  } catch (const ApiError& e) {
    error(res, e);
  }
}

void Server::respond(httplib::Response& res, const ParsedRequest& r, std::vector<int32_t> prompt) {
  const int64_t n = int64_t(prompt.size());
  if (n > opt_.max_prompt_tokens)
    throw ApiError(400,
                   "the prompt has " + std::to_string(n) + " tokens, more than the limit of " +
                       std::to_string(opt_.max_prompt_tokens),
                   r.chat ? "messages" : "prompt", "invalid_request_error", "context_length_exceeded");
  if (r.max_tokens && *r.max_tokens > opt_.max_tokens)
    throw ApiError(400,
                   "max_tokens " + std::to_string(*r.max_tokens) + " is above the server limit of " +
                       std::to_string(opt_.max_tokens),
                   "max_tokens");
  auto job = std::make_shared<Job>();
  job->prompt = std::move(prompt);
  if (!r.media.empty()) {
    if (model_->media_token_ids(MediaKind::kImage).soft < 0)
      throw ApiError(400, "this model does not accept images", "messages");
    job->media = r.media;
    job->media_text = chat_text(r);
  }
  job->options.sampling = sampling_for(r, model_->info().default_sampling);
  job->options.max_tokens = std::min(r.max_tokens.value_or(opt_.max_tokens), opt_.context_length - n);
  job->options.stop = r.stop;
  if (r.chat && !r.tools_json.empty() && tool_response_id_ >= 0)
    job->options.extra_stop_ids.push_back(tool_response_id_);
  job->deadline = job->arrival + std::chrono::milliseconds(int64_t(opt_.timeout_s * 1000));
  if (!engine_.submit(job)) {
    if (engine_.stopped()) throw ApiError(503, "the server is shutting down", {}, "server_error");
    throw ApiError(429, "the server is busy (request queue full); retry later", {}, "rate_limit_error",
                   "rate_limit_exceeded");
  }

  ResponseMeta meta{
      request_id(r.chat ? "chatcmpl" : "cmpl"), opt_.model_id, unix_now(), r.chat, r.include_usage, n};
  if (!r.stream) {
    // Waits for the end (bounded by the request timeout); a non-streaming client that goes
    // away is noticed only then.
    std::string ignored;
    while (!job->take(&ignored, std::chrono::milliseconds(1000))) ignored.clear();
    if (!job->error.empty()) throw ApiError(job->error_status, job->error, {}, "server_error");
    if (job->timed_out && job->result.tokens.empty())
      throw ApiError(504, "the request timed out before generation started", {}, "timeout", "timeout");
    metrics_.requests_ok++;
    res.set_content(completion_json(meta, *job).dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
    return;
  }
  auto writer = std::make_shared<StreamWriter>(meta);
  auto started = std::make_shared<bool>(false);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job, writer, started](size_t, httplib::DataSink& sink) {
        std::string out = *started ? "" : writer->start();
        *started = true;
        std::string text;
        const bool done = job->take(&text, std::chrono::milliseconds(500));
        out += writer->text(text);
        if (done) out += writer->end(*job);
        // An SSE comment when idle: a write to a closed connection fails, which cancels the job.
        if (out.empty()) out = ": keep-alive\n\n";
        if (!sink.write(out.data(), out.size())) {
          job->cancelled = true;
          return false;
        }
        if (done) {
          metrics_.requests_ok++;
          sink.done();
        }
        return true;
      },
      [job](bool) { job->cancelled = true; });  // the connection ended: stop generating (no-op if done)
}

void Server::routes() {
  http_.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.prometheus(), "text/plain; version=0.0.4");
  });
  http_.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json m = {{"id", opt_.model_id},
              {"object", "model"},
              {"created", 0},
              {"owned_by", "ember"},
              {"max_model_len", opt_.context_length}};
    res.set_content(json{{"object", "list"}, {"data", json::array({m})}}.dump(), "application/json");
  });
  http_.Post("/v1/chat/completions",
             [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, true); });
  http_.Post("/v1/completions",
             [this](const httplib::Request& req, httplib::Response& res) { handle(req, res, false); });
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opt_.api_key.empty() || req.path.rfind("/v1/", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + opt_.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    error(res, ApiError(401, "invalid or missing API key (Authorization: Bearer ...)", {},
                        "invalid_request_error", "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib produces itself (unknown route 404, body too large 413, bad HTTP 400).
  http_.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string msg = res.status == 404 ? "unknown endpoint " + req.method + " " + req.path
                      : res.status == 413
                          ? "request body too large (limit " + std::to_string(opt_.max_body) + " bytes)"
                          : "bad request";
    error(res, ApiError(res.status, msg));
  });
  http_.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string msg = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      msg = e.what();
    } catch (...) {
    }
    error(res, ApiError(500, msg, {}, "server_error"));
  });
}

int Server::run() {
  routes();
  http_.set_payload_max_length(opt_.max_body);
  http_.set_read_timeout(30, 0);
  http_.set_write_timeout(30, 0);
  http_.set_keep_alive_max_count(1000);
  http_.set_keep_alive_timeout(30);
  // One handler thread per connection that may be waiting (running + queued + spare), so a full
  // queue is answered with 429 instead of connections stalling in the accept backlog.
  const size_t threads = size_t(opt_.engine.max_seqs + opt_.engine.max_queue + 16);
  http_.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  int port = opt_.port;
  if (port == 0) {
    port = http_.bind_to_any_port(opt_.host);
  } else if (!http_.bind_to_port(opt_.host, port)) {
    port = -1;
  }
  if (port < 0) {
    std::fprintf(stderr, "ember serve: cannot listen on %s:%d\n", opt_.host.c_str(), opt_.port);
    return 1;
  }
  std::fprintf(stderr, "ember serve: %s listening on %s:%d\n", opt_.model_id.c_str(), opt_.host.c_str(),
               port);
  std::fflush(stderr);
  // SIGINT/SIGTERM (blocked in every thread) stop the server from a waiting thread.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  std::thread sig([this, set] {
    int s = 0;
    sigwait(&set, &s);
    engine_.shutdown();  // wakes every waiting handler first, so stop() does not wait on them
    http_.stop();
  });
  sig.detach();
  http_.listen_after_bind();
  return 0;
}

}  // namespace

int serve(std::shared_ptr<Model> model, ServerOptions options) {
  // Writes to a closed connection must fail with EPIPE, not kill the process; the stop signals
  // are taken by a sigwait thread, so block them before any thread starts.
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Server s(std::move(model), std::move(options));
  return s.run();
}

}  // namespace ember::server
