// The tokenizer and default chat template of a GGUF model file.
#pragma once

#include "io/gguf.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace ember {

// Builds the tokenizer from tokenizer.ggml.* (Tokenizer::from_vocab).
Tokenizer tokenizer_from_gguf(const GgufFile& f);

// The template used when the file has no tokenizer.chat_template: Gemma 3's for
// general.architecture "gemma3", Gemma 4's otherwise.
ChatTemplate builtin_chat_template_for_gguf(const GgufFile& f);

}  // namespace ember
