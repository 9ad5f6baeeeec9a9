#!/usr/bin/env python3
"""Writes tests/fixtures/chat/gemma3_chat.json: conversations rendered by transformers'
apply_chat_template with the Gemma 3 chat template (tokenizer_config.json asset).

Command (from the repo root):
  python3 tools/gen_gemma3_chat_fixture.py ../shared/assets/gemma3-tokenizer tests/fixtures/chat/gemma3_chat.json
"""
import gzip
import json
import os
import shutil
import sys
import tempfile

from transformers import PreTrainedTokenizerFast

asset, dst = sys.argv[1], sys.argv[2]
cfg = json.load(gzip.open(os.path.join(asset, "tokenizer_config.json.gz")))
tmp = tempfile.mkdtemp()
with gzip.open(os.path.join(asset, "tokenizer.json.gz")) as f, open(os.path.join(tmp, "tokenizer.json"), "wb") as g:
    shutil.copyfileobj(f, g)
tok = PreTrainedTokenizerFast(tokenizer_file=os.path.join(tmp, "tokenizer.json"), bos_token="<bos>", eos_token="<eos>")
tok.chat_template = cfg["chat_template"]
convs = [
    ([{"role": "user", "content": "What is the capital of France?"}], True),
    ([{"role": "system", "content": "You are terse."},
      {"role": "user", "content": "  Hi there!\n"},
      {"role": "assistant", "content": "Hello."},
      {"role": "user", "content": "Name a colour."}], True),
    ([{"role": "user", "content": [{"type": "text", "text": "Describe"}, {"type": "image"}]},
      {"role": "assistant", "content": "A cat."}], False),
]
cases = [{"messages": m, "add_generation_prompt": g,
          "expected": tok.apply_chat_template(m, tokenize=False, add_generation_prompt=g)} for m, g in convs]
with open(dst, "w", encoding="utf-8") as f:
    json.dump(cases, f, ensure_ascii=False, indent=1)
    f.write("\n")
shutil.rmtree(tmp)
