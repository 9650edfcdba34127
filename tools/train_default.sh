#!/usr/bin/env bash
# Reproducible recipe of the shipped default model (resources/weights/).
# CPU: runs in the background and resumes (`--resume`) after a kill or in a later session.
# GPU: the same commands with --device cuda (or torchrun --nproc-per-node N for several GPUs).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-data/synth}
RUN=${RUN:-runs/default}
DEVICE=${DEVICE:-cpu}
ITERS=${ITERS:-8000}
# 1. synthetic data: distinct seeds per split (the split id is also mixed into every seed)
[ -f "$DATA/sentence_instance_train.json" ] || grmnet synth --out "$DATA" --split train --n 3000 --seed 1 --workers 2
[ -f "$DATA/sentence_instance_val.json" ]   || grmnet synth --out "$DATA" --split val   --n 100  --seed 2 --workers 2
[ -f "$DATA/sentence_instance_test.json" ]  || grmnet synth --out "$DATA" --split test  --n 200  --seed 3 --workers 2
# 2. train: resumes when $RUN holds a checkpoint; on a fresh machine (no $RUN) it continues from the shipped
#    weights (new optimizer and schedule), so every session adds to the same model
INIT=()
if [ ! -f "$RUN/trainer_state.json" ] && [ -f resources/weights/model.safetensors ] && [ -z "${FROM_SCRATCH:-}" ]; then
  INIT=(--init resources/weights)
fi
grmnet train --data "$DATA" --out "$RUN" --config resources/weights/train_config.json --iters "$ITERS" \
    --device "$DEVICE" --resume "${INIT[@]}"
# 3. ship: fp16 weights + config + vocabulary into resources/weights/
#    (a run started from the shipped weights appends its log to theirs as a new stage: trainer_state.json "init")
python tools/ship_weights.py "$RUN" resources/weights
