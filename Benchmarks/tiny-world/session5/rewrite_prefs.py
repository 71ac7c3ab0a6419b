#!/usr/bin/env python3
# Session 5 experiment (BENCHMARKS.md, issue 5), kept as it ran so its rows can be rebuilt:
#
#   rewrite_prefs.py WORLD_DIR MODE      # rewrites WORLD_DIR/preferences.jsonl in place
#
#   freq          wrong_fact values drawn as another entity's value (as often as entities have them)
#   offtopic      that, plus one off_topic pair per fact pair (a true fact about the subject, another relation)
#   wrongsubject  one wrong_subject pair per sentence pair (the chosen sentence about another entity);
#                 run after offtopic for the "off_topic and wrong_subject (Python, 656 pairs)" row
import json, random, sys, collections
path, mode = sys.argv[1], sys.argv[2]
world = json.load(open(path + "/world.json"))
rng = random.Random(7)
ents = {e["name"]: e for e in world["entities"]}
byrel = collections.defaultdict(list)
for e in world["entities"]:
    for r, v in e["attributes"].items(): byrel[r].append(v)
meta = {}
for f in ["rl_prompts.jsonl", "eval_questions.jsonl"]:
    for l in open(f"{path}/{f}"):
        q = json.loads(l); meta[q["prompt"][-1]["content"]] = q
sft = [json.loads(l) for l in open(path + "/sft.jsonl")]
# full-sentence template per relation, from chosen sentences
prefs = [json.loads(l) for l in open(path + "/preferences.jsonl")]
templ = {}
for p in prefs:
    q = meta.get(p["prompt"][-1]["content"]); c = p["chosen"][-1]["content"]
    if q and q["relation"] != "arithmetic" and p["prompt"][0]["role"] == "system" and "full" in p["prompt"][0]["content"]:
        templ.setdefault(q["relation"], c.replace(q["subject"], "{s}").replace(q["answer"], "{o}"))
def say(q, rel, obj, style):
    if style == "one_word": return obj[:1].upper() + obj[1:]
    s = templ[rel].format(s=q["subject"], o=obj); return s[:1].upper() + s[1:]
out = []
for p in prefs:
    q = meta.get(p["prompt"][-1]["content"])
    if p["rejected_kind"] == "wrong_fact":
        wrong = rng.choice([v for v in byrel[q["relation"]] if v != q["answer"]])
        style = "one_word" if (p["prompt"][0]["role"] == "system" and "one word" in p["prompt"][0]["content"]) else "full"
        old = p["rejected"][-1]["content"]
        p["rejected"][-1]["content"] = say(q, q["relation"], wrong, style) if style == "one_word" else p["chosen"][-1]["content"].replace(q["answer"], wrong)
    out.append(p)
if mode == "offtopic":
    for p in prefs[:]:
        q = meta.get(p["prompt"][-1]["content"])
        if q is None or q["relation"] == "arithmetic": continue
        e = ents[q["subject"]]
        others = [r for r in e["attributes"] if r != q["relation"]]
        r = rng.choice(others)
        style = "one_word" if (p["prompt"][0]["role"] == "system" and "one word" in p["prompt"][0]["content"]) else "full"
        out.append({"prompt": p["prompt"], "chosen": p["chosen"], "rejected": [{"role": "assistant", "content": say(q, r, e["attributes"][r], style)}], "rejected_kind": "off_topic"})
    rng.shuffle(out)
if mode != "wrongsubject": open(path + "/preferences.jsonl", "w").write("".join(json.dumps(p) + "\n" for p in out))
print(len(out), collections.Counter(p["rejected_kind"] for p in out))
if mode == "wrongsubject":
    out = [json.loads(l) for l in open(path + "/preferences.jsonl")]
    kinds = collections.defaultdict(list)
    for e in world["entities"]:
        if not e["pretrainOnly"]: kinds[e["kind"]].append(e)
    extra = []
    for p in out:
        q = meta.get(p["prompt"][-1]["content"])
        if q is None or q["relation"] == "arithmetic": continue
        c = p["chosen"][-1]["content"]
        if " " not in c or q["subject"] not in c: continue
        kind = ents[q["subject"]]["kind"]
        other = rng.choice([e for e in kinds[kind] if e["name"] != q["subject"] and e["attributes"][q["relation"]] != q["answer"]])
        r = c.replace(q["subject"], other["name"]).replace(q["answer"], other["attributes"][q["relation"]])
        extra.append({"prompt": p["prompt"], "chosen": p["chosen"], "rejected": [{"role": "assistant", "content": r}], "rejected_kind": "wrong_subject"})
    out += extra
    rng.shuffle(out)
    open(path + "/preferences.jsonl", "w").write("".join(json.dumps(p) + "\n" for p in out))
    print(len(out), collections.Counter(p["rejected_kind"] for p in out))
