#!/usr/bin/env python3
"""Adds minimal pairs to a tiny-world preferences.jsonl (session 5 experiments, BENCHMARKS.md):

    add_pairs.py wrong-subject WORLD_DIR OUT [SEED]           # a second wrong_subject pair per wrong_subject pair (seed 3)
    add_pairs.py wrong-fact WORLD_DIR OUT [SEED] [--once-per-prompt]
        # three wrong_fact pairs per fact pair: the chosen answer with another entity's value (seed 5;
        # seed 9 with --once-per-prompt for the run with every kind, whose questions have several pairs)

WORLD_DIR holds world.json, rl_prompts.jsonl, eval_questions.jsonl and the preferences.jsonl to extend.
"""
import collections, json, random, sys

mode, path, out_path = sys.argv[1], sys.argv[2].rstrip("/") + "/", sys.argv[3]
numbers = [a for a in sys.argv[4:] if not a.startswith("--")]
rng = random.Random(int(numbers[0]) if numbers else {"wrong-subject": 3, "wrong-fact": 5}[mode])
world = json.load(open(path + "world.json"))
meta = {json.loads(l)["prompt"][-1]["content"]: json.loads(l)
        for f in ["rl_prompts.jsonl", "eval_questions.jsonl"] for l in open(path + f)}
entities = {e["name"]: e for e in world["entities"]}
prefs = [json.loads(l) for l in open(path + "preferences.jsonl")]

def capitalised(text): return text[:1].upper() + text[1:]

def replace_value(chosen, answer, value):
    return chosen.replace(answer, value).replace(capitalised(answer), capitalised(value))

extra = []
if mode == "wrong-subject":
    for p in prefs:
        if p["rejected_kind"] != "wrong_subject": continue
        q = meta[p["prompt"][-1]["content"]]
        chosen = p["chosen"][0]["content"]
        kind = entities[q["subject"]]["kind"]
        other = rng.choice([e for e in world["entities"] if e["kind"] == kind and not e["pretrainOnly"] and e["name"] != q["subject"]
                            and e["attributes"][q["relation"]] != q["answer"] and e["name"] not in p["rejected"][0]["content"]])
        rejected = replace_value(chosen.replace(q["subject"], other["name"]), q["answer"], other["attributes"][q["relation"]])
        extra.append({**p, "rejected": [{"role": "assistant", "content": rejected}]})
elif mode == "wrong-fact":
    values = collections.defaultdict(list)
    for e in world["entities"]:
        if not e["pretrainOnly"]:
            for relation, value in e["attributes"].items(): values[relation].append(value)
    seen = set()
    for p in prefs:
        q = meta.get(p["prompt"][-1]["content"])
        if q is None or q["relation"] == "arithmetic": continue
        if "--once-per-prompt" in sys.argv:
            key = json.dumps(p["prompt"])
            if key in seen: continue
            seen.add(key)
        chosen = p["chosen"][0]["content"]
        for _ in range(3):
            value = rng.choice([v for v in values[q["relation"]] if v != q["answer"]])
            rejected = capitalised(value) if chosen.lower() == q["answer"].lower() else replace_value(chosen, q["answer"], value)
            if rejected == chosen: continue
            extra.append({"prompt": p["prompt"], "chosen": p["chosen"], "rejected": [{"role": "assistant", "content": rejected}],
                          "rejected_kind": "wrong_fact"})
else:
    sys.exit(f"unknown mode {mode}: wrong-subject or wrong-fact")
pairs = prefs + extra
rng.shuffle(pairs)
open(out_path, "w").write("".join(json.dumps(p) + "\n" for p in pairs))
print(len(pairs), dict(collections.Counter(p["rejected_kind"] for p in pairs)))
