#!/usr/bin/env python3
"""Does a reward model know the tiny world's facts? For every fact question it scores the same
sentence with each value the relation takes and reports how often the true value scores highest
(against chance), per group of questions, and the mean score of each value (a prior over values
shows as rare values scoring lower). BENCHMARKS.md, issue 5.

    python3 Benchmarks/tiny-world/probe_reward_facts.py RUN REWARD_MODEL [GPUTRAIN]

RUN is a pipeline run folder (its data/world files), REWARD_MODEL a reward model folder.
"""
import collections, json, os, statistics, subprocess, sys, tempfile

run, reward_model = sys.argv[1], sys.argv[2]
gputrain = sys.argv[3] if len(sys.argv) > 3 else ".build/release/gputrain"
world_dir = os.path.join(run, "data", "world")
def lines(name): return [json.loads(l) for l in open(os.path.join(world_dir, name))]

world = json.load(open(os.path.join(world_dir, "world.json")))
counts = collections.defaultdict(collections.Counter)
for entity in world["entities"]:
    for relation, value in entity["attributes"].items(): counts[relation][value] += 1

# One sentence template per relation, taken from the chosen answers of the preference pairs.
questions = lines("rl_prompts.jsonl") + lines("eval_questions.jsonl")
by_text = {q["prompt"][-1]["content"]: q for q in questions}
templates = {}
for pair in lines("preferences.jsonl"):
    q, chosen = by_text.get(pair["prompt"][-1]["content"]), pair["chosen"][-1]["content"]
    if q and q["relation"] != "arithmetic" and " " in chosen and q["subject"] in chosen and q["answer"] in chosen:
        templates.setdefault(q["relation"], chosen.replace(q["subject"], "{s}").replace(q["answer"], "{o}"))

rows, keys, seen = [], [], set()
for group, source in (("trained", lines("rl_prompts.jsonl")), ("held-out", lines("eval_questions.jsonl"))):
    for q in source:
        key = (q["subject"], q["relation"])
        if q["relation"] not in templates or key in seen: continue
        seen.add(key)
        name = "pretrain-only" if q["pretrain_only"] else group
        for value in counts[q["relation"]]:
            rows.append({"prompt": [{"role": "user", "content": q["prompt"][-1]["content"]}],
                         "completion": templates[q["relation"]].format(s=q["subject"], o=value)})
            keys.append((name, key, value, value == q["answer"]))

with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as file:
    file.write("".join(json.dumps(row) + "\n" for row in rows))
output = subprocess.run([gputrain, "score", "--model", reward_model, "--data", file.name, "--json"],
                        capture_output=True, text=True, check=True).stdout
os.unlink(file.name)
scores = [json.loads(line)["score"] for line in output.splitlines() if line.strip()]

per_question = collections.defaultdict(list)
per_value = collections.defaultdict(list)
for (group, key, value, true), score in zip(keys, scores):
    per_question[(group, key)].append((score, true))
    per_value[(key[1], value)].append(score)
for group in ("trained", "held-out", "pretrain-only"):
    items = [(scored, key[1]) for (g, key), scored in per_question.items() if g == group]
    if not items: continue
    top = sum(max(scored)[1] for scored, _ in items) / len(items)
    chance = sum(1 / len(counts[relation]) for _, relation in items) / len(items)
    print(f"{group}: {len(items)} questions, true value scored highest {top:.3f} (chance {chance:.3f})")
for relation in sorted(templates):
    if len(counts[relation]) > 12: continue
    values = sorted(counts[relation], key=lambda v: -counts[relation][v])
    print(f"{relation} (value:entities:mean score) " + " ".join(
        f"{v}:{counts[relation][v]}:{statistics.mean(per_value[(relation, v)]):+.2f}" for v in values))
