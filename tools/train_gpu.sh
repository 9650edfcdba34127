#!/usr/bin/env bash
# Prepared run for a lent GPU with a fixed wall-clock budget: continue the default model on freshly composed
# synthetic scenes (no dataset on disk, no epochs). Training scenes are keys from 3001 on of the train split
# with seed 1, i.e. never the scenes of data/synth/train (keys 1-3000) nor any val/test scene.
#   tools/train_gpu.sh INIT_DIR RUN_DIR SECONDS [WORKERS] [DEVICE]
# Then: python tools/ship_weights.py RUN_DIR resources/weights
set -euo pipefail
cd "$(dirname "$0")/.."
INIT=$1; RUN=$2; BUDGET=$3; WORKERS=${4:-14}; DEVICE=${5:-cuda}
RESUME=()
[ -f "$RUN/trainer_state.json" ] && RESUME=(--resume)
python3 -m grmnet.cli train --online-seed 1 --online-start-key 3001 --out "$RUN" \
    --config tools/gpu_finetune_config.json --init "$INIT" --iters 1000000 --time-budget "$BUDGET" \
    --device "$DEVICE" --workers "$WORKERS" "${RESUME[@]}"
