"""Side-by-side baseline for docs/benchmarks-cuda.md: transformers decode speed of a
random-initialized Gemma 4 text model with the real E2B/E4B config, bf16 on the GPU.

    python3 tools/bench_transformers_gemma4.py --variant e2b --prompt 128 --decode 128

Random weights: speed does not depend on the values. Greedy decode through model.generate
with the default dynamic cache (min_new_tokens forces the full length).
"""
import argparse
import time

import torch
from transformers import Gemma4ForCausalLM, Gemma4TextConfig


def config(variant):
    e2b = variant == "e2b"
    period = 5 if e2b else 6
    L = 35 if e2b else 42
    return Gemma4TextConfig(
        vocab_size=262144, vocab_size_per_layer_input=262144,
        hidden_size=1536 if e2b else 2560, hidden_size_per_layer_input=256,
        intermediate_size=6144 if e2b else 10240, num_hidden_layers=L,
        num_attention_heads=8, num_key_value_heads=1 if e2b else 2, head_dim=256, global_head_dim=512,
        num_kv_shared_layers=20 if e2b else 18, use_double_wide_mlp=e2b, attention_k_eq_v=False,
        enable_moe_block=False, hidden_activation="gelu_pytorch_tanh", rms_norm_eps=1e-6,
        sliding_window=512, max_position_embeddings=131072, final_logit_softcapping=30.0,
        tie_word_embeddings=True,
        layer_types=["full_attention" if (i + 1) % period == 0 else "sliding_attention" for i in range(L)],
        rope_parameters={
            "full_attention": {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1e6},
            "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}},
        pad_token_id=0, bos_token_id=2, eos_token_id=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="e2b")
    ap.add_argument("--prompt", type=int, default=128)
    ap.add_argument("--decode", type=int, default=128)
    a = ap.parse_args()
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Gemma4ForCausalLM(config(a.variant)).to(torch.bfloat16).eval()
    ids = torch.randint(3, 262144, (1, a.prompt), device="cuda")
    with torch.no_grad():
        model.generate(ids, max_new_tokens=8, min_new_tokens=8, do_sample=False)  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        model(ids)
        torch.cuda.synchronize()
        t_pre = time.perf_counter() - t0
        t0 = time.perf_counter()
        model.generate(ids, max_new_tokens=a.decode, min_new_tokens=a.decode, do_sample=False)
        torch.cuda.synchronize()
        t_gen = time.perf_counter() - t0
    dec = (t_gen - t_pre) / a.decode
    print(f"transformers {a.variant} bf16 ({torch.cuda.get_device_name()}): prefill {a.prompt} tokens "
          f"{t_pre*1e3:.1f} ms ({a.prompt/t_pre:.0f} tok/s); decode ~{dec*1e3:.2f} ms/token ({1/dec:.1f} tok/s)")


if __name__ == "__main__":
    main()
