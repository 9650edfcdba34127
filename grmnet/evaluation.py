"""`grmnet evaluate`: the paper's protocol, computed with pycocotools on INK masks.

Every (image, expression) pair is one COCO image whose ground truth is only the referred instances (one
class: "referred"). A no-target pair has no ground truth, so anything predicted on it is a false positive.
Also: exact-selection accuracy (predictions above the threshold match the targets one-to-one at mask
IoU >= 0.5, nothing extra), no-target accuracy and AP per expression type.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from tqdm import tqdm

from grmnet.data.sketchyscene import SketchySceneDataset
from grmnet.imaging import to_grey
from grmnet.engine import ReferringEngine
from grmnet.errors import ExpressionError
from grmnet.results import ReferringResult
from grmnet.formats import result_to_json
from grmnet.masks import encode_rle, mask_bbox
from grmnet.selection import SelectionRule
from grmnet.weights import dump_json

RELATION = re.compile(r"\b(front|behind|back|near|among|around|of)\b")
EXPRESSION_TYPES = ("single", "group", "all", "relational", "no-target")


def expression_type(expression: str, num_targets: int) -> str:
    """single / group / all / relational / no-target (relational wins over the count)."""
    if num_targets == 0:
        return "no-target"
    if RELATION.search(expression) or re.search(r"\b(left|right)\s+(front|back)\b", expression):
        return "relational"
    if expression.startswith(("all ", "both ")):
        return "all"
    return "single" if num_targets == 1 else "group"


def exact_selection(pred_masks: list[np.ndarray], gt_masks: list[np.ndarray], iou: float = 0.5) -> bool:
    """True when predictions and targets match one-to-one at mask IoU >= iou, with nothing extra."""
    if len(pred_masks) != len(gt_masks):
        return False
    if not gt_masks:
        return True
    ious = mask_utils.iou([encode_rle(m, text=False) for m in pred_masks],
                         [encode_rle(m, text=False) for m in gt_masks], [0] * len(gt_masks))
    from scipy.optimize import linear_sum_assignment
    rows, cols = linear_sum_assignment(-ious)
    return bool(np.all(ious[rows, cols] >= iou))


def coco_ap(gt_anns: list[dict], dt_anns: list[dict], img_ids: list[int], sizes: dict[int, tuple[int, int]]
            ) -> dict[str, float]:
    """Mask AP / AP50 / AP75 (in %) over the given COCO image ids."""
    if not img_ids:
        return {"AP": float("nan"), "AP50": float("nan"), "AP75": float("nan")}
    ids = set(img_ids)
    gt = {"images": [{"id": i, "height": sizes[i][0], "width": sizes[i][1]} for i in img_ids],
          "annotations": [dict(a) for a in gt_anns if a["image_id"] in ids],
          "categories": [{"id": 1, "name": "referred"}]}
    dts = [dict(a) for a in dt_anns if a["image_id"] in ids]   # loadRes writes into its input
    if not gt["annotations"]:
        return {"AP": float("nan"), "AP50": float("nan"), "AP75": float("nan")}
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dts) if dts else COCO()
        if not dts:
            return {"AP": 0.0, "AP50": 0.0, "AP75": 0.0}
        ev = COCOeval(coco_gt, coco_dt, iouType="segm")
        ev.params.imgIds = img_ids
        ev.params.maxDets = [1, 10, 100]
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {k: round(100 * max(0.0, float(v)), 2) for k, v in zip(("AP", "AP50", "AP75"), ev.stats[:3])}


def evaluate(engine: ReferringEngine, data: SketchySceneDataset, threshold: float | None = None,
             limit: int | None = None, keep_predictions: bool = False, progress: bool = True,
             sweep: Sequence[SelectionRule] = ()) -> tuple[dict, list[dict]]:
    """Run `engine` over every pair of `data`: AP ranks every scored candidate, exact selection judges what the
    engine returns (its own rule; `threshold` overrides its score threshold). `sweep`: more selection rules
    scored on the same candidates (metrics["sweep"]: exact-selection and no-target accuracy of each).
    Predictions (keep_predictions): per image, per pair, every candidate with a `returned` flag."""
    gt_anns, dt_anns, sizes, types = [], [], {}, {}
    exact, exact_by_type = [], {t: [] for t in EXPRESSION_TYPES}
    swept = [[] for _ in sweep]
    predictions: dict[str, dict] = {}
    pairs = data.pairs[:limit] if limit else data.pairs
    ann_id, t0 = 1, time.perf_counter()
    for img_id, (key, expression, targets) in enumerate(tqdm(pairs, desc="evaluate", disable=not progress), 1):
        sample = data.image(key)
        sketch = engine.encode(to_grey(sample.drawing))
        try:
            result = engine.refer(sketch, expression, threshold, with_candidates=True)
        except ExpressionError:   # no word the model knows: it returns nothing (a miss, or right on no-target)
            result = ReferringResult(expression, [], [])
        h, w = sample.instance_gt.shape
        sizes[img_id] = (h, w)
        types[img_id] = expression_type(expression, len(targets))
        gts = [sample.ink_masks[t] for t in targets]
        for m in gts:
            rle = encode_rle(m)
            gt_anns.append({"id": ann_id, "image_id": img_id, "category_id": 1, "segmentation": rle,
                            "area": float(m.sum()), "bbox": mask_bbox(m), "iscrowd": 0})
            ann_id += 1
        candidates = result.candidates
        for inst in candidates:
            dt_anns.append({"image_id": img_id, "category_id": 1, "segmentation": encode_rle(inst.ink),
                            "score": inst.score})
        flags = result.returned_flags()
        is_exact = _ExactSelection([c.ink for c in candidates], gts)
        ok = is_exact(tuple(i for i, f in enumerate(flags) if f))
        exact.append(ok)
        scores = [c.score for c in candidates]
        for outcomes, other in zip(swept, sweep):
            outcomes.append((is_exact(other.choose(scores, expression)), not targets))
        exact_by_type[types[img_id]].append(ok)
        if keep_predictions:
            entry = predictions.setdefault(key, {"image": f"{data.split}/{key}", "key": key, "width": int(w),
                                                 "height": int(h), "results": []})
            entry["results"].append({"pair_id": img_id, "targets": [int(t) for t in targets],
                                     **result_to_json(result, candidates=True)})
    seconds = time.perf_counter() - t0
    img_ids = list(sizes)
    metrics = {"pairs": len(pairs), "images": len({k for k, _, _ in pairs}),
               "threshold": engine.threshold if threshold is None else threshold,
               **coco_ap(gt_anns, dt_anns, img_ids, sizes),
               "exact_selection": round(100 * float(np.mean(exact)), 2) if exact else float("nan"),
               "no_target_accuracy": (round(100 * float(np.mean(exact_by_type["no-target"])), 2)
                                      if exact_by_type["no-target"] else None),
               "per_type": {}, "seconds": round(seconds, 1),
               "pairs_per_s": round(len(pairs) / max(seconds, 1e-9), 2)}
    if sweep:
        metrics["sweep"] = [{**asdict(r), **_accuracies(o)} for r, o in zip(sweep, swept)]
    for t in EXPRESSION_TYPES:
        ids = [i for i in img_ids if types[i] == t]
        if not ids:
            continue
        entry = {"pairs": len(ids), "exact_selection": round(100 * float(np.mean(exact_by_type[t])), 2)}
        if t != "no-target":
            entry.update(coco_ap(gt_anns, dt_anns, ids, sizes))
        metrics["per_type"][t] = entry
    return metrics, list(predictions.values())


class _ExactSelection:
    """exact_selection of subsets of one pair's candidates; each subset scored once (a sweep asks about the
    same few subsets under many rules)."""

    def __init__(self, masks: list[np.ndarray], gts: list[np.ndarray]):
        self.masks, self.gts = masks, gts
        self.known: dict[tuple[int, ...], bool] = {}

    def __call__(self, chosen: tuple[int, ...]) -> bool:
        key = tuple(sorted(chosen))
        if key not in self.known:
            self.known[key] = exact_selection([self.masks[i] for i in key], self.gts)
        return self.known[key]


def _accuracies(outcomes: list[tuple[bool, bool]]) -> dict[str, float | None]:
    """[(exact, is_no_target)] -> exact-selection and no-target accuracy in %."""
    no_target = [ok for ok, empty in outcomes if empty]
    return {"exact_selection": round(100 * float(np.mean([ok for ok, _ in outcomes])), 2) if outcomes else None,
            "no_target_accuracy": round(100 * float(np.mean(no_target)), 2) if no_target else None}


def run_evaluate(args) -> int:
    from grmnet.methods import load_engine
    engine = load_engine(args.method, args.weights, device=args.device, threshold=args.threshold,
                         **({"own_ink": True} if getattr(args, "own_ink", False) else {}))
    data = SketchySceneDataset(args.data, args.split, sentences_file=args.sentences)
    metrics, predictions = evaluate(engine, data, args.threshold, args.limit, keep_predictions=bool(args.predictions))
    metrics = {"method": args.method, "data": str(args.data), "split": args.split,
               "own_ink": bool(getattr(args, "own_ink", False)),
               "weights": str(getattr(engine, "weights_path", args.weights)), **metrics}
    for k in ("AP", "AP50", "AP75", "exact_selection", "no_target_accuracy"):
        print(f"{k:>20}: {metrics[k]}", file=sys.stderr)
    for t, m in metrics["per_type"].items():
        print(f"{t:>20}: {m}", file=sys.stderr)
    if args.json:
        dump_json(Path(args.json), metrics)
    if args.predictions:
        dump_json(Path(args.predictions), {"format": "grmnet-predictions", "data": str(args.data),
                                           "split": args.split, "sentences": args.sentences,
                                           "metrics": {k: metrics[k] for k in ("AP", "AP50", "AP75")},
                                           "images": predictions})
    print(json.dumps(metrics))
    return 0
