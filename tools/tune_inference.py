"""Choose the inference-only settings of shipped weights on the synthetic VALIDATION split (never test, never
the real samples): ink_margin (by mask AP) and score_threshold (by exact-selection accuracy).

usage: python tools/tune_inference.py WEIGHTS_DIR [--data data/synth] [--limit 300]
Writes the chosen values into WEIGHTS_DIR/config.json and the sweep into docs/results/tuning.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from grmnet.config import GRMNetConfig
from grmnet.data.sketchyscene import SketchySceneDataset
from grmnet.evaluation import evaluate
from grmnet.prediction import Predictor

MARGINS = (0, 4, 6, 8, 11)
THRESHOLDS = (0.4, 0.5, 0.6, 0.7)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("weights")
    ap.add_argument("--data", default="data/synth")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs" / "results" / "tuning.json"))
    a = ap.parse_args()
    data = SketchySceneDataset(a.data, "val")
    p = Predictor(a.weights)
    sweep = {"split": "val", "pairs": a.limit, "margins": {}, "thresholds": {}}
    for m in MARGINS:
        p.cfg.ink_margin = m
        metrics, _ = evaluate(p, data, 0.5, limit=a.limit, progress=False)
        sweep["margins"][m] = {k: metrics[k] for k in ("AP", "AP50", "AP75")}
        print("ink_margin", m, sweep["margins"][m], flush=True)
    best_margin = max(MARGINS, key=lambda m: sweep["margins"][m]["AP"])
    p.cfg.ink_margin = best_margin
    for t in THRESHOLDS:
        metrics, _ = evaluate(p, data, t, limit=a.limit, progress=False)
        sweep["thresholds"][t] = {k: metrics[k] for k in ("exact_selection", "no_target_accuracy")}
        print("threshold", t, sweep["thresholds"][t], flush=True)
    best_t = max(THRESHOLDS, key=lambda t: sweep["thresholds"][t]["exact_selection"])
    sweep["chosen"] = {"ink_margin": best_margin, "score_threshold": best_t}
    cfg_path = Path(a.weights) / "config.json"
    cfg = GRMNetConfig.load(cfg_path)
    cfg.ink_margin, cfg.score_threshold = best_margin, best_t
    cfg.save(cfg_path)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(sweep, indent=1))
    print(json.dumps(sweep["chosen"]))


if __name__ == "__main__":
    main()
