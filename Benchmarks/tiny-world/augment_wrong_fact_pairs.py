"""Adds a wrong_fact twin to every tiny-world preference pair about a fact that has none (the
reward-model experiment in BENCHMARKS.md, issue 5): the rejected answer is the chosen one with
the fact's object swapped for another value of the same relation.

Usage: python augment_wrong_fact_pairs.py WORLD_FOLDER OUT.jsonl
  WORLD_FOLDER: a tiny world's folder (world.json, preferences.jsonl), e.g. runs/tiny-world/data/world
"""
import json, random, re, sys

world_folder, out = sys.argv[1], sys.argv[2]
world = json.load(open(world_folder + "/world.json"))
values = {}
for entity in world["entities"]:
    for relation, value in entity["attributes"].items():
        values.setdefault(relation, set()).add(value)
entities = {entity["name"]: entity for entity in world["entities"]}
rng = random.Random(7)
pairs = [json.loads(line) for line in open(world_folder + "/preferences.jsonl")]
extra = []
for pair in pairs:
    if pair["rejected_kind"] == "wrong_fact":
        continue
    user = [m["content"] for m in pair["prompt"] if m["role"] == "user"][0]
    chosen = pair["chosen"][0]["content"]
    subjects = [name for name in entities if name.lower() in user.lower()]
    if not subjects:
        continue  # arithmetic
    entity = entities[max(subjects, key=len)]
    hits = [(r, v) for r, v in entity["attributes"].items() if re.search(r"\b" + re.escape(v) + r"\b", chosen, re.I)]
    if len(hits) != 1:
        continue
    relation, value = hits[0]
    wrong = rng.choice(sorted(values[relation] - {value}))
    rejected = re.sub(r"\b" + re.escape(value) + r"\b", lambda m: wrong.capitalize() if m.group(0)[0].isupper() else wrong,
                      chosen, flags=re.I)
    extra.append({"prompt": pair["prompt"], "chosen": pair["chosen"],
                  "rejected": [{"role": "assistant", "content": rejected}], "rejected_kind": "wrong_fact"})
with open(out, "w") as f:
    for pair in pairs + extra:
        f.write(json.dumps(pair) + "\n")
print(len(pairs), "pairs +", len(extra), "wrong_fact twins")
