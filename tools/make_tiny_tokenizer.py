#!/usr/bin/env python3
"""Writes a tiny Gemma-style tokenizer.json (256 ids) for the tiny random fixture models, so the
CLI (run/chat/serve) can be tested end to end on them. Same machinery as Gemma's real tokenizer
(BPE over characters, U+2581 for spaces, Replace/ByteFallback/Fuse decoder), Gemma 4's special
tokens at their real ids (<|turn> 105, <turn|> 106, <|channel> 100, ...).

    python3 tools/make_tiny_tokenizer.py --out tests/fixtures/tiny_tokenizer
"""
import argparse
import json
import os

from tokenizers import Tokenizer, decoders, models, normalizers

SPECIAL = {0: "<pad>", 1: "<eos>", 2: "<bos>", 3: "<unk>", 46: "<|tool>", 47: "<tool|>",
           48: "<|tool_call>", 49: "<tool_call|>", 50: "<|tool_response>", 51: "<tool_response|>",
           52: '<|"|>', 98: "<|think|>", 100: "<|channel>", 101: "<channel|>", 105: "<|turn>",
           106: "<turn|>"}
VOCAB_SIZE = 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    chars = ["\u2581", "\n"] + [chr(c) for c in range(33, 127)]
    merges_wanted = ["\u2581t", "he", "\u2581a", "in", "er", "an", "on", "\u2581the", "re", "at", "en",
                     "nd", "\u2581s", "or", "is", "it", "ou", "\u2581w", "es", "ed", "\u2581o", "ar",
                     "\u2581i", "ing", "\u2581c", "\u2581b", "\u2581f", "\u2581m", "\u2581p", "al", "le",
                     "\u2581d", "as", "\u2581h", "ll", "\u2581in", "\u2581to", "\u2581of", "\u2581and",
                     "\u2581is", "\u2581Paris", "\u2581capital", "\u2581France", "\u2581What"]
    vocab = {}
    free = [i for i in range(VOCAB_SIZE) if i not in SPECIAL]
    for i, s in SPECIAL.items():
        vocab[s] = i
    it = iter(free)
    for c in chars:
        vocab[c] = next(it)
    merges = []
    for m in merges_wanted:
        # Decompose into an existing pair: longest known prefix + rest.
        for k in range(len(m) - 1, 0, -1):
            a, b = m[:k], m[k:]
            if a in vocab and b in vocab and m not in vocab:
                merges.append((a, b))
                vocab[m] = next(it)
                break
    for i in it:  # unused ids get inert placeholder tokens
        vocab[f"<unused{i}>"] = i
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.decoder = decoders.Sequence([decoders.Replace("\u2581", " "), decoders.ByteFallback(), decoders.Fuse()])
    tok.add_special_tokens(list(SPECIAL.values()))
    os.makedirs(args.out, exist_ok=True)
    tok.save(os.path.join(args.out, "tokenizer.json"))
    cfg = {"bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>", "unk_token": "<unk>",
           "add_bos_token": False, "model_max_length": 4096}
    with open(os.path.join(args.out, "tokenizer_config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    enc = tok.encode("<bos><|turn>user\nWhat is the capital of France?<turn|>\n")
    print("ids", enc.ids)
    print("decode", repr(tok.decode(enc.ids, skip_special_tokens=False)))


if __name__ == "__main__":
    main()
