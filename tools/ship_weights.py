"""Copy a run's latest weights into resources/weights/ as safetensors + config + vocabulary + log.

usage: python tools/ship_weights.py RUN_DIR [DEST] [--continues] [--hardware TEXT] [--fp16]

fp32 by default; --fp16 halves the file (loaded back in fp32, accuracy unchanged to within rounding).
--continues: RUN_DIR was initialised from the weights in DEST (`grmnet train --init`), so DEST's training log is
kept as the earlier stage(s) and the run's log is appended as a new stage. Every row carries its stage number,
the hardware it ran on and the images per step, which is what docs/RESULTS.md's budget is computed from.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from grmnet.weights import load_model, read_metadata, save_model

CPU = "2-core CPU"


def _rows(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.is_file() else []


def ship(run: Path, dest: Path, continues: bool = False, hardware: str = CPU, half: bool = False) -> Path:
    model, cfg, vocab, weights = load_model(run, "cpu")
    meta = read_metadata(weights)
    meta["source_run"] = run.name
    meta["trained_on"] = "synthetic SketchyScene-style scenes only (grmnet synth); no SketchyScene images"
    state = json.loads((run / "trainer_state.json").read_text()) if (run / "trainer_state.json").is_file() else {}
    continues = continues or bool(state.get("init"))   # the run started from other weights (`grmnet train --init`)
    earlier = []
    if continues:
        earlier = _rows(dest / "train_log.jsonl")
        for r in earlier:   # logs shipped before stages existed were one CPU stage
            r.setdefault("stage", 1)
            r.setdefault("hardware", CPU)
            if "pairs_per_step" in r:   # image training rows (a distillation stage has none)
                r.setdefault("images_per_step", max(1, r["pairs_per_step"] // 4))
    stage = max((r["stage"] for r in earlier), default=0) + 1
    step = int(meta.get("step", 1 << 62))
    # only the history of the shipped weights (a run may have logged past its checkpoint)
    rows = [r for r in _rows(run / "train_log.jsonl") if r["step"] <= step]
    # a resumed run logs again the steps after its last checkpoint: the later row is the work that was kept
    # (an averaged run, tools/average_weights.py, holds its members' logs side by side: one per member)
    last = {(r.get("member"), r["step"]): i for i, r in enumerate(rows)}
    rows = [r for i, r in enumerate(rows) if last[(r.get("member"), r["step"])] == i]
    images_per_step = max(1, cfg.training.batch_size // cfg.training.expressions_per_image)
    for r in rows:
        r.update(stage=stage, hardware=hardware, images_per_step=images_per_step)
    out = save_model(model, cfg, vocab, dest, half=half, metadata=meta)
    if earlier or rows:
        (dest / "train_log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in earlier + rows))
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path)
    p.add_argument("dest", type=Path, nargs="?",
                   default=Path(__file__).resolve().parents[1] / "resources" / "weights")
    p.add_argument("--continues", action="store_true", help="keep DEST's log as earlier training stages")
    p.add_argument("--hardware", default=CPU, help="what the run trained on, for the budget table")
    p.add_argument("--fp16", action="store_true", help="store fp16 weights (half the size)")
    a = p.parse_args()
    print(ship(a.run, a.dest, a.continues, a.hardware, a.fp16))
