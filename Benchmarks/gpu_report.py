#!/usr/bin/env python3
"""Writes the GPU check's figures (scripts/gpu-check.sh's output folder) into BENCHMARKS.md,
replacing the section between `<!-- gpu-check begin -->` and `<!-- gpu-check end -->` (added at
the end when missing). Usage: python3 Benchmarks/gpu_report.py FOLDER BENCHMARKS.md"""
import json
import os
import sys


def lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def main():
    folder, target = sys.argv[1], sys.argv[2]
    out = ["<!-- gpu-check begin -->", "## GPU check (`bash scripts/gpu-check.sh`)", ""]
    devices = open(os.path.join(folder, "devices.txt")).read().strip() if os.path.exists(
        os.path.join(folder, "devices.txt")) else "(no device listing)"
    out += ["Devices:", "", "```", devices, "```", ""]
    check = os.path.join(folder, "selfcheck.json")
    if os.path.exists(check) and os.path.getsize(check) > 0:
        result = json.load(open(check))
        out.append(f"Self-check on {result['device']} ({result['platform']}, driver {result['driver']}):")
        out.append("")
        for variant in result["variants"]:
            verdict = "all agree" if "failed" not in variant else f"FAILS in {variant['failed']['kernel']}"
            out.append(f"- {variant['kernels']} kernels: {variant['cases']} cases, {variant['seconds']:.1f} s, {verdict}")
        out.append("")
    torch_matmul = {(r["shape"], r["op"]): r for r in lines(os.path.join(folder, "torch-matmul.jsonl"))}
    kernels = [r for r in lines(os.path.join(folder, "kernels.jsonl")) if r.get("kernel") == "matmul"]
    if kernels:
        out += ["| matmul M×K×N | op | gputrain GFLOP/s | PyTorch (cuBLAS) GFLOP/s | ratio |", "|---|---|---:|---:|---:|"]
        for r in kernels:
            t = torch_matmul.get((r["shape"], r["op"]))
            ratio = f"{r['gflops'] / t['gflops']:.2f}" if t and t["gflops"] else "—"
            out.append(f"| {r['shape']} | {r['op']} | {r['gflops']:.0f} | {t['gflops'] if t else '—'} | {ratio} |")
        out.append("")
    torch_train = {r["preset"]: r for r in lines(os.path.join(folder, "torch-train.jsonl"))}
    train = lines(os.path.join(folder, "train.jsonl"))
    if train:
        out += ["| preset | gputrain ms/step | PyTorch eager ms/step | ratio |", "|---|---:|---:|---:|"]
        for r in train:
            name = r.get("preset") or r.get("name")
            t = torch_train.get(name)
            ratio = f"{t['ms_per_step'] / r['ms_per_step']:.2f}" if t else "—"
            out.append(f"| {name} | {r['ms_per_step']} | {t['ms_per_step'] if t else '—'} | {ratio} |")
        out.append("")
    out.append("Ratios above 1 mean gputrain is faster. <!-- gpu-check end -->")
    text = open(target).read()
    begin, end = text.find("<!-- gpu-check begin -->"), text.find("<!-- gpu-check end -->")
    section = "\n".join(out)
    if begin >= 0 and end > begin:
        text = text[:begin] + section + text[end + len("<!-- gpu-check end -->"):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    open(target, "w").write(text)


if __name__ == "__main__":
    main()
