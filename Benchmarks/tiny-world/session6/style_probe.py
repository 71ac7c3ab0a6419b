#!/usr/bin/env python3
"""How often a chat model answers a full-sentence RL prompt in fewer than three words
(BENCHMARKS.md, session 6): each "Answer in a full sentence." prompt of RL_PROMPTS answered by
`gputrain generate` on the reference device, greedily (temperature 0) or three times at
TEMPERATURE (seeds 0, 1, 2).

    python3 Benchmarks/tiny-world/session6/style_probe.py MODEL RL_PROMPTS TEMPERATURE [GPUTRAIN]
    e.g. ... runs/tiny-world/sft/final runs/tiny-world/data/world/rl_prompts.jsonl 0.7
"""
import json
import subprocess
import sys

model, prompts_path, temperature = sys.argv[1:4]
gputrain = sys.argv[4] if len(sys.argv) > 4 else ".build/release/gputrain"
prompts = [json.loads(line) for line in open(prompts_path)]
full_sentence = [p for p in prompts if p["style"] == "full_sentence"]
seeds = [0] if float(temperature) == 0 else [0, 1, 2]
short = total = 0
for prompt in full_sentence:
    question = prompt["prompt"][-1]["content"]
    for seed in seeds:
        answer = subprocess.run(
            [gputrain, "generate", "--model", model, "--system", "Answer in a full sentence.", "--prompt", question,
             "--temperature", temperature, "--seed", str(seed), "--max-tokens", "24", "--device", "reference"],
            capture_output=True, text=True, check=True).stdout.strip()
        total += 1
        short += len(answer.split()) < 3
print(f"{model} at temperature {temperature}: {short} of {total} answers to full-sentence prompts have fewer than three words")
