"""Copy a run's latest weights into resources/weights/ as fp16 safetensors + config + vocabulary + log.

usage: python tools/ship_weights.py RUN_DIR [DEST]   (DEST defaults to resources/weights)
fp16 halves the file; the model is loaded back in fp32, so accuracy is unchanged to within rounding.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from grmnet.weights import load_model, read_metadata, save_model


def ship(run: Path, dest: Path) -> Path:
    model, cfg, vocab, weights = load_model(run, "cpu")
    meta = read_metadata(weights)
    meta["source_run"] = run.name
    meta["trained_on"] = "synthetic SketchyScene-style scenes only (grmnet synth); no SketchyScene images"
    out = save_model(model, cfg, vocab, dest, half=True, metadata=meta)
    log = run / "train_log.jsonl"
    if log.is_file():   # only the history of the shipped weights (a run may have logged past its checkpoint)
        step = int(meta.get("step", 1 << 62))
        lines = [l for l in log.read_text().splitlines() if l.strip() and json.loads(l)["step"] <= step]
        (dest / "train_log.jsonl").write_text("\n".join(lines) + "\n")
    return out


if __name__ == "__main__":
    run = Path(sys.argv[1])
    dest = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(__file__).resolve().parents[1] / "resources" / "weights"
    print(ship(run, dest))
