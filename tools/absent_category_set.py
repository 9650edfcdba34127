"""Expressions naming categories absent from each image of a split: the right answer is "nothing matches".

    python tools/absent_category_set.py --data data/synth --split val --out runs/absent_val.json [--per-image 6]
    grmnet evaluate --data data/synth --split val --sentences runs/absent_val.json --weights W --json OUT

The regular validation split names an absent category in about 5 % of its pairs, too few to tell apart two
ways of scoring that differ only there (`named_category`: a candidate scored by the probability of the category
the expression names, or of its best one). This file holds only such pairs, in the template grammar's no-target
forms ("the cat", "all the cows", "the two dogs on the left of the tree"), written by the same generator
(`grmnet.data.expressions.generate_expressions`) from each image's categories and boxes, with a seed of its own.
`grmnet evaluate` reports their no-target accuracy (share of pairs for which nothing is returned).
For choosing settings on synthetic validation scenes only; never on the real samples.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grmnet.data.expressions import generate_expressions  # noqa: E402
from grmnet.data.sketchyscene import SketchySceneDataset  # noqa: E402

SEED = 11   # differs from every synth / training seed


def absent_expressions(categories: list[str], boxes: list[tuple], rng: np.random.Generator, n: int
                       ) -> list[str]:
    """Up to `n` template-grammar expressions of one image whose targets are empty (absent categories)."""
    objects = [{"category": c, "bbox": b} for c, b in zip(categories, boxes)]
    out: list[str] = []
    for _ in range(4 * n):
        exprs = generate_expressions(objects, rng, no_target_share=0.5)
        out += [t for t, targets in exprs.items() if not targets and t not in out]
        if len(out) >= n:
            break
    return out[:n]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--out", required=True)
    p.add_argument("--per-image", type=int, default=6)
    a = p.parse_args()
    data = SketchySceneDataset(a.data, a.split)
    entries = []
    for key in data.keys:
        img = data.image(key)
        boxes = []
        for m in img.ink_masks:
            ys, xs = np.nonzero(m)
            boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, 0, 0))
        rng = np.random.default_rng([SEED, key])
        texts = absent_expressions(img.categories, boxes, rng, a.per_image)
        if texts:
            entries.append({"key": key, "sen_instIdx_map": {t: [] for t in texts}})
    Path(a.out).write_text(json.dumps(entries, indent=1) + "\n")
    print(json.dumps({"images": len(entries), "pairs": sum(len(e["sen_instIdx_map"]) for e in entries)}))


if __name__ == "__main__":
    main()
