// Embedding ember in an app: load a model once, then answer a question with a token budget and
// a stop condition, collecting the text (no terminal I/O in the loop).
//   ./embed MODEL "QUESTION"
#include <cstdio>
#include <ember/ember.hpp>
#include <ember/output.hpp>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) return std::fprintf(stderr, "usage: %s MODEL QUESTION\n", argv[0]), 2;
  try {
    auto model = ember::Model::load(argv[1]);  // shared, thread-safe, immutable
    std::vector<ember::Message> messages = {{"user", argv[2]}};
    std::vector<int32_t> prompt = model->tokenize(model->render_chat(messages));

    auto session = model->new_session();  // one per conversation / thread
    session->prefill(prompt);
    ember::GenerateOptions gen;
    gen.sampling.temperature = 0;  // greedy: reproducible answers
    gen.max_tokens = 64;
    ember::OutputStream out;  // splits the answer from the thought channel and tool calls
    std::string answer;
    auto take = [&](const std::vector<ember::OutputEvent>& events) {
      for (const auto& e : events) {
        if (e.kind == ember::OutputEvent::Kind::kEnd) return false;  // the model ended its turn
        if (e.kind == ember::OutputEvent::Kind::kText && e.channel == ember::OutputChannel::kAnswer)
          answer += e.text;
      }
      return answer.size() < 2000;  // the app decides when to stop
    };
    session->generate(gen, [&](std::string_view text, int32_t) { return take(out.feed(text)); });
    take(out.finish());
    std::printf("%s\n", answer.c_str());
  } catch (const ember::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
