#!/usr/bin/env bash
# Template vs held-out free phrasing on the same images, with the weights given (default: the shipped ones):
# overall and per variation type, on the real SketchyScene samples and on the synthetic test scenes.
#   tools/eval_heldout_phrasing.sh OUT [extra grmnet evaluate args, e.g. --weights DIR]
# Needs data/synth/test (grmnet synth --out data/synth --split test --n 200 --seed 3) and ../shared/data/sketchyscene_samples.
# The held-out files are never used for training or for choosing settings.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: tools/eval_heldout_phrasing.sh OUT [grmnet evaluate args]}; shift
REAL=${REAL:-../shared/data/sketchyscene_samples}
SYNTH=${SYNTH:-data/synth}
# a word-level (BiLSTM) model refuses expressions with no known word: those pairs are set aside (unset VOCAB for a
# subword encoder, which reads every word)
VOCAB=${VOCAB-resources/weights/vocab.txt}
run() {  # name data free-file [grmnet evaluate args]
  local dir="$OUT/$1" data=$2 free=$3
  shift 3
  python tools/heldout_phrasing.py check --data "$data" --free "$free" > "$dir.check.json" || { cat "$dir.check.json"; exit 1; }
  python tools/heldout_phrasing.py subsets --data "$data" --free "$free" --out "$dir" ${VOCAB:+--vocab "$VOCAB"} > /dev/null
  for f in "$dir"/*.json; do
    case "$f" in *.metrics.json) continue;; esac
    case "$f" in */unreadable.json) continue;; esac
    grmnet evaluate --data "$data" --split test --sentences "$f" --json "${f%.json}.metrics.json" "$@" > /dev/null \
      2> "${f%.json}.log" || echo "failed: $f (see ${f%.json}.log)" >&2
  done
}
mkdir -p "$OUT"
EXTRA=("$@")
# ONLY=real_samples or ONLY=synth_test runs one of the two
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }
if want real_samples; then run real_samples "$REAL" resources/heldout_phrasing/real_samples_free.json "${EXTRA[@]}"; fi
if want synth_test; then run synth_test "$SYNTH" resources/heldout_phrasing/synth_test_free.json "${EXTRA[@]}"; fi
python tools/heldout_phrasing.py summary "$OUT/real_samples" "$OUT/synth_test"
