#!/usr/bin/env python3
"""Summarizes scripts/bench-vs-llamacpp.sh's runs.jsonl as the markdown table of
docs/benchmarks.md: per pair and test, each engine's median tok/s over the rounds with its
min..max, and the ratio ember / llama.cpp (of the medians, and its range over rounds).

  python3 scripts/bench-summary.py runs.jsonl NP NG
"""
import json
import statistics
import sys


def main():
    path, np_, ng = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = [json.loads(line) for line in open(path) if line.strip()]
    pairs = list(dict.fromkeys(r["pair"] for r in runs))
    print(f"| pair | test | ember t/s (min..max) | llama.cpp t/s (min..max) | ember/llama.cpp | per-round ratio range | rounds |")
    print("|---|---|---|---|---|---|---|")
    for pair in pairs:
        for test, n in (("pp", np_), ("tg", ng)):
            by = {e: {r["round"]: r[test] for r in runs if r["pair"] == pair and r["engine"] == e}
                  for e in ("ember", "llama.cpp")}
            if not by["ember"] or not by["llama.cpp"]:
                continue
            e, l = list(by["ember"].values()), list(by["llama.cpp"].values())
            me, ml = statistics.median(e), statistics.median(l)
            common = sorted(set(by["ember"]) & set(by["llama.cpp"]))
            ratios = [by["ember"][k] / by["llama.cpp"][k] for k in common if by["llama.cpp"][k] > 0]
            rr = f"{min(ratios):.2f}..{max(ratios):.2f}" if ratios else "-"
            print(f"| {pair} | {test}{n} | {me:.2f} ({min(e):.2f}..{max(e):.2f}) | {ml:.2f} ({min(l):.2f}..{max(l):.2f})"
                  f" | **{me / ml:.2f}x** | {rr} | {len(common)} |")
    print()
    print("| pair | engine | model file | peak RSS (median) | RSS - file |")
    print("|---|---|---|---|---|")
    for pair in pairs:
        for eng in ("ember", "llama.cpp"):
            rs = [r for r in runs if r["pair"] == pair and r["engine"] == eng]
            if not rs:
                continue
            rss, f = statistics.median(r["rss"] for r in rs), rs[0]["file"]
            print(f"| {pair} | {eng} | {f / 2**20:.0f} MiB | {rss / 2**20:.0f} MiB | {(rss - f) / 2**20:+.0f} MiB |")


if __name__ == "__main__":
    main()
