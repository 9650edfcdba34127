#!/usr/bin/env bash
# Regenerate every number and figure of docs/ from the shipped weights (resources/weights/):
# inference tuning on val, evaluation on the synthetic test split and the real samples, latency, figures.
# TUNED=1 keeps the inference settings already in resources/weights/inference.json and docs/results/tuning.json.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/results
REAL=../shared/data/sketchyscene_samples
[ "${TUNED:-0}" = 1 ] || grmnet tune resources/weights --data data/synth --report docs/results/tuning.json
grmnet evaluate --data data/synth --split test --limit 1500 --json docs/results/synthetic_test.json > /dev/null
grmnet evaluate --data data/synth --split test --limit 1500 --own-ink --json docs/results/synthetic_test_own_ink.json > /dev/null
if [ -d "$REAL" ]; then
  grmnet evaluate --data "$REAL" --split test --json docs/results/real_samples.json > /dev/null
  grmnet evaluate --data "$REAL" --split test --own-ink --json docs/results/real_samples_own_ink.json > /dev/null
fi
if [ -d "$REAL" ] && [ -d data/synth/test ]; then
  # the subsets stay in runs/ (git-ignored): the real samples' text is not ours to commit
  VOCAB= tools/eval_heldout_phrasing.sh runs/heldout_phrasing > docs/results/heldout_phrasing.md
fi
# issue #14: in-style / style-held-out / clean-stroke splits and the real samples (data: see compare_candidates.sh)
[ -z "${PREVIOUS:-}" ] || tools/compare_candidates.sh docs/results/candidates.jsonl previous="$PREVIOUS" new=resources/weights
if [ -d "$REAL" ]; then
  python tools/check_detected_categories.py "$REAL" test --json docs/results/detected_categories.json > /dev/null
fi
grmnet bench --repeats 10 --busy 1 | tail -1 > docs/results/bench.json
python tools/compare_backbones.py --json docs/results/backbones.json
python tools/prediction_figure.py
python tools/write_results.py
