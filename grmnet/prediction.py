"""GRM-Net as a referring engine: `Predictor` (weights loaded once, per-sketch feature cache), and the
`predict` / `bench` commands."""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torchvision.models.detection.roi_heads import paste_masks_in_image

from grmnet.data.categories import category_of_label, singular
from grmnet.engine import SketchEngine
from grmnet.errors import GRMNetError
from grmnet.formats import sketch_result_to_json
from grmnet.imaging import ModelInput, ink_mask, model_input, to_grey
from grmnet.modeling.grmnet import ImageFeatures
from grmnet.results import ReferredInstance, ReferringResult, Understanding, label_instances
from grmnet.runtime import configure_threads, resolve_device
from grmnet.selection import SelectionRule, understand
from grmnet.weights import load_inference, load_model

__all__ = ["Predictor", "EncodedSketch", "run_predict", "run_bench"]


@dataclass
class EncodedSketch:
    """Everything about one sketch that does not depend on the expression."""
    grey: np.ndarray          # [H, W] uint8
    ink: np.ndarray           # [H, W] bool, grmnet.imaging.ink_mask at full resolution
    inputs: ModelInput
    features: ImageFeatures


class Predictor(SketchEngine):
    """GRM-Net referring-expression instance segmentation of one sketch at a time.

    >>> p = Predictor()                       # shipped weights (resources/weights/)
    >>> p.predict("scene.png", ["the two sheep", "the sun"]).results[0].instances[0].label
    'sheep 1'
    """

    method = "grmnet"

    def __init__(self, weights=None, device: str | None = "cpu", threshold: float | None = None,
                 cache_size: int = 4, threads: int | None = None):
        super().__init__(cache_size)
        self.device = resolve_device(device)
        if self.device.type == "cpu":
            configure_threads(threads)
        self.model, self.cfg, self.vocab, self.weights_path = load_model(weights, self.device)
        self.inference = load_inference(self.weights_path)
        self.threshold = self.inference.score_threshold if threshold is None else float(threshold)

    def rule(self, threshold: float | None = None) -> SelectionRule:
        """The selection rule of a query (the model's tuned one, with another score threshold if given)."""
        inf = self.inference
        return SelectionRule(self.threshold if threshold is None else float(threshold), inf.count_floor,
                             inf.count_nouns)

    def understand(self, expression: str) -> Understanding:
        return understand(expression, self.inference.count_nouns)

    @torch.inference_mode()
    def _encode_grey(self, grey: np.ndarray) -> EncodedSketch:
        inputs = model_input(grey, self.cfg.input_size)
        features = self.model.encode_images(inputs.tensor[None].to(self.device))
        return EncodedSketch(grey, ink_mask(grey), inputs, features)

    def ink_margin(self, h: int, w: int) -> int:
        """Outline strokes lie ON the silhouette's border, where a 28x28 mask is least sure: the region is
        grown by this many pixels (setting at 750 px, scaled with the image) before taking its ink."""
        return int(round(self.inference.ink_margin * max(h, w) / 750))

    @torch.inference_mode()
    def refer(self, sketch: EncodedSketch, expression: str, threshold: float | None = None, *,
              with_candidates: bool = False) -> ReferringResult:
        """One expression on an encoded sketch. with_candidates: also every scored candidate (for AP)."""
        unknown = self.check_expression(expression)
        rule = self.rule(threshold)
        start = time.perf_counter()
        tokens, lengths = self.vocab.encode_batch([expression], self.cfg.max_words)
        out = self.model.refer(sketch.features, [sketch.inputs.size], tokens.to(self.device), lengths)[0]
        t_refer = time.perf_counter()
        lowest = 0.0 if with_candidates else rule.lowest_score
        candidates = self._instances(sketch, out, lowest)
        chosen = rule.choose([c.score for c in candidates], expression)
        returned = label_instances([candidates[i] for i in chosen], singular)
        if with_candidates:
            for i, inst in zip(chosen, returned):
                candidates[i] = inst
        end = time.perf_counter()
        self.last_stages_ms.update({"language+rpn+roi_heads": (t_refer - start) * 1e3,
                                    "masks": (end - t_refer) * 1e3})
        return ReferringResult(expression, returned, candidates if with_candidates else [],
                               self.understand(expression), tuple(unknown), round((end - start) * 1e3, 2))

    def _instances(self, sketch: EncodedSketch, out: dict, lowest: float) -> list[ReferredInstance]:
        """Detections scored >= lowest -> unlabelled instances with full-resolution masks, best first.
        A region over blank paper selects nothing an artist could edit, so ink-less ones are dropped."""
        keep = out["scores"] >= lowest
        boxes = out["boxes"][keep] / sketch.inputs.scale
        scores, labels, masks = out["scores"][keep], out["labels"][keep], out["masks"][keep]
        if not len(boxes):
            return []
        h, w = sketch.grey.shape
        regions = paste_masks_in_image(masks, boxes, (h, w), padding=1)[:, 0] > self.inference.mask_threshold
        regions = regions.cpu().numpy()
        instances = []
        for region, box, score, label in zip(regions, boxes.tolist(), scores.tolist(), labels.tolist()):
            ink = ink_of_region(region, sketch.ink, self.ink_margin(h, w))
            if ink.any():
                instances.append(ReferredInstance(category_of_label(label), float(score), tuple(box), ink, region))
        return sorted(instances, key=lambda i: -i.score)


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


# ---- commands ---------------------------------------------------------------------------------------

def run_predict(args) -> int:
    from grmnet.methods import load_engine
    engine = load_engine(args.method, args.weights, device=args.device, threshold=args.threshold)
    result = engine.predict(args.image, args.expression, threshold=args.threshold)
    for r in result.results:
        labels = ", ".join(f"{i.label} ({i.score:.2f})" for i in r.instances) or "nothing matches"
        seen = r.understood.describe()
        note = f"  [read as: {seen}]" if seen else ""
        if r.unknown_words:
            note += f"  [words the model does not know: {', '.join(r.unknown_words)}]"
        print(f"{r.expression!r}: {labels}  ({r.latency_ms:.0f} ms){note}", file=sys.stderr)
    data = sketch_result_to_json(result)
    if args.json:
        from grmnet.weights import dump_json
        dump_json(Path(args.json), data)
    if args.overlay:
        from grmnet.visualize import draw_overlays
        draw_overlays(to_grey(args.image), result.results).save(args.overlay)
    print(json.dumps(data))
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


def _percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))], 1)


def bench_latency(engine, grey: np.ndarray, expressions: list[str], repeats: int) -> dict:
    """Cold (new sketch) and warm (another expression on a cached sketch) query latency, p50/p90 in ms."""
    engine.predict(grey, expressions[:1])  # warm-up: allocator, lazy init
    cold, warm, stages = [], [], {}
    for i in range(repeats):
        engine.clear_cache()
        variant = grey.copy()
        variant[0, i % grey.shape[1]] ^= 1          # a "new" sketch each time: the cache must miss
        t = time.perf_counter()
        engine.predict(variant, [expressions[i % len(expressions)]])
        cold.append((time.perf_counter() - t) * 1e3)
        for k, v in engine.last_stages_ms.items():
            stages.setdefault(k, []).append(v)
        for e in expressions[1:4]:
            t = time.perf_counter()
            engine.predict(variant, [e])
            warm.append((time.perf_counter() - t) * 1e3)
            for k, v in engine.last_stages_ms.items():
                if k != "load+backbone":
                    stages.setdefault(k, []).append(v)
    return {"cold_ms": {"p50": _percentile(cold, 0.5), "p90": _percentile(cold, 0.9)},
            "warm_ms": {"p50": _percentile(warm, 0.5), "p90": _percentile(warm, 0.9)},
            "stages_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()}}


def start_busy_processes(n: int) -> list[subprocess.Popen]:
    """n processes that keep one CPU core each busy (what a user's other programs do to ours)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop_processes(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def run_bench(args) -> int:
    if args.repeats < 1:
        raise GRMNetError("--repeats must be at least 1")
    predictor = Predictor(args.weights, device=args.device, threads=args.threads)
    grey, name = _bench_image(args)
    expressions = [e for e in BENCH_EXPRESSIONS if len(predictor.unknown_words(e)) < len(predictor.tokenize(e))]
    out = {"device": str(predictor.device), "threads": torch.get_num_threads(), "image": name,
           "input_size": predictor.cfg.input_size, "backbone": predictor.cfg.backbone,
           **bench_latency(predictor, grey, expressions, args.repeats)}
    if args.busy:
        procs = start_busy_processes(args.busy)
        try:
            time.sleep(0.5)            # let the scheduler see them
            out["busy"] = {"processes": args.busy, **bench_latency(predictor, grey, expressions, args.repeats)}
        finally:
            stop_processes(procs)
        out["busy"]["slowdown"] = {k: round(out["busy"][k]["p50"] / max(out[k]["p50"], 1e-9), 2)
                                   for k in ("cold_ms", "warm_ms")}
    print(json.dumps(out))
    return 0
