// The built-in Gemma 3 chat template (kept apart from chat_template.cc; the source string is
// generated into gemma3_chat_template_data.cc by tools/embed_chat_template.py).
#include "text/chat_template.h"

namespace ember {

ChatTemplate ChatTemplate::builtin_gemma3() {
  return ChatTemplate(builtin_gemma3_chat_template(), "built-in Gemma 3 chat template");
}

}  // namespace ember
