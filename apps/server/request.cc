#include "request.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

namespace ember::server {

using json = nlohmann::json;

std::string ApiError::to_json() const {
  json e = {{"message", what()},
            {"type", type},
            {"param", param.empty() ? json() : json(param)},
            {"code", code.empty() ? json() : json(code)}};
  return json{{"error", e}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

namespace {

[[noreturn]] void bad(const std::string& param, const std::string& msg) { throw ApiError(400, msg, param); }

json parse_body(std::string_view body) {
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw ApiError(400, "request body is not valid JSON");
  if (!j.is_object()) throw ApiError(400, "request body must be a JSON object");
  return j;
}

// A present, non-null field, or nullptr.
const json* field(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::optional<float> number(const json& j, const char* key, double lo, double hi, bool lo_open = false) {
  const json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) bad(key, std::string("'") + key + "' must be a number");
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi || (lo_open && d == lo))
    bad(key, std::string("'") + key + "' is out of range: " + v->dump() + " (allowed " +
                 (lo_open ? "(" : "[") + json(lo).dump() + ", " + json(hi).dump() + "])");
  return float(d);
}

std::optional<int64_t> integer(const json& j, const char* key, int64_t lo, int64_t hi) {
  const json* v = field(j, key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer()) bad(key, std::string("'") + key + "' must be an integer");
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max()))
    bad(key, std::string("'") + key + "' is out of range");
  const int64_t i = v->get<int64_t>();
  if (i < lo || i > hi) bad(key, std::string("'") + key + "' is out of range: " + std::to_string(i));
  return i;
}

bool boolean(const json& j, const char* key) {
  const json* v = field(j, key);
  if (!v) return false;
  if (!v->is_boolean()) bad(key, std::string("'") + key + "' must be a boolean");
  return v->get<bool>();
}

// Fields shared by both endpoints: model, stream, sampling, stop, n.
void parse_common(const json& j, ParsedRequest& r) {
  if (const json* m = field(j, "model")) {
    if (!m->is_string()) bad("model", "'model' must be a string");
    r.model = m->get<std::string>();
  }
  r.stream = boolean(j, "stream");
  if (const json* so = field(j, "stream_options")) {
    if (!so->is_object()) bad("stream_options", "'stream_options' must be an object");
    r.include_usage = boolean(*so, "include_usage");
  }
  if (auto n = integer(j, "n", 1, 128); n && *n != 1) bad("n", "only n=1 is supported");
  r.max_tokens = integer(j, "max_tokens", 1, std::numeric_limits<int32_t>::max());
  if (auto m = integer(j, "max_completion_tokens", 1, std::numeric_limits<int32_t>::max())) r.max_tokens = m;
  r.temperature = number(j, "temperature", 0, 2);
  r.top_p = number(j, "top_p", 0, 1, /*lo_open=*/true);
  r.min_p = number(j, "min_p", 0, 1);
  r.presence_penalty = number(j, "presence_penalty", -2, 2);
  r.frequency_penalty = number(j, "frequency_penalty", -2, 2);
  r.repetition_penalty = number(j, "repetition_penalty", 0, 10, /*lo_open=*/true);
  if (auto k = integer(j, "top_k", -1, 1 << 24)) r.top_k = int(std::max<int64_t>(*k, 0));  // -1: off
  r.seed = integer(j, "seed", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
  if (r.seed && *r.seed < 0) r.seed = *r.seed & std::numeric_limits<int64_t>::max();  // ember: <0 = random
  if (const json* s = field(j, "stop")) {
    if (s->is_string()) {
      r.stop.push_back(s->get<std::string>());
    } else if (s->is_array()) {
      if (s->size() > 16) bad("stop", "at most 16 stop strings");
      for (const auto& e : *s) {
        if (!e.is_string()) bad("stop", "'stop' must be a string or an array of strings");
        r.stop.push_back(e.get<std::string>());
      }
    } else {
      bad("stop", "'stop' must be a string or an array of strings");
    }
    for (const auto& s2 : r.stop)
      if (s2.empty()) bad("stop", "stop strings must not be empty");
  }
  if (boolean(j, "logprobs")) bad("logprobs", "logprobs are not supported");
  if (const json* lp = field(j, "logprobs"); lp && lp->is_number())
    bad("logprobs", "logprobs are not supported");
}

// "data:image/png;base64,...." -> the decoded bytes (only data: URLs: the server fetches nothing).
std::string decode_data_url(const std::string& url, const std::string& param) {
  if (url.rfind("data:", 0) != 0) bad(param, "only data: URLs (base64 PNG/JPEG) are supported for images");
  const size_t comma = url.find(',');
  const std::string head = url.substr(0, std::min(comma, url.size()));
  if (comma == std::string::npos || head.size() < 7 || head.compare(head.size() - 7, 7, ";base64") != 0)
    bad(param, "an image data: URL must be base64 (data:image/png;base64,...)");
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = comma + 1; i < url.size(); ++i) {
    const char c = url[i];
    if (c == '=') break;
    if (c == '\n' || c == '\r' || c == ' ') continue;
    const size_t v = kAlphabet.find(c);
    if (v == std::string::npos) bad(param, "invalid base64 in the image data: URL");
    acc = (acc << 6) | uint32_t(v);
    bits += 6;
    if (bits >= 8) bits -= 8, out.push_back(char((acc >> bits) & 0xff));
  }
  if (out.empty()) bad(param, "the image data: URL is empty");
  return out;
}

// OpenAI content: a string, null, or an array of {"type": "text", "text": ...} and
// {"type": "image_url", "image_url": {"url": "data:..."}} parts (images go to *media).
std::string content_text(const json& m, size_t i, int* images, int* audios, std::vector<Media>* media) {
  const std::string param = "messages[" + std::to_string(i) + "].content";
  const json* c = field(m, "content");
  if (!c) return {};
  if (c->is_string()) return c->get<std::string>();
  if (!c->is_array()) bad(param, "'" + param + "' must be a string or an array of content parts");
  std::string out;
  for (const auto& part : *c) {
    if (!part.is_object()) bad(param, "content parts must be objects");
    const json* type = field(part, "type");
    if (type && type->is_string() && type->get<std::string>() == "image_url") {
      const json* iu = field(part, "image_url");
      const json* url = iu && iu->is_object() ? field(*iu, "url") : iu;
      if (!url || !url->is_string()) bad(param, "an image_url part needs 'image_url': {'url': 'data:...'}");
      Media md;
      md.bytes = decode_data_url(url->get<std::string>(), param);
      md.source = param + "[" + std::to_string(media->size()) + "] (image_url)";
      media->push_back(std::move(md));
      ++*images;
      continue;
    }
    if (type && type->is_string() && type->get<std::string>() == "input_audio") {
      // {"type": "input_audio", "input_audio": {"data": "<base64 WAV>", "format": "wav"}}
      const json* ia = field(part, "input_audio");
      const json* data = ia && ia->is_object() ? field(*ia, "data") : nullptr;
      const json* fmt = ia && ia->is_object() ? field(*ia, "format") : nullptr;
      if (!data || !data->is_string())
        bad(param, "an input_audio part needs 'input_audio': {'data': '<base64 WAV>'}");
      if (fmt && (!fmt->is_string() || fmt->get<std::string>() != "wav"))
        bad(param, "input_audio: only format 'wav' is supported");
      Media md;
      md.kind = MediaKind::kAudio;
      md.bytes = decode_data_url("data:audio/wav;base64," + data->get<std::string>(), param);
      md.source = param + "[" + std::to_string(media->size()) + "] (input_audio)";
      media->push_back(std::move(md));
      ++*audios;
      continue;
    }
    if (!type || !type->is_string() || type->get<std::string>() != "text")
      bad(param, "only text, image_url and input_audio content parts are supported");
    const json* t = field(part, "text");
    if (!t || !t->is_string()) bad(param, "a text content part needs a string 'text'");
    out += t->get<std::string>();
  }
  return out;
}

// OpenAI tool_calls ([{id, type, function: {name, arguments: "<json string>"}}]) in ember's
// Message form (arguments as a JSON object); remembers id -> name for later tool messages.
std::string tool_calls_to_ember(const json& calls, size_t i,
                                std::vector<std::pair<std::string, std::string>>& ids) {
  const std::string param = "messages[" + std::to_string(i) + "].tool_calls";
  if (!calls.is_array()) bad(param, "'" + param + "' must be an array");
  json out = json::array();
  for (const auto& c : calls) {
    const json* f = c.is_object() ? field(c, "function") : nullptr;
    if (!f || !f->is_object()) bad(param, "each tool call needs a 'function' object");
    const json* name = field(*f, "name");
    if (!name || !name->is_string()) bad(param, "each tool call needs a string function name");
    json args = json::object();
    if (const json* a = field(*f, "arguments")) {
      if (a->is_string()) {
        args = json::parse(a->get<std::string>(), nullptr, false);
        if (args.is_discarded()) bad(param, "tool call arguments are not valid JSON");
      } else {
        args = *a;
      }
    }
    if (const json* id = field(c, "id"); id && id->is_string())
      ids.emplace_back(id->get<std::string>(), name->get<std::string>());
    out.push_back({{"type", "function"}, {"function", {{"name", *name}, {"arguments", args}}}});
  }
  return out.dump();
}

void parse_messages(const json& j, ParsedRequest& r) {
  const json* ms = field(j, "messages");
  if (!ms) bad("messages", "'messages' is required");
  if (!ms->is_array()) bad("messages", "'messages' must be an array");
  if (ms->empty()) bad("messages", "'messages' must not be empty");
  std::vector<std::pair<std::string, std::string>> call_ids;  // tool_call_id -> function name
  for (size_t i = 0; i < ms->size(); ++i) {
    const json& m = (*ms)[i];
    const std::string param = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) bad(param, "'" + param + "' must be an object");
    const json* role = field(m, "role");
    if (!role || !role->is_string()) bad(param + ".role", "'" + param + ".role' must be a string");
    Message msg;
    msg.role = role->get<std::string>();
    if (msg.role != "system" && msg.role != "developer" && msg.role != "user" && msg.role != "assistant" &&
        msg.role != "tool")
      bad(param + ".role", "unknown role '" + msg.role + "'");
    msg.content = content_text(m, i, &msg.images, &msg.audios, &r.media);
    if (const json* tc = field(m, "tool_calls")) {
      if (msg.role != "assistant") bad(param + ".tool_calls", "only assistant messages carry tool_calls");
      msg.tool_calls_json = tool_calls_to_ember(*tc, i, call_ids);
    }
    if (const json* rc = field(m, "reasoning_content"); rc && rc->is_string())
      msg.reasoning = rc->get<std::string>();
    if (const json* name = field(m, "name")) {
      if (!name->is_string()) bad(param + ".name", "'name' must be a string");
      msg.name = name->get<std::string>();
    }
    if (msg.role == "tool" && msg.name.empty()) {
      if (const json* id = field(m, "tool_call_id"); id && id->is_string())
        for (const auto& [cid, fname] : call_ids)
          if (cid == id->get<std::string>()) msg.name = fname;
    }
    if (msg.role == "user" && msg.content.empty() && !field(m, "content"))
      bad(param + ".content", "user messages need 'content'");
    r.messages.push_back(std::move(msg));
  }
}

void parse_tools(const json& j, ParsedRequest& r) {
  const json* tools = field(j, "tools");
  std::vector<std::string> names;
  if (tools) {
    if (!tools->is_array()) bad("tools", "'tools' must be an array");
    for (const auto& t : *tools) {
      const json* f = t.is_object() ? field(t, "function") : nullptr;
      const json* type = t.is_object() ? field(t, "type") : nullptr;
      if (!type || !type->is_string() || type->get<std::string>() != "function" || !f || !f->is_object())
        bad("tools", "each tool must be {\"type\": \"function\", \"function\": {...}}");
      const json* name = field(*f, "name");
      if (!name || !name->is_string() || name->get<std::string>().empty())
        bad("tools", "each function needs a non-empty string 'name'");
      names.push_back(name->get<std::string>());
    }
    if (!tools->empty()) r.tools_json = tools->dump();
  }
  if (const json* tc = field(j, "tool_choice")) {
    // Without constrained decoding "required" and a named function are hints the model sees
    // only through the tools it is given; "none" hides the tools from the template.
    if (tc->is_string()) {
      const std::string s = tc->get<std::string>();
      if (s == "none")
        r.tools_json.clear();
      else if (s != "auto" && s != "required")
        bad("tool_choice", "'tool_choice' must be none, auto, required or a function");
    } else if (tc->is_object()) {
      const json* f = field(*tc, "function");
      const json* name = f && f->is_object() ? field(*f, "name") : nullptr;
      if (!name || !name->is_string()) bad("tool_choice", "'tool_choice' function needs a name");
      if (std::find(names.begin(), names.end(), name->get<std::string>()) == names.end())
        bad("tool_choice", "tool_choice names a function that is not in 'tools'");
    } else {
      bad("tool_choice", "'tool_choice' must be a string or an object");
    }
  }
}

void parse_thinking(const json& j, ParsedRequest& r) {
  if (const json* k = field(j, "chat_template_kwargs")) {
    if (!k->is_object()) bad("chat_template_kwargs", "'chat_template_kwargs' must be an object");
    r.enable_thinking = boolean(*k, "enable_thinking");
  }
  if (const json* e = field(j, "reasoning_effort")) {
    if (!e->is_string()) bad("reasoning_effort", "'reasoning_effort' must be a string");
    const std::string s = e->get<std::string>();
    if (s == "low" || s == "medium" || s == "high")
      r.enable_thinking = true;
    else if (s == "none" || s == "minimal")
      r.enable_thinking = false;
    else
      bad("reasoning_effort", "'reasoning_effort' must be none, minimal, low, medium or high");
  }
}

}  // namespace

ParsedRequest parse_chat_request(std::string_view body) {
  const json j = parse_body(body);
  ParsedRequest r;
  r.chat = true;
  parse_common(j, r);
  parse_messages(j, r);
  parse_tools(j, r);
  parse_thinking(j, r);
  return r;
}

ParsedRequest parse_completion_request(std::string_view body) {
  const json j = parse_body(body);
  ParsedRequest r;
  r.chat = false;
  parse_common(j, r);
  const json* p = field(j, "prompt");
  if (!p) bad("prompt", "'prompt' is required");
  const json* one = p;
  if (p->is_array() && !p->empty() && !(*p)[0].is_number()) {
    if (p->size() != 1) bad("prompt", "only one prompt per request is supported");
    one = &(*p)[0];
  }
  if (one->is_string()) {
    r.prompt = one->get<std::string>();
  } else if (one->is_array()) {
    for (const auto& t : *one) {
      if (!t.is_number_integer() || t.get<int64_t>() < 0 ||
          t.get<int64_t>() > std::numeric_limits<int32_t>::max())
        bad("prompt", "token prompts must be arrays of non-negative integers");
      r.prompt_ids.push_back(int32_t(t.get<int64_t>()));
    }
  } else {
    bad("prompt", "'prompt' must be a string, an array of strings or an array of token ids");
  }
  if (r.prompt.empty() && r.prompt_ids.empty()) bad("prompt", "'prompt' must not be empty");
  if (boolean(j, "echo")) bad("echo", "echo is not supported");
  if (const json* s = field(j, "suffix"); s && !(s->is_string() && s->get<std::string>().empty()))
    bad("suffix", "suffix is not supported");
  return r;
}

SamplingOptions sampling_for(const ParsedRequest& r, const SamplingOptions& defaults) {
  SamplingOptions s = defaults;
  if (r.temperature) s.temperature = *r.temperature;
  if (r.top_p) s.top_p = *r.top_p;
  if (r.top_k) s.top_k = *r.top_k;
  if (r.min_p) s.min_p = *r.min_p;
  if (r.repetition_penalty) s.repeat_penalty = *r.repetition_penalty;
  if (r.presence_penalty) s.presence_penalty = *r.presence_penalty;
  if (r.frequency_penalty) s.frequency_penalty = *r.frequency_penalty;
  if (r.seed) s.seed = *r.seed;
  return s;
}

}  // namespace ember::server
