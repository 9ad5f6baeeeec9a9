#!/usr/bin/env python3
"""Differential check of ember's Jinja subset against transformers' chat-template environment.

Renders every file of a directory (e.g. a libFuzzer corpus of tests/fuzz/fuzz_jinja) as a template
with a fixed conversation, once with transformers and once with `ember template`, and lists the
inputs where the outputs differ or only one of them fails. Not run by CI (needs transformers).

  ./build-fuzz/bin/fuzz_jinja -only_ascii=1 -max_total_time=120 /tmp/corpus tests/fuzz/corpus/fuzz_jinja
  python3 tools/jinja_differential.py build/bin/ember /tmp/corpus
"""
import json
import os
import signal
import subprocess
import sys
import tempfile

from transformers.utils.chat_template_utils import _compile_jinja_template

CONVERSATION = {
    "messages": [
        {"role": "system", "content": "  Be brief. "},
        {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "image"}]},
        {"role": "assistant", "content": "<|channel>thought\nx<channel|>Hello", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": {"a": [1, 2.5, True, None, {"b": "c"}]}}}]},
        {"role": "tool", "tool_responses": [{"name": "f", "response": {"ok": True}}]}],
    "tools": [{"type": "function", "function": {"name": "f", "description": "d", "parameters": {
        "type": "object", "properties": {"a": {"type": "array", "items": {"type": "string"}}}}}}],
    "add_generation_prompt": True, "enable_thinking": False,
    "kwargs": {"bos_token": "<bos>", "eos_token": "<eos>"},
}


class Timeout(Exception):
    pass


def on_alarm(*_):
    raise Timeout()


def main():
    ember, corpus = sys.argv[1], sys.argv[2]
    conv_path = os.path.join(tempfile.mkdtemp(), "conversation.json")
    json.dump(CONVERSATION, open(conv_path, "w"))
    c = CONVERSATION
    variables = dict(messages=c["messages"], tools=c["tools"], documents=None, add_generation_prompt=True,
                     enable_thinking=False, **c["kwargs"])
    signal.signal(signal.SIGALRM, on_alarm)
    compared = mismatches = skipped = 0
    for name in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, name)
        try:
            src = open(path, "rb").read().decode("utf-8")
        except UnicodeDecodeError:
            skipped += 1
            continue
        signal.alarm(3)
        try:
            ref, ref_err = _compile_jinja_template(src).render(**variables), None
        except (Timeout, RecursionError):
            skipped += 1
            continue
        except Exception as e:  # the reference failed: ember must fail too
            ref, ref_err = None, f"{type(e).__name__}: {e}"
        finally:
            signal.alarm(0)
        r = subprocess.run([ember, "template", "--template", path, "--input", conv_path], capture_output=True)
        compared += 1
        mine = r.stdout.decode("utf-8", "replace") if r.returncode == 0 else None
        if (ref is None) != (mine is None) or (ref is not None and ref != mine):
            mismatches += 1
            print("=== ", name, repr(src[:300]))
            print("  ref :", repr(ref)[:300] if ref is not None else ref_err[:300])
            print("  mine:", repr(mine)[:300] if mine is not None else r.stderr.decode("utf-8", "replace")[:300])
    print(f"compared {compared}, mismatches {mismatches}, skipped {skipped}")


if __name__ == "__main__":
    main()
