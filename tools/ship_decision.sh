#!/usr/bin/env bash
# Ship decision: the shipped weights and a candidate run, each at the settings `grmnet tune` chooses for it on the
# same validation pairs (copies in OUT; nothing shipped). Prints each one's choice, mask AP and exact selection and
# writes them to OUT/ship_decision.json (tools/write_results.py reads its copy in docs/results/).
#   tools/ship_decision.sh RUN [OUT]        e.g. tools/ship_decision.sh runs/cpu/stage9 runs/s9
# SHIPPED_TUNED=DIR reuses an earlier tune of the shipped weights (DIR's tensors must equal resources/weights', e.g.
# the previous decision's OUT/candidate, and its report lie next to it as tune_<name>.json): one tune instead of two.
set -eu
cd "$(dirname "$0")/.."
RUN=${1:?usage: tools/ship_decision.sh RUN [OUT]}
OUT=${2:-runs/ship_decision}
rm -rf "$OUT/shipped" "$OUT/candidate"; mkdir -p "$OUT/candidate"
cp -r resources/weights "$OUT/shipped"
cp "$RUN"/{model.safetensors,config.json,vocab.txt} "$OUT/candidate/"
cp resources/weights/inference.json "$OUT/candidate/"
todo=(shipped candidate)
if [ -n "${SHIPPED_TUNED:-}" ]; then
  python - "$SHIPPED_TUNED/model.safetensors" resources/weights/model.safetensors <<'PY'
import sys
from safetensors.numpy import load_file
a, b = load_file(sys.argv[1]), load_file(sys.argv[2])
if a.keys() != b.keys() or any((a[k] != b[k]).any() for k in a):
    sys.exit(f"SHIPPED_TUNED: {sys.argv[1]} is not the shipped weights; tune them again (unset SHIPPED_TUNED)")
PY
  cp "$(dirname "$SHIPPED_TUNED")/tune_$(basename "$SHIPPED_TUNED").json" "$OUT/tune_shipped.json"
  todo=(candidate)
fi
export OMP_NUM_THREADS=$(( ${#todo[@]} == 1 ? 2 : 1 ))   # two tunes side by side, one core each
for w in "${todo[@]}"; do
  grmnet tune "$OUT/$w" --data data/synth --report "$OUT/tune_$w.json" > "$OUT/tune_$w.out" 2> "$OUT/tune_$w.err" &
done
wait
python - "$OUT" "$RUN" <<'PY'
import json, sys
from pathlib import Path
out, run = Path(sys.argv[1]), sys.argv[2]
decision = {"command": f"tools/ship_decision.sh {run} {out}", "candidate_run": run}
for name in ("shipped", "candidate"):
    t = json.loads((out / f"tune_{name}.json").read_text()); ch = t["chosen"]
    key = ("mask_threshold", "ink_margin", "named_category")
    region = next(r for r in t["regions"] if all(r.get(k, False) == ch.get(k, False) for k in key))
    rule = next(g for g in t["grid"] if (g["threshold"], g["count_floor"], g["count_nouns"]) ==
                (ch["score_threshold"], ch["count_floor"], ch["count_nouns"]))
    decision[name] = {"pairs": t["pairs"], "chosen": ch, "AP": region["AP"], "exact_selection": rule["exact_selection"],
                      "no_target_accuracy": rule.get("no_target_accuracy")}
    print(f"{name}: {t['pairs']} val pairs, chosen {ch}: AP {region['AP']}, exact {rule['exact_selection']} %")
c, s = decision["candidate"], decision["shipped"]
decision["ship"] = c["AP"] > s["AP"] and c["exact_selection"] >= s["exact_selection"]
print("ship the candidate" if decision["ship"] else "keep the shipped weights")
(out / "ship_decision.json").write_text(json.dumps(decision, indent=1) + "\n")
PY
