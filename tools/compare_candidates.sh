#!/usr/bin/env bash
# Evaluate candidate weights side by side on the same data: synthetic test (in-style), the style-held-out split
# and the real samples (when ../shared/data is there). One JSON line per (candidate, data) in OUT.
#   tools/compare_candidates.sh OUT.jsonl NAME=WEIGHTS_DIR [NAME=WEIGHTS_DIR ...]
# DATASETS (root:split ...), default: data/synth:test data/synth_style:style_test data/synth_plain:test REAL:test
#   data/synth        grmnet synth --out data/synth --split test --n 200 --seed 3          (in-style test)
#   data/synth_style  grmnet synth --out data/synth_style --split style_test --n 100 --seed 4   (held-out icon sets)
#   data/synth_plain  grmnet synth --out data/synth_plain --split test --n 100 --seed 3 \
#                        --realism no-wobble,no-pressure,no-gaps,no-overshoot,no-redraw   (same scenes, clean strokes)
#   REAL              ../shared/data/sketchyscene_samples (when present)
# LIMIT pairs per synthetic split (default 1500).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$1; shift
REAL=../shared/data/sketchyscene_samples
: > "$OUT"
for spec in "$@"; do
  name=${spec%%=*}; weights=${spec#*=}
  for data in ${DATASETS:-data/synth:test data/synth_style:style_test data/synth_plain:test REAL:test}; do
    data=${data/REAL/$REAL}
    root=${data%%:*}; split=${data#*:}
    [ -d "$root" ] || continue
    limit=(); [ "$root" = "$REAL" ] || limit=(--limit "${LIMIT:-1500}")
    line=$(python -m grmnet.cli evaluate --data "$root" --split "$split" --weights "$weights" "${limit[@]}" 2>/dev/null | tail -1)
    [ -n "$line" ] || { echo "$name $root: evaluation failed" >&2; continue; }
    echo "{\"candidate\": \"$name\", \"weights\": \"$weights\", \"data\": \"$root\", \"split\": \"$split\", \"metrics\": $line}" >> "$OUT"
    echo "$name $root $split $(echo "$line" | python -c 'import json,sys; m=json.load(sys.stdin); print({k: m[k] for k in m if k in ("AP","AP50","AP75","exact_selection","pairs")})')"
  done
done
