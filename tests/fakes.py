"""Test doubles and fixtures' builders (test code only: nothing in the product imports this).

- `FakeEngine`: a deterministic referring engine (grmnet.engine) without a network: every connected blob of
  ink is an instance, left to right, of the first category noun of the expression; a number word ("two")
  keeps that many. Real-model behaviour is tested with `make_tiny_weights`' tiny random model.
- `make_test_sketch`: three separate black drawings on white.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import torch

from grmnet.config import tiny_config
from grmnet.data.categories import category_of_noun
from grmnet.engine import SketchEngine
from grmnet.modeling.grmnet import GRMNet
from grmnet.modeling.language import Vocabulary, grammar_vocabulary_words
from grmnet.results import ReferredInstance, ReferringResult, Understanding
from grmnet.weights import save_model

NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
WORDS = ("the a all both one two three four five in on of left right middle leftmost rightmost near behind front "
         "sheep car cars tree trees cow cows dog dogs person people house houses sun moon cloud clouds").split()


class _Blobs:
    def __init__(self, grey: np.ndarray, blobs: list[tuple[int, np.ndarray]]):
        self.grey, self.blobs = grey, blobs


class FakeEngine(SketchEngine):
    method = "fake"

    def __init__(self, weights=None, device: str = "cpu", threshold: float | None = None, delay_s: float = 0.0):
        super().__init__()
        self.device = device
        self.weights_path = "fake"
        self.threshold = 0.5 if threshold is None else threshold
        self.delay_s = delay_s
        self.vocab = Vocabulary(WORDS)
        self.calls: list[str] = []

    def _encode_grey(self, grey: np.ndarray) -> _Blobs:
        ink = (grey < 128).astype(np.uint8)
        # Strokes of one drawing rarely touch; close small gaps so a drawn object is one blob.
        n, labels = cv2.connectedComponents(cv2.dilate(ink, np.ones((9, 9), np.uint8)))
        blobs = []
        for k in range(1, n):
            region = labels == k
            blobs.append((int(np.nonzero(region)[1].min()), region))
        return _Blobs(grey, sorted(blobs, key=lambda b: b[0]))

    def understand(self, expression: str) -> Understanding:
        words = self.tokenize(expression)
        return Understanding(next((c for c in map(category_of_noun, words) if c), None), None)

    def refer(self, sketch: _Blobs, expression: str, threshold=None, *, with_candidates=False) -> ReferringResult:
        self.calls.append(expression)
        unknown = self.check_expression(expression)
        start = time.perf_counter()
        if self.delay_s:
            time.sleep(self.delay_s)
        words = self.tokenize(expression)
        category = self.understand(expression).category
        count = next((NUMBERS[w] for w in words if w in NUMBERS), None)
        ink = sketch.grey < 128
        instances = []
        for i, (_, region) in enumerate(sketch.blobs[:count] if category else [], start=1):
            ys, xs = np.nonzero(region)
            box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))
            instances.append(ReferredInstance(category, 0.9, box, region & ink, region, i, f"{category} {i}"))
        return ReferringResult(expression, instances, list(instances) if with_candidates else [],
                               self.understand(expression), tuple(unknown), (time.perf_counter() - start) * 1e3)


def make_test_sketch(width: int = 320, height: int = 200) -> np.ndarray:
    """Three separate black drawings on white (left to right), RGB uint8."""
    img = np.full((height, width, 3), 255, np.uint8)
    cv2.circle(img, (60, 100), 30, (0, 0, 0), 3)
    cv2.rectangle(img, (130, 70), (190, 130), (0, 0, 0), 3)
    cv2.line(img, (240, 60), (290, 140), (0, 0, 0), 3)
    cv2.line(img, (290, 60), (240, 140), (0, 0, 0), 3)
    return img


def tiny_vocabulary() -> Vocabulary:
    return Vocabulary(grammar_vocabulary_words())


def make_tiny_weights(out_dir: str | Path, seed: int = 0) -> Path:
    """Write a random tiny GRM-Net (safetensors + config.json + vocab.txt) into out_dir; returns the weights."""
    torch.manual_seed(seed)
    cfg = tiny_config()
    cfg.box_score_thresh = 0.0    # an untrained model's class scores are ~1/26: keep them, so queries return some
    vocab = tiny_vocabulary()
    return save_model(GRMNet(cfg, len(vocab)), cfg, vocab, Path(out_dir))


def Instance(category: str, index: int, label: str, ink: np.ndarray, region: np.ndarray,
             score: float = 1.0) -> ReferredInstance:
    """A hand-made engine instance (box from its region)."""
    ys, xs = np.nonzero(region | ink)
    box = (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)) if len(xs) else (0, 0, 0, 0)
    return ReferredInstance(category, score, box, ink.astype(bool), region.astype(bool), index, label)


def predictor_with_detections(tmp_path: Path, inference, boxes: list[tuple[int, int, int, int]],
                              class_probs: torch.Tensor):
    """A Predictor on tiny weights (inference settings `inference`) whose model finds the same objects for every
    expression: `boxes` (x0, y0, x1, y1 in pixels of a 256x256 sketch, each inked solid) with `class_probs`
    [n, classes] (column 0: not referred). -> (predictor, encoded sketch, batch sizes the model was asked)."""
    from grmnet.prediction import Predictor
    from grmnet.weights import save_inference

    make_tiny_weights(tmp_path)
    save_inference(tmp_path, inference)
    p = Predictor(tmp_path)
    image = np.full((256, 256), 255, np.uint8)
    for x0, y0, x1, y1 in boxes:
        image[y0:y1, x0:x1] = 0
    sketch = p.encode(image)
    best, labels = class_probs[:, 1:].max(dim=1)
    out = {"boxes": torch.tensor(boxes, dtype=torch.float) * sketch.inputs.scale, "scores": best,
           "labels": labels + 1, "masks": torch.ones((len(boxes), 1, 28, 28)), "class_probs": class_probs}
    asked: list[int] = []

    def refer(features, sizes, tokens, lengths, **kwargs):
        asked.append(tokens.shape[0])
        return [dict(out) for _ in range(tokens.shape[0])]
    p.model.refer = refer
    return p, sketch, asked


def box_lefts(result) -> list[int]:
    """The left edges of a result's returned instances, in order: which of predictor_with_detections' boxes came
    back."""
    return [round(i.box[0]) for i in result.instances]
