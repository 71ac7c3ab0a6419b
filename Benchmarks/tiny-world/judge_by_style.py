"""Prints a pipeline run's judge figures per model, split by system prompt (BENCHMARKS.md, issue 5).

    python3 Benchmarks/tiny-world/judge_by_style.py runs/tiny-world
"""
import collections
import json
import pathlib
import sys

run = pathlib.Path(sys.argv[1])
report = json.loads((run / "report.json").read_text())
print("reward model:", report["reward_model"])
for model in ["sft", "dpo", "ppo"]:
    figures = report["models"][model]
    judge = figures["judge"]
    print(f"{model}: judge {figures['judge_score']:.3f} (correct {judge['correct']:.3f}, "
          f"follows {judge['follows_system_prompt']:.3f}, concise {judge['concise']:.3f}), "
          f"length {figures['mean_length']:.2f}, KL to SFT {figures['kl_to_sft']}, reward {figures['reward']:.3f}")
    by_style = collections.defaultdict(list)
    for line in (run / "eval" / f"{model}.jsonl").read_text().splitlines():
        answer = json.loads(line)
        by_style[answer["question"]["style"]].append(answer["verdict"])
    for style, verdicts in sorted(by_style.items()):
        follows = sum(v["follows_system_prompt"] for v in verdicts) / len(verdicts)
        correct = sum(v["correct"] for v in verdicts) / len(verdicts)
        print(f"    {style:>13}: follows {follows:.3f}, correct {correct:.3f} ({len(verdicts)} questions)")
