#!/usr/bin/env bash
# ctest-labels: slow
# `ember run --image` and the server's image_url parts end to end on the tiny vision fixture
# (tests/fixtures/gemma4_vision: tower + E2B-like text model) with the tiny tokenizer whose unused
# ids 250-252 become <|image>, <|image|>, <image|> (the fixture's config puts the image layout
# there). Checks: the image reaches the prompt (prompt tokens grow by the soft tokens), output is
# deterministic, several images, and bad images give clear errors (CLI exit != 0, HTTP 400).
set -euo pipefail
W="$EMBER_WORK/run_image"; rm -rf "$W"; mkdir -p "$W/model"
F="$EMBER_SOURCE_DIR/tests/fixtures"
V="$F/gemma4_vision"
ln -s "$V"/model/* "$W/model/"
cp "$F"/tiny_tokenizer/tokenizer_config.json "$W/model/"
python3 - "$F/tiny_tokenizer/tokenizer.json" "$W/model/tokenizer.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
names = {249: "<|video|>", 250: "<|image>", 251: "<|image|>", 252: "<image|>"}
vocab = t["model"]["vocab"]
for old in [k for k, i in vocab.items() if i in names]:
    del vocab[old]
for i, n in names.items():
    vocab[n] = i
    t["added_tokens"].append({"id": i, "content": n, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True})
json.dump(t, open(sys.argv[2], "w"))
PY
E="$EMBER_BIN/ember"
fail() { echo "FAIL: $*" >&2; exit 1; }

# One image (budget 70: 63 soft tokens + <|image> + <image|>), greedy, twice.
"$E" run "$W/model" -p "Describe this." --image "$V/photo.png" --image-tokens 70 --temperature 0 -n 6 \
  --stats json -t 2 >"$W/a.txt" 2>"$W/a.err"
"$E" run "$W/model" -p "Describe this." --image "$V/photo.png" --image-tokens 70 --temperature 0 -n 6 \
  --stats none -t 2 >"$W/b.txt"
cmp "$W/a.txt" "$W/b.txt"
"$E" run "$W/model" -p "Describe this." --temperature 0 -n 6 --stats json -t 2 >"$W/t.txt" 2>"$W/t.err"
python3 - "$W/a.err" "$W/t.err" <<'PY'
import json, re, sys
def prompt_tokens(p):
    return json.loads(re.search(r"\{.*\}", open(p).read(), re.S).group(0))["prompt_tokens"]
img, txt = prompt_tokens(sys.argv[1]), prompt_tokens(sys.argv[2])
# The template adds "\n\n<|image|>\n\n": the marker becomes 65 tokens, the newlines are extra text.
assert img - txt >= 65, (img, txt)
PY
# Two images (PNG and JPEG, 63 + 60 soft tokens).
"$E" run "$W/model" -p "Compare." --image "$V/photo.png" --image "$V/photo.jpg" --image-tokens 70 \
  --temperature 0 -n 4 --stats json -t 2 >/dev/null 2>"$W/two.err"
grep -q '"prompt_tokens"' "$W/two.err"

# Bad images: clear messages, non-zero exit.
echo "not an image" >"$W/bad.png"
if "$E" run "$W/model" -p "x" --image "$W/bad.png" -n 2 -t 2 >/dev/null 2>"$W/bad.err"; then fail "text file accepted"; fi
grep -q "bad.png: not a PNG or JPEG" "$W/bad.err" || { cat "$W/bad.err"; fail "message"; }
head -c 300 "$V/photo.png" >"$W/trunc.png"
if "$E" run "$W/model" -p "x" --image "$W/trunc.png" -n 2 -t 2 >/dev/null 2>"$W/trunc.err"; then fail "truncated accepted"; fi
grep -q "trunc.png: corrupt image" "$W/trunc.err" || { cat "$W/trunc.err"; fail "message"; }
if "$E" run "$W/model" -p "x" --image "$W/nope.png" -n 2 -t 2 >/dev/null 2>"$W/nf.err"; then fail "missing accepted"; fi
grep -q "nope.png: cannot open image file" "$W/nf.err" || { cat "$W/nf.err"; fail "message"; }
if "$E" run "$W/model" -p "x" --image "$V/photo.png" --image-tokens 100 -n 2 -t 2 >/dev/null 2>"$W/b.err"; then
  fail "budget 100 accepted"
fi
grep -q "is not one of 70, 140, 280, 560, 1120" "$W/b.err" || { cat "$W/b.err"; fail "message"; }

# Server: OpenAI image_url content parts with data: URLs.
source "$EMBER_SOURCE_DIR/tests/server/run_servers.sh"
start_server img "$W" "$W/model" -t 1 --ctx 512
PYTHONPATH="$EMBER_SOURCE_DIR/tests/server" python3 - "http://127.0.0.1:$PORT_img/v1" "$V/photo.png" <<'PY'
import base64, json, sys, common
base, png = sys.argv[1], open(sys.argv[2], "rb").read()
def ask(parts, **kw):
    body = {"messages": [{"role": "user", "content": parts}], "max_tokens": 4, "temperature": 0}
    body.update(kw)
    return common.http("POST", base + "/chat/completions", body)
url = "data:image/png;base64," + base64.b64encode(png).decode()
st, body = ask([{"type": "text", "text": "Describe this."}, {"type": "image_url", "image_url": {"url": url}}])
assert st == 200, (st, body[:300])
usage = json.loads(body)["usage"]
st2, body2 = ask([{"type": "text", "text": "Describe this."}, {"type": "image_url", "image_url": {"url": url}}])
assert json.loads(body2)["choices"][0]["message"] == json.loads(body)["choices"][0]["message"]
bad = "data:image/png;base64," + base64.b64encode(b"hello").decode()
st, body = ask([{"type": "image_url", "image_url": {"url": bad}}])
assert st == 400 and b"not a PNG or JPEG" in body, (st, body[:300])
st, body = ask([{"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}])
assert st == 400 and b"data: URLs" in body, (st, body[:300])
print("server image_url ok", usage)
PY
echo "run_image: OK"
