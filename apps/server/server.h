// `ember serve`: the OpenAI-compatible HTTP front end (cpp-httplib) over the Engine.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ember/ember.hpp"
#include "engine.h"

namespace ember::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;            // empty: no authentication
  std::string model_id;           // the name clients use; default: the model path's basename
  int64_t max_prompt_tokens = 0;  // 0: the context length
  int64_t max_tokens = 4096;      // per request (also the default when the request gives none)
  double timeout_s = 600;         // per request, from arrival
  size_t max_body = 4 << 20;      // request body bytes (beyond: 413)
  int64_t context_length = 8192;
  EngineOptions engine;
};

// Serves until SIGINT/SIGTERM; returns the process exit code. Prints "listening on HOST:PORT"
// to stderr once the socket is bound (port 0 picks a free port).
int serve(std::shared_ptr<Model> model, ServerOptions options);

}  // namespace ember::server
