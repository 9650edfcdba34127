"""One interface for every referring engine: GRM-Net (`grmnet.prediction.Predictor`) and the two baselines.

An engine encodes a sketch once (the expression-independent work, cached by content) and refers any number of
expressions on it, returning typed results (`grmnet.results`). `ReferringEngine` is the interface the CLI, the
evaluation and the app program against; `SketchEngine` is the shared base that implements everything but the
model itself. Loading an engine by method name is `grmnet.methods.load_engine`.
"""
from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from grmnet.errors import ExpressionError
from grmnet.imaging import SketchCache, to_grey
from grmnet.results import ReferringResult, SketchResult, Understanding
from grmnet.text import describe_empty, tokenize


@dataclass(frozen=True)
class EngineInfo:
    """What an engine is, for a status bar or a results file."""
    method: str                      # "grmnet" | "two-stage" | "binary" | a test double's name
    device: str
    weights: str
    threshold: float                 # default score threshold of returned instances
    vocabulary: frozenset[str]       # words the language model knows (empty: open vocabulary)


@runtime_checkable
class ReferringEngine(Protocol):
    """Encode a sketch once, refer expressions on it, describe itself."""

    threshold: float

    def describe(self) -> EngineInfo: ...

    def tokenize(self, expression: str) -> list[str]: ...

    def unknown_words(self, expression: str) -> list[str]: ...

    def check_expression(self, expression: str) -> list[str]: ...

    def understand(self, expression: str) -> Understanding: ...

    def encode(self, image) -> Any: ...

    def refer(self, sketch: Any, expression: str, threshold: float | None = None, *,
              with_candidates: bool = False) -> ReferringResult: ...

    def predict(self, image, expressions: list[str] | str, threshold: float | None = None,
                image_name: str | None = None) -> SketchResult: ...

    def clear_cache(self) -> None: ...


class SketchEngine:
    """Shared base of the engines: vocabulary checks, the per-sketch cache and `predict` over several
    expressions. Subclasses set `method`, `vocab` (a `grmnet.modeling.language.Vocabulary`-like object with
    `index`), `threshold`, `device`, `weights_path` and implement `_encode_grey`, `refer` and `understand`."""

    method = ""

    def __init__(self, cache_size: int = 4):
        self._cache = SketchCache(cache_size)
        self.backbone_runs = 0
        self.last_stages_ms: dict[str, float] = {}

    # ---- language -------------------------------------------------------------------------------------
    def tokenize(self, expression: str) -> list[str]:
        return tokenize(expression)

    @property
    def vocabulary(self) -> frozenset[str]:
        return self.vocab.known_words

    def unknown_words(self, expression: str) -> list[str]:
        return [w for w in self.tokenize(expression) if not self.vocab.knows(w)]

    def check_expression(self, expression: str) -> list[str]:
        """Raise ExpressionError for an expression without words or without any known word; return the
        unknown ones."""
        words = self.tokenize(expression)
        if not words:
            raise ExpressionError(describe_empty(expression))
        unknown = self.unknown_words(expression)
        if len(unknown) == len(words):
            raise ExpressionError(f"none of the words of {expression.strip()!r} is known to the model "
                                  f"(unknown: {', '.join(unknown)})")
        return unknown

    def describe(self) -> EngineInfo:
        return EngineInfo(self.method, str(self.device), str(self.weights_path), float(self.threshold),
                          self.vocabulary)

    # ---- sketches -------------------------------------------------------------------------------------
    def encode(self, image):
        """The expression-independent work on a sketch (path / PIL / array), from the cache when this exact
        image was seen recently."""
        grey = to_grey(image)

        def make():
            with self.thread_stage("backbone"):
                return self._encode_grey(grey)
        key = self._cache.key(grey)
        sketch, made = self._cache.get_or_make(grey, make, key)
        if made and hasattr(sketch, "key"):
            sketch.key = key          # what other per-sketch caches (the ink partition) look it up by
        self.backbone_runs += int(made)
        return sketch

    def _encode_grey(self, grey: np.ndarray):
        raise NotImplementedError

    def clear_cache(self) -> None:
        self._cache.clear()

    def thread_stage(self, name: str) -> contextlib.AbstractContextManager:
        """CPU: run a stage ("backbone", "heads") on the thread count chosen for it (grmnet.runtime)."""
        threads = getattr(self, "threads", None)
        return threads.stage(name) if threads is not None else contextlib.nullcontext()

    def refer(self, sketch, expression: str, threshold: float | None = None, *,
              with_candidates: bool = False) -> ReferringResult:
        raise NotImplementedError

    def understand(self, expression: str) -> Understanding:
        raise NotImplementedError

    # ---- whole images -----------------------------------------------------------------------------------
    def predict(self, image, expressions: list[str] | str, threshold: float | None = None,
                image_name: str | None = None) -> SketchResult:
        """Image (path / PIL / array) + expressions -> every expression's result on it."""
        if isinstance(expressions, str):
            expressions = [expressions]
        for e in expressions:        # reject bad input before spending time on the image
            self.check_expression(e)
        t0 = time.perf_counter()
        runs = self.backbone_runs
        sketch = self.encode(image)
        encode_ms = (time.perf_counter() - t0) * 1e3
        self.last_stages_ms = {"load+backbone": encode_ms if self.backbone_runs > runs else 0.0}
        results = [self.refer(sketch, e, threshold) for e in expressions]
        if results:
            results[0].latency_ms = round(results[0].latency_ms + encode_ms, 2)
        name = image_name or (str(image) if isinstance(image, (str, Path)) else "<array>")
        h, w = sketch.grey.shape
        return SketchResult(name, int(w), int(h), results)
