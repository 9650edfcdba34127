"""Prediction: `Predictor` (weights loaded once, per-sketch feature cache) and the `predict` / `bench` commands."""
from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.models.detection.roi_heads import paste_masks_in_image

from grmnet.data.categories import category_of_label, singular
from grmnet.errors import ExpressionError, GRMNetError
from grmnet.imaging import ModelInput, SketchCache, ink_mask, model_input, to_grey
from grmnet.masks import encode_rle
from grmnet.selection import choose_instances, stated_count
from grmnet.modeling.grmnet import ImageFeatures
from grmnet.modeling.language import tokenize
from grmnet.weights import default_weights_path, load_model

__all__ = ["Predictor", "default_weights_path", "run_predict", "run_bench"]


def resolve_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GRMNetError("CUDA was requested but no CUDA device is available; use --device cpu")
    return torch.device(device)


@dataclass
class EncodedSketch:
    """Everything about one sketch that does not depend on the expression."""
    grey: np.ndarray          # [H, W] uint8
    ink: np.ndarray           # [H, W] bool, grey < 128 at full resolution
    inputs: ModelInput
    features: ImageFeatures


class Predictor:
    """Referring-expression instance segmentation of one sketch at a time.

    >>> p = Predictor()                       # shipped weights (resources/weights/)
    >>> p.predict("scene.png", ["the two sheep", "the sun"])["results"][0]["instances"][0]["label"]
    'sheep 1'
    """

    def __init__(self, weights=None, device: str | None = "cpu", threshold: float | None = None,
                 cache_size: int = 4):
        self.device = resolve_device(device)
        self.model, self.cfg, self.vocab, self.weights_path = load_model(weights, self.device)
        self.threshold = self.cfg.score_threshold if threshold is None else float(threshold)
        self._cache = SketchCache(cache_size)
        self.backbone_runs = 0
        self.last_stages_ms: dict[str, float] = {}

    # ---- vocabulary -------------------------------------------------------------------------------
    @property
    def vocabulary(self) -> frozenset[str]:
        return self.vocab.known_words

    def unknown_words(self, expression: str) -> list[str]:
        return self.vocab.unknown_words(expression)

    def check_expression(self, expression: str) -> list[str]:
        """Raise ExpressionError for an empty expression or one without any known word; return unknown words."""
        words = tokenize(expression)
        if not words:
            raise ExpressionError("the expression is empty: type what to select, e.g. 'the two sheep'")
        unknown = self.unknown_words(expression)
        if len(unknown) == len(words):
            raise ExpressionError(f"none of the words of {expression!r} is known to the model "
                                  f"(unknown: {', '.join(unknown)})")
        return unknown

    # ---- images -----------------------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, image) -> EncodedSketch:
        """Backbone + FPN for a sketch, from the cache when this exact image was seen recently."""
        grey = to_grey(image)

        def make() -> EncodedSketch:
            inputs = model_input(grey, self.cfg.input_size)
            features = self.model.encode_images(inputs.tensor[None].to(self.device))
            return EncodedSketch(grey, ink_mask(grey, self.cfg.ink_threshold), inputs, features)
        sketch, made = self._cache.get_or_make(grey, make)
        self.backbone_runs += int(made)
        return sketch

    def clear_cache(self) -> None:
        self._cache.clear()

    def ink_margin(self, h: int, w: int) -> int:
        """Outline strokes lie ON the silhouette's border, where a 28x28 mask is least sure: the region is
        grown by this many pixels (config value at 750 px, scaled with the image) before taking its ink."""
        return int(round(self.cfg.ink_margin * max(h, w) / 750))

    # ---- prediction -------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_sketch(self, sketch: EncodedSketch, expression: str, threshold: float | None = None,
                       apply_count: bool = True) -> dict:
        """One expression on an encoded sketch -> a result dict of the JSON format. apply_count=False returns
        every instance above the threshold, ignoring the stated count (evaluation ranks them all for AP)."""
        unknown = self.check_expression(expression)
        thr = self.threshold if threshold is None else threshold
        start = time.perf_counter()
        tokens, lengths = self.vocab.encode_batch([expression], self.cfg.max_words)
        out = self.model.refer(sketch.features, [sketch.inputs.size], tokens.to(self.device), lengths)[0]
        t_refer = time.perf_counter()
        floor = self.cfg.count_floor if apply_count else None
        keep = out["scores"] >= (thr if floor is None else min(thr, floor))
        boxes = out["boxes"][keep] / sketch.inputs.scale
        scores, labels, masks = out["scores"][keep], out["labels"][keep], out["masks"][keep]
        h, w = sketch.grey.shape
        instances = []
        if len(boxes):
            regions = paste_masks_in_image(masks, boxes, (h, w), padding=1)[:, 0] > self.cfg.mask_threshold
            regions = regions.cpu().numpy()
            for region, box, score, label in zip(regions, boxes.tolist(), scores.tolist(), labels.tolist()):
                ink = ink_of_region(region, sketch.ink, self.ink_margin(h, w))
                if not ink.any():
                    continue  # a region over blank paper selects nothing an artist could edit
                x0, y0, x1, y1 = box
                instances.append({"category": category_of_label(label), "score": round(float(score), 4),
                                  "bbox": [round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1)],
                                  "ink_mask_rle": encode_rle(ink), "region_mask_rle": encode_rle(region)})
        chosen = choose_instances([i["score"] for i in instances], thr,
                                  stated_count(expression, self.cfg.count_nouns), floor)
        instances = [instances[i] for i in chosen]
        label_instances(instances)
        end = time.perf_counter()
        self.last_stages_ms.update({"language+rpn+roi_heads": (t_refer - start) * 1e3,
                                    "masks": (end - t_refer) * 1e3})
        return {"expression": expression, "unknown_words": unknown, "latency_ms": round((end - start) * 1e3, 2),
                "instances": instances}

    def predict(self, image, expressions: list[str] | str, threshold: float | None = None,
                image_name: str | None = None) -> dict:
        """Image (path / PIL / array) + expressions -> {"image", "width", "height", "results": [...]}"""
        if isinstance(expressions, str):
            expressions = [expressions]
        for e in expressions:        # reject bad input before spending time on the image
            self.check_expression(e)
        t0 = time.perf_counter()
        runs = self.backbone_runs
        sketch = self.encode(image)
        encode_ms = (time.perf_counter() - t0) * 1e3
        self.last_stages_ms = {"load+backbone": encode_ms if self.backbone_runs > runs else 0.0}
        results = [self.predict_sketch(sketch, e, threshold) for e in expressions]
        if results:
            results[0]["latency_ms"] = round(results[0]["latency_ms"] + encode_ms, 2)
        name = image_name or (str(image) if isinstance(image, (str, Path)) else "<array>")
        h, w = sketch.grey.shape
        return {"image": name, "width": int(w), "height": int(h), "results": results}


def ink_of_region(region: np.ndarray, ink: np.ndarray, margin: int) -> np.ndarray:
    """Ink pixels of a region grown by `margin` px: bool [H, W] x2 -> bool [H, W]."""
    if margin > 0 and region.any():
        ys, xs = np.nonzero(region)
        y0, y1 = max(0, ys.min() - margin), min(region.shape[0], ys.max() + margin + 1)
        x0, x1 = max(0, xs.min() - margin), min(region.shape[1], xs.max() + margin + 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
        grown = np.zeros_like(region)
        grown[y0:y1, x0:x1] = cv2.dilate(region[y0:y1, x0:x1].astype(np.uint8), kernel).astype(bool)
        region = grown
    return region & ink


def label_instances(instances: list[dict]) -> None:
    """Index instances per category from left to right: "sheep 1", "sheep 2" (in place, list sorted so)."""
    instances.sort(key=lambda i: (i["category"], i["bbox"][0]))
    counts: dict[str, int] = {}
    for inst in instances:
        counts[inst["category"]] = counts.get(inst["category"], 0) + 1
        inst["index"] = counts[inst["category"]]
        inst["label"] = f"{singular(inst['category'])} {inst['index']}"
    instances.sort(key=lambda i: -i["score"])


# ---- commands ---------------------------------------------------------------------------------------

def load_engine(args):
    """The prediction engine chosen by --method (GRM-Net or a baseline), with the same predict() API."""
    method = getattr(args, "method", "grmnet")
    if method == "grmnet":
        return Predictor(args.weights, device=args.device, threshold=args.threshold)
    from grmnet.baselines import load_baseline
    return load_baseline(method, args.weights, device=args.device, threshold=args.threshold)


def run_predict(args) -> int:
    engine = load_engine(args)
    result = engine.predict(args.image, args.expression, threshold=args.threshold)
    for r in result["results"]:
        labels = ", ".join(f"{i['label']} ({i['score']:.2f})" for i in r["instances"]) or "nothing matches"
        note = f"  [unknown words: {', '.join(r['unknown_words'])}]" if r["unknown_words"] else ""
        print(f"{r['expression']!r}: {labels}  ({r['latency_ms']:.0f} ms){note}", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.overlay:
        from grmnet.visualize import draw_overlay
        draw_overlay(to_grey(args.image), result["results"][0]["instances"],
                     title=result["results"][0]["expression"]).save(args.overlay)
    print(json.dumps(result))
    return 0


def _bench_image(args) -> tuple[np.ndarray, str]:
    if args.image:
        return to_grey(args.image), args.image
    examples = sorted((Path(__file__).resolve().parents[1] / "resources" / "examples").glob("*.png"))
    if examples:
        return to_grey(examples[0]), str(examples[0])
    from grmnet.data.scene import compose_scene
    return compose_scene(np.random.default_rng(12345)).drawing, "synthetic scene (seed 12345)"


BENCH_EXPRESSIONS = ["the tree", "the two sheep on the left", "all the clouds", "the person in front of the house",
                     "the leftmost dog", "the sun in the sky", "the car on the right", "the grasses"]


def run_bench(args) -> int:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    predictor = Predictor(args.weights, device=args.device)
    grey, name = _bench_image(args)
    expressions = [e for e in BENCH_EXPRESSIONS if len(predictor.unknown_words(e)) < len(tokenize(e))]
    predictor.predict(grey, expressions[:1])  # warm-up: allocator, lazy init
    cold, warm, stages = [], [], {}
    for i in range(args.repeats):
        predictor.clear_cache()
        variant = grey.copy()
        variant[0, i % grey.shape[1]] ^= 1          # a "new" sketch each time: the cache must miss
        t = time.perf_counter()
        predictor.predict(variant, [expressions[i % len(expressions)]])
        cold.append((time.perf_counter() - t) * 1e3)
        for k, v in predictor.last_stages_ms.items():
            stages.setdefault(k, []).append(v)
        for e in expressions[1:4]:
            t = time.perf_counter()
            predictor.predict(variant, [e])
            warm.append((time.perf_counter() - t) * 1e3)
            for k, v in predictor.last_stages_ms.items():
                if k != "load+backbone":
                    stages.setdefault(k, []).append(v)

    def pct(xs, q):
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 1)
    out = {"device": str(predictor.device), "threads": torch.get_num_threads(), "image": name,
           "input_size": predictor.cfg.input_size, "backbone": predictor.cfg.backbone,
           "cold_ms": {"p50": pct(cold, 0.5), "p90": pct(cold, 0.9)},
           "warm_ms": {"p50": pct(warm, 0.5), "p90": pct(warm, 0.9)},
           "stages_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()}}
    print(json.dumps(out))
    return 0
