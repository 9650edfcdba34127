"""Why exact selection fails: each pair of a predictions file (`grmnet evaluate --predictions`) sorted into one
outcome, per expression type, so that work goes where the misses are.

    python tools/exact_failures.py PREDICTIONS [--json OUT]

Outcomes of a pair (returned instances against its targets, ink IoU as `grmnet evaluate` measures it):
  exact            one-to-one at IoU >= 0.5, nothing extra
  no-target: returned something   the expression names nothing in the sketch, yet instances came back
  nothing returned                targets exist, nothing came back
  mask too poor    the right objects (one-to-one at IoU >= 0.2) but some mask under 0.5
  too few          every returned instance is a target, some targets missing
  too many         every target returned, plus others
  wrong object     the rest (a returned instance is not a target, and a target is missing)
For pairs with targets it also says whether the best-scored candidate is a target (a ranking miss when not),
and how many pairs fail on selection alone: some rule on the candidates' scores (the top n, n = the number of
targets) would have been exact.
"""
from __future__ import annotations

import argparse
import collections
import json
import sys
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grmnet.data.sketchyscene import read_sample  # noqa: E402
from grmnet.evaluation import expression_type  # noqa: E402
from grmnet.masks import decode_rle, encode_rle  # noqa: E402


def ious(preds: list[np.ndarray], gts: list[np.ndarray]) -> np.ndarray:
    """float [P, G] ink IoU."""
    if not preds or not gts:
        return np.zeros((len(preds), len(gts)))
    return np.asarray(mask_utils.iou([encode_rle(m, text=False) for m in preds],
                                     [encode_rle(m, text=False) for m in gts], [0] * len(gts)))


def one_to_one(iou: np.ndarray, at: float) -> bool:
    """Every row and column matched one-to-one at IoU >= at (square matrices only)."""
    from scipy.optimize import linear_sum_assignment
    if iou.shape[0] != iou.shape[1]:
        return False
    if iou.size == 0:
        return True
    rows, cols = linear_sum_assignment(-iou)
    return bool(np.all(iou[rows, cols] >= at))


def outcome(returned: np.ndarray, n_targets: int) -> str:
    """returned-vs-target IoU [R, G] -> the pair's outcome (see the module docstring)."""
    r, g = returned.shape
    if g == 0:
        return "exact" if r == 0 else "no-target: returned something"
    if r == 0:
        return "nothing returned"
    if one_to_one(returned, 0.5):
        return "exact"
    if one_to_one(returned, 0.2):
        return "mask too poor"
    is_target = returned.max(axis=1) >= 0.5 if g else np.zeros(r, bool)
    found = returned.max(axis=0) >= 0.5
    if is_target.all() and not found.all():
        return "too few"
    if found.all() and not is_target.all():
        return "too many"
    return "wrong object"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("predictions")
    parser.add_argument("--data", default=str(ROOT / "data" / "synth"), help="when the file does not say")
    parser.add_argument("--split", default="val", help="when the file does not say")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    predictions = json.loads(Path(args.predictions).read_text())
    images = predictions["images"]
    data, split = predictions.get("data") or args.data, predictions.get("split") or args.split
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for image in images:
        sample = read_sample(data, split, int(image["key"]))
        for result in image["results"]:
            gts = [sample.ink_masks[t] for t in result["targets"]]
            cands = result["candidates"]
            masks = [decode_rle(c["ink_mask_rle"]) for c in cands]
            iou = ious(masks, gts)
            flags = np.array([bool(c.get("returned")) for c in cands], bool)
            kind = expression_type(result["expression"], len(gts))
            what = outcome(iou[flags] if len(cands) else np.zeros((0, len(gts))), len(gts))
            table[kind][what] += 1
            table["all types"][what] += 1
            if gts and what != "exact":
                best = int(np.argmax([c["score"] for c in cands])) if cands else -1
                top_is_target = best >= 0 and iou[best].max() >= 0.5
                table[kind]["(misses whose best candidate is a target)"] += int(top_is_target)
                table["all types"]["(misses whose best candidate is a target)"] += int(top_is_target)
                order = np.argsort([-c["score"] for c in cands])[:len(gts)]
                top_n = one_to_one(iou[order], 0.5) if len(order) == len(gts) else False
                table[kind]["(misses the top-n candidates would fix)"] += int(top_n)
                table["all types"]["(misses the top-n candidates would fix)"] += int(top_n)
    out = {}
    for kind, counts in sorted(table.items()):
        n = sum(v for k, v in counts.items() if not k.startswith("("))
        out[kind] = {"pairs": n, **{k: v for k, v in counts.most_common()}}
        print(f"{kind} ({n} pairs)")
        for k, v in counts.most_common():
            print(f"  {k:45s} {v:5d}  {100 * v / max(n, 1):5.1f} %")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
