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
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from tqdm import tqdm

from grmnet.data.sketchyscene import SketchySceneDataset
from grmnet.imaging import to_grey
from grmnet.masks import decode_rle
from grmnet.selection import choose_instances, stated_count
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


def _rle(mask: np.ndarray) -> dict:
    return mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))


def exact_selection(pred_masks: list[np.ndarray], gt_masks: list[np.ndarray], iou: float = 0.5) -> bool:
    """True when predictions and targets match one-to-one at mask IoU >= iou, with nothing extra."""
    if len(pred_masks) != len(gt_masks):
        return False
    if not gt_masks:
        return True
    ious = mask_utils.iou([_rle(m) for m in pred_masks], [_rle(m) for m in gt_masks], [0] * len(gt_masks))
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


@dataclass(frozen=True)
class SelectionRule:
    """What a query returns from its scored instances (see grmnet.selection)."""
    threshold: float
    count_floor: float | None = None
    count_nouns: bool = False

    def choose(self, scores: list[float], expression: str) -> tuple[int, ...]:
        """Indices of the returned instances."""
        return tuple(choose_instances(scores, self.threshold, stated_count(expression, self.count_nouns),
                                      self.count_floor))


def evaluate(engine, data: SketchySceneDataset, threshold: float, limit: int | None = None,
             keep_predictions: bool = False, progress: bool = True,
             sweep: Sequence[SelectionRule] = ()) -> tuple[dict, list[dict]]:
    """Run `engine` (Predictor-like: encode + predict_sketch) over every pair of `data`. `sweep`: more selection
    rules scored on the same predictions (metrics["sweep"]: exact-selection and no-target accuracy of each)."""
    gt_anns, dt_anns, sizes, types = [], [], {}, {}
    exact, exact_by_type = [], {t: [] for t in EXPRESSION_TYPES}
    swept = [[] for _ in sweep]
    predictions: dict[int, dict] = {}
    pairs = data.pairs[:limit] if limit else data.pairs
    ann_id, t0 = 1, time.perf_counter()
    cfg = getattr(engine, "cfg", None)
    count_floor = getattr(cfg, "count_floor", None)
    rule = SelectionRule(threshold, count_floor, getattr(cfg, "count_nouns", False))
    for img_id, (key, expression, targets) in enumerate(tqdm(pairs, desc="evaluate", disable=not progress), 1):
        sample = data.image(key)
        sketch = engine.encode(to_grey(sample.drawing))
        # every scored instance (AP ranks them all); the returned set is chosen below
        result = engine.predict_sketch(sketch, expression, threshold=0.0, apply_count=False)
        h, w = sample.instance_gt.shape
        sizes[img_id] = (h, w)
        types[img_id] = expression_type(expression, len(targets))
        gts = [sample.ink_masks[t] for t in targets]
        for m in gts:
            rle = _rle(m)
            rle["counts"] = rle["counts"].decode("ascii")
            gt_anns.append({"id": ann_id, "image_id": img_id, "category_id": 1, "segmentation": rle,
                            "area": float(m.sum()), "bbox": list(mask_utils.toBbox(_rle(m))), "iscrowd": 0})
            ann_id += 1
        for inst in result["instances"]:
            dt_anns.append({"image_id": img_id, "category_id": 1, "segmentation": inst["ink_mask_rle"],
                            "score": inst["score"]})
        # what the product returns: the engine's own rule (threshold, and the stated count where it uses one)
        scores = [i["score"] for i in result["instances"]]
        is_exact = _ExactSelection(result["instances"], gts)
        chosen = rule.choose(scores, expression)
        returned = [result["instances"][i] for i in chosen]
        ok = is_exact(chosen)
        exact.append(ok)
        for outcomes, other in zip(swept, sweep):
            outcomes.append((is_exact(other.choose(scores, expression)), not targets))
        exact_by_type[types[img_id]].append(ok)
        if keep_predictions:
            entry = predictions.setdefault(key, {"image": f"{data.split}/{key}", "width": int(w), "height": int(h),
                                                 "results": []})
            result = dict(result)
            result["instances"] = returned
            entry["results"].append(result)
    seconds = time.perf_counter() - t0
    img_ids = list(sizes)
    metrics = {"pairs": len(pairs), "images": len({k for k, _, _ in pairs}), "threshold": threshold,
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
    """exact_selection of subsets of one pair's instances; each mask decoded and each subset scored once (a
    sweep asks about the same few subsets under many rules)."""

    def __init__(self, instances: list[dict], gts: list[np.ndarray]):
        self.instances, self.gts = instances, gts
        self.masks: dict[int, np.ndarray] = {}
        self.known: dict[tuple[int, ...], bool] = {}

    def __call__(self, chosen: tuple[int, ...]) -> bool:
        if chosen not in self.known:
            for i in chosen:
                if i not in self.masks:
                    self.masks[i] = decode_rle(self.instances[i]["ink_mask_rle"])
            self.known[chosen] = exact_selection([self.masks[i] for i in chosen], self.gts)
        return self.known[chosen]


def _accuracies(outcomes: list[tuple[bool, bool]]) -> dict[str, float | None]:
    """[(exact, is_no_target)] -> exact-selection and no-target accuracy in %."""
    no_target = [ok for ok, empty in outcomes if empty]
    return {"exact_selection": round(100 * float(np.mean([ok for ok, _ in outcomes])), 2) if outcomes else None,
            "no_target_accuracy": round(100 * float(np.mean(no_target)), 2) if no_target else None}


def run_evaluate(args) -> int:
    from grmnet.prediction import load_engine
    engine = load_engine(args)
    data = SketchySceneDataset(args.data, args.split, sentences_file=args.sentences)
    threshold = args.threshold if args.threshold is not None else engine.threshold
    metrics, predictions = evaluate(engine, data, threshold, args.limit, keep_predictions=bool(args.predictions))
    metrics = {"method": args.method, "data": str(args.data), "split": args.split,
               "weights": str(getattr(engine, "weights_path", args.weights)), **metrics}
    for k in ("AP", "AP50", "AP75", "exact_selection", "no_target_accuracy"):
        print(f"{k:>20}: {metrics[k]}", file=sys.stderr)
    for t, m in metrics["per_type"].items():
        print(f"{t:>20}: {m}", file=sys.stderr)
    if args.json:
        dump_json(Path(args.json), metrics)
    if args.predictions:
        dump_json(Path(args.predictions), predictions)
    print(json.dumps(metrics))
    return 0
