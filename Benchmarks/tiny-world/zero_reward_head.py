#!/usr/bin/env python3
"""Zeroes the scalar head (`score.weight`) of a reward model folder in place, so that it scores
every answer 0: the control for PPO-ptx (BENCHMARKS.md, issue 5). PPO against it keeps
everything else (rollouts, KL penalty, missing-EOS penalty, the ptx updates) and loses only the
reward model's judgement; its value model, a copy of the reward model, starts at 0 too.

    cp -r RUN P && python3 Benchmarks/tiny-world/zero_reward_head.py P/reward/final
    Benchmarks/tiny-world/rerun_stages.sh P C "ppo" [--set ppo.train.seed=S]
"""
import json
import struct
import sys
from pathlib import Path

path = Path(sys.argv[1]) / "model.safetensors"
data = bytearray(path.read_bytes())
header_length = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + header_length])
if "score.weight" not in header:
    sys.exit(f"{path}: no 'score.weight' tensor; expected a `gputrain reward` model folder")
start, end = header["score.weight"]["data_offsets"]
base = 8 + header_length
data[base + start:base + end] = bytes(end - start)
path.write_bytes(bytes(data))
print(f"{path}: score.weight ({header['score.weight']['shape']}) set to zero")
