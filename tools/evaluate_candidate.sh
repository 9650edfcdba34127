#!/usr/bin/env bash
# Every measure of one set of weights (W, default the shipped ones) into runs/s8/*.json, two queues side by side (1 torch thread each)
set -u
cd "$(dirname "$0")/.."
REAL=../shared/data/sketchyscene_samples
W=${W:-resources/weights}
mkdir -p runs/s8
export OMP_NUM_THREADS=1
(
  grmnet evaluate --data data/synth --split test --limit 1500 --weights $W --json runs/s8/test.json > runs/s8/test.out 2> runs/s8/test.err
  grmnet evaluate --data data/synth_style --split style_test --limit 1500 --weights $W --json runs/s8/style.json > runs/s8/style.out 2> runs/s8/style.err
  grmnet evaluate --data data/synth_plain --split test --limit 1500 --weights $W --json runs/s8/plain.json > runs/s8/plain.out 2> runs/s8/plain.err
  grmnet evaluate --data data/synth --split test --limit 1500 --own-ink --weights $W --json runs/s8/test_own.json > runs/s8/test_own.out 2> runs/s8/test_own.err
  echo A done
) &
(
  grmnet evaluate --data data/synth --split val --limit 400 --weights $W --json runs/s8/val.json > runs/s8/val.out 2> runs/s8/val.err
  grmnet evaluate --data $REAL --split test --weights $W --json runs/s8/real.json > runs/s8/real.out 2> runs/s8/real.err
  grmnet evaluate --data $REAL --split test --own-ink --weights $W --json runs/s8/real_own.json > runs/s8/real_own.out 2> runs/s8/real_own.err
  python tools/check_detected_categories.py $REAL test --weights $W --json runs/s8/detected.json > runs/s8/detected.out 2>&1
  cp docs/results/layers.json runs/s8/layers.json
  python tools/measure_layers.py --weights $W --images 60 --pairs-per-image 12 --json runs/s8/layers.json > runs/s8/layers.out 2>&1
  echo B done
) &
wait
echo all done
