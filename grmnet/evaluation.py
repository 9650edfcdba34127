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


class _Scores:
    """What one engine setting returned over the pairs: its detections (for AP), exact selections (its own rule
    and the swept ones) and, if kept, its predictions."""

    def __init__(self, sweep: Sequence[SelectionRule], keep_predictions: bool):
        self.sweep, self.keep_predictions = sweep, keep_predictions
        self.dt_anns: list[dict] = []
        self.exact: list[bool] = []
        self.exact_by_type: dict[str, list[bool]] = {t: [] for t in EXPRESSION_TYPES}
        self.swept: list[list[tuple[bool, bool]]] = [[] for _ in sweep]
        self.predictions: dict[str, dict] = {}

    def add(self, img_id: int, pair: tuple, gts: list[np.ndarray], etype: str, result: ReferringResult,
            data_split: str, size: tuple[int, int]) -> None:
        key, expression, targets = pair
        candidates = result.candidates
        for inst in candidates:
            self.dt_anns.append({"image_id": img_id, "category_id": 1, "segmentation": encode_rle(inst.ink),
                                 "score": inst.score})
        flags = result.returned_flags()
        is_exact = _ExactSelection([c.ink for c in candidates], gts)
        ok = is_exact(tuple(i for i, f in enumerate(flags) if f))
        self.exact.append(ok)
        scores = [c.score for c in candidates]
        for outcomes, other in zip(self.swept, self.sweep):
            outcomes.append((is_exact(other.choose(scores, expression)), not targets))
        self.exact_by_type[etype].append(ok)
        if self.keep_predictions:
            h, w = size
            entry = self.predictions.setdefault(key, {"image": f"{data_split}/{key}", "key": key, "width": int(w),
                                                      "height": int(h), "results": []})
            entry["results"].append({"pair_id": img_id, "targets": [int(t) for t in targets],
                                     **result_to_json(result, candidates=True)})

    def metrics(self, truth: "_Truth", threshold: float, seconds: float) -> dict:
        img_ids = list(truth.sizes)
        metrics = {"pairs": truth.pairs, "images": truth.images, "threshold": threshold,
                   **coco_ap(truth.gt_anns, self.dt_anns, img_ids, truth.sizes),
                   "exact_selection": round(100 * float(np.mean(self.exact)), 2) if self.exact else float("nan"),
                   "no_target_accuracy": (round(100 * float(np.mean(self.exact_by_type["no-target"])), 2)
                                          if self.exact_by_type["no-target"] else None),
                   "per_type": {}, "seconds": round(seconds, 1),
                   "pairs_per_s": round(truth.pairs / max(seconds, 1e-9), 2)}
        if self.sweep:
            metrics["sweep"] = [{**asdict(r), **_accuracies(o)} for r, o in zip(self.sweep, self.swept)]
        for t in EXPRESSION_TYPES:
            ids = [i for i in img_ids if truth.types[i] == t]
            if not ids:
                continue
            entry = {"pairs": len(ids), "exact_selection": round(100 * float(np.mean(self.exact_by_type[t])), 2)}
            if t != "no-target":
                entry.update(coco_ap(truth.gt_anns, self.dt_anns, ids, truth.sizes))
            metrics["per_type"][t] = entry
        return metrics


class _Truth:
    """The referred instances of every pair, as COCO ground truth (one COCO image per pair)."""

    def __init__(self, pairs: list[tuple]):
        self.pairs, self.images = len(pairs), len({k for k, _, _ in pairs})
        self.gt_anns: list[dict] = []
        self.sizes: dict[int, tuple[int, int]] = {}
        self.types: dict[int, str] = {}

    def add(self, img_id: int, expression: str, gts: list[np.ndarray], size: tuple[int, int]) -> str:
        self.sizes[img_id] = size
        self.types[img_id] = expression_type(expression, len(gts))
        for m in gts:
            self.gt_anns.append({"id": len(self.gt_anns) + 1, "image_id": img_id, "category_id": 1,
                                 "segmentation": encode_rle(m), "area": float(m.sum()), "bbox": mask_bbox(m),
                                 "iscrowd": 0})
        return self.types[img_id]


def _score_pairs(data: SketchySceneDataset, limit: int | None, progress: bool, encode, refer_all,
                 scores: list[_Scores]) -> tuple[_Truth, float]:
    """Every pair of `data` (the first `limit`): refer_all(sketch, expression) gives one result per entry of
    `scores`, each added to it. -> (the ground truth, seconds)"""
    pairs = data.pairs[:limit] if limit else data.pairs
    truth = _Truth(pairs)
    t0 = time.perf_counter()
    for img_id, pair in enumerate(tqdm(pairs, desc="evaluate", disable=not progress), 1):
        key, expression, targets = pair
        sample = data.image(key)
        sketch = encode(to_grey(sample.drawing))
        try:
            results = refer_all(sketch, expression)
        except ExpressionError:   # no word the model knows: it returns nothing (a miss, or right on no-target)
            results = [ReferringResult(expression, [], []) for _ in scores]
        gts = [sample.ink_masks[t] for t in targets]
        etype = truth.add(img_id, expression, gts, sample.instance_gt.shape)
        for s, result in zip(scores, results):
            s.add(img_id, pair, gts, etype, result, data.split, sample.instance_gt.shape)
    return truth, time.perf_counter() - t0


def evaluate(engine: ReferringEngine, data: SketchySceneDataset, threshold: float | None = None,
             limit: int | None = None, keep_predictions: bool = False, progress: bool = True,
             sweep: Sequence[SelectionRule] = ()) -> tuple[dict, list[dict]]:
    """Run `engine` over every pair of `data`: AP ranks every scored candidate, exact selection judges what the
    engine returns (its own rule; `threshold` overrides its score threshold). `sweep`: more selection rules
    scored on the same candidates (metrics["sweep"]: exact-selection and no-target accuracy of each).
    Predictions (keep_predictions): per image, per pair, every candidate with a `returned` flag."""
    scores = _Scores(sweep, keep_predictions)
    truth, seconds = _score_pairs(data, limit, progress, engine.encode, lambda sketch, expression: [
        engine.refer(sketch, expression, threshold, with_candidates=True)], [scores])
    metrics = scores.metrics(truth, engine.threshold if threshold is None else threshold, seconds)
    return metrics, list(scores.predictions.values())


def evaluate_settings(predictor, data: SketchySceneDataset, settings: list[tuple],
                      limit: int | None = None, progress: bool = True, sweep: Sequence[SelectionRule] = ()
                      ) -> list[dict]:
    """`evaluate` of a GRM-Net predictor under several settings (grmnet.prediction.CandidateSetting) from one
    model pass per pair (`Predictor.refer_settings`) -> one metrics dict per setting, in order; each equals what
    `evaluate` gives with the predictor set to that setting."""
    scores = [_Scores(sweep, False) for _ in settings]
    truth, seconds = _score_pairs(data, limit, progress, predictor.encode, lambda sketch, expression:
                                  predictor.refer_settings(sketch, expression, settings), scores)
    return [s.metrics(truth, predictor.threshold, seconds) for s in scores]


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
