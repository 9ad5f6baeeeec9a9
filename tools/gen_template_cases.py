#!/usr/bin/env python3
"""Generates the chat-template parity fixtures under tests/fixtures/templates/ with transformers.

  chat_cases.json   {"gemma3_template": the Gemma 3 template text, "cases": [...]}: conversations rendered with tokenizer.apply_chat_template(tokenize=False) on the
                    real Gemma 3 tokenizer (../shared/assets/gemma3-tokenizer), once with its own
                    Gemma 3 template and once with the Gemma 4 template
                    (../shared/assets/gemma4-chat-template) passed as chat_template=.
  jinja_cases.json  small templates rendered in transformers' chat-template Jinja environment
                    (trim_blocks, lstrip_blocks, its tojson/raise_exception/namespace), one per
                    language feature, to pin down the Jinja subset.

Each case holds the inputs, the template variables transformers passed (the tokenizer's special
tokens map), and either "expected" (the exact output) or "error" (the message transformers raised).

Command (from the repo root; needs transformers 5.x and jinja2, not needed by CI):
  python3 tools/gen_template_cases.py ../shared tests/fixtures/templates
"""
import gzip
import json
import os
import sys
import tempfile

from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import _compile_jinja_template

from template_case_data import CHAT_CASES, JINJA_CASES


def load_gemma3_tokenizer(shared):
    tmp = tempfile.mkdtemp(prefix="ember-g3tok-")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        with gzip.open(os.path.join(shared, "assets/gemma3-tokenizer", name + ".gz"), "rb") as f:
            open(os.path.join(tmp, name), "wb").write(f.read())
    return AutoTokenizer.from_pretrained(tmp)


def render_chat(tok, template, case):
    kwargs = dict(case.get("kwargs", {}))
    if "enable_thinking" in case:
        kwargs["enable_thinking"] = case["enable_thinking"]
    return tok.apply_chat_template(
        case["messages"],
        tools=case.get("tools"),
        documents=case.get("documents"),
        chat_template=template,
        add_generation_prompt=case.get("add_generation_prompt", True),
        tokenize=False,
        **kwargs,
    )


def main():
    shared, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    tok = load_gemma3_tokenizer(shared)
    templates = {
        "gemma3": tok.chat_template,
        "gemma4": open(os.path.join(shared, "assets/gemma4-chat-template/chat_template.jinja")).read(),
    }
    chat_out = []
    for case in CHAT_CASES:
        entry = {"name": case["name"], "template": case["template"], "special_tokens": tok.special_tokens_map}
        entry["conversation"] = {k: v for k, v in case.items() if k not in ("name", "template")}
        entry["conversation"].setdefault("add_generation_prompt", True)
        try:
            entry["expected"] = render_chat(tok, templates[case["template"]], case)
        except Exception as e:  # the reference's error message, matched as a substring
            entry["error"] = str(e)
        chat_out.append(entry)
    jinja_out = []
    for name, source, context in JINJA_CASES:
        entry = {"name": name, "template": source, "context": context}
        try:
            entry["expected"] = _compile_jinja_template(source).render(**context)
        except Exception as e:
            entry["error"] = str(e)
            entry["error_type"] = type(e).__name__
            if getattr(e, "lineno", None):
                entry["error_line"] = e.lineno
        jinja_out.append(entry)
    chat_doc = {"gemma3_template": templates["gemma3"], "cases": chat_out}
    for fname, data in (("chat_cases.json", chat_doc), ("jinja_cases.json", jinja_out)):
        with open(os.path.join(out_dir, fname), "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False, indent=1)
            f.write("\n")
    print(f"wrote {len(chat_out)} chat cases and {len(jinja_out)} jinja cases to {out_dir}")


if __name__ == "__main__":
    main()
