#!/usr/bin/env python3
"""Builds the tokenizer parity fixtures with the reference HF `tokenizers` package.

    python3 tools/gen_tokenizer_corpus.py [--only gemma3|gemma4|tiny]   # from the repository root

Reads ../shared/assets/gemma3-tokenizer/tokenizer.json.gz and writes
  tests/fixtures/tokenizer/corpus.jsonl.gz         Gemma 3 tokenizer: encode + decode cases
  tests/fixtures/tokenizer/corpus_gemma4.jsonl.gz  Gemma 4 special-token variant (see RENAMES)
  tests/fixtures/tokenizer/tiny_variants.jsonl.gz  small trained tokenizers exercising the
      pipeline features Gemma's file does not use (Prepend, Split behaviours, Strip, no decoder,
      unknown-token fusing, lstrip/rstrip/single_word/normalized added tokens); one line each:
      {"name", "tokenizer": <tokenizer.json text>, "cases": [...]}

Each line is one case:
  {"kind", "text" | "raw_b64", "add_bos", "parse_special", "ids", "decoded", "decoded_skip"}
  encode cases: ids = encode(text); decoded = decode(ids); decoded_skip = decode(ids, skip special)
  {"kind": "decode", "ids", "decoded", "decoded_skip"}: decode-only cases (random ids).
"raw_b64" cases hold random bytes; the reference input is bytes.decode("utf-8", "replace").
The Gemma 4 file starts with {"renames": [[old, new, special], ...]}: the test derives the
variant tokenizer.json from the Gemma 3 one with exactly the same text edit as make_gemma4_json.
"""
import base64
import gzip
import json
import os
import random
import sys

from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ASSET = os.path.join(ROOT, "..", "shared", "assets", "gemma3-tokenizer", "tokenizer.json.gz")
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "tokenizer")

# Gemma 4 special tokens (reference/gemma4-text.md §6.2): [Gemma 3 content, Gemma 4 content, special].
# All are special in Gemma 4's tokenizer.json (third-party test fixtures of the real file show
# e.g. <|tool_response>, <|channel>, <|"|> with "special": true).
RENAMES = [
    ["<unused40>", "<|tool>", True], ["<unused41>", "<tool|>", True],
    ["<unused42>", "<|tool_call>", True], ["<unused43>", "<tool_call|>", True],
    ["<unused44>", "<|tool_response>", True], ["<unused45>", "<tool_response|>", True],
    ["<unused46>", '<|"|>', True], ["<unused92>", "<|think|>", True],
    ["<unused94>", "<|channel>", True], ["<unused95>", "<channel|>", True],
    ["<start_of_turn>", "<|turn>", True], ["<end_of_turn>", "<turn|>", True],
    ["<start_of_image>", "<|image>", True], ["<end_of_image>", "<|audio>", True],
    ["<unused2978>", "<|image|>", True], ["<unused2979>", "<|audio|>", True],
    ["<unused2980>", "<image|>", True], ["<unused2981>", "<audio|>", True],
    ["<unused2982>", "<|video|>", True],
]


def make_gemma4_json(text, renames):
    """Renames tokens by editing the JSON text (the C++ test does the identical edit)."""
    for old, new, special in renames:
        new_q = json.dumps(new)  # quoted and escaped, e.g. "<|\"|>"
        text = text.replace(json.dumps(old), new_q)
        if special:
            at = text.index('"content": ' + new_q)
            flag = text.index('"special": false', at)
            stop = text.index("}", at)
            if flag < stop:
                text = text[:flag] + '"special": true' + text[flag + len('"special": false'):]
    return text


MULTILINGUAL = [
    "Hello, world! How are you today?",
    "The quick brown fox jumps over the lazy dog.",
    "Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich.",
    "Portez ce vieux whisky au juge blond qui fume — c'est l'été à Paris.",
    "El pingüino Wenceslao hizo kilómetros bajo exhaustiva lluvia y frío, añoraba a su querido cachorro.",
    "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر ومغلف بجلد أزرق",
    "דג סקרן שט בים מאוכזב ולפתע מצא חברה",
    "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले विष्णुवतार भगवान श्रीराम",
    "เป็นมนุษย์สุดประเสริฐเลิศคุณค่า กว่าบรรดาฝูงสัตว์เดรัจฉาน",
    "いろはにほへと ちりぬるを わかよたれそ つねならむ うゐのおくやま けふこえて",
    "我能吞下玻璃而不伤身体。中华人民共和国成立于1949年10月1日。",
    "다람쥐 헌 쳇바퀴에 타고파. 한국어 텍스트 토큰화 테스트입니다.",
    "Tiếng Việt có dấu: Người ta thường nói rằng học, học nữa, học mãi.",
    "Pijamalı hasta yağız şoföre çabucak güvendi.",
    "Árvíztűrő tükörfúrógép. Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "ქართული ენა, Հայերեն լեզու, ᏣᎳᎩ ᎦᏬᏂᎯᏍᏗ, ⵜⴰⵎⴰⵣⵉⵖⵜ",
    "Mathematics: ∀x ∈ ℝ, ∃y: y² = x ⇒ x ≥ 0; ∫₀^∞ e^{-x²} dx = √π/2 ≈ 0.8862",
    "Currency: $100, €200, £300, ¥400, ₹500, ₿0.01 — prices ±5%",
]

EMOJI = [
    "😀😃😄😁😆😅🤣😂🙂🙃",
    "👨‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag, 🧑🏿‍🚀 astronaut",
    "🇺🇸🇫🇷🇯🇵🇩🇪 flags and keycaps 1️⃣2️⃣#️⃣*️⃣",
    "👍🏻👍🏼👍🏽👍🏾👍🏿 skin tones",
    "❤️‍🔥 ❤️‍🩹 🐻‍❄️ 😶‍🌫️ 🫠🫡🫥🪿🪼",
    "I love pizza 🍕 and sushi 🍣!! 🎉🎉🎉",
]

CODE = [
    'def f(x):\n    return x ** 2  # square\n\nprint(f(3))\n',
    '#include <stdio.h>\nint main(void) {\n\tprintf("hi\\n");\n\treturn 0;\n}\n',
    '{"name": "ember", "version": [0, 1], "nested": {"a": null, "b": true}}',
    '<html><body><div class="x"><b>bold</b> <i>it</i> <table><tr><td>1</td></tr></table></div></body></html>',
    'SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;',
    'fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!("{:?}", v);\n}\n',
    '$ ls -la /usr/local/bin | grep -E "^d" && echo "done" > /tmp/log.txt 2>&1',
    '    \t  mixed indentation\n\t\t\ttabs\n        spaces\n',
    'https://example.com/path?query=1&x=%20y#frag user@example.org 192.168.0.1:8080',
]

SPECIAL = [
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n4<end_of_turn>\n",
    "<bos><start_of_turn>user\nhi<end_of_turn>",
    "<bos><bos><eos><pad><unk><mask>[multimodal]",
    "text<unused0>more<unused123>end<unused6241>",
    "<start_of_image><image_soft_token><image_soft_token><end_of_image>",
    "<start_of_tur <end_of_turn <<bos>> <bos <eos>> </s> <s>",
    "  <start_of_turn>  spaced  <end_of_turn>  ",
    "<b>bold</b><strong>x</strong><h1>T</h1><code>c</code>",
    "▁literal▁metaspace▁▁chars ▁ ▁▁",
]


def whitespace_cases():
    out = []
    for n in [1, 2, 3, 5, 8, 15, 16, 30, 31, 32, 33, 40, 63, 70]:
        out += [" " * n, "\n" * n, "\t" * n, "a" + " " * n + "b", "x" + "\n" * n + "y"]
    out += ["\r\n", "\r\n\r\n", "a\r\nb", " \n \n ", "\n \n\t\n", "  leading", "trailing  ", " ", "",
            "a \t b \n c", "\u00a0nbsp\u00a0", "\u3000ideographic\u3000space", "\u2028\u2029", "\n\n\n\n\n\n\n\n\n\n"]
    return out


def control_cases():
    s = "".join(chr(c) for c in range(0, 32)) + "\x7f\x80\x85\x9f"
    return [s, "a\x00b\x00c", "\ufeffBOM", "zero\u200bwidth\u200c\u200djoiners", "rtl \u202eevil\u202c text",
            "\ufffd replacement \ufffd\ufffd", "\U0010fffd private \ue000", "combining e\u0301 a\u0308 n\u0303"]


def random_unicode(rng, n):
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x52f), (0x590, 0x6ff), (0x900, 0xdff), (0xe00, 0xeff),
              (0x1100, 0x11ff), (0x2000, 0x2bff), (0x3000, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3),
              (0xe000, 0xf8ff), (0xf900, 0xfffd), (0x10000, 0x1ffff), (0x1f300, 0x1faff), (0x20000, 0x2fa1f),
              (0xe0000, 0xe007f), (0xf0000, 0x10ffff), (0, 0x1f)]
    chars = []
    for _ in range(n):
        if rng.random() < 0.15:
            chars.append(rng.choice(" \n\t"))
            continue
        lo, hi = rng.choice(ranges)
        c = rng.randint(lo, hi)
        if 0xd800 <= c <= 0xdfff:
            c = 0xfffd
        chars.append(chr(c))
    return "".join(chars)


def vocab_soup(rng, pieces, n):
    return "".join(rng.choice(pieces) for _ in range(n)).replace("\u2581", " ")


def long_text(rng):
    parts = MULTILINGUAL + CODE + EMOJI + SPECIAL[:2]
    return "\n\n".join(rng.choice(parts) for _ in range(400))


def encode_case(tk, kind, text, add_bos=False, parse_special=True, raw=None):
    tk.encode_special_tokens = not parse_special
    ids = tk.encode(text, add_special_tokens=add_bos).ids
    tk.encode_special_tokens = False
    case = {"kind": kind, "add_bos": add_bos, "parse_special": parse_special}
    if raw is not None:
        case["raw_b64"] = base64.b64encode(raw).decode()
    else:
        case["text"] = text
    case["ids"] = ids
    case["decoded"] = tk.decode(ids, skip_special_tokens=False)
    case["decoded_skip"] = tk.decode(ids, skip_special_tokens=True)
    return case


def decode_case(tk, ids):
    return {"kind": "decode", "ids": ids, "decoded": tk.decode(ids, skip_special_tokens=False),
            "decoded_skip": tk.decode(ids, skip_special_tokens=True)}


def gemma3_cases(tk, rng):
    vocab = tk.get_vocab()
    pieces = sorted(p for p in vocab if not p.startswith("<unused"))  # sorted: deterministic fixture
    byte_ids = [vocab["<0x%02X>" % b] for b in range(256)]
    special_ids = [0, 1, 2, 3, 105, 106, 255999, 256000, 262144]
    cases = []
    for t in MULTILINGUAL:
        cases.append(encode_case(tk, "multilingual", t))
        cases.append(encode_case(tk, "multilingual", " " + t + " "))
    cases.append(encode_case(tk, "cjk_long", "".join(MULTILINGUAL[11:14]) * 20))
    for t in EMOJI:
        cases.append(encode_case(tk, "emoji", t))
    for t in CODE:
        cases.append(encode_case(tk, "code", t))
    for t in SPECIAL:
        cases.append(encode_case(tk, "special", t, parse_special=True))
        cases.append(encode_case(tk, "special", t, parse_special=False))
        cases.append(encode_case(tk, "special", t, add_bos=True))
    for t in whitespace_cases():
        cases.append(encode_case(tk, "whitespace", t))
    for t in control_cases():
        cases.append(encode_case(tk, "control", t))
    for _ in range(3):
        cases.append(encode_case(tk, "long", long_text(rng)))
    for _ in range(250):
        cases.append(encode_case(tk, "random_unicode", random_unicode(rng, rng.randint(1, 120))))
    for _ in range(200):
        cases.append(encode_case(tk, "vocab_soup", vocab_soup(rng, pieces, rng.randint(1, 40))))
    for _ in range(150):
        raw = bytes(rng.randint(0, 255) for _ in range(rng.randint(1, 80)))
        cases.append(encode_case(tk, "random_bytes", raw.decode("utf-8", "replace"), raw=raw))
    for _ in range(50):  # UTF-8-ish bytes: valid lead bytes with broken continuations
        raw = bytearray()
        for _ in range(rng.randint(1, 30)):
            raw += rng.choice([b"a", b" ", b"\xc3\xa9", b"\xe4\xb8\xad", b"\xf0\x9f\x98\x80", b"\xe4\xb8",
                               b"\xf0\x9f", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80", b"\xff"])
        raw = bytes(raw)
        cases.append(encode_case(tk, "broken_utf8", raw.decode("utf-8", "replace"), raw=raw))
    for _ in range(200):
        ids = []
        for _ in range(rng.randint(1, 30)):
            r = rng.random()
            if r < 0.35:
                ids.append(rng.choice(byte_ids))
            elif r < 0.45:
                ids.append(rng.choice(special_ids))
            elif r < 0.5:
                ids.append(rng.randint(262140, 262160))  # includes ids past the vocabulary
            else:
                ids.append(rng.randint(0, 262143))
        cases.append(decode_case(tk, ids))
    return cases


def chat_texts(rng):
    base = [
        "<|turn>user\nWhat is the capital of France?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>Paris.<turn|>\n",
        "<|turn>system\n<|think|>You are helpful.<turn|>\n<|turn>user\nHi<turn|>\n<|turn>model\n",
        "<|turn>system\n<|tool>declaration:get_weather{description:<|\"|>Get weather<|\"|>,parameters:{type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n",
        "<|turn>model\n<|tool_call>call:get_weather{location:<|\"|>Paris<|\"|>,unit:<|\"|>celsius<|\"|>}<tool_call|>"
        "<|tool_response>response:get_weather{temperature:15,weather:<|\"|>sunny<|\"|>}<tool_response|>",
        "<|turn>user\n\n\n<|image|>\n\nDescribe this image.<turn|>\n<|turn>user\n<|audio|>Transcribe<turn|>\n",
        "<|turn>user\n\n\n<|video|>\n\n<|image><|image|><|image|><image|> <|audio><|audio|><audio|><turn|>\n",
        "<|channel>thought\nLet me think step by step.\n1. First\n2. Second<channel|>The answer is 42.<turn|>",
        "plain text mentioning <|turn> and <turn|> and <start_of_turn> literally",
        # A tools system turn as the Gemma 4 template renders it.
        "<bos><|turn>system\n<|tool>declaration:get_current_time{description:<|\"|>Get the host's current local date "
        "and time.<|\"|>,parameters:{type:<|\"|>OBJECT<|\"|>}}<tool|><|tool>declaration:get_weather{description:"
        "<|\"|>Get the weather for a city.<|\"|>,parameters:{properties:{location:{description:<|\"|>The city name"
        "<|\"|>,type:<|\"|>STRING<|\"|>}},required:[<|\"|>location<|\"|>],type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n"
        "<|turn>user\nWhat time is it?<turn|>\n<|turn>model\n",
    ]
    out = list(base)
    for _ in range(30):
        out.append("".join(rng.choice(base) for _ in range(rng.randint(2, 5))))
    return out


TINY_TRAIN = MULTILINGUAL[:6] + CODE[:3] + ["hello world this is a test of the tokenizer", "ab abab ba aab"]

TINY_TEXTS = [
    "hello world", " ab x", "ab", "xab ab", "ab.", "(ab)", "a <x>  b", "<x>", "  <x>  ", "hi there you", "hi  there",
    "ñandú 中 😀", "<sp>hello", "<sp> <sp>", "x<l>  y  <r>  z", "<l><r>", "", " ", "   ", "\n\n", "e e e", "eee",
    "The quick brown fox", "tokenizer test of the", "zzz qqq", "  lead", "trail  ", "a\tb", "Zwölf Boxkämpfer",
    "a▁b ▁▁ c", "▁ab▁",
]

SPLIT_BEHAVIORS = ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]


def tiny_tokenizer(normalizer, pre_tokenizer, decoder, byte_fallback=True, fuse_unk=True, vocab_size=400):
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=fuse_unk, byte_fallback=byte_fallback))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoder
    specials = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, limit_alphabet=40, show_progress=False)
    tok.train_from_iterator(TINY_TRAIN * 20, trainer)
    tok.add_tokens([AddedToken("<x>", lstrip=True, rstrip=True), AddedToken("hi there", normalized=True),
                    AddedToken("ab", single_word=True), AddedToken("<l>", lstrip=True, normalized=False),
                    AddedToken("<r>", rstrip=True, normalized=False)])
    tok.add_special_tokens([AddedToken("<sp>", normalized=False)])
    return tok


def tiny_variants(rng):
    metaspace = "\u2581"
    gemma_decoder = [decoders.Replace(metaspace, " "), decoders.ByteFallback(), decoders.Fuse()]
    variants = [
        ("prepend_split_next_strip", normalizers.Sequence([normalizers.Prepend(metaspace), normalizers.Replace(" ", metaspace)]),
         pre_tokenizers.Split(metaspace, behavior="merged_with_next"),
         decoders.Sequence(gemma_decoder + [decoders.Strip(" ", 1, 0)]), {}),
        ("no_decoder_unk_fused", None, pre_tokenizers.Sequence([pre_tokenizers.Split(" ", behavior="isolated"),
                                                                 pre_tokenizers.Split("e", behavior="removed")]),
         None, {"byte_fallback": False}),
        ("post_fuse_replace_strip", normalizers.Replace(" ", metaspace), pre_tokenizers.Split(metaspace, "merged_with_previous"),
         decoders.Sequence([decoders.ByteFallback(), decoders.Fuse(), decoders.Replace(metaspace, " "),
                            decoders.Replace("e e", "E"), decoders.Strip(" ", 2, 0)]),  # HF Strip panics when stop > len
         {"byte_fallback": False, "fuse_unk": False}),
    ]
    for b in SPLIT_BEHAVIORS:
        for invert in (False, True):
            variants.append((f"split_{b}{'_inverted' if invert else ''}", normalizers.Replace(" ", metaspace),
                             pre_tokenizers.Split(metaspace, behavior=b, invert=invert), decoders.Sequence(gemma_decoder), {}))
    out = []
    for name, norm, pre, dec, kw in variants:
        tok = tiny_tokenizer(norm, pre, dec, **kw)
        size = tok.get_vocab_size()
        cases = [encode_case(tok, "tiny", t) for t in TINY_TEXTS]
        cases += [encode_case(tok, "tiny", t, parse_special=False) for t in ["<sp>hello", "a<sp>"]]
        cases += [encode_case(tok, "tiny_random", random_unicode(rng, rng.randint(1, 30))) for _ in range(15)]
        cases += [decode_case(tok, [rng.randint(0, size + 2) for _ in range(rng.randint(1, 20))]) for _ in range(15)]
        out.append({"name": name, "tokenizer": tok.to_str(), "cases": cases})
    return out


def main():
    # --only gemma3|gemma4|tiny regenerates one file (HF's BPE trainer is not deterministic, so
    # regenerating tiny_variants changes it even when nothing else changed).
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
    raw = gzip.decompress(open(ASSET, "rb").read()).decode("utf-8")
    tk = Tokenizer.from_str(raw)
    os.makedirs(OUT_DIR, exist_ok=True)
    if only in (None, "gemma3"):
        write(os.path.join(OUT_DIR, "corpus.jsonl.gz"), gemma3_cases(tk, random.Random(20261128)))
    if only in (None, "gemma4"):
        tk4 = Tokenizer.from_str(make_gemma4_json(raw, RENAMES))
        cases4 = [{"renames": RENAMES}]
        for t in chat_texts(random.Random(4)):
            cases4.append(encode_case(tk4, "chat", t))
            cases4.append(encode_case(tk4, "chat", "<bos>" + t, parse_special=True))
            cases4.append(encode_case(tk4, "chat", t, parse_special=False))
        write(os.path.join(OUT_DIR, "corpus_gemma4.jsonl.gz"), cases4)
    if only in (None, "tiny"):
        write(os.path.join(OUT_DIR, "tiny_variants.jsonl.gz"), tiny_variants(random.Random(5)))


def write(path, cases):
    data = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in cases).encode("utf-8")
    with open(path, "wb") as f:
        f.write(gzip.compress(data, 9, mtime=0))
    print(f"{path}: {len(cases)} cases, {len(data)} bytes raw, {os.path.getsize(path)} bytes gzip", file=sys.stderr)


if __name__ == "__main__":
    main()
