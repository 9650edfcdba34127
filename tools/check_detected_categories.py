"""Is every drawn object found? For each image of a dataset split and each category drawn in it, ask for
that category by name ("the dog", "the three trees": the count is the number drawn) and count how many of
its drawn instances come back (ink IoU >= 0.5 with a returned instance). Measurement only: never tune on it.

usage: python tools/check_detected_categories.py DATA_ROOT SPLIT [--weights DIR] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict

import numpy as np

from grmnet.data.categories import CATEGORIES, plural, singular
from grmnet.data.sketchyscene import SketchySceneDataset
from grmnet.methods import load_engine

WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def query_for(category: str, n: int) -> str:
    return f"the {singular(category)}" if n == 1 else f"the {WORDS.get(n, str(n))} {plural(category)}"


def ink_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("split")
    ap.add_argument("--weights", default="resources/weights")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    data = SketchySceneDataset(a.root, a.split)
    engine = load_engine("grmnet", a.weights, device="cpu", own_ink=True)
    per_category: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])   # found, drawn, queries with nothing
    rows = []
    for key in data.keys:
        img = data.image(key)
        by_cat: dict[str, list[int]] = defaultdict(list)
        for i, c in enumerate(img.categories):
            if c in CATEGORIES:
                by_cat[c].append(i)
        for c, ids in sorted(by_cat.items()):
            q = query_for(c, len(ids))
            res = engine.predict(img.drawing, q).results[0]
            found = 0
            for i in ids:
                if any(ink_iou(inst.ink, img.ink_masks[i]) >= 0.5 for inst in res.instances):
                    found += 1
            s = per_category[c]
            s[0] += found
            s[1] += len(ids)
            s[2] += int(not res.instances)
            rows.append({"image": key, "query": q, "drawn": len(ids), "found": found, "returned": len(res.instances)})
    summary = {c: {"found": f, "drawn": n, "nothing_returned": z} for c, (f, n, z) in sorted(per_category.items())}
    found, drawn = sum(v[0] for v in per_category.values()), sum(v[1] for v in per_category.values())
    out = {"weights": a.weights, "data": a.root, "found": found, "drawn": drawn,
           "recall": round(found / max(drawn, 1), 4),
           "categories_never_found": sorted(c for c, v in per_category.items() if v[0] == 0),
           "per_category": summary, "queries": rows}
    for r in rows:
        print(f"image {r['image']}: {r['query']!r:28} drawn {r['drawn']} found {r['found']} returned {r['returned']}")
    print(json.dumps({k: out[k] for k in ("found", "drawn", "recall", "categories_never_found")}))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
