#!/usr/bin/env python3
"""Compares `ember tokenize` with HF tokenizers on whole files (a development check; the
committed regression test is tests/unit/tokenizer_test.cc on the fixture corpus).

    python3 tools/check_tokenizer_parity.py [--tokenizer TOKENIZER_JSON[.gz]] [--ember build/bin/ember] FILE...

Each file's raw bytes go to ember on stdin; HF gets bytes.decode("utf-8", "replace"). Prints the
first differing token position per file and exits non-zero on any mismatch.
"""
import argparse
import gzip
import os
import subprocess
import sys

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", default=os.path.join(ROOT, "..", "shared", "assets", "gemma3-tokenizer",
                                                        "tokenizer.json.gz"))
    ap.add_argument("--ember", default=os.path.join(ROOT, "build", "bin", "ember"))
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    raw = open(args.tokenizer, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    tk = Tokenizer.from_str(raw.decode("utf-8"))
    bad = 0
    total_bytes = total_tokens = 0
    for path in args.files:
        data = open(path, "rb").read()
        want = tk.encode(data.decode("utf-8", "replace"), add_special_tokens=False).ids
        out = subprocess.run([args.ember, "tokenize", "--tokenizer", args.tokenizer, "--ids-only", "-"],
                             input=data, capture_output=True, check=True).stdout
        got = [int(x) for x in out.split()]
        total_bytes += len(data)
        total_tokens += len(want)
        if got != want:
            bad += 1
            i = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
            print(f"MISMATCH {path}: first difference at token {i}: ember {got[i:i + 8]} hf {want[i:i + 8]}"
                  f" around {tk.decode(want[max(0, i - 5):i + 5])!r}")
    print(f"{len(args.files) - bad}/{len(args.files)} files identical ({total_bytes} bytes, {total_tokens} tokens)")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
