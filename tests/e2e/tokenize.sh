#!/usr/bin/env bash
# ctest-labels: slow
# (slow: every call loads the 262k-token tokenizer, ~10 s each under ASan.)
# e2e: `ember tokenize` on the real Gemma 3 tokenizer (file and model-dir forms), decode, errors.
# Expected ids were produced with HF tokenizers 0.23.3:
#   Tokenizer.from_file("tokenizer.json").encode(TEXT, add_special_tokens=False).ids
set -euo pipefail
EMBER="$EMBER_BIN/ember"
TOK="$EMBER_SOURCE_DIR/../shared/assets/gemma3-tokenizer/tokenizer.json.gz"
WORK="$EMBER_WORK/tokenize"
rm -rf "$WORK"; mkdir -p "$WORK/model"
fail() { echo "FAIL: $*" >&2; exit 1; }

TEXT=$'<start_of_turn>user\nHi 中文 😀<end_of_turn>\n'
WANT="105 2364 107 10979 17346 237364 163543 106 107"
got=$("$EMBER" tokenize --tokenizer "$TOK" --ids-only "$TEXT")
[ "$got" = "$WANT" ] || fail "ids: got '$got' want '$WANT'"

# Model directory form (plain tokenizer.json) gives the same ids; --bos prepends <bos> (2).
gzip -dc "$TOK" > "$WORK/model/tokenizer.json"
got=$("$EMBER" tokenize "$WORK/model" --ids-only --bos "Hello world")
[ "$got" = "2 9259 1902" ] || fail "model dir: got '$got'"

# Pieces listing.
out=$("$EMBER" tokenize --tokenizer "$TOK" "Hello world")
grep -q $'^9259\tHello$' <<<"$out" || fail "pieces listing: $out"
grep -q $'^1902\t▁world$' <<<"$out" || fail "pieces listing: $out"

# Special-token text as plain text.
got=$("$EMBER" tokenize --tokenizer "$TOK" --ids-only --no-special "<bos>x")
[ "$got" = "236820 46757 236813 236781" ] || fail "--no-special: got '$got'"

# Decode round trip (comma and space separated) and stdin input.
got=$("$EMBER" tokenize --tokenizer "$TOK" --decode "105, 2364 107,10979 17346 237364 163543 106 107")
[ "$got" = "$(printf '%s' "$TEXT")" ] || fail "decode: got '$got'"
got=$("$EMBER" tokenize --tokenizer "$TOK" --decode --skip-special "2,9259,1902")
[ "$got" = "Hello world" ] || fail "decode --skip-special: got '$got'"
got=$(printf 'Hello world' | "$EMBER" tokenize --tokenizer "$TOK" --ids-only -)
[ "$got" = "9259 1902" ] || fail "stdin: got '$got'"

# Errors: non-zero exit and a message naming the problem.
expect_error() {  # expect_error PATTERN CMD...
  local pat=$1; shift
  if "$@" >"$WORK/out" 2>"$WORK/err"; then fail "expected failure: $*"; fi
  grep -q -- "$pat" "$WORK/err" || fail "error for '$*' lacks '$pat': $(cat "$WORK/err")"
}
expect_error "no tokenizer.json" "$EMBER" tokenize "$WORK" "x"
expect_error "cannot open" "$EMBER" tokenize --tokenizer "$WORK/missing.json" "x"
printf '{\n  "model": {"type": "BPE", "vocab": {"a": 0,}}}' > "$WORK/bad.json"
expect_error "bad.json:2:" "$EMBER" tokenize --tokenizer "$WORK/bad.json" "x"
printf '{"model": {"type": "Unigram", "vocab": []}}' > "$WORK/unigram.json"
expect_error 'model type "Unigram" is not supported' "$EMBER" tokenize --tokenizer "$WORK/unigram.json" "x"
expect_error "not a token id" "$EMBER" tokenize --tokenizer "$TOK" --decode "1,abc"
expect_error "out of range" "$EMBER" tokenize --tokenizer "$TOK" --decode "262145"
echo "e2e tokenize: ok"
