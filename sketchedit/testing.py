"""A deterministic stand-in for grmnet.prediction.Predictor, for tests and demos.

It has the Predictor interface but no network: every connected blob of ink is an instance,
left to right, of the first category noun of the expression; a number word ("two") keeps
that many. Real-model behaviour is tested separately with grmnet.testing's tiny model.
"""
from __future__ import annotations

import re
import time

import cv2
import numpy as np

from grmnet.data.categories import category_of_noun
from grmnet.errors import ExpressionError

NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
WORDS = frozenset(
    "the a all both one two three four five in on of left right middle leftmost rightmost near behind front "
    "sheep car cars tree trees cow cows dog dogs person people house houses sun moon cloud clouds".split())


def tokenize(expression: str) -> list[str]:
    return re.findall(r"[a-z]+", expression.lower())


def rle_of(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


class FakePredictor:
    def __init__(self, weights=None, device: str = "cpu", threshold: float | None = None, delay_s: float = 0.0):
        self.device = device
        self.threshold = 0.5 if threshold is None else threshold
        self.delay_s = delay_s
        self.vocabulary = WORDS
        self.calls: list[str] = []

    def unknown_words(self, expression: str) -> list[str]:
        return [w for w in tokenize(expression) if w not in self.vocabulary]

    def predict(self, image, expressions, threshold=None) -> dict:
        image = np.asarray(image)
        H, W = image.shape[:2]
        gray = image if image.ndim == 2 else image[..., :3].mean(axis=2)
        ink = (gray < 128).astype(np.uint8)
        # Strokes of one drawing rarely touch; close small gaps so a drawn object is one blob.
        blobs = cv2.dilate(ink, np.ones((9, 9), np.uint8))
        n, labels = cv2.connectedComponents(blobs)
        comps = []
        for k in range(1, n):
            region = labels == k
            ys, xs = np.nonzero(region)
            comps.append((xs.min(), region))
        comps.sort(key=lambda c: c[0])
        results = []
        for expression in expressions:
            self.calls.append(expression)
            start = time.perf_counter()
            words = tokenize(expression)
            if not words:
                raise ExpressionError("The expression is empty")
            unknown = self.unknown_words(expression)
            if len(unknown) == len(words):
                raise ExpressionError(f"No known word in '{expression}': {', '.join(unknown)}")
            if self.delay_s:
                time.sleep(self.delay_s)
            category = next((c for c in map(category_of_noun, words) if c), None)
            count = next((NUMBERS[w] for w in words if w in NUMBERS), None)
            picked = comps[:count] if category else []
            instances = []
            for i, (_, region) in enumerate(picked, start=1):
                ink_mask = region & ink.astype(bool)
                ys, xs = np.nonzero(region)
                instances.append({
                    "label": f"{category} {i}", "category": category, "index": i, "score": 0.9,
                    "bbox": [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)],
                    "ink_mask_rle": rle_of(ink_mask), "region_mask_rle": rle_of(region),
                })
            results.append({"expression": expression, "unknown_words": unknown, "instances": instances,
                            "latency_ms": (time.perf_counter() - start) * 1000.0})
        return {"image": "<array>", "width": W, "height": H, "results": results}


def make_test_sketch(width: int = 320, height: int = 200) -> np.ndarray:
    """Three separate black drawings on white (left to right), RGB uint8."""
    img = np.full((height, width, 3), 255, np.uint8)
    cv2.circle(img, (60, 100), 30, (0, 0, 0), 3)
    cv2.rectangle(img, (130, 70), (190, 130), (0, 0, 0), 3)
    cv2.line(img, (240, 60), (290, 140), (0, 0, 0), 3)
    cv2.line(img, (290, 60), (240, 140), (0, 0, 0), 3)
    return img
