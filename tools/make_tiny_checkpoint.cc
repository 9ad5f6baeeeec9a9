// Writes a tiny random Gemma 4 checkpoint (config.json, generation_config.json, safetensors)
// in any layout the loader accepts. Used by `make demo` and the e2e tests.
//   make_tiny_checkpoint OUT_DIR [--layout hf|hf-text|mlx|mlx-text] [--quant none|4|8|mixed]
//     [--group 32|64] [--dtype bf16|f32] [--moe] [--k-eq-v] [--no-ple] [--kv-shared N]
//     [--no-shared-kv] [--ple-proj-dense] [--untied] [--double-wide] [--no-towers] [--sharded] [--seed N]
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "util/checkpoint_writer.h"

namespace {
int usage() {
  std::fprintf(
      stderr,
      "usage: make_tiny_checkpoint OUT_DIR [--layout hf|hf-text|mlx|mlx-text] [--quant none|4|8|mixed]\n"
      "  [--group 32|64] [--dtype bf16|f32] [--moe] [--k-eq-v] [--no-ple] [--kv-shared N] [--no-shared-kv]\n"
      "  [--ple-proj-dense] [--untied] [--double-wide] [--no-towers] [--sharded] [--seed N]\n");
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  using namespace ember::testing;
  if (argc < 2 || argv[1][0] == '-') return usage();
  const std::string out = argv[1];
  TinyCheckpointSpec s;
  try {
    for (int i = 2; i < argc; ++i) {
      const std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--layout") {
        std::string v = next();
        if (v == "hf")
          s.layout = CkptLayout::kHf;
        else if (v == "hf-text")
          s.layout = CkptLayout::kHfText;
        else if (v == "mlx")
          s.layout = CkptLayout::kMlx;
        else if (v == "mlx-text")
          s.layout = CkptLayout::kMlxText;
        else
          throw std::invalid_argument("unknown layout " + v);
      } else if (a == "--quant") {
        std::string v = next();
        if (v == "none")
          s.bits = 0;
        else if (v == "4")
          s.bits = 4;
        else if (v == "8")
          s.bits = 8;
        else if (v == "mixed")
          s.bits = 4, s.mixed = true;
        else
          throw std::invalid_argument("unknown quant " + v);
      } else if (a == "--group") {
        s.group_size = std::stoi(next());
      } else if (a == "--dtype") {
        std::string v = next();
        if (v == "bf16")
          s.dtype = ember::DType::BF16;
        else if (v == "f32")
          s.dtype = ember::DType::F32;
        else
          throw std::invalid_argument("unknown dtype " + v);
      } else if (a == "--moe") {
        s.moe = true;
      } else if (a == "--k-eq-v") {
        s.k_eq_v = true;
      } else if (a == "--no-ple") {
        s.ple = false;
      } else if (a == "--kv-shared") {
        s.kv_shared_layers = std::stoi(next());
      } else if (a == "--no-shared-kv") {
        s.shared_kv_present = false;
      } else if (a == "--ple-proj-dense") {
        s.quantize_ple_projection = false;
      } else if (a == "--untied") {
        s.tied = false;
      } else if (a == "--double-wide") {
        s.double_wide = true;
      } else if (a == "--no-towers") {
        s.towers = false;
      } else if (a == "--sharded") {
        s.sharded = true;
      } else if (a == "--seed") {
        s.seed = uint32_t(std::stoul(next()));
      } else {
        throw std::invalid_argument("unknown option " + a);
      }
    }
    write_checkpoint(out, make_tiny_checkpoint(s), s.sharded);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_tiny_checkpoint: %s\n", e.what());
    return usage();
  }
  std::printf("wrote %s checkpoint to %s\n", ckpt_layout_name(s.layout), out.c_str());
  return 0;
}
