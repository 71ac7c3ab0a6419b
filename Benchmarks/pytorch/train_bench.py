#!/usr/bin/env python3
"""Times full PyTorch training steps for the `gputrain bench train` presets, the same way.

Forward, backward and AdamW (lr 3e-4) in float32 eager mode on random weights and tokens,
3 warm-up steps, then the median of the timed steps. Dropout is off, as in gputrain's bench.
Not part of the tests: `pip install torch transformers`, then

    python3 Benchmarks/pytorch/train_bench.py --preset small --steps 10 --threads 2

prints one JSON line per preset with the keys of `gputrain bench train --json`.
"""
import argparse
import json
import resource
import statistics
import time

import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

PRESETS = {
    "small": dict(arch="gpt2", layers=6, heads=6, width=384, vocab=8192, positions=256, T=256, B=8),
    "llama-small": dict(arch="llama", layers=6, heads=6, width=384, hidden=1024, vocab=8192, positions=256,
                        T=256, B=8),
    "gpt2-124M": dict(arch="gpt2", layers=12, heads=12, width=768, vocab=50257, positions=1024, T=64, B=4),
}


def build(p):
    if p["arch"] == "gpt2":
        config = GPT2Config(vocab_size=p["vocab"], n_positions=p["positions"], n_embd=p["width"],
                            n_layer=p["layers"], n_head=p["heads"], resid_pdrop=0.0, embd_pdrop=0.0,
                            attn_pdrop=0.0)
        return GPT2LMHeadModel(config)
    config = LlamaConfig(vocab_size=p["vocab"], hidden_size=p["width"], intermediate_size=p["hidden"],
                         num_hidden_layers=p["layers"], num_attention_heads=p["heads"],
                         num_key_value_heads=p["heads"], max_position_embeddings=p["positions"],
                         tie_word_embeddings=False)
    return LlamaForCausalLM(config)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", action="append", choices=sorted(PRESETS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fused", action="store_true", help="fused AdamW")
    parser.add_argument("--device", default="cpu", help="cpu, or cuda on a GPU machine")
    args = parser.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for name in args.preset or list(PRESETS):
        p = PRESETS[name]
        model = build(p).float().train().to(device)
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4, fused=args.fused or None)
        ids = torch.randint(0, p["vocab"], (p["B"], p["T"])).to(device)
        times = []
        for step in range(3 + args.steps):
            start = time.perf_counter()
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync()
            if step >= 3:
                times.append(time.perf_counter() - start)
        ms = statistics.median(times) * 1000
        print(json.dumps({
            "preset": name, "framework": "pytorch " + torch.__version__, "ms_per_step": round(ms, 1),
            "tokens_per_s": round(p["B"] * p["T"] / (ms / 1000), 1),
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "threads": args.threads, "loss": float(loss), "device": str(device)
            + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""),
        }), flush=True)


if __name__ == "__main__":
    main()
