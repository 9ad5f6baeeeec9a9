// ember logits MODEL --ids 2,17,33 --out logits.npy [--precision f32|default] [--dump DIR]
// Writes the float32 logits of every position ([T, vocab], .npy). --dump writes every named
// intermediate activation (layer.N.attn_out, ...) as DIR/<name>.npy to pin a divergence.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "command.h"
#include "ember/ember.hpp"

namespace {

std::vector<int32_t> parse_ids(const std::string& s) {
  std::vector<int32_t> ids;
  std::string item;
  std::stringstream ss(s);
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    if (used != item.size() || v < 0 || v > INT32_MAX)
      throw ember::Error(ember::ErrorCode::kInvalidArgument, "--ids: not a token id: \"" + item + "\"");
    ids.push_back(int32_t(v));
  }
  if (ids.empty()) throw ember::Error(ember::ErrorCode::kInvalidArgument, "--ids: no token ids given");
  return ids;
}

struct Args {
  std::string model, ids, out, precision = "default", dump;
  int threads = 0;
};

ember::cli::Command logits_cmd("logits", [](CLI::App& app) {
  auto a = std::make_shared<Args>();
  auto* sub = app.add_subcommand("logits", "Write the float32 logits of every position as .npy");
  sub->add_option("model", a->model, "Model directory or .gguf file")->required();
  sub->add_option("--ids", a->ids, "Comma-separated token ids")->required();
  sub->add_option("--out", a->out, "Output .npy path")->required();
  sub->add_option("--precision", a->precision, "f32 (transformers float32 numerics) or default")
      ->check(CLI::IsMember({"f32", "default"}));
  sub->add_option("--dump", a->dump, "Directory for named intermediate activations (.npy each)");
  sub->add_option("-t,--threads", a->threads, "Threads (0 = all cores)");
  return [a] {
    auto ids = parse_ids(a->ids);
    ember::ModelOptions mo;
    mo.threads = a->threads;
    mo.f32_reference = a->precision == "f32";
    mo.context_length = 0;
    auto model = ember::Model::load(a->model, mo);
    auto session = model->new_session();
    std::function<void(const std::string&, const float*, int64_t, int64_t)> dump;
    if (!a->dump.empty()) {
      std::filesystem::create_directories(a->dump);
      dump = [dir = a->dump](const std::string& name, const float* x, int64_t rows, int64_t cols) {
        ember::write_npy_f32(dir + "/" + name + ".npy", x, {rows, cols});
      };
    }
    auto logits = session->logits_all(ids, dump);
    const int64_t V = model->info().vocab_size;
    ember::write_npy_f32(a->out, logits.data(), {int64_t(ids.size()), V});
    std::fprintf(stderr, "wrote %s: [%zu, %lld]\n", a->out.c_str(), ids.size(), (long long)V);
    return 0;
  };
});

}  // namespace
