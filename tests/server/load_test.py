"""Bounded load test of ember serve (tests/e2e/server_load.sh): aggregate throughput at
concurrency 1, 8 and 32, then 32 clients x 20 requests of mixed lengths with some clients
disconnecting mid-stream. Passes with zero failed requests and RSS back near the baseline."""
import argparse
import concurrent.futures as cf
import random
import sys
import time

from openai import OpenAI

from common import metrics, rss_kb


def request(c, model, rng, disconnect=False):
    """One chat request; returns completion tokens (0 for a deliberate disconnect)."""
    words = rng.randint(1, 60)
    msgs = [{"role": "user", "content": " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(words))}]
    max_tokens = rng.choice([4, 16, 32, 64, 128])
    if disconnect:
        s = c.chat.completions.create(model=model, messages=msgs, max_tokens=128, temperature=0.8, stream=True)
        it = iter(s)
        for _ in range(3):
            next(it, None)
        s.close()
        return 0
    if rng.random() < 0.5:
        r = c.chat.completions.create(model=model, messages=msgs, max_tokens=max_tokens, temperature=0.8)
        assert r.choices[0].finish_reason in ("stop", "length"), r
        return r.usage.completion_tokens
    s = c.chat.completions.create(model=model, messages=msgs, max_tokens=max_tokens, temperature=0.8, stream=True,
                                  stream_options={"include_usage": True})
    usage = None
    for ch in s:
        usage = ch.usage or usage
    return usage.completion_tokens


def run(c, model, clients, per_client, seed, disconnect_rate=0.0):
    """Returns (tokens, seconds, failures)."""
    def client_loop(i):
        rng = random.Random(seed * 1000 + i)
        toks, fails = 0, 0
        for _ in range(per_client):
            try:
                toks += request(c, model, rng, disconnect=rng.random() < disconnect_rate)
            except Exception as e:
                fails += 1
                print("request failed:", type(e).__name__, e, flush=True)
        return toks, fails
    t0 = time.time()
    with cf.ThreadPoolExecutor(clients) as ex:
        res = list(ex.map(client_loop, range(clients)))
    return sum(r[0] for r in res), time.time() - t0, sum(r[1] for r in res)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    root = args.base.rsplit("/v1", 1)[0]
    c = OpenAI(base_url=args.base, api_key="none", max_retries=0, timeout=300)
    model = c.models.list().data[0].id
    run(c, model, 4, 2, seed=0)  # warm-up
    first_rss = rss_kb(args.pid)
    failures = 0
    for conc in (1, 8, 32):
        toks, secs, fails = run(c, model, conc, max(2, 64 // conc) if conc > 1 else 8, seed=conc)
        failures += fails
        print(f"throughput: concurrency {conc:2d}: {toks} tokens in {secs:.2f} s = {toks / secs:.1f} tok/s", flush=True)
    # Baseline after the first full-concurrency run (server threads and allocator arenas warm):
    # the long run must not grow it (no leak per request, cancelled sequences freed).
    time.sleep(1)
    base_rss = rss_kb(args.pid)
    toks, secs, fails = run(c, model, 32, args.requests, seed=99, disconnect_rate=0.1)
    failures += fails
    print(f"load: 32 clients x {args.requests} requests (10% disconnects): {toks} tokens in {secs:.2f} s "
          f"= {toks / secs:.1f} tok/s, {fails} failed", flush=True)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = metrics(root)
        if m["ember_active_sequences"] == 0 and m["ember_queue_depth"] == 0:
            break
        time.sleep(0.2)
    time.sleep(1)
    m = metrics(root)
    after = rss_kb(args.pid)
    cancelled = m.get('ember_requests_total{outcome="cancelled"}', 0)
    print(f"rss: after warm-up {first_rss / 1024:.1f} MiB, baseline {base_rss / 1024:.1f} MiB, after {after / 1024:.1f} MiB; active {m['ember_active_sequences']:.0f}, "
          f"queued {m['ember_queue_depth']:.0f}, cancelled {cancelled:.0f}", flush=True)
    ok = failures == 0 and m["ember_active_sequences"] == 0 and after < base_rss * 1.2 + 16 * 1024
    print("load test passed" if ok else "load test FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
