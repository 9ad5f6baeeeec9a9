// ember tokenize (MODEL_DIR | MODEL.gguf | --tokenizer FILE) [--ids-only] [--decode] TEXT
//
// Encodes TEXT and prints one "id<TAB>piece" line per token (pieces escaped), or with
// --ids-only the ids on one line; with --decode, TEXT is a list of ids separated by commas
// and/or spaces and the decoded text is printed. TEXT "-" reads standard input.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "command.h"
#include "ember/text.hpp"

namespace {

struct Options {
  std::vector<std::string> args;
  std::string tokenizer_file;
  bool ids_only = false;
  bool decode = false;
  bool add_bos = false;
  bool no_special = false;
  bool skip_special = false;
};

// Shows control characters and backslashes as escapes so every piece fits on one line.
std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\\':
        out += "\\\\";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02X", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  return out;
}

ember::Error out_of_range(int64_t id, size_t vocab_size) {
  return ember::Error(ember::ErrorCode::kInvalidArgument, "--decode: id " + std::to_string(id) +
                                                              " is out of range (vocabulary size " +
                                                              std::to_string(vocab_size) + ")");
}

// Ids separated by commas/spaces (brackets allowed, so a JSON list works too).
std::vector<int32_t> parse_ids(const std::string& text, size_t vocab_size) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '[' || c == ']') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    if (j == i || j - i > 9) {
      size_t end = text.find_first_of(", \t\n", i);
      throw ember::Error(ember::ErrorCode::kInvalidArgument,
                         "--decode: \"" + text.substr(i, end - i) + "\" at offset " + std::to_string(i) +
                             " is not a token id (expected ids separated by commas or spaces)");
    }
    int64_t id = std::stoll(text.substr(i, j - i));
    if (static_cast<size_t>(id) >= vocab_size) throw out_of_range(id, vocab_size);
    ids.push_back(static_cast<int32_t>(id));
    i = j;
  }
  return ids;
}

int run(const Options& o) {
  std::string source, text;
  if (!o.tokenizer_file.empty()) {
    if (o.args.size() != 1)
      throw ember::Error(ember::ErrorCode::kInvalidArgument, "expected exactly one TEXT argument");
    source = o.tokenizer_file;
    text = o.args[0];
  } else {
    if (o.args.size() != 2) {
      throw ember::Error(ember::ErrorCode::kInvalidArgument,
                         "expected MODEL_DIR TEXT (or --tokenizer FILE TEXT)");
    }
    source = o.args[0];
    text = o.args[1];
  }
  if (text == "-") text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  std::vector<int32_t> to_decode;
  if (o.decode) to_decode = parse_ids(text, SIZE_MAX);  // syntax errors before the slow load
  // A .gguf file carries its vocabulary (tokenizer.ggml.*); anything else is tokenizer.json or a model dir.
  const ember::TextTokenizer tok = ember::TextTokenizer::load(source);
  if (o.decode) {
    for (int32_t id : to_decode)
      if (static_cast<size_t>(id) >= tok.vocab_size()) throw out_of_range(id, tok.vocab_size());
    std::string out = tok.decode(to_decode, o.skip_special);
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  std::vector<int32_t> ids = tok.encode(text, o.add_bos, !o.no_special);
  if (o.ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
    std::printf("\n");
    return 0;
  }
  for (int32_t id : ids) std::printf("%d\t%s\n", id, escape(tok.piece(id)).c_str());
  std::printf("# %zu tokens, %zu bytes\n", ids.size(), text.size());
  return 0;
}

ember::cli::Command tokenize_cmd("tokenize", [](CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* sub = app.add_subcommand("tokenize", "Encode text to token ids (or decode ids with --decode)");
  sub->add_option("args", o->args,
                  "MODEL_DIR (or MODEL.gguf) TEXT, or TEXT with --tokenizer (TEXT '-' reads stdin)")
      ->required();
  sub->add_option("--tokenizer", o->tokenizer_file,
                  "tokenizer.json (or .json.gz) to use instead of MODEL_DIR");
  sub->add_flag("--ids-only", o->ids_only, "print only the ids, space separated");
  sub->add_flag("--decode", o->decode,
                "TEXT is a list of ids (comma/space separated): print the decoded text");
  sub->add_flag("--bos", o->add_bos, "prepend the BOS token");
  sub->add_flag("--no-special", o->no_special, "treat special-token text like <bos> as plain text");
  sub->add_flag("--skip-special", o->skip_special, "with --decode: leave special tokens out");
  return [o] { return run(*o); };
});

}  // namespace
