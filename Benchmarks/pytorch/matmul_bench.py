#!/usr/bin/env python3
"""Times PyTorch matmuls (cuBLAS on a GPU) at the shapes of `gputrain bench kernels`: for each
M×K×N, the forward product and both gradients, median of `--repeats` after a warm-up, float32
with TF32 off (gputrain computes in float32). Prints one JSON line per product with the keys of
`gputrain bench kernels --json` (kernel, op, shape, gflops, seconds, device).

    python3 Benchmarks/pytorch/matmul_bench.py --device cuda
"""
import argparse
import json
import statistics
import time

import torch

SHAPES = [(512, 768, 2304), (512, 768, 768), (512, 768, 3072), (512, 3072, 768), (512, 768, 8192),
          (1024, 1024, 1024), (2048, 2048, 2048)]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    for m, k, n in SHAPES:
        x = torch.rand(m, k, device=device) * 2 - 1
        w = torch.rand(k, n, device=device) * 2 - 1
        dy = torch.rand(m, n, device=device) * 2 - 1
        for op, run in [("fwd", lambda: x @ w), ("dX", lambda: dy @ w.t()), ("dW", lambda: x.t() @ dy)]:
            run()
            sync()
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                run()
                sync()
                times.append(time.perf_counter() - start)
            seconds = statistics.median(times)
            print(json.dumps({"kernel": "matmul", "op": op, "shape": f"{m}x{k}x{n}", "seconds": seconds,
                              "gflops": round(2 * m * k * n / seconds * 1e-9, 1),
                              "device": f"pytorch {torch.__version__} {name}"}), flush=True)


if __name__ == "__main__":
    main()
