"""Typed results every referring engine returns in-process (numpy only: importing this never imports torch).

Masks are full-resolution boolean arrays; RLE strings and JSON exist only at the edges (`grmnet.formats`).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True, eq=False)
class ReferredInstance:
    """One instance an engine scored for an expression.

    ink    bool [H, W]: the sketch's ink pixels that belong to the instance (what a layer lifts)
    region bool [H, W]: the instance's silhouette (what a fill paints)
    box    (x0, y0, x1, y1) in original image pixels
    """
    category: str
    score: float
    box: tuple[float, float, float, float]
    ink: np.ndarray
    region: np.ndarray
    index: int = 0          # 1-based per category among the returned instances ("sheep 2"); 0 = not indexed
    label: str = ""

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.box
        return x0, y0, x1 - x0, y1 - y0


@dataclass(frozen=True)
class Understanding:
    """What the engine read from the expression, shown to the user ("cat x2").

    category: the target category named by the head noun, or a broader word for several ("animal"); None when no
    category word was recognised;
    count: a phrase for the stated count ("one", "two", "two or more", "three or more", None = not stated);
    categories: the categories the target noun covers ((cat,) for "kitty", the members of "animal"; () = any).
    """
    category: str | None = None
    count: str | None = None
    categories: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.category is None and self.count is None:
            return ""
        what = self.category or "any object"
        return f"{what} ({self.count})" if self.count else what


@dataclass
class ReferringResult:
    """One expression on one sketch.

    instances:  what the product returns (best first, labelled "cat 1", "cat 2" left to right per category)
    candidates: every scored candidate, best first (AP ranks them all); filled only when asked for, else empty.
                The returned instances are the same objects as their candidates.
    """
    expression: str
    instances: list[ReferredInstance]
    candidates: list[ReferredInstance] = field(default_factory=list)
    understood: Understanding = field(default_factory=Understanding)
    unknown_words: tuple[str, ...] = ()     # words the language model has no embedding for
    latency_ms: float = 0.0

    def returned_flags(self) -> list[bool]:
        """For each candidate, whether it is among the returned instances."""
        ids = {id(i) for i in self.instances}
        return [id(c) in ids for c in self.candidates]


@dataclass
class SketchResult:
    """Every expression asked on one image."""
    image: str
    width: int
    height: int
    results: list[ReferringResult]


def label_instances(instances: list[ReferredInstance], singular) -> list[ReferredInstance]:
    """Labelled copies, in the same order, indexed per category from left to right ("sheep 1", "sheep 2").

    singular: category -> singular noun (e.g. "sheep" -> "sheep", "trees" -> "tree").
    """
    by_position = sorted(range(len(instances)), key=lambda i: (instances[i].category, instances[i].box[0]))
    counts: dict[str, int] = {}
    labelled: list[ReferredInstance | None] = [None] * len(instances)
    for i in by_position:
        inst = instances[i]
        counts[inst.category] = counts.get(inst.category, 0) + 1
        n = counts[inst.category]
        labelled[i] = replace(inst, index=n, label=f"{singular(inst.category)} {n}")
    return labelled
