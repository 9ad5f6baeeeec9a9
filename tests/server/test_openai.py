"""ember serve against the official openai client (tests/e2e/server_openai.sh starts the servers).

--base:    the main server (api key required, --max-prompt-tokens 300, --max-tokens 256, --max-body 65536)
--limited: a second server with --max-seqs 1 --queue 1 --prefix-cache 0 --timeout 2 and a 20 ms
           delay per scheduler step, for queue-full (429), timeout and disconnect checks
"""
import argparse
import concurrent.futures as cf
import json
import socket
import sys
import threading
import time

import openai
from openai import OpenAI

from common import http, metrics

ARGS = None
MODEL = None
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what, flush=True)


def client(base, key=None, timeout=60):
    return OpenAI(base_url=base, api_key=key or ARGS.key, max_retries=0, timeout=timeout)


def chat(c, content, **kw):
    msgs = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": content}]
    return c.chat.completions.create(model=MODEL, messages=msgs, **kw)


def expect_error(status, fn, what):
    try:
        fn()
    except openai.APIStatusError as e:
        check(e.status_code == status, f"{what}: status {e.status_code}, want {status}")
        body = e.body if isinstance(e.body, dict) else {}
        check("message" in body and "type" in body, f"{what}: OpenAI error body, got {e.body!r}")
        return e
    check(False, f"{what}: no error, want {status}")


def stream_text(stream):
    text, finish, usage, roles = "", None, None, 0
    for ch in stream:
        if ch.usage is not None:
            usage = ch.usage
        for choice in ch.choices:
            d = getattr(choice, "delta", None)
            if d is not None:
                text += d.content or ""
                roles += 1 if d.role else 0
            else:
                text += choice.text or ""
            finish = choice.finish_reason or finish
    return text, finish, usage, roles


def test_models_health(c):
    ids = [m.id for m in c.models.list().data]
    check(MODEL in ids, f"/v1/models lists {MODEL}: {ids}")
    root = ARGS.base.rsplit("/v1", 1)[0]
    check(http("GET", root + "/health")[0] == 200, "/health 200")


def test_chat(c):
    r = chat(c, "Hello there, how are you?", max_tokens=16, temperature=0)
    m = r.choices[0].message
    check(isinstance(m.content, str), "chat content is a string")
    u = r.usage
    check(u.prompt_tokens > 5 and u.total_tokens == u.prompt_tokens + u.completion_tokens, f"usage {u}")
    check(r.choices[0].finish_reason in ("stop", "length"), f"finish_reason {r.choices[0].finish_reason}")
    if r.choices[0].finish_reason == "length":
        check(u.completion_tokens == 16, f"length finish after 16 tokens: {u.completion_tokens}")
    # Streaming gives the same text, finish reason and usage (greedy).
    s = chat(c, "Hello there, how are you?", max_tokens=16, temperature=0, stream=True,
             stream_options={"include_usage": True})
    text, finish, usage, roles = stream_text(s)
    check(text == m.content, f"stream text {text!r} == non-stream {m.content!r}")
    check(finish == r.choices[0].finish_reason, f"stream finish {finish}")
    check(usage is not None and usage.completion_tokens == u.completion_tokens
          and usage.prompt_tokens == u.prompt_tokens, f"stream usage {usage} vs {u}")
    check(roles == 1, f"one role delta, got {roles}")
    # Multi-turn with a developer message, max_completion_tokens.
    msgs = [{"role": "developer", "content": "Answer briefly."}, {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": m.content or "ok"}, {"role": "user", "content": [{"type": "text", "text": "More?"}]}]
    r2 = c.chat.completions.create(model=MODEL, messages=msgs, max_completion_tokens=8, temperature=0)
    check(r2.usage.completion_tokens <= 8 and r2.usage.prompt_tokens > u.prompt_tokens - 10, f"multi-turn usage {r2.usage}")


def test_tools_thinking(c):
    tools = [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    msgs = [{"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"}]
    r = c.chat.completions.create(model=MODEL, messages=msgs, tools=tools, tool_choice="auto", max_tokens=8, temperature=0)
    check(r.choices[0].finish_reason in ("stop", "length", "tool_calls"), "tools request answered")
    expect_error(400, lambda: c.chat.completions.create(model=MODEL, messages=msgs, tools=tools,
                 tool_choice={"type": "function", "function": {"name": "nope"}}), "tool_choice names unknown tool")
    r = c.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Think."}], max_tokens=8,
                                  temperature=0, extra_body={"chat_template_kwargs": {"enable_thinking": True}})
    check(r.usage.completion_tokens <= 8, "thinking request answered")


def test_completions(c):
    r = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0)
    t = r.choices[0].text
    check(isinstance(t, str) and r.usage.prompt_tokens > 1, f"completion {r}")
    s = c.completions.create(model=MODEL, prompt="Once upon a time", max_tokens=12, temperature=0, stream=True,
                             stream_options={"include_usage": True})
    text, finish, usage, _ = stream_text(s)
    check(text == t and finish == r.choices[0].finish_reason, f"completion stream {text!r} == {t!r}")
    check(usage is not None and usage.completion_tokens == r.usage.completion_tokens, "completion stream usage")


def test_stop_strings(c):
    base = c.completions.create(model=MODEL, prompt="The quick brown fox", max_tokens=40, temperature=0)
    t = base.choices[0].text
    if len(t) < 8:
        print("note: greedy text too short for the stop test:", repr(t))
        return
    stop = t[4:7]
    cut = t[:t.index(stop)]
    r = c.completions.create(model=MODEL, prompt="The quick brown fox", max_tokens=40, temperature=0, stop=[stop, "\x01never"])
    check(r.choices[0].text == cut and r.choices[0].finish_reason == "stop",
          f"stop {stop!r}: {r.choices[0].text!r} want {cut!r} ({r.choices[0].finish_reason})")
    s = c.completions.create(model=MODEL, prompt="The quick brown fox", max_tokens=40, temperature=0, stop=stop, stream=True)
    text, finish, _, _ = stream_text(s)
    check(text == cut and finish == "stop", f"streamed stop: {text!r} want {cut!r}")


def test_seed(c):
    def run(seed):
        return chat(c, "Tell me a story", max_tokens=16, temperature=1.0, top_p=0.95, seed=seed).choices[0].message.content
    a, b = run(42), run(42)
    check(a == b, f"same seed, same text: {a!r} vs {b!r}")
    check(len({run(s) for s in (1, 2, 3, 4)}) >= 2, "different seeds give different texts")


def test_concurrent_equals_sequential(c, lim):
    # The main server batches concurrent requests into one forward per step and prefills prompts
    # in chunks of <= 16 tokens mixed with the others' decode steps (--step-tokens 16); its greedy
    # answers must equal those of one request at a time, on this server and on the limited one
    # (one sequence, no prefix cache).
    prompts = [f"Question number {i}: " + "why " * (i * 9) for i in range(8)]
    def one(cl, p):
        r = chat(cl, p, max_tokens=24, temperature=0)
        return r.choices[0].message.content, r.usage.completion_tokens
    seq = [one(c, p) for p in prompts]
    alone = [one(lim, p) for p in prompts]
    with cf.ThreadPoolExecutor(8) as ex:
        par = list(ex.map(lambda p: one(c, p), prompts))
    check(seq == par, f"concurrent greedy == sequential:\n{seq}\n{par}")
    check(alone == par, f"concurrent greedy == one at a time on the unbatched server:\n{alone}\n{par}")


def test_prefix_cache(c, lim):
    # A shared long system prompt: the second request reuses the first one's cache, and its
    # greedy answer equals the one from the server without prefix caching.
    sysmsg = "You are a helpful assistant. " * 6
    def ask(cl, q):
        msgs = [{"role": "system", "content": sysmsg}, {"role": "user", "content": q}]
        return cl.chat.completions.create(model=MODEL, messages=msgs, max_tokens=12, temperature=0)
    ask(c, "first question")
    r = ask(c, "second question")
    cached = r.usage.prompt_tokens_details.cached_tokens if r.usage.prompt_tokens_details else 0
    check(cached > 10, f"prefix cache reused {cached} tokens")
    ref = ask(lim, "second question")
    check(r.choices[0].message.content == ref.choices[0].message.content,
          f"prefix-cached answer {r.choices[0].message.content!r} == uncached {ref.choices[0].message.content!r}")


def test_errors(c):
    root = ARGS.base.rsplit("/v1", 1)[0]
    auth = {"Authorization": "Bearer " + ARGS.key}
    expect_error(401, lambda: chat(client(ARGS.base, key="wrong"), "hi", max_tokens=2), "wrong api key")
    check(http("POST", root + "/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})[0] == 401, "no key: 401")
    expect_error(404, lambda: c.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}]), "unknown model")
    expect_error(400, lambda: c.chat.completions.create(model=MODEL, messages=[]), "empty messages")
    expect_error(400, lambda: chat(c, "x", temperature=5), "temperature out of range")
    expect_error(400, lambda: chat(c, "x", top_p=0), "top_p 0")
    expect_error(400, lambda: chat(c, "x", n=2), "n=2")
    expect_error(400, lambda: chat(c, "x", max_tokens=100000), "max_tokens above the limit")
    expect_error(400, lambda: c.chat.completions.create(model=MODEL, messages=[{"role": "wizard", "content": "x"}]), "unknown role")
    expect_error(400, lambda: c.chat.completions.create(model=MODEL, messages="hello"), "messages not an array")
    e = expect_error(400, lambda: chat(c, "long " * 400, max_tokens=2), "prompt longer than the limit")
    check(e is not None and e.code == "context_length_exceeded", "context_length_exceeded code")
    expect_error(413, lambda: chat(c, "x" * 100000, max_tokens=2), "body too large")
    for body in (b"{not json", b"[1,2]", b'{"messages": [{"role": "user", "content": 5}]}', b'{"prompt": 3}', b""):
        for ep in ("/v1/chat/completions", "/v1/completions"):
            st, out = http("POST", root + ep, body, auth)
            ok = st == 400
            try:
                ok = ok and "message" in json.loads(out)["error"]
            except Exception:
                ok = False
            check(ok, f"malformed body {body!r} on {ep}: {st} {out[:200]!r}")
    st, out = http("GET", root + "/v1/nothing", None, auth)
    check(st == 404 and b"error" in out, f"unknown endpoint: {st}")


def test_limits(lim):
    # Queue full: 1 running + 1 queued; the rest are turned away with 429 right away.
    def one(_):
        try:
            r = lim.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=30, temperature=0)
            return r.usage.completion_tokens
        except openai.RateLimitError:
            return 429
    with cf.ThreadPoolExecutor(6) as ex:
        res = list(ex.map(one, range(6)))
    check(res.count(429) >= 1 and sum(1 for x in res if x != 429) >= 1, f"429 when the queue is full: {res}")
    # Timeout (2 s at >= 20 ms/token): generation is cut, finish_reason length.
    r = lim.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=250, temperature=0)
    # (greedy "hi" runs to max_tokens on the tiny model: 250 steps would take >= 5 s)
    check(r.choices[0].finish_reason == "length" and r.usage.completion_tokens < 250, f"timeout cut: {r.usage}")
    # Disconnect: a streaming client leaves after two chunks; the sequence is dropped.
    root = ARGS.limited.rsplit("/v1", 1)[0]
    before = metrics(root).get('ember_requests_total{outcome="cancelled"}', 0)
    s = lim.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}], max_tokens=250,
                                    temperature=0, stream=True)
    it = iter(s)
    next(it), next(it)
    s.close()
    deadline = time.time() + 10
    while time.time() < deadline:
        m = metrics(root)
        if m.get('ember_requests_total{outcome="cancelled"}', 0) > before and m["ember_active_sequences"] == 0:
            break
        time.sleep(0.1)
    m = metrics(root)
    check(m.get('ember_requests_total{outcome="cancelled"}', 0) > before, "disconnect cancels the request")
    check(m["ember_active_sequences"] == 0, "disconnect frees the sequence")


def test_metrics():
    m = metrics(ARGS.base.rsplit("/v1", 1)[0])
    for k in ("ember_generation_tokens_total", "ember_queue_depth", "ember_active_sequences",
              "ember_time_to_first_token_seconds_count", "ember_time_per_output_token_seconds_count"):
        check(k in m, f"metric {k}")
    check(m.get("ember_generation_tokens_total", 0) > 0, "tokens counted")


def main():
    global ARGS, MODEL
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--limited", required=True)
    ap.add_argument("--key", required=True)
    ARGS = ap.parse_args()
    c = client(ARGS.base)
    lim = client(ARGS.limited)
    MODEL = c.models.list().data[0].id
    for name, fn in [("models", lambda: test_models_health(c)), ("chat", lambda: test_chat(c)),
                     ("tools", lambda: test_tools_thinking(c)), ("completions", lambda: test_completions(c)),
                     ("stop", lambda: test_stop_strings(c)), ("seed", lambda: test_seed(c)),
                     ("concurrency", lambda: test_concurrent_equals_sequential(c, lim)),
                     ("prefix", lambda: test_prefix_cache(c, lim)), ("errors", lambda: test_errors(c)),
                     ("limits", lambda: test_limits(lim)), ("metrics", test_metrics)]:
        t0 = time.time()
        try:
            fn()
        except Exception as e:  # an unexpected exception is a failure of that test
            check(False, f"{name}: {type(e).__name__}: {e}")
        print(f"{name}: {time.time() - t0:.2f}s", flush=True)
    if FAILS:
        print(f"{len(FAILS)} failure(s)")
        sys.exit(1)
    print("all server tests passed")


if __name__ == "__main__":
    main()
