#!/usr/bin/env bash
# End to end: `ember template` renders conversations exactly as transformers' apply_chat_template
# (expected prompts come from tests/fixtures/templates/chat_cases.json), from a model directory or
# a template file, and reports broken templates with file, line and column.
set -euo pipefail
: "${EMBER_BIN:?}" "${EMBER_SOURCE_DIR:?}" "${EMBER_WORK:?}"
ember="$EMBER_BIN/ember"
work="$EMBER_WORK/template"
rm -rf "$work" && mkdir -p "$work/model" "$work/g3model"
asset="$EMBER_SOURCE_DIR/../shared/assets/gemma4-chat-template/chat_template.jinja"
cases="$EMBER_SOURCE_DIR/tests/fixtures/templates/chat_cases.json"

# Writes <name>.json (the conversation, with the tokenizer's special tokens as kwargs) and
# <name>.expected for each fixture case; prints the names of cases with an expected output.
python3 - "$cases" "$work" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
open(sys.argv[2] + "/g3model/tokenizer_config.json", "w").write(
    json.dumps({"bos_token": "<bos>", "eos_token": "<end_of_turn>", "chat_template": doc["gemma3_template"]}))
for c in doc["cases"]:
    if "expected" not in c:
        continue
    conv = dict(c["conversation"])
    conv["kwargs"] = {**c["special_tokens"], **conv.get("kwargs", {})}
    json.dump(conv, open(f"{sys.argv[2]}/{c['name']}.json", "w", encoding="utf-8"), ensure_ascii=False)
    open(f"{sys.argv[2]}/{c['name']}.expected", "w", encoding="utf-8", newline="").write(c["expected"])
PY

cp "$asset" "$work/model/chat_template.jinja"
n=0
for exp in "$work"/g4_*.expected; do
  name=$(basename "$exp" .expected)
  "$ember" template "$work/model" --input "$work/$name.json" > "$work/$name.out"
  cmp "$work/$name.out" "$exp" || { echo "FAIL: $name (model dir) differs"; diff <(cat -A "$exp") <(cat -A "$work/$name.out") | head; exit 1; }
  "$ember" template --template "$asset" --input "$work/$name.json" > "$work/$name.out2"
  cmp "$work/$name.out2" "$exp" || { echo "FAIL: $name (--template) differs"; exit 1; }
  n=$((n + 1))
done
for exp in "$work"/g3_*.expected; do
  name=$(basename "$exp" .expected)
  "$ember" template "$work/g3model" --input "$work/$name.json" > "$work/$name.out"
  cmp "$work/$name.out" "$exp" || { echo "FAIL: $name (tokenizer_config.json) differs"; exit 1; }
  n=$((n + 1))
done
echo "template: $n conversations byte-identical to transformers"

# A model directory without any template uses the built-in Gemma 4 template.
mkdir -p "$work/empty"
"$ember" template "$work/empty" --input "$work/g4_single_user.json" | cmp - "$work/g4_single_user.expected"

# Defaults: add_generation_prompt is true when the conversation omits it.
echo '{"messages":[{"role":"user","content":"Hello!"}]}' > "$work/minimal.json"
"$ember" template --template "$asset" --input "$work/minimal.json" | cmp - "$work/g4_single_user.expected"

# Errors: broken template (file, line, column), bad conversation JSON, missing input.
printf 'ok\n{%% for x in %%}\n' > "$work/broken.jinja"
if "$ember" template --template "$work/broken.jinja" --input "$work/minimal.json" 2> "$work/err.txt"; then
  echo "FAIL: broken template accepted"; exit 1
fi
grep -q "broken.jinja" "$work/err.txt" && grep -q "line 2, column" "$work/err.txt" || { cat "$work/err.txt"; exit 1; }
echo '{"messages": 5}' > "$work/bad.json"
if "$ember" template --template "$asset" --input "$work/bad.json" 2> "$work/err2.txt"; then
  echo "FAIL: bad conversation accepted"; exit 1
fi
grep -q "messages" "$work/err2.txt" || { cat "$work/err2.txt"; exit 1; }
if "$ember" template --template "$asset" --input "$work/does-not-exist.json" 2>/dev/null; then
  echo "FAIL: missing input accepted"; exit 1
fi
echo "template: OK"
