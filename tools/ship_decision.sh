#!/usr/bin/env bash
# Ship decision: the shipped weights and a candidate run, each at the settings `grmnet tune` chooses for it on the
# same validation pairs (copies in OUT; nothing shipped). Prints each one's choice, mask AP and exact selection.
#   tools/ship_decision.sh RUN [OUT]        e.g. tools/ship_decision.sh runs/cpu/stage9 runs/s9
set -u
cd "$(dirname "$0")/.."
RUN=${1:?usage: tools/ship_decision.sh RUN [OUT]}
OUT=${2:-runs/ship_decision}
rm -rf "$OUT/shipped" "$OUT/candidate"; mkdir -p "$OUT/candidate"
cp -r resources/weights "$OUT/shipped"
cp "$RUN"/{model.safetensors,config.json,vocab.txt} "$OUT/candidate/"
cp resources/weights/inference.json "$OUT/candidate/"
export OMP_NUM_THREADS=1          # the two tunes side by side, one core each
for w in shipped candidate; do
  grmnet tune "$OUT/$w" --data data/synth --report "$OUT/tune_$w.json" > "$OUT/tune_$w.out" 2> "$OUT/tune_$w.err" &
done
wait
for w in shipped candidate; do python - "$OUT/tune_$w.json" "$w" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); ch = t["chosen"]
key = ("mask_threshold", "ink_margin", "named_category")
region = next(r for r in t["regions"] if all(r.get(k, False) == ch.get(k, False) for k in key))
rule = next(g for g in t["grid"] if (g["threshold"], g["count_floor"], g["count_nouns"]) ==
            (ch["score_threshold"], ch["count_floor"], ch["count_nouns"]))
print(f"{sys.argv[2]}: {t['pairs']} val pairs, chosen {ch}: AP {region['AP']}, exact {rule['exact_selection']} %")
PY
done
