#!/bin/bash
# Reruns some stages of a finished pipeline run on a copy of it, then its evaluation, so one
# stage's settings can be compared on the same earlier models (BENCHMARKS.md, issue 5):
#
#   Benchmarks/tiny-world/rerun_stages.sh runs/tiny-world E "ppo" --set ppo.kl_coef=0.3
#
# copies RUN to OUT, deletes OUT's folders of the named stages, marks them and eval unfinished
# in OUT/pipeline.json, and resumes the pipeline there (the --set options go to it).
set -euo pipefail
run=$1 out=$2 stages=$3
shift 3
rm -rf "$out"
cp -r "$run" "$out"
rm -f "$out"/report.*
for stage in $stages; do rm -rf "${out:?}/$stage"; done
python3 - "$out/pipeline.json" $stages <<'PY'
import json, sys
path, redo = sys.argv[1], set(sys.argv[2:]) | {"eval"}
state = json.load(open(path))
state["completed"] = [step for step in state["completed"] if step not in redo]
json.dump(state, open(path, "w"))
PY
.build/release/gputrain pipeline --out "$out" --resume "$@" > "$out/log.txt" 2>&1
python3 "$(dirname "$0")/judge_by_style.py" "$out"
