#!/usr/bin/env python3
"""Joins `gputrain bench kernels --json` and `openblas/sgemm_bench` lines into the matmul table of
BENCHMARKS.md: GFLOP/s of gputrain, CLBlast and OpenBLAS per shape and op, and the ratios. With
several rounds of each, the table shows each side's best round (the least disturbed on a shared
machine; each number is itself a median over repeats) and the ratio of the medians over rounds.
CLBlast's numbers come from the `clblast_gflops` of the gputrain files, or of the files after a
second `--` when given.

Usage: compare_matmul.py gputrain.jsonl... -- openblas.jsonl... [-- clblast.jsonl...]
"""
import json
import statistics
import sys


def load(paths, kernel, field):
    """(shape, op) → list of `field` values over the files, in first-seen order of the keys."""
    values = {}
    for path in paths:
        with open(path) as lines:
            for line in lines:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                row = json.loads(line)
                if row["kernel"] == kernel and row.get(field) is not None:
                    values.setdefault((row["shape"], row["op"]), []).append(row[field])
    return values


def median(values):
    return statistics.median(values) if values else None


def cell(value, digits=1):
    return "–" if value is None else f"{value:.{digits}f}"


def main():
    groups = [[]]
    for argument in sys.argv[1:]:
        if argument == "--":
            groups.append([])
        else:
            groups[-1].append(argument)
    ours_paths, blas_paths = groups[0], groups[1]
    clblast_paths = groups[2] if len(groups) > 2 else ours_paths
    ours = load(ours_paths, "matmul", "gflops")
    clblast = load(clblast_paths, "matmul", "clblast_gflops")
    blas = load(blas_paths, "openblas_sgemm", "gflops")
    print(f"Best of {len(ours_paths)} round(s) of each (GFLOP/s, medians over repeats); the last column "
          "is the ratio of the medians over the rounds.\n")
    print("| M×K×N | op | gputrain | CLBlast | OpenBLAS | gputrain / OpenBLAS | CLBlast / OpenBLAS "
          "| gputrain / OpenBLAS, median of rounds |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    best_ratios, median_ratios = [], []
    for key, values in ours.items():
        shape, op = key
        clblast_values, blas_values = clblast.get(key, []), blas.get(key, [])
        g, o = max(values), max(blas_values, default=None)
        c = max(clblast_values, default=None)
        ratio = g / o if o else None
        median_ratio = median(values) / median(blas_values) if blas_values else None
        if ratio is not None:
            best_ratios.append((ratio, shape, op))
            median_ratios.append((median_ratio, shape, op))
        print(f"| {shape.replace('x', '×')} | {op} | {cell(g)} | {cell(c)} | {cell(o)} | "
              f"{cell(ratio, 2)} | {cell(c / o if c is not None and o else None, 2)} | {cell(median_ratio, 2)} |")
    for name, ratios in [("best rounds", best_ratios), ("medians of rounds", median_ratios)]:
        if ratios:
            worst = min(ratios)
            print(f"\ngputrain / OpenBLAS ({name}): lowest {worst[0]:.2f} ({worst[1]} {worst[2]}), "
                  f"median {statistics.median(r[0] for r in ratios):.2f}.")


if __name__ == "__main__":
    main()
