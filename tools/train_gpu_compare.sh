#!/usr/bin/env bash
# One prepared run on a lent GPU: train the backbone candidates side by side, each its own process on the
# same GPU for the same wall-clock (one process is bound by per-pair Python loops, so two share a GPU well),
# on freshly composed synthetic scenes (train split, seed 1, keys from START_KEY: never a val/test scene).
#   tools/train_gpu_compare.sh SECONDS OUT_DIR [WORKERS_PER_RUN]
# Needs (carry them): runs/init_bilstm (tools/swap_language_side.py to-bilstm resources/weights runs/init_bilstm:
# the shipped weights without the open-vocabulary head, whose text encoder package is not on the GPU machine)
# and runs/pretrained/efficientnet_lite0.safetensors. Afterwards `to-hybrid` puts the head back.
# Candidates (language side frozen, so the shipped open-vocabulary head stays valid):
#   mobilenet  - the shipped MobileNetV3 (trained from scratch) continued   (tools/gpu_mobilenet_config.json)
#   legacy     - as mobilenet, scenes without the hand-drawn effects (--realism legacy): the realism ablation
#   lite0      - EfficientNet-Lite0 from ImageNet (runs/pretrained/efficientnet_lite0.safetensors from
#                `grmnet convert-backbone`), heads copied from the shipped weights (tools/gpu_lite0_config.json)
# Then: tar of each run (no optimizer state) into OUT_DIR, split into 15 MB parts.
set -uo pipefail
cd "$(dirname "$0")/.."
BUDGET=$1; OUT=$2; WORKERS=${3:-4}
mkdir -p "$OUT" runs/gpu
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
nvidia-smi --query-gpu=name,memory.total --format=csv > "$OUT/gpu.txt" 2>&1
python3 -c "import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.is_available())" >> "$OUT/gpu.txt"
COMMON=(--online-seed 1 --iters 1000000 --time-budget "$BUDGET" --device "${DEVICE:-cuda}" --workers "$WORKERS" --amp bf16)
python3 -m grmnet.cli train "${COMMON[@]}" --online-start-key 500001 --out runs/gpu/mobilenet \
    --config tools/gpu_mobilenet_config.json --init runs/init_bilstm > runs/gpu/mobilenet.log 2>&1 &
python3 -m grmnet.cli train "${COMMON[@]}" --online-start-key 500001 --out runs/gpu/legacy --realism legacy \
    --config tools/gpu_mobilenet_config.json --init runs/init_bilstm > runs/gpu/legacy.log 2>&1 &
python3 -m grmnet.cli train "${COMMON[@]}" --online-start-key 700001 --out runs/gpu/lite0 \
    --config tools/gpu_lite0_config.json --init-matching runs/init_bilstm \
    --backbone-weights runs/pretrained/efficientnet_lite0.safetensors > runs/gpu/lite0.log 2>&1 &
( while sleep 30; do nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader; uptime; done ) \
    > runs/gpu/utilisation.log 2>&1 &
MON=$!
wait %1 %2 %3
kill $MON
for r in mobilenet legacy lite0; do tail -c 3000 runs/gpu/$r.log; tail -n 2 runs/gpu/$r/train_log.jsonl; done
tar -C runs/gpu --exclude=optimizer.safetensors -czf - mobilenet legacy lite0 mobilenet.log legacy.log lite0.log utilisation.log \
    | split -b 15M - "$OUT/runs.tgz.part-"
ls -la "$OUT"
