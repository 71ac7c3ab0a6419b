#!/usr/bin/env python3
"""Joins `gputrain bench kernels --json` and `openblas/sgemm_bench` lines into the matmul table of
BENCHMARKS.md: GFLOP/s of gputrain, CLBlast and OpenBLAS per shape and op, and the ratios.

Usage: compare_matmul.py gputrain.jsonl openblas.jsonl
"""
import json
import sys


def load(path, kernel):
    rows = {}
    with open(path) as lines:
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                row = json.loads(line)
                if row["kernel"] == kernel:
                    rows[(row["shape"], row["op"])] = row
    return rows


def main():
    ours = load(sys.argv[1], "matmul")
    blas = load(sys.argv[2], "openblas_sgemm")
    print("| M×K×N | op | gputrain GFLOP/s | CLBlast GFLOP/s | OpenBLAS GFLOP/s | gputrain / OpenBLAS | CLBlast / OpenBLAS |")
    print("|---|---|---:|---:|---:|---:|---:|")
    worst = None
    for key, row in ours.items():
        shape, op = key
        reference = blas.get(key, {}).get("gflops")
        clblast = row.get("clblast_gflops")
        ratio = row["gflops"] / reference if reference else None
        if ratio is not None and (worst is None or ratio < worst[0]):
            worst = (ratio, shape, op)
        cells = [
            shape.replace("x", "×"), op, f"{row['gflops']:.1f}",
            f"{clblast:.1f}" if clblast is not None else "–",
            f"{reference:.1f}" if reference else "–",
            f"{ratio:.2f}" if ratio is not None else "–",
            f"{clblast / reference:.2f}" if clblast is not None and reference else "–",
        ]
        print("| " + " | ".join(cells) + " |")
    if worst:
        print(f"\nLowest gputrain / OpenBLAS ratio: {worst[0]:.2f} ({worst[1]} {worst[2]}).")


if __name__ == "__main__":
    main()
