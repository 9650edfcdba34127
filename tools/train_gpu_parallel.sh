#!/usr/bin/env bash
# N independent fine-tunes of INIT sharing one GPU, each on its own freshly composed scenes, for a fixed
# wall-clock budget; then average them (tools/average_weights.py, a "uniform model soup").
#   tools/train_gpu_parallel.sh INIT RUN_PREFIX SECONDS [N] [FIRST_KEY]
# Why several processes and not one: torchvision's detection heads loop over images in Python, so one process
# leaves an H200 mostly idle (tools/train_gpu.sh: ~35 pairs/s, GPU 20 % busy); independent processes need no
# gradient exchange (DDP through gloo on one GPU gave no gain). Fine-tunes of one trained model at a small
# learning rate stay in one basin, which is what makes their average a model (Wortsman et al., ICML 2022).
# Run i reads train scenes of seed 1 from key FIRST_KEY + i*100000 on: pick FIRST_KEY past every earlier run's.
# Each process: 2 torch threads, WORKERS (default 3) loader workers, GPU i mod count; CONFIG defaults to
# tools/gpu_parallel_config.json (16 images x 3 expressions per step, 3e-4 cosine over the budget).
# On one H200, 4 members kept a kernel running 99 % of the time once all were training (nvidia-smi; 13-18 images/s
# each): more members would share the same time slices (no MPS here), so 4 is about what one GPU takes.
set -euo pipefail
cd "$(dirname "$0")/.."
INIT=$1; PREFIX=$2; BUDGET=$3; N=${4:-4}; KEY0=${5:-2000001}; WORKERS=${WORKERS:-3}
# on a machine with several GPUs, member i trains on GPU i mod count (DEVICE overrides, e.g. cpu for a dry run)
GPUS=$(python3 -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
pids=()
for i in $(seq 0 $((N - 1))); do
    device=${DEVICE:-cuda}
    [ -z "${DEVICE:-}" ] && [ "$GPUS" -gt 1 ] && device=cuda:$((i % GPUS))
    RESUME=()
    [ -f "${PREFIX}_$i/trainer_state.json" ] && RESUME=(--resume)
    OMP_NUM_THREADS=2 python3 -m grmnet.cli train --online-seed 1 --online-start-key $((KEY0 + i * 100000)) \
        --init "$INIT" --config "${CONFIG:-tools/gpu_parallel_config.json}" --amp bf16 --time-budget "$BUDGET" \
        --device "$device" --workers "$WORKERS" --out "${PREFIX}_$i" "${RESUME[@]}" \
        >"${PREFIX}_$i.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
