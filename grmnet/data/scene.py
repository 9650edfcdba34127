"""Scene composer of the synthetic data engine: SketchyScene-like layouts with exact occlusion.

``compose_scene(rng)`` lays out 3-20 objects of the 25 categories on a 750-px canvas: sky objects
(sun, moon, clouds, stars, flying birds) high up, ground objects standing on a ground band with
perspective-like scaling (lower = nearer = bigger), grass tufts and at most one road; frequent
repeats of a category (clusters of sheep, rows of trees). Objects are drawn back to front; an
object's filled silhouette (``region``) erases the strokes of everything drawn before it, exactly
as a pen drawing would. Guarantees (tested in tests/test_scene.py):

* visible inks of the objects are pairwise disjoint, and each lies inside the object's visible region;
* no visible ink pixel of an object lies inside the region of an object drawn after it;
* the drawing's dark pixels (grey < 128) are exactly the union of the visible inks
  (objects whose visible ink falls under ~60 px are dropped and the scene recomputed without them).

The hand-drawn look is set by one :class:`grmnet.data.realism.Realism` (``compose_scene(..., realism=)``):
per-object wobble, pressure, gaps, overshoots and re-drawn outlines are applied to each object's crop
before placement (so the guarantees above hold); ``occlusion`` off makes objects transparent (the first
two guarantees then read: inks disjoint, each inside its own visible region); ``density`` picks the
SketchyScene-matched count/size tables (``PRESENCE_REAL``, ``COUNTS_REAL``, ``SIZE_REAL``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from grmnet.data import render
from grmnet.data.categories import CATEGORIES
from grmnet.data.realism import Realism, apply_object, apply_road, ink_tone

__all__ = ["PlacedObject", "Scene", "ComponentLibrary", "compose_scene", "default_library", "MIN_VISIBLE_INK",
           "HeldOutSetsMissing"]

MIN_VISIBLE_INK = 60  # px on a 750-px canvas


@dataclass
class PlacedObject:
    category: str
    ink: np.ndarray      # bool [H, W]: visible strokes (after occlusion), canvas coordinates
    region: np.ndarray   # bool [H, W]: visible filled silhouette (own minus later objects' silhouettes)
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 of the visible ink (x1, y1 exclusive)


@dataclass
class Scene:
    drawing: np.ndarray  # uint8 [H, W, 3], black ink on white
    objects: list[PlacedObject] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ library


def _resources() -> Path:
    return Path(__file__).resolve().parents[2] / "resources"


class HeldOutSetsMissing(ValueError):
    """The manifest names no ``style_held_out_sets``: there is no style-held-out split to draw from."""


class ComponentLibrary:
    """Clip-art components of ``resources/components/manifest.json``; rasters load lazily, once.

    The manifest's optional top-level ``"style_held_out_sets": [set names]`` names whole icon sets kept
    out of training: :meth:`view` gives the library without them (``"seen"``, used by the train/val/test
    splits) or with only them (``"held_out"``, the ``style_test`` split)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else _resources() / "components"
        self.entries: dict[str, list[dict]] = {}
        self._cache: dict[str, np.ndarray] = {}
        self.held_out_sets: tuple[str, ...] | None = None
        self._views: dict[str, ComponentLibrary] = {}
        mf = self.root / "manifest.json"
        if mf.exists():
            data = json.loads(mf.read_text())
            if data.get("style_held_out_sets") is not None:
                self.held_out_sets = tuple(str(x) for x in data["style_held_out_sets"])
            for e in data.get("components", []):
                if (self.root / e["file"]).exists():
                    self.entries.setdefault(e["category"], []).append(e)

    def view(self, which: str) -> "ComponentLibrary":
        """``"all"``: this library; ``"seen"``: without the held-out sets (all of it when the manifest names
        none); ``"held_out"``: only the held-out sets (:class:`HeldOutSetsMissing` when it names none)."""
        if which == "all" or (which == "seen" and not self.held_out_sets):
            return self
        if which not in ("seen", "held_out"):
            raise ValueError(f"unknown library view {which!r}")
        if which == "held_out" and not self.held_out_sets:
            raise HeldOutSetsMissing(
                f"{self.root / 'manifest.json'} has no (or an empty) top-level \"style_held_out_sets\" key: the "
                "style_test split needs the names of the held-out icon sets there")
        if which not in self._views:
            held = set(self.held_out_sets or ())
            v = ComponentLibrary.__new__(ComponentLibrary)
            v.root, v._cache, v.held_out_sets, v._views = self.root, self._cache, self.held_out_sets, {}
            keep = (lambda e: e.get("set") in held) if which == "held_out" else (lambda e: e.get("set") not in held)
            v.entries = {}
            for c, es in self.entries.items():
                kept = [e for e in es if keep(e)]
                if kept:
                    v.entries[c] = kept
            if which == "held_out" and not v.entries:
                raise HeldOutSetsMissing(
                    f"{self.root / 'manifest.json'}: no component belongs to the style_held_out_sets "
                    f"{list(self.held_out_sets or ())} (each component's \"set\" field names its icon set)")
            self._views[which] = v
        return self._views[which]

    def __len__(self) -> int:
        return sum(len(v) for v in self.entries.values())

    def categories(self) -> list[str]:
        return sorted(self.entries)

    def has(self, category: str) -> bool:
        return bool(self.entries.get(category))

    def raster(self, entry: dict) -> np.ndarray:
        f = entry["file"]
        if f not in self._cache:
            a = cv2.imread(str(self.root / f), cv2.IMREAD_UNCHANGED)
            if a is None or a.ndim != 3 or a.shape[2] != 4:
                raise RuntimeError(f"bad component raster {self.root / f}")
            self._cache[f] = cv2.cvtColor(a, cv2.COLOR_BGRA2RGBA)
        return self._cache[f]

    def pick(self, category: str, rng: np.random.Generator) -> dict | None:
        es = self.entries.get(category)
        if not es:
            return None
        return es[int(rng.integers(len(es)))]


_DEFAULT: ComponentLibrary | None = None


def default_library() -> ComponentLibrary:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = ComponentLibrary()
    return _DEFAULT


# ------------------------------------------------------------------------------------------- layout

# Probability that a category appears in a scene (GRAMMAR.md §2, rare ones boosted a little).
PRESENCE = {
    "tree": 0.86, "cloud": 0.70, "grass": 0.72, "road": 0.42, "sun": 0.39, "house": 0.36, "people": 0.34,
    "car": 0.245, "dog": 0.21, "bird": 0.19, "bus": 0.17, "bench": 0.14, "duck": 0.14, "sheep": 0.12,
    "chicken": 0.12, "cat": 0.11, "rabbit": 0.11, "cow": 0.09, "butterfly": 0.07, "truck": 0.07, "pig": 0.06,
    "horse": 0.05, "moon": 0.04, "chair": 0.04, "star": 0.03,
}
# Number of instances when present: (values, probabilities)
_MANY = ([1, 2, 3, 4, 5], [0.38, 0.27, 0.17, 0.1, 0.08])
_FEW = ([1, 2, 3], [0.65, 0.25, 0.10])
COUNTS = {
    "tree": ([1, 2, 3, 4, 5, 6, 7], [0.2, 0.22, 0.2, 0.15, 0.1, 0.07, 0.06]),
    "cloud": ([1, 2, 3, 4], [0.25, 0.35, 0.28, 0.12]),
    "grass": ([1, 2, 3, 4, 5, 6], [0.2, 0.2, 0.2, 0.17, 0.13, 0.1]),
    "star": ([1, 2, 3, 4, 5, 6], [0.2, 0.2, 0.2, 0.15, 0.15, 0.1]),
    "sheep": _MANY, "chicken": _MANY, "duck": _MANY, "bird": _MANY, "people": ([1, 2, 3, 4], [0.45, 0.3, 0.15, 0.1]),
    "cow": _FEW, "horse": _FEW, "pig": _FEW, "rabbit": _FEW, "cat": _FEW, "dog": _FEW, "butterfly": _FEW,
    "house": ([1, 2, 3], [0.75, 0.2, 0.05]), "car": _FEW, "bus": ([1, 2], [0.85, 0.15]),
    "truck": ([1, 2], [0.85, 0.15]), "bench": ([1, 2], [0.8, 0.2]), "chair": ([1, 2], [0.7, 0.3]),
    "sun": ([1], [1.0]), "moon": ([1], [1.0]), "road": ([1], [1.0]),
}
# Height in px (750 canvas) of a ground object standing at the bottom edge (nearest); far = ~45 %.
NEAR_HEIGHT = {
    "house": 380, "bus": 200, "truck": 190, "car": 140, "bench": 95, "chair": 130, "tree": 360, "people": 250,
    "horse": 210, "cow": 175, "sheep": 125, "pig": 110, "cat": 105, "dog": 125, "chicken": 105, "duck": 100,
    "rabbit": 100, "bird": 70, "butterfly": 60, "grass": 70,
}
# Widest a ground object may be at the bottom edge (scaled like the height): wide icons stay plausible.
NEAR_MAX_WIDTH = {"bench": 230, "car": 270, "bus": 340, "truck": 320, "house": 400, "cow": 260, "horse": 260,
                  "chair": 150}
FAR_SCALE = 0.5  # size at the horizon relative to the bottom edge
SKY_HEIGHT = {"sun": (105, 170), "moon": (75, 130), "cloud": (65, 120), "star": (25, 55), "bird": (35, 70),
              "butterfly": (35, 60)}
MAX_OBJECTS = 20

# ---- SketchyScene-matched tables (Realism.density). Presence and counts: per-image instance counts of the
# real SketchyScene-Matching train+val expression files (union of the targets of the expressions naming a
# category; tools/density_histograms.py prints them beside ours, docs/results/density.md). Counts past the
# table's end are folded into its last value. Sizes: object heights of the real sample sketches (ink bbox).
PRESENCE_REAL = {
    "tree": 0.86, "cloud": 0.70, "grass": 0.755, "road": 0.55, "sun": 0.39, "house": 0.36, "people": 0.34,
    "car": 0.245, "dog": 0.21, "bird": 0.19, "bus": 0.18, "bench": 0.14, "cat": 0.11, "sheep": 0.09,
    "rabbit": 0.09, "duck": 0.08, "cow": 0.08, "chicken": 0.075, "truck": 0.05, "butterfly": 0.035, "pig": 0.032,
    "horse": 0.021, "moon": 0.021, "star": 0.014, "chair": 0.006,
}


def _hist(d: dict[int, int]) -> tuple[list[int], list[float]]:
    t = float(sum(d.values()))
    return list(d), [v / t for v in d.values()]


COUNTS_REAL = {
    "tree": _hist({1: 266, 2: 286, 3: 213, 4: 162, 5: 100, 6: 69, 7: 46, 8: 31, 9: 31, 10: 16, 11: 12, 12: 17}),
    "cloud": _hist({1: 156, 2: 350, 3: 281, 4: 144, 5: 46, 6: 27, 7: 10, 8: 9}),
    "grass": _hist({1: 58, 2: 191, 3: 204, 4: 182, 5: 118, 6: 109, 7: 78, 8: 43, 9: 36, 10: 26, 11: 14,
                    12: 38}),
    "house": _hist({1: 352, 2: 63, 3: 57, 4: 29, 5: 22}),
    "bus": _hist({1: 245, 2: 11, 3: 7}), "truck": _hist({1: 61, 2: 8, 3: 4}),
    "car": _hist({1: 287, 2: 48, 3: 12, 4: 9}), "bench": _hist({1: 177, 2: 24, 3: 3}),
    "chair": _hist({1: 7, 2: 1}),
    "people": _hist({1: 292, 2: 101, 3: 57, 4: 18, 5: 7, 6: 13}),
    "horse": _hist({1: 16, 2: 10, 3: 5}), "cow": _hist({1: 61, 2: 25, 3: 13, 4: 6, 5: 8}),
    "sheep": _hist({1: 34, 2: 40, 3: 18, 4: 17, 5: 7, 6: 10}), "pig": _hist({1: 37, 2: 4, 3: 5}),
    "cat": _hist({1: 110, 2: 29, 3: 6, 4: 9}), "dog": _hist({1: 247, 2: 43, 3: 12, 4: 8}),
    "chicken": _hist({1: 25, 2: 15, 3: 17, 4: 19, 5: 13, 6: 5, 7: 2, 8: 12}),
    "duck": _hist({1: 28, 2: 25, 3: 23, 4: 19, 5: 15, 6: 5}), "rabbit": _hist({1: 70, 2: 32, 3: 17, 4: 8}),
    "bird": _hist({1: 125, 2: 71, 3: 39, 4: 19, 5: 13, 6: 12}),
    "butterfly": _hist({1: 17, 2: 12, 3: 12, 4: 3, 5: 7}), "star": _hist({1: 1, 2: 4, 3: 4, 4: 7, 5: 1, 6: 4}),
    "sun": ([1], [1.0]), "moon": ([1], [1.0]), "road": ([1], [1.0]),
}
# Size factor applied to NEAR_HEIGHT / SKY_HEIGHT (real sketches: trees ~100-250 px, many small objects).
SIZE_REAL = {"tree": 0.72, "house": 1.0, "people": 1.1, "cloud": 1.0, "grass": 1.15, "sun": 1.0, "bus": 0.9,
             "truck": 0.9, "car": 0.9, "dog": 1.2, "cat": 1.15, "duck": 1.15, "chicken": 1.1, "rabbit": 1.1}
MAX_OBJECTS_REAL = 30
# Share of scenes whose first house is the picture's main subject: near the middle and nearer the viewer, so drawn
# large (scene sketches often centre on one big, detailed house; the perspective rule alone keeps houses small).
MAIN_HOUSE_SHARE = 0.3
# Share of houses drawn by render.detailed_house (real scene sketches often draw boards, shingles, panes)
DETAILED_HOUSE_SHARE = 0.4


@dataclass
class _Item:
    category: str
    ink: np.ndarray      # crop
    region: np.ndarray   # crop
    x: int               # crop top-left on the canvas
    y: int
    order_key: float     # draw order: smaller first

    def box(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.x + self.ink.shape[1], self.y + self.ink.shape[0]


def _draw_component(category: str, height: float, rng: np.random.Generator, lib: ComponentLibrary,
                    scale: float, base_stroke: int, max_width: float | None = None,
                    realism: Realism | None = None, hand: np.random.Generator | None = None) -> render.Drawn:
    """One object's drawing; ``realism``'s per-object effects use ``hand`` (the sketcher's hand, a stream
    of its own so that copies of one drawing are still retraced differently)."""
    # one sketcher per scene: the stroke width varies a little around the scene's own
    stroke = int(np.clip(base_stroke + rng.choice([-1, 0, 0, 0, 0, 1]), 1, 6))
    stroke = max(1, int(round(stroke * scale)))
    closed = True
    if category == "grass":
        d = render.grass_tuft(height * rng.uniform(1.2, 2.0), rng, stroke)
        closed = False
    elif category == "bench" and (not lib.has("bench") or rng.random() < 0.5):
        d = render.bench(height, rng, stroke)
        closed = False
    else:
        e = lib.pick(category, rng)
        if e is None:
            d = render.procedural(category, height, rng, stroke)
            closed = category not in ("grass", "bench", "sun")  # their regions are convex hulls
        else:
            max_w = 0.7 * 750 * scale if max_width is None else max_width
            d = render.render_component(lib.raster(e), e.get("style", "color"), height, rng, stroke=stroke,
                                        max_width=max_w)
    if category == "house" and realism is not None and hand is not None:
        # drawn whatever the switch, so that turning it off changes nothing else
        detailed, house_seed = hand.random() < DETAILED_HOUSE_SHARE, int(hand.integers(1 << 62))
        if realism.detail and detailed:
            max_w = 0.7 * 750 * scale if max_width is None else max_width
            d = render.detailed_house(min(height, max_w / 1.5), np.random.default_rng(house_seed), stroke)
    if realism is not None and hand is not None:
        d = apply_object(d, hand, stroke, realism, scale, closed=closed)
    return d


def _counts(rng: np.random.Generator, density: bool = False, allowed=None) -> dict[str, int]:
    presence, counts, max_objects = (PRESENCE_REAL, COUNTS_REAL, MAX_OBJECTS_REAL) if density else \
        (PRESENCE, COUNTS, MAX_OBJECTS)
    n: dict[str, int] = {}
    for c in CATEGORIES:
        if rng.random() < presence.get(c, 0.05):
            vals, p = counts.get(c, _FEW)
            n[c] = int(rng.choice(vals, p=p))
    if "sun" in n and "moon" in n:
        del n["moon" if rng.random() < 0.7 else "sun"]
    if allowed is not None:
        n = {c: k for c, k in n.items() if c in allowed}
    total = sum(n.values())
    while total > max_objects:  # trim the most repeated category
        c = max(n, key=lambda k: n[k] + rng.random())
        n[c] -= 1
        total -= 1
        if n[c] == 0:
            del n[c]
    fill = ["tree", "grass", "cloud", "people", "house"]
    if allowed is not None:
        fill = [c for c in fill if c in allowed] or ["grass"]
    while total < 5:
        c = fill[int(rng.integers(len(fill)))]
        n[c] = n.get(c, 0) + 1
        total += 1
    return n


def _overlap_frac(a, b) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    sa = (a[2] - a[0]) * (a[3] - a[1])
    sb = (b[2] - b[0]) * (b[3] - b[1])
    return inter / max(1, min(sa, sb))


def compose_scene(rng: np.random.Generator, size: int = 750, library: ComponentLibrary | None = None,
                  realism: Realism | None = None, drawable_only: bool = False) -> Scene:
    """Compose one synthetic scene sketch (see the module docstring for the guarantees).

    ``realism``: the hand-drawn effects (:class:`grmnet.data.realism.Realism`; ``None`` = all on).
    ``drawable_only``: leave out categories that neither ``library`` nor a real procedural drawing
    (:data:`render.PROCEDURAL`) can draw (the style-held-out split: only the held-out icon sets)."""
    # default: the whole library without the style-held-out icon sets (never seen in training)
    lib = library if library is not None else default_library().view("seen")
    realism = Realism() if realism is None else realism
    S = size
    sc = S / 750.0
    horizon = rng.uniform(0.27, 0.5) * S
    base_stroke = render.sample_stroke_width(rng)
    allowed = None
    if drawable_only:
        allowed = {c for c in CATEGORIES if lib.has(c) or c in render.PROCEDURAL}
    counts = _counts(rng, realism.density, allowed)
    size_f = SIZE_REAL if realism.density else {}
    # the sketcher's hand: every per-object realism effect draws from here (one seed per object,
    # whatever the switches), so the layout does not depend on them
    hand_seed = int(rng.integers(1 << 62))
    hand_n = [0]

    def hand() -> np.random.Generator:
        hand_n[0] += 1
        return np.random.default_rng([hand_seed, hand_n[0]])
    items: list[_Item] = []
    ground_boxes: list[tuple[int, int, int, int]] = []
    anchors: dict[str, list[tuple[float, float]]] = {}

    def place(category: str, d: render.Drawn, fx: float, fy: float, key: float) -> _Item:
        x = int(round(fx - d.foot[0]))
        y = int(round(fy - d.foot[1]))
        return _Item(category, d.ink, d.region, x, y, key)

    # ---- sky
    sky_bottom = max(horizon - 0.04 * S, 0.18 * S)
    for cat in ("sun", "moon", "cloud", "star"):
        for i in range(counts.get(cat, 0)):
            lo, hi = SKY_HEIGHT[cat]
            h = rng.uniform(lo, hi) * sc * size_f.get(cat, 1.0)
            d = _draw_component(cat, h, rng, lib, sc, base_stroke, realism=realism, hand=hand())
            hh, ww = d.region.shape
            if cat in ("sun", "moon"):
                fx = (rng.uniform(0.02, 0.25) if rng.random() < 0.5 else rng.uniform(0.75, 0.98)) * S
                if rng.random() < 0.25:
                    fx = rng.uniform(0.3, 0.7) * S
                top = rng.uniform(0.0, 0.06) * S
            else:
                fx = rng.uniform(0.05, 0.95) * S
                top = rng.uniform(0.0, max(0.02 * S, sky_bottom - hh))
            fx = float(np.clip(fx, ww / 2, S - ww / 2))
            order = {"sun": 0, "moon": 0, "star": 1, "cloud": 2}[cat]
            items.append(place(cat, d, fx, top + d.foot[1], order + rng.random() * 0.5))

    # ---- road (lies flat on the ground: drawn before every ground object)
    if counts.get("road"):
        rs = max(1, int(round(base_stroke * sc)))
        d, x0, y0 = render.road(S, horizon, rng, rs)
        ink, reg = apply_road(d.ink, d.region, hand(), rs, realism, sc)
        items.append(_Item("road", ink, reg, x0, y0, 3.0))

    # ---- birds and butterflies: mostly flying (sky), else on the ground
    # ---- ground objects
    ground_cats = [c for c in CATEGORIES if c in counts and c not in ("sun", "moon", "cloud", "star", "road")]
    rng.shuffle(ground_cats)
    # houses first so that they get room near the horizon
    ground_cats.sort(key=lambda c: 0 if c == "house" else 1)
    for cat in ground_cats:
        same_comp = rng.random() < 0.3  # sketchers often copy one drawing
        comp_rng_seed = int(rng.integers(1 << 31))
        cluster = rng.random() < 0.65
        for i in range(counts[cat]):
            flying = cat in ("bird", "butterfly") and rng.random() < (0.75 if cat == "bird" else 0.5)
            main_house = False
            if flying:
                lo, hi = SKY_HEIGHT[cat]
                h = rng.uniform(lo, hi) * sc * size_f.get(cat, 1.0)
            else:
                main_house = cat == "house" and i == 0 and realism.density and rng.random() < MAIN_HOUSE_SHARE
                if main_house:
                    fy = horizon + rng.uniform(0.35, 0.7) * (S - horizon)
                elif cat == "house":
                    fy = horizon + rng.uniform(0.02, 0.35) * (S - horizon)
                elif cat == "tree" and rng.random() < 0.5:
                    fy = horizon + rng.uniform(0.0, 0.2) * (S - horizon)
                else:
                    fy = horizon + rng.uniform(0.04, 1.0) ** 0.8 * (S - horizon - 0.02 * S)
                if cluster and anchors.get(cat):
                    ax, ay = anchors[cat][-1]
                    fy = float(np.clip(ay + rng.normal(0, 0.06 * S), horizon + 0.01 * S, S - 0.01 * S))
                t = (fy - horizon) / max(1.0, S - horizon)
                f = FAR_SCALE + (1 - FAR_SCALE) * t
                h = NEAR_HEIGHT[cat] * sc * f * rng.uniform(0.8, 1.2) * size_f.get(cat, 1.0)
            # same_comp: the same drawing copied (same component, flip and warp), only the size differs
            sub = np.random.default_rng(comp_rng_seed) if same_comp else rng
            mw = None if flying or cat not in NEAR_MAX_WIDTH else NEAR_MAX_WIDTH[cat] * sc * f * rng.uniform(0.85, 1.15)
            d = _draw_component(cat, h, sub, lib, sc, base_stroke, mw, realism=realism, hand=hand())
            hh, ww = d.region.shape
            best = None
            inside = rng.random() < 0.9  # sketchers rarely cut objects at the border
            for attempt in range(10):
                if flying:
                    fx = rng.uniform(0.03, 0.97) * S
                    fy_ = rng.uniform(0.02 * S, max(0.05 * S, sky_bottom)) + hh
                    if cluster and anchors.get(cat + "_fly"):
                        ax, ay = anchors[cat + "_fly"][-1]
                        fx = ax + rng.choice([-1, 1]) * rng.uniform(0.6, 2.0) * ww
                        fy_ = ay + rng.normal(0, hh)
                    fy_use = float(np.clip(fy_, hh, S))
                else:
                    if cluster and anchors.get(cat) and attempt < 6:
                        ax, ay = anchors[cat][int(rng.integers(len(anchors[cat])))]
                        fx = ax + rng.choice([-1, 1]) * rng.uniform(0.6, 1.4) * ww
                    elif main_house:
                        fx = rng.uniform(0.3, 0.7) * S
                    else:
                        fx = rng.uniform(0.02, 0.98) * S
                    fy_use = fy
                lo_x = ww * (0.5 if inside else 0.3)
                fx = float(np.clip(fx, lo_x, max(lo_x, S - lo_x)))
                if inside:
                    fy_use = float(max(fy_use, hh + 2))
                box = (int(fx - ww / 2), int(fy_use - hh), int(fx + ww / 2), int(fy_use))
                ov = max([_overlap_frac(box, b) for b in ground_boxes], default=0.0)
                if best is None or ov < best[0]:
                    best = (ov, fx, fy_use, box)
                if ov < (0.2 if cat != "grass" else 0.1):
                    break
            ov, fx, fy_use, box = best
            if ov > 0.7 and cat in ("grass", "bird", "butterfly", "star"):
                continue
            ground_boxes.append(box)
            key = 10.0 + fy_use / S if not flying else 2.5 + rng.random() * 0.4
            items.append(place(cat, d, fx, fy_use, key))
            anchors.setdefault(cat + ("_fly" if flying else ""), []).append((fx, fy_use))

    items.sort(key=lambda it: it.order_key)
    return _resolve(items, S, realism, np.random.default_rng([hand_seed, 0]))


def _resolve(items: list[_Item], S: int, realism: Realism | None = None,
             tone_rng: np.random.Generator | None = None) -> Scene:
    """Occlusion: later items' regions erase earlier inks; drop tiny leftovers and recompute.

    With ``realism.occlusion`` off, objects are transparent: a later object's region hides nothing (an
    ink pixel drawn twice belongs to the later object), and each visible region includes its visible ink."""
    realism = Realism() if realism is None else realism
    min_ink = max(8, int(MIN_VISIBLE_INK * (S / 750.0) ** 2))
    clipped = []
    for it in items:  # clip crops to the canvas
        x0, y0, x1, y1 = it.box()
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(S, x1), min(S, y1)
        if cx1 <= cx0 or cy1 <= cy0:
            continue
        sl = (slice(cy0 - y0, cy1 - y0), slice(cx0 - x0, cx1 - x0))
        ink, reg = it.ink[sl], it.region[sl]
        if np.count_nonzero(ink) < min_ink:
            continue
        clipped.append((it.category, ink, reg, cx0, cy0))
    while True:
        owner = np.zeros((S, S), np.int16)
        for i, (_, ink, reg, x, y) in enumerate(clipped):
            h, w = ink.shape
            win = owner[y:y + h, x:x + w]
            if realism.occlusion:
                win[reg] = 0
            win[ink] = i + 1
        # object i owns pixels inside its own window only: count them there (no whole-canvas bincount)
        counts = np.array([np.count_nonzero(owner[y:y + ink.shape[0], x:x + ink.shape[1]] == i + 1)
                           for i, (_, ink, _, x, y) in enumerate(clipped)], np.int64)
        keep = counts >= min_ink
        if keep.all():
            break
        clipped = [c for c, k in zip(clipped, keep) if k]
    covered = np.zeros((S, S), bool)
    objects: list[PlacedObject] = []
    for i in range(len(clipped) - 1, -1, -1):  # work in each object's window: only it owns pixels there
        cat, ink, reg, x, y = clipped[i]
        h, w = reg.shape
        win = (slice(y, y + h), slice(x, x + w))
        ink_w = owner[win] == (i + 1)
        reg_w = reg & ~covered[win]
        if not realism.occlusion:
            reg_w |= ink_w
        covered[win] |= reg
        vis_ink = np.zeros((S, S), bool)
        vis_ink[win] = ink_w
        vis_reg = np.zeros((S, S), bool)
        vis_reg[win] = reg_w
        rows, cols = np.nonzero(ink_w.any(1))[0], np.nonzero(ink_w.any(0))[0]
        bbox = (x + int(cols[0]), y + int(rows[0]), x + int(cols[-1]) + 1, y + int(rows[-1]) + 1)
        objects.append(PlacedObject(cat, vis_ink, vis_reg, bbox))
    objects.reverse()
    grey = ink_tone(owner > 0, tone_rng if tone_rng is not None else np.random.default_rng(0), realism)
    drawing = cv2.merge([grey, grey, grey])   # = np.repeat(grey[:, :, None], 3, axis=2), faster
    return Scene(drawing, objects)
