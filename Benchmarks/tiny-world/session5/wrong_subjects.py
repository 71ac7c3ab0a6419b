#!/usr/bin/env python3
"""How many of each model's sentence answers to fact questions name another entity, and how
often the answers are correct with the right or the wrong subject (BENCHMARKS.md, session 5):

    python3 Benchmarks/tiny-world/session5/wrong_subjects.py RUN
"""
import json, os, sys

run = sys.argv[1]
for model in ["sft", "dpo", "ppo"]:
    path = os.path.join(run, "eval", model + ".jsonl")
    if not os.path.exists(path): continue
    rows = [json.loads(line) for line in open(path)]
    sentences = [r for r in rows if r["question"]["relation"] != "arithmetic" and " " in r["text"].strip()]
    wrong = [r for r in sentences if r["question"]["subject"].lower() not in r["text"].lower()]
    right = [r for r in sentences if r["question"]["subject"].lower() in r["text"].lower()]
    def correct(rs): return sum(r["verdict"]["correct"] for r in rs) / max(len(rs), 1)
    print(f"{model}: {len(sentences)} sentence answers, {len(wrong)} about another entity; "
          f"correct {correct(right):.2f} with the right subject, {correct(wrong):.2f} with another")
