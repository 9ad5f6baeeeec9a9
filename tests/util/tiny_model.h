// A runnable tiny model directory for API/CLI tests: a golden fixture's weights and config
// plus the tiny Gemma-style tokenizer (tests/fixtures/gemma4/tiny_tokenizer).
#pragma once

#include <string>

namespace ember::testing {

// Creates (once per process) a directory with symlinks to tests/fixtures/gemma4/<fixture>/*
// and the tiny tokenizer files; returns its path.
std::string tiny_model_dir(const std::string& fixture = "hf_text_e2b_bf16");

}  // namespace ember::testing
