#!/usr/bin/env bash
# Prepared run for a lent GPU with a fixed wall-clock budget: continue the default model on freshly composed
# synthetic scenes (no dataset on disk, no epochs). Training scenes are keys from 3001 on of the train split
# with seed 1 (START_KEY, default 3001), i.e. never the scenes of data/synth/train (keys 1-3000) nor any
# val/test scene. Give each run its own START_KEY so that runs do not repeat scenes.
#   tools/train_gpu.sh INIT_DIR RUN_DIR SECONDS [RANKS] [WORKERS_PER_RANK] [DEVICE]
# The shipped stage 2: tools/train_gpu.sh runs/default RUN 500   (8.4 min on one H200, 368 iterations x 48 pairs)
# One process is bound by torchvision's per-image Python loops (measured on an H200: ~35 pairs/s with the GPU
# 20 % busy). RANKS > 1 starts torchrun; ranks beyond the GPU count share a GPU through gloo, but on one H200
# 5 ranks gave no more than one process (~38 pairs/s in all), so use one rank per GPU.
# CONFIG=tools/cpu_finetune_config.json suits a CPU (4 images x 4 expressions per step, short warm-up).
# Then: python tools/ship_weights.py RUN_DIR resources/weights --continues --hardware "1x H200 (lent)"
set -euo pipefail
cd "$(dirname "$0")/.."
INIT=$1; RUN=$2; BUDGET=$3; RANKS=${4:-1}; WORKERS=${5:-14}; DEVICE=${6:-cuda}
RESUME=()
[ -f "$RUN/trainer_state.json" ] && RESUME=(--resume)
LAUNCH=(python3 -m grmnet.cli)
[ "$RANKS" -gt 1 ] && LAUNCH=(python3 -m torch.distributed.run --standalone --nproc-per-node "$RANKS" -m grmnet.cli)
"${LAUNCH[@]}" train --online-seed 1 --online-start-key "${START_KEY:-3001}" --out "$RUN" \
    --config "${CONFIG:-tools/gpu_finetune_config.json}" --init "$INIT" --iters 1000000 --time-budget "$BUDGET" \
    --device "$DEVICE" --workers "$WORKERS" "${RESUME[@]}"
