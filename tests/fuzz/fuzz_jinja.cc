// libFuzzer target: any bytes as a chat template must parse and render (with a fixed
// conversation) or fail with ember::Error — never crash, hang or exhaust memory.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "ember/error.hpp"
#include "text/jinja/template.h"

namespace {

const std::vector<std::pair<std::string, ember::jinja::Value>>& context() {
  static const auto vars = [] {
    const auto j = nlohmann::ordered_json::parse(R"({
      "messages": [
        {"role": "system", "content": "  Be brief. "},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image"}]},
        {"role": "assistant", "content": "<|channel>thought\nx<channel|>Hello", "tool_calls": [
          {"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, true, null, {"b": "c"}]}}}]},
        {"role": "tool", "tool_responses": [{"name": "f", "response": {"ok": true}}]}],
      "tools": [{"type": "function", "function": {"name": "f", "description": "d",
        "parameters": {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}}}}],
      "add_generation_prompt": true, "enable_thinking": false, "bos_token": "<bos>", "eos_token": "<eos>"})");
    std::vector<std::pair<std::string, ember::jinja::Value>> v;
    for (const auto& [k, val] : j.items()) v.emplace_back(k, ember::jinja::from_json(val));
    return v;
  }();
  return vars;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  ember::jinja::RenderLimits limits;
  limits.max_steps = 200000;
  limits.max_output_bytes = 1 << 20;
  limits.max_call_depth = 64;
  try {
    ember::jinja::Template t(std::string(reinterpret_cast<const char*>(data), size));
    t.render(context(), limits);
  } catch (const ember::Error&) {
  }
  return 0;
}
