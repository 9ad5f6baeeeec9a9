#!/usr/bin/env python3
"""Aggregate decode throughput of a running `ember serve` at several concurrencies
(docs/benchmarks-server.md). Each of C clients sends R chat requests one after another (fixed
prompt length and max_tokens, greedy), so C sequences are in flight at once; the figure is
completion tokens of all requests / wall time of the round. Standard library only (a light
client: the server and the clients share the machine's cores).

  python3 tools/bench_server.py --base http://127.0.0.1:8080 --concurrency 1 8 32 \
      --requests 2 --max-tokens 32 --prompt-words 40
"""
import argparse
import concurrent.futures as cf
import http.client
import json
import time
import urllib.parse

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def one_request(base, i, args):
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=args.timeout)
    words = " ".join(WORDS[(i * 7 + k) % len(WORDS)] for k in range(args.prompt_words))
    body = {"messages": [{"role": "user", "content": f"request {i}: {words}"}], "max_tokens": args.max_tokens,
            "temperature": 0}
    conn.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = conn.getresponse()
    data = json.loads(r.read())
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {data}")
    return data["usage"]["completion_tokens"]


def round_at(base, clients, args):
    def client(c):
        return sum(one_request(base, c * 1000 + k, args) for k in range(args.requests))
    t0 = time.time()
    with cf.ThreadPoolExecutor(clients) as ex:
        tokens = sum(ex.map(client, range(clients)))
    return tokens, time.time() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True, help="server root, e.g. http://127.0.0.1:8080")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--requests", type=int, default=2, help="requests per client")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--prompt-words", type=int, default=40)
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    one_request(args.base, 999999, args)  # warm-up (page in the weights)
    for c in args.concurrency:
        tokens, secs = round_at(args.base, c, args)
        print(json.dumps({"label": args.label, "concurrency": c, "requests": c * args.requests,
                          "completion_tokens": tokens, "seconds": round(secs, 2),
                          "tok_per_s": round(tokens / secs, 2)}), flush=True)


if __name__ == "__main__":
    main()
