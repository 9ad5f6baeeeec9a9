#include "text/detokenizer.h"

namespace ember {

Detokenizer::Detokenizer(const Tokenizer& tokenizer, bool skip_special)
    : tok_(&tokenizer), skip_special_(skip_special), stream_(tokenizer.make_decode_stream()) {}

std::string Detokenizer::push(int32_t id) {
  std::string out;
  if (skip_special_ && tok_->is_special(id)) return out;
  std::string piece = tok_->token_to_piece(id);
  if (piece.empty()) return out;  // out-of-range ids are dropped, as in decode()
  stream_->push(piece, out);
  return out;
}

std::string Detokenizer::finish() {
  std::string out;
  stream_->finish(out);
  return out;
}

void Detokenizer::reset() { stream_ = tok_->make_decode_stream(); }

}  // namespace ember
