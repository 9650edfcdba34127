"""Free-phrasing expressions on the synthetic validation scenes, per variation type, for choosing settings.

    python tools/free_phrasing_set.py --data data/synth --split val --out runs/free_val
    grmnet evaluate --data data/synth --split val --sentences runs/free_val/type_superlative.json --weights W

The held-out free-phrasing files (resources/heldout_phrasing/) are a test set: nothing may be chosen on them.
This writes the generator's own free family (`grmnet.data.expressions.generate_free_expressions`, every
variation type, no-target pairs included) on the validation scenes, from a seed of its own: OUT/free.json (all
pairs) and OUT/type_<name>.json (the pairs with that kind of variation, at most --per-image of them per
image), each readable by `grmnet evaluate --sentences`. For synthetic validation scenes only; never on the real samples.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grmnet.data.expressions import generate_free_expressions  # noqa: E402
from grmnet.data.sketchyscene import SketchySceneDataset  # noqa: E402

SEED = 13   # differs from every synth / training seed and from tools/absent_category_set.py


def ink_boxes(masks) -> list[tuple[int, int, int, int]]:
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else (0, 0, 0, 0))
    return boxes


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--split", default="val")
    p.add_argument("--out", required=True)
    p.add_argument("--per-image", type=int, default=8, help="at most this many pairs per image and type (0: all)")
    a = p.parse_args()
    data = SketchySceneDataset(a.data, a.split)
    everything: list[dict] = []
    by_type: dict[str, list[dict]] = {}
    for key in data.keys:
        img = data.image(key)
        objects = [{"category": c, "bbox": b} for c, b in zip(img.categories, ink_boxes(img.ink_masks))]
        rng = np.random.default_rng([SEED, key])
        free = generate_free_expressions(objects, rng, with_types=True)     # the synthetic canvas is 750 px
        if not free:
            continue
        everything.append({"key": key, "sen_instIdx_map": {t: targets for t, (targets, _) in free.items()}})
        types = {ty for _, kinds in free.values() for ty in kinds}
        for ty in sorted(types):
            pairs = {t: targets for t, (targets, kinds) in free.items() if ty in kinds}
            if a.per_image and len(pairs) > a.per_image:
                texts = sorted(pairs)
                pairs = {texts[int(i)]: pairs[texts[int(i)]] for i in sorted(rng.permutation(len(texts))[:a.per_image])}
            by_type.setdefault(ty, []).append({"key": key, "sen_instIdx_map": pairs})
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "free.json").write_text(json.dumps(everything, indent=1) + "\n")
    for ty, entries in by_type.items():
        (out / f"type_{ty}.json").write_text(json.dumps(entries, indent=1) + "\n")
    print(json.dumps({"images": len(everything), "pairs": sum(len(e["sen_instIdx_map"]) for e in everything),
                      "types": {ty: sum(len(e["sen_instIdx_map"]) for e in v) for ty, v in sorted(by_type.items())}}))


if __name__ == "__main__":
    main()
