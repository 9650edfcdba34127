#!/usr/bin/env bash
# Every measure of one set of weights (W, default the shipped ones) into $OUT/*.json, two queues side by side (1 torch thread each)
set -u
cd "$(dirname "$0")/.."
REAL=../shared/data/sketchyscene_samples
W=${W:-resources/weights}
OUT=${OUT:-runs/s8}
mkdir -p $OUT
export OMP_NUM_THREADS=1
(
  grmnet evaluate --data data/synth --split test --limit 1500 --weights $W --json $OUT/test.json > $OUT/test.out 2> $OUT/test.err
  grmnet evaluate --data data/synth_style --split style_test --limit 1500 --weights $W --json $OUT/style.json > $OUT/style.out 2> $OUT/style.err
  grmnet evaluate --data data/synth_plain --split test --limit 1500 --weights $W --json $OUT/plain.json > $OUT/plain.out 2> $OUT/plain.err
  grmnet evaluate --data data/synth --split test --limit 1500 --own-ink --weights $W --json $OUT/test_own.json > $OUT/test_own.out 2> $OUT/test_own.err
  echo A done
) &
(
  grmnet evaluate --data data/synth --split val --limit 400 --weights $W --json $OUT/val.json > $OUT/val.out 2> $OUT/val.err
  grmnet evaluate --data $REAL --split test --weights $W --json $OUT/real.json > $OUT/real.out 2> $OUT/real.err
  # photographed paper (python tools/photographed_split.py data/synth data/synth_photo test)
  if [ -d data/synth_photo/test ]; then
    grmnet evaluate --data data/synth_photo --split test --limit 1500 --weights $W --json $OUT/photo.json > $OUT/photo.out 2> $OUT/photo.err
  fi
  grmnet evaluate --data $REAL --split test --own-ink --weights $W --json $OUT/real_own.json > $OUT/real_own.out 2> $OUT/real_own.err
  python tools/check_detected_categories.py $REAL test --weights $W --json $OUT/detected.json > $OUT/detected.out 2>&1
  cp docs/results/layers.json $OUT/layers.json
  python tools/measure_layers.py --weights $W --images 60 --pairs-per-image 12 --json $OUT/layers.json > $OUT/layers.out 2>&1
  echo B done
) &
wait
echo all done
