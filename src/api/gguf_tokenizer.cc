#include "api/gguf_tokenizer.h"

namespace ember {

Tokenizer tokenizer_from_gguf(const GgufFile& f) {
  GgufTokenizerData d = gguf_tokenizer_data(f);
  VocabData v;
  v.model = d.model;
  v.tokens = std::move(d.tokens);
  v.scores = std::move(d.scores);
  v.token_types = std::move(d.token_type);
  v.merges = std::move(d.merges);
  v.bos_id = int32_t(d.bos_id);
  v.eos_id = int32_t(d.eos_id);
  v.pad_id = int32_t(d.pad_id);
  v.unk_id = int32_t(d.unk_id);
  v.add_bos = d.add_bos.value_or(true);
  // llama.cpp's default for "llama" vocabularies when the key is absent is true.
  v.add_space_prefix = v.model == "llama" && d.add_space_prefix.value_or(true);
  return Tokenizer::from_vocab(v);
}

ChatTemplate builtin_chat_template_for_gguf(const GgufFile& f) {
  if (f.opt_string("general.architecture").value_or("") == "gemma3") return ChatTemplate::builtin_gemma3();
  return ChatTemplate::builtin_gemma4();
}

}  // namespace ember
