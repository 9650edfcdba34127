"""SketchyScene-Matching style referring expressions generated from object boxes.

Implements the generator rules of GRAMMAR.md §3-4 (grouping, category phrases, image thirds, order inside
groups, relations with reference naming, sky and stuff phrases) with one deliberate difference: every emitted
expression is unambiguous in its scene and its target list is exact. Where the original generator has known
quirks that create ambiguity (GRAMMAR §5: "≥3 clusters → every one is 'the left X'", identical strings for
different targets, two clusters of a category in the same third, relations that hold for several clusters),
the expression is skipped instead.

All pixel thresholds of the grammar are given on the 768-px canvas and are scaled by ``canvas_size / 768``.
Boxes are ``(x0, y0, x1, y1)`` in pixels, y pointing down; an object's "foot" is its box bottom ``y1``.

The geometry helpers (:func:`box_gap`, :func:`cluster_objects`, :func:`describe_relation`,
:func:`reference_direction`, :func:`group_order`, :func:`third_of`) are pure functions so that tests and other
modules can re-derive targets from geometry.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from grmnet.data.categories import (
    CATEGORIES, GROUND_CATEGORIES, MOVABLE, SKY, TREE, UNMOVABLE, plural, singular,
)

# The 74 words of SketchyScene-Matching's vocab.txt (without <pad>/<unk>).
VOCAB: frozenset[str] = frozenset("""
the trees dog on right person in front of left all middle sun sky birds house two clouds bird both near road
bench tree rightmost grass three leftmost behind grasses back car cat pig chickens second chicken four five ducks
topmost duck bottom bottommost around dogs people benches cloud sheep among top houses cats stars moon cow bus
cars truck rabbit trucks cows buses rabbits horse butterfly butterflies pigs horses chair star suns chairs
""".split())

NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five"}
BASE_CANVAS = 768.0
CLUSTER_GAP = 200.0          # §4.1, px on the 768 canvas
LEFT_THIRD_MAX = 320.0       # §4.3
RIGHT_THIRD_MIN = 448.0
MEMBER_NEAR = 50.0           # §4.5 member "near"
ORDER_TOLERANCE = 8.0        # our addition: order phrases need keys at least this far apart (px, 768 canvas)

RELATIONS: tuple[str, ...] = (
    "in front of", "behind", "on the left of", "on the right of", "on the left front of",
    "on the right front of", "on the left back of", "on the right back of", "near", "among", "around",
)
INVERSE_RELATION = {
    "in front of": "behind", "behind": "in front of",
    "on the left of": "on the right of", "on the right of": "on the left of",
    "on the left front of": "on the right back of", "on the right back of": "on the left front of",
    "on the right front of": "on the left back of", "on the left back of": "on the right front of",
    "among": "around", "around": "among", "near": "near",
}
RDIR_OF_RELATION = {
    "in front of": "front", "behind": "back", "on the left of": "left", "on the right of": "right",
    "on the left front of": "left front", "on the right front of": "right front",
    "on the left back of": "left back", "on the right back of": "right back",
}
SIDE3 = ("on the left", "in the middle", "on the right")


# ----------------------------------------------------------------------------------------------- geometry
def _as_boxes(boxes) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return b


def box_gap(a, b) -> float:
    """Euclidean length of the x- and y-gaps between two boxes (0 when they overlap or touch)."""
    dx = max(0.0, float(b[0]) - float(a[2]), float(a[0]) - float(b[2]))
    dy = max(0.0, float(b[1]) - float(a[3]), float(a[1]) - float(b[3]))
    return math.hypot(dx, dy)


def boxes_gap(a_boxes, b_boxes) -> float:
    """Smallest box gap between two sets of boxes."""
    a, b = _as_boxes(a_boxes), _as_boxes(b_boxes)
    return min(box_gap(x, y) for x in a for y in b)


def cluster_objects(boxes, max_gap: float) -> list[list[int]]:
    """Connected components of boxes whose gap is ≤ max_gap; each sorted, listed by smallest left edge."""
    b = _as_boxes(boxes)
    n = len(b)
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if box_gap(b[i], b[j]) <= max_gap:
                parent[find(i)] = find(j)
    comps: dict[int, list[int]] = {}
    for i in range(n):
        comps.setdefault(find(i), []).append(i)
    out = [sorted(c) for c in comps.values()]
    out.sort(key=lambda c: (min(b[i][0] for i in c), c[0]))
    return out


@dataclass(frozen=True)
class _Extent:
    """Summary of one object or group: span, centre x, feet band, top."""
    x0: float
    x1: float
    cx: float
    hi: float      # highest foot (min bottom y)
    lo: float      # lowest foot (max bottom y)
    top: float

    @staticmethod
    def of(boxes) -> "_Extent":
        b = _as_boxes(boxes)
        return _Extent(float(b[:, 0].min()), float(b[:, 2].max()), float(((b[:, 0] + b[:, 2]) / 2).mean()),
                       float(b[:, 3].min()), float(b[:, 3].max()), float(b[:, 1].min()))


def _obj_obj(t, r, vertical_deg: float, diagonal_deg: float) -> str:
    tx, ty = (t[0] + t[2]) / 2.0, float(t[3])
    rx, ry = (r[0] + r[2]) / 2.0, float(r[3])
    ang = math.degrees(math.atan2(abs(ty - ry), abs(tx - rx)))
    behind = ty <= ry
    left = tx <= rx
    if ang >= vertical_deg:
        return "behind" if behind else "in front of"
    if ang <= diagonal_deg:
        return "on the left of" if left else "on the right of"
    return f"on the {'left' if left else 'right'} {'back' if behind else 'front'} of"


def _obj_group(t, g: _Extent, group_is_trees: bool) -> str:
    tx, tf = (t[0] + t[2]) / 2.0, float(t[3])
    in_span = g.x0 <= tx <= g.x1
    in_band = g.hi <= tf <= g.lo
    if group_is_trees and in_span and g.hi < tf <= g.lo:
        return "among"
    if in_span:
        return "behind" if tf <= (g.hi + g.lo) / 2.0 else "in front of"
    side = "left" if tx < g.x0 else "right"
    if in_band:
        return f"on the {side} of"
    return f"on the {side} {'back' if tf < g.hi else 'front'} of"


def _group_group(t: _Extent, r: _Extent, t_trees: bool, r_trees: bool) -> str:
    if t_trees and t.x0 <= r.cx <= t.x1 and t.hi <= r.lo <= t.lo:
        return "around"
    if r_trees and r.x0 <= t.cx <= r.x1 and r.hi <= t.lo <= r.lo:
        return "among"
    if r.x0 <= t.cx <= r.x1 or t.x0 <= r.cx <= t.x1:
        return "behind" if t.lo <= r.lo else "in front of"
    return "on the left of" if t.cx <= r.cx else "on the right of"


def describe_relation(target_boxes, ref_boxes, target_is_trees: bool = False, ref_is_trees: bool = False,
                      vertical_deg: float = 60.0, diagonal_deg: float = 30.0) -> str:
    """Spatial relation word of a target (one box or a group) to a reference (GRAMMAR §4.6).

    One of :data:`RELATIONS` except "near". A set of one box is an object, more boxes a group.
    """
    t, r = _as_boxes(target_boxes), _as_boxes(ref_boxes)
    if len(t) == 1 and len(r) == 1:
        return _obj_obj(t[0], r[0], vertical_deg, diagonal_deg)
    if len(t) == 1:
        return _obj_group(t[0], _Extent.of(r), ref_is_trees)
    if len(r) == 1:
        return INVERSE_RELATION[_obj_group(r[0], _Extent.of(t), target_is_trees)]
    return _group_group(_Extent.of(t), _Extent.of(r), target_is_trees, ref_is_trees)


def reference_direction(a_boxes, b_boxes, a_is_trees: bool = False, b_is_trees: bool = False
                        ) -> tuple[str, str] | None:
    """{rdir} names of two clusters of one category relative to each other (GRAMMAR §4.7), e.g.
    ("left", "right") or ("back", "front"); None when they cannot be told apart by direction."""
    ra = describe_relation(a_boxes, b_boxes, a_is_trees, b_is_trees, vertical_deg=65.0, diagonal_deg=30.0)
    rb = describe_relation(b_boxes, a_boxes, b_is_trees, a_is_trees, vertical_deg=65.0, diagonal_deg=30.0)
    if ra not in RDIR_OF_RELATION or rb not in RDIR_OF_RELATION or INVERSE_RELATION[ra] != rb:
        return None
    return RDIR_OF_RELATION[ra], RDIR_OF_RELATION[rb]


def third_of(cx: float, canvas_size: float = 750) -> str:
    """Image third phrase of a centre x (GRAMMAR §4.3)."""
    s = canvas_size / BASE_CANVAS
    if cx <= LEFT_THIRD_MAX * s:
        return SIDE3[0]
    if cx >= RIGHT_THIRD_MIN * s:
        return SIDE3[2]
    return SIDE3[1]


_ORDER_LABELS = {
    2: ("left", "right"),
    3: ("leftmost", "middle", "rightmost"),
    4: ("leftmost", "left second", "right second", "rightmost"),
    5: ("leftmost", "left second", "middle", "right second", "rightmost"),
}
_VERTICAL = {"left": "top", "right": "bottom", "leftmost": "topmost", "rightmost": "bottommost",
             "left second": "top second", "right second": "bottom second", "middle": "middle"}


def group_order(boxes, category: str = "", tolerance: float = 0.0) -> list[str] | None:
    """Position label of each member of a group of 2–5 (GRAMMAR §4.4), in input order.

    Labels: left/right (pairs), leftmost, left second, middle, right second, rightmost, or the vertical
    topmost … bottommost. None for other sizes, or when two adjacent sort keys are closer than ``tolerance``.
    """
    b = _as_boxes(boxes)
    n = len(b)
    if n not in _ORDER_LABELS:
        return None
    e = _Extent.of(b)
    horizontal = n == 2 or category == "house" or (e.lo - e.hi) <= 0.5 * (e.lo - e.top)
    key = b[:, 0] if horizontal else b[:, 3]
    order = sorted(range(n), key=lambda i: (key[i], i))
    if any(key[order[k + 1]] - key[order[k]] < tolerance for k in range(n - 1)):
        return None
    labels = _ORDER_LABELS[n] if horizontal else tuple(_VERTICAL[x] for x in _ORDER_LABELS[n])
    out = [""] * n
    for rank, i in enumerate(order):
        out[i] = labels[rank]
    return out


# --------------------------------------------------------------------------------------------- generator
@dataclass
class _Cluster:
    category: str
    members: list[int]          # positions in `objects`, ascending
    boxes: np.ndarray           # [k, 4], same order as members

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def x0(self) -> float:
        return float(self.boxes[:, 0].min())

    @property
    def cx(self) -> float:
        return float(((self.boxes[:, 0] + self.boxes[:, 2]) / 2).mean())

    @property
    def is_trees(self) -> bool:
        return self.category in TREE


def noun_phrase(category: str, n: int) -> str:
    """'the {sg}', 'the {N} {pl}' (2–5) or 'the  {pl}' (≥6, blank numeral: two spaces)."""
    if n == 1:
        return f"the {singular(category)}"
    if n in NUMBER_WORDS:
        return f"the {NUMBER_WORDS[n]} {plural(category)}"
    return f"the  {plural(category)}"


def _in_vocab(text: str) -> bool:
    return all(w in VOCAB for w in text.split())


class _Emitter:
    """Collects (expression, targets); identical strings with different targets are all dropped."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[int, ...]] = {}
        self.conflicts: set[str] = set()

    def add(self, text: str, targets: Iterable[int]) -> None:
        t = tuple(sorted(set(int(i) for i in targets)))
        if not t or not _in_vocab(text) or text in self.conflicts:
            return
        old = self.items.get(text)
        if old is None:
            self.items[text] = t
        elif old != t:
            del self.items[text]
            self.conflicts.add(text)

    def result(self) -> dict[str, list[int]]:
        return {k: list(v) for k, v in self.items.items()}


def _field(obj, name: str):
    """Attribute of an object, or item of a mapping (objects may be dataclasses or dicts)."""
    return obj[name] if isinstance(obj, dict) else getattr(obj, name)


FAMILIES: tuple[str, ...] = ("template", "free", "both")


def generate_expressions(objects: Sequence, rng: np.random.Generator, canvas_size: float = 750,
                         no_target_share: float = 0.05, family: str = "template",
                         held_out_types: Iterable[str] = ()) -> dict[str, list[int]]:
    """Referring expressions of a scene: {expression: [positions in `objects`]}.

    ``objects`` have ``.category`` (one of the 25 categories; others are ignored) and ``.bbox``
    (x0, y0, x1, y1); dicts with those keys work too. About ``no_target_share`` of the returned expressions name a category absent from
    the scene and have the target list ``[]``. Deterministic for a given rng state.

    ``family``: "template" (default: the SketchyScene-Matching grammar, unchanged), "free" (people's words, see
    :func:`generate_free_expressions`; ``held_out_types`` drops kinds of variation) or "both" (the template
    expressions, then the free ones drawn from the same rng; a free string that a template string already
    uses is dropped).
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown expression family {family!r} (expected one of {FAMILIES})")
    if family == "free":
        return generate_free_expressions(objects, rng, canvas_size, no_target_share, held_out_types)

    out = _generate_template(objects, rng, canvas_size, no_target_share)
    if family == "both":
        for text, targets in generate_free_expressions(objects, rng, canvas_size, no_target_share,
                                                       held_out_types).items():
            out.setdefault(text, targets)
    return out


def _generate_template(objects: Sequence, rng: np.random.Generator, canvas_size: float,
                       no_target_share: float) -> dict[str, list[int]]:
    """The template family (GRAMMAR.md §3-4): see :func:`generate_expressions`."""
    s = canvas_size / BASE_CANVAS
    cats = [_field(o, "category") for o in objects]
    boxes = np.array([list(map(float, _field(o, "bbox"))) for o in objects], dtype=np.float64).reshape(-1, 4)
    by_cat: dict[str, list[int]] = {}
    for i, c in enumerate(cats):
        if c in CATEGORIES:
            by_cat.setdefault(c, []).append(i)

    em = _Emitter()

    # -- sky (§4.8)
    for c in SKY:
        idx = by_cat.get(c, [])
        if len(idx) == 1:
            em.add(f"the {singular(c)} in the sky", idx)
            em.add(f"the {singular(c)}", idx)
        elif len(idx) >= 2:
            em.add(f"the {plural(c)}", idx)
            em.add(f"{'both' if len(idx) == 2 else 'all'} the {plural(c)}", idx)
            if c == "star":
                em.add("the stars in the sky", idx)

    # -- ground clusters (§4.1), in generator category order then left edge
    clusters: list[_Cluster] = []
    by_cat_clusters: dict[str, list[_Cluster]] = {}
    for c in GROUND_CATEGORIES:
        idx = by_cat.get(c, [])
        if not idx:
            continue
        for comp in cluster_objects(boxes[idx], CLUSTER_GAP * s):
            members = sorted(idx[k] for k in comp)
            cl = _Cluster(c, members, boxes[members])
            clusters.append(cl)
            by_cat_clusters.setdefault(c, []).append(cl)

    ref_names = _reference_names(by_cat_clusters)
    refs = _choose_references(clusters, ref_names)

    for c in GROUND_CATEGORIES:
        cls = by_cat_clusters.get(c)
        if not cls:
            continue
        _category_phrases(em, c, cls)
        _thirds_phrases(em, cls, canvas_size)
        near_members = {}
        for cl in cls:
            if c in MOVABLE and 3 <= cl.size <= 5:
                hit = _member_near(cl, clusters, by_cat[c], boxes, ref_names, s)
                if hit is not None:
                    near_members[id(cl)] = hit
        if len(cls) == 1:
            _order_phrases(em, cls[0], near_members.get(id(cls[0])), s)
        for cl in cls:
            _relation_phrases(em, cl, cls, refs.get(id(cl)), ref_names, near_members.get(id(cl)),
                              several=len(cls) > 1, scale=s)

    # -- stuff (§4.8)
    grass = by_cat.get("grass", [])
    if len(grass) == 1:
        em.add("the grass", grass)
    elif len(grass) >= 2:
        em.add("the grasses", grass)
        em.add(f"{'both' if len(grass) == 2 else 'all'} the grass", grass)
    if by_cat.get("road"):
        em.add("the road", by_cat["road"])

    out = em.result()
    if no_target_share > 0 and out:
        _add_no_target(out, rng, no_target_share, set(by_cat), ref_names, by_cat_clusters)
    return out


# -- category phrases (§4.2)
def _category_phrases(em: _Emitter, c: str, cls: list[_Cluster]) -> None:
    allidx = [i for cl in cls for i in cl.members]
    sg, pl = singular(c), plural(c)
    if len(cls) == 1:
        n = cls[0].size
        if n == 1:
            em.add(f"the {sg}", allidx)
            return
        num = NUMBER_WORDS.get(n, " ")   # blank numeral for ≥6 leaves two spaces
        em.add(f"the {num} {pl}".replace("   ", "  "), allidx)
        em.add(f"the {pl}", allidx)
        if n == 2:
            em.add(f"both the two {pl}", allidx)
            em.add(f"both the {pl}", allidx)
        else:
            em.add(f"all the {num} {pl}".replace("   ", "  "), allidx)
            em.add(f"all the {pl}", allidx)
    else:
        noun = sg if cls[0].size == 1 else pl
        em.add(f"{'both' if len(allidx) == 2 else 'all'} the {noun}", allidx)


# -- image thirds (§4.3): only when the cluster is alone in its third (no ambiguity)
def _thirds_phrases(em: _Emitter, cls: list[_Cluster], canvas_size: float) -> None:
    sides = [third_of(cl.cx, canvas_size) for cl in cls]
    for cl, side in zip(cls, sides):
        if sides.count(side) == 1:
            em.add(f"{noun_phrase(cl.category, cl.size)} {side}", cl.members)


# -- order inside a group (§4.4), category with one cluster
def _order_phrases(em: _Emitter, cl: _Cluster, near_member, s: float) -> None:
    labels = group_order(cl.boxes, cl.category, ORDER_TOLERANCE * s)
    if labels is None:
        return
    sg = singular(cl.category)
    for pos, lab in zip(cl.members, labels):
        if near_member is not None and near_member[0] == pos:
            continue
        if lab in ("left", "right", "top", "bottom"):
            em.add(f"the {sg} on the {lab}", [pos])
            em.add(f"the {lab} {sg}", [pos])
        elif lab == "middle":
            em.add(f"the {sg} in the middle", [pos])
            em.add(f"the middle {sg}", [pos])
        elif lab.endswith("second"):
            em.add(f"the second {sg} on the {lab.split()[0]}", [pos])
        else:
            em.add(f"the {sg} on the {lab}", [pos])
            em.add(f"the {lab} {sg}", [pos])


# -- references (§4.5, §4.7)
def _reference_names(by_cat_clusters: dict[str, list[_Cluster]]) -> dict[int, str]:
    """Name ("house", "left trees", …) of each cluster usable as a reference; clusters of categories with
    ≥3 clusters, or pairs of clusters that no direction tells apart, get none (the real generator would
    call them all "the left X")."""
    names: dict[int, str] = {}
    for c, cls in by_cat_clusters.items():
        if len(cls) == 1:
            cl = cls[0]
            names[id(cl)] = singular(c) if cl.size == 1 else plural(c)
        elif len(cls) == 2:
            a, b = cls
            d = reference_direction(a.boxes, b.boxes, a.is_trees, b.is_trees)
            if d is None:
                continue
            for cl, rd in zip((a, b), d):
                names[id(cl)] = f"{rd} {singular(c) if cl.size == 1 else plural(c)}"
    return names


def _choose_references(clusters: list[_Cluster], names: dict[int, str]) -> dict[int, _Cluster]:
    refs: dict[int, _Cluster] = {}
    for k, cl in enumerate(clusters):
        if cl.category in UNMOVABLE:
            cands = [r for r in clusters[:k] if r.category in UNMOVABLE]
        elif cl.category in TREE:
            cands = [r for r in clusters if r.category in UNMOVABLE]
        else:
            cands = [r for r in clusters if r.category in UNMOVABLE or r.category in TREE]
            if not cands:   # previous clusters in the list, of another category
                prev = [r for r in clusters[:k] if r.category != cl.category and id(r) in names]
                if prev:
                    refs[id(cl)] = prev[-1]
                continue
        cands = [r for r in cands if id(r) in names and r is not cl]
        if cands:
            refs[id(cl)] = min(cands, key=lambda r: boxes_gap(cl.boxes, r.boxes))
    return refs


def _member_near(cl: _Cluster, clusters: list[_Cluster], cat_idx: list[int], boxes: np.ndarray,
                 names: dict[int, str], s: float):
    """(member position, reference cluster) for the member 'near' rule of §4.5, or None.

    Stricter than the original: the member must be the closest object of its whole category to the
    reference by the 50-px margin, so that 'the {sg} near the {ref}' is unambiguous.
    """
    anchors = [r for r in clusters if r.size == 1 and (r.category in UNMOVABLE or r.category in TREE)]
    if not any(r.category in UNMOVABLE or r.category in TREE for r in clusters):
        anchors = [r for r in clusters if r.size == 1 and r.category in MOVABLE and r.category != cl.category]
    best = None
    for r in anchors:
        if id(r) not in names:
            continue
        d = {i: box_gap(boxes[i], r.boxes[0]) for i in cat_idx}
        m = min(cl.members, key=lambda i: (d[i], i))
        if d[m] > MEMBER_NEAR * s:
            continue
        if any(d[i] < d[m] + MEMBER_NEAR * s for i in cat_idx if i != m):
            continue
        if best is None or d[m] < best[2]:
            best = (m, r, d[m])
    return None if best is None else (best[0], best[1])


def _relation_phrases(em: _Emitter, cl: _Cluster, same_cat: list[_Cluster], ref: _Cluster | None,
                      names: dict[int, str], near_member, several: bool, scale: float) -> None:
    if near_member is not None:
        pos, r = near_member
        em.add(f"the {singular(cl.category)} near the {names[id(r)]}", [pos])
    if ref is None:
        return
    rname = names[id(ref)]
    geo = describe_relation(cl.boxes, ref.boxes, cl.is_trees, ref.is_trees)
    others = [o for o in same_cat if o is not cl and o is not ref]
    # the relation must single out this cluster among the clusters of its category
    geo_unique = all(describe_relation(o.boxes, ref.boxes, o.is_trees, ref.is_trees) != geo for o in others)
    if cl.category in ("bird", "butterfly"):
        g = boxes_gap(cl.boxes, ref.boxes)
        if all(boxes_gap(o.boxes, ref.boxes) > g for o in others):
            em.add(f"{noun_phrase(cl.category, cl.size)} near the {rname}", cl.members)
    elif geo_unique:
        em.add(f"{noun_phrase(cl.category, cl.size)} {geo} the {rname}", cl.members)
    # members of groups of several-cluster categories (family E)
    if several and geo_unique and 2 <= cl.size <= 5:
        labels = group_order(cl.boxes, cl.category, ORDER_TOLERANCE * scale)
        if labels is None:
            return
        for pos, lab in zip(cl.members, labels):
            if near_member is not None and near_member[0] == pos:
                continue
            em.add(f"the {lab} {singular(cl.category)} {geo} the {rname}", [pos])


# -- no-target expressions
def _add_no_target(out: dict[str, list[int]], rng: np.random.Generator, share: float, present: set[str],
                   names: dict[int, str], by_cat_clusters: dict[str, list[_Cluster]]) -> None:
    expected = share / max(1e-9, 1.0 - share) * len(out)
    n = int(math.floor(expected)) + int(rng.random() < expected - math.floor(expected))
    absent = [c for c in CATEGORIES if c not in present]
    if n <= 0 or not absent:
        return
    ref_nouns = [names[id(cl)] for c in UNMOVABLE + TREE for cl in by_cat_clusters.get(c, []) if id(cl) in names]
    tries = 0
    added = 0
    while added < n and tries < 50 * n:
        tries += 1
        c = absent[int(rng.integers(len(absent)))]
        sg, pl = singular(c), plural(c)
        num = NUMBER_WORDS[int(rng.integers(2, 6))]
        if c in SKY:
            forms = [f"the {sg}", f"the {sg} in the sky", f"the {pl}", f"all the {pl}"]
        elif c in ("grass", "road"):
            forms = [f"the {sg}", f"the {pl}", f"all the {sg}"]
        else:
            forms = [f"the {sg}", f"the {pl}", f"all the {pl}", f"both the {pl}", f"the {num} {pl}",
                     f"the {sg} {SIDE3[int(rng.integers(3))]}", f"the {num} {pl} {SIDE3[int(rng.integers(3))]}",
                     f"the {['leftmost', 'rightmost', 'middle', 'left', 'right'][int(rng.integers(5))]} {sg}"]
            if ref_nouns:
                rel = RELATIONS[int(rng.integers(len(RELATIONS) - 2))]   # no among/around
                ref = ref_nouns[int(rng.integers(len(ref_nouns)))]
                forms += [f"the {sg} {rel} the {ref}", f"the {num} {pl} {rel} the {ref}"] * 2
        text = forms[int(rng.integers(len(forms)))]
        if text in out or not _in_vocab(text):
            continue
        out[text] = []
        added += 1


# =========================================================================================== free family
# A second family of expressions, in the words people type rather than the benchmark's grammar: other names for
# the categories, digits, other quantifiers, imperative and polite wrappers, superlatives and extremes of size
# and position, corners and edges of the page, attributes and actions that leave the target unchanged, and
# relations in other words. Every phrase is computed from the same boxes as the template family and is emitted
# only when its meaning is clear-cut on the geometry (margins on every comparison), so targets stay exact.
# Each expression carries its variation types (FREE_TYPES); `held_out_types` drops every expression with one of
# them, so that whole kinds of variation can be kept out of training and measured as unseen phrasing.

FREE_TYPES: tuple[str, ...] = (
    "synonym", "hyponym", "hypernym", "informal", "digits", "quantifier", "wrapper", "superlative",
    "corner_edge", "position_words", "ordinal", "attribute", "relation_words", "no_target",
)
# kinds of variation a generalisation run keeps out of training (pass as held_out_types=...)
DEFAULT_HELD_OUT_TYPES: tuple[str, ...] = ("corner_edge", "ordinal")


def _nouns(spec: str) -> tuple[tuple[str, str], ...]:
    """'kitty/kitties, cat/cats' -> (('kitty', 'kitties'), ('cat', 'cats'))."""
    out = []
    for item in spec.split(","):
        item = item.strip()
        if item:
            sg, pl = item.split("/")
            out.append((sg.strip(), pl.strip()))
    return tuple(out)


# Other names per category, by kind. Singular/plural pairs; a word never names two categories. Gendered or
# age-specific names of people (boy, woman, ...) are used in the singular only, where the target is one person.
LEXICON: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "house": {"synonym": _nouns("home/homes, dwelling/dwellings, residence/residences"),
              "hyponym": _nouns("cottage/cottages, cabin/cabins, hut/huts, bungalow/bungalows, farmhouse/farmhouses, "
                                "villa/villas, shack/shacks, mansion/mansions, schoolhouse/schoolhouses")},
    "bus": {"synonym": _nouns("coach/coaches, autobus/autobuses, omnibus/omnibuses"),
            "hyponym": _nouns("school bus/school buses, minibus/minibuses, double-decker/double-deckers, "
                              "shuttle bus/shuttle buses")},
    "truck": {"synonym": _nouns("lorry/lorries, pickup/pickups"),
              "hyponym": _nouns("dump truck/dump trucks, fire truck/fire trucks, delivery truck/delivery trucks, "
                                "tanker/tankers, van/vans")},
    "car": {"synonym": _nouns("automobile/automobiles, motorcar/motorcars, auto/autos"),
            "hyponym": _nouns("sedan/sedans, hatchback/hatchbacks, taxi/taxis, cab/cabs, jeep/jeeps, "
                              "racing car/racing cars, convertible/convertibles"),
            "informal": _nouns("motor/motors, wheels/-")},
    "bench": {"synonym": _nouns("park bench/park benches, picnic bench/picnic benches"),
              "hyponym": _nouns("garden bench/garden benches, wooden bench/wooden benches")},
    "chair": {"synonym": _nouns("stool/stools"),
              "hyponym": _nouns("armchair/armchairs, rocking chair/rocking chairs, deckchair/deckchairs, "
                                "garden chair/garden chairs")},
    "tree": {"synonym": _nouns("treetop/treetops"),
             "hyponym": _nouns("oak/oaks, pine/pines, birch/birches, maple/maples, willow/willows, "
                               "apple tree/apple trees, palm/palms, elm/elms, fir/firs, poplar/poplars, "
                               "sapling/saplings"),
             "informal": _nouns("treey/treeys, bushy tree/bushy trees")},
    "people": {"synonym": _nouns("human/humans, individual/individuals, figure/figures, character/characters, "
                                 "pedestrian/pedestrians, human being/human beings"),
               "hyponym": _nouns("man/men, woman/women, boy/boys, girl/girls, child/children, adult/adults, "
                                 "gentleman/gentlemen, lady/ladies, teenager/teenagers, toddler/toddlers"),
               "informal": _nouns("guy/guys, kid/kids, dude/dudes, fellow/fellows, folk/folks, "
                                  "stick figure/stick figures")},
    "horse": {"synonym": _nouns("steed/steeds, equine/equines, mount/mounts"),
              "hyponym": _nouns("stallion/stallions, mare/mares, foal/foals, colt/colts, racehorse/racehorses"),
              "informal": _nouns("pony/ponies, horsey/horsies, nag/nags")},
    "cow": {"synonym": _nouns("-/cattle, bovine/bovines, cattle beast/-"),
            "hyponym": _nouns("bull/bulls, calf/calves, heifer/heifers, ox/oxen, dairy cow/dairy cows"),
            "informal": _nouns("moo cow/moo cows, moo-cow/moo-cows")},
    "sheep": {"synonym": _nouns("ovine/ovines"),
              "hyponym": _nouns("lamb/lambs, ewe/ewes, ram/rams"),
              "informal": _nouns("baa lamb/baa lambs, woolly/woollies")},
    "pig": {"synonym": _nouns("swine/swine, hog/hogs"),
            "hyponym": _nouns("piglet/piglets, sow/sows, boar/boars"),
            "informal": _nouns("piggy/piggies, oinker/oinkers, porker/porkers")},
    "cat": {"synonym": _nouns("feline/felines, moggie/moggies"),
            "hyponym": _nouns("kitten/kittens, tomcat/tomcats, tabby/tabbies"),
            "informal": _nouns("kitty/kitties, kitty cat/kitty cats, pussycat/pussycats, moggy/moggies")},
    "dog": {"synonym": _nouns("hound/hounds, canine/canines"),
            "hyponym": _nouns("puppy/puppies, poodle/poodles, terrier/terriers, beagle/beagles, "
                              "labrador/labradors, dachshund/dachshunds, sheepdog/sheepdogs, collie/collies"),
            "informal": _nouns("doggy/doggies, doggo/doggos, pup/pups, pooch/pooches, mutt/mutts")},
    "chicken": {"synonym": _nouns("fowl/fowl, chicky/chickies"),
                "hyponym": _nouns("hen/hens, rooster/roosters, chick/chicks, cockerel/cockerels, "
                                  "pullet/pullets"),
                "informal": _nouns("chook/chooks, chickie/chickies")},
    "duck": {"synonym": _nouns("waterfowl/waterfowl, mallard/mallards"),
             "hyponym": _nouns("duckling/ducklings, drake/drakes"),
             "informal": _nouns("ducky/duckies, quacker/quackers")},
    "rabbit": {"synonym": _nouns("hare/hares, cottontail/cottontails"),
               "hyponym": _nouns("baby rabbit/baby rabbits, kit rabbit/kit rabbits"),
               "informal": _nouns("bunny/bunnies, bunny rabbit/bunny rabbits, wabbit/wabbits")},
    "bird": {"synonym": _nouns("songbird/songbirds, feathered friend/feathered friends"),
             "hyponym": _nouns("sparrow/sparrows, robin/robins, crow/crows, pigeon/pigeons, swallow/swallows, "
                               "seagull/seagulls, finch/finches, blackbird/blackbirds"),
             "informal": _nouns("birdie/birdies, tweety bird/tweety birds, birdy/birdies")},
    "butterfly": {"synonym": _nouns("lepidopteran/lepidopterans"),
                  "hyponym": _nouns("monarch/monarchs, swallowtail/swallowtails, moth/moths"),
                  "informal": _nouns("flutterby/flutterbies, flutter bug/flutter bugs")},
    "sun": {"synonym": _nouns("sunshine/-, daystar/daystars, sun disc/sun discs"),
            "informal": _nouns("mr sun/-, sunball/sunballs, big yellow ball/-")},
    "moon": {"synonym": _nouns("moonlight/-, lunar disc/lunar discs"),
             "hyponym": _nouns("crescent/crescents, half moon/half moons, full moon/full moons, "
                               "crescent moon/crescent moons"),
             "informal": _nouns("moonie/moonies")},
    "cloud": {"synonym": _nouns("rain cloud/rain clouds, cloudlet/cloudlets"),
              "hyponym": _nouns("cumulus/cumuli, storm cloud/storm clouds, thundercloud/thunderclouds"),
              "informal": _nouns("puff/puffs, fluffy cloud/fluffy clouds")},
    "star": {"synonym": _nouns("celestial star/celestial stars"),
             "hyponym": _nouns("twinkle star/twinkle stars, shooting star/shooting stars, "
                               "five-pointed star/five-pointed stars"),
             "informal": _nouns("twinkly star/twinkly stars, star shape/star shapes")},
    "grass": {"synonym": _nouns("tuft of grass/tufts of grass, patch of grass/patches of grass, "
                                "clump of grass/clumps of grass, grass tuft/grass tufts"),
              "hyponym": _nouns("reed/reeds, weed/weeds, tall grass/tall grasses"),
              "informal": _nouns("bit of grass/bits of grass, grassy bit/grassy bits, tuft/tufts")},
    "road": {"synonym": _nouns("street/streets, path/paths, lane/lanes, pathway/pathways, track/tracks"),
             "hyponym": _nouns("highway/highways, avenue/avenues, footpath/footpaths, dirt road/dirt roads, "
                               "country road/country roads, driveway/driveways"),
             "informal": _nouns("roadway/roadways")},
}

def _lexicon_nouns() -> dict[str, tuple[str, str]]:
    """Every other name of LEXICON -> (category, "sg" | "pl" | "both")."""
    out: dict[str, tuple[str, str]] = {}
    for c, kinds in LEXICON.items():
        for nouns in kinds.values():
            for sg, pl in nouns:
                for word, number in ((sg, "sg"), (pl, "pl")):
                    if word == "-":
                        continue
                    old = out.get(word)
                    out[word] = (c, "both" if old is not None and old[1] != number else number)
    return out


# Words for several categories at once: used only when they name exactly the instances meant.
HYPERNYMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("animal", "animals"): ("horse", "cow", "sheep", "pig", "cat", "dog", "chicken", "duck", "rabbit", "bird",
                            "butterfly"),
    ("creature", "creatures"): ("horse", "cow", "sheep", "pig", "cat", "dog", "chicken", "duck", "rabbit", "bird",
                                "butterfly"),
    ("farm animal", "farm animals"): ("horse", "cow", "sheep", "pig", "chicken", "duck"),
    ("pet", "pets"): ("cat", "dog", "rabbit"),
    ("vehicle", "vehicles"): ("bus", "truck", "car"),
    ("building", "buildings"): ("house",),
    ("seat", "seats"): ("bench", "chair"),
    ("plant", "plants"): ("tree", "grass"),
    ("insect", "insects"): ("butterfly",),
    ("poultry", "poultry"): ("chicken", "duck"),
}

# word (or multi-word name) -> (category, "sg" | "pl" | "both"): for readers of free phrasing, e.g. a stated-count
# rule that should know that "kitties" is plural and "fowl" either
LEXICON_NOUNS: dict[str, tuple[str, str]] = _lexicon_nouns()

# Attributes and actions that leave the target unchanged (never size or position words).
_COMMON_ADJ = ("cute", "hand-drawn", "sketched", "cartoon", "funny", "lovely", "nice")
ATTRIBUTES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {   # category -> (adjectives, trailing phrases)
    "house": (("cosy", "wooden", "brick", "pretty"), ("with a chimney", "with a pointed roof", "with windows",
                                                       "with a door")),
    "bus": (("yellow", "parked", "red"), ("with many windows", "with round wheels", "full of passengers")),
    "truck": (("parked", "heavy", "red"), ("with a trailer", "with big wheels", "carrying a load")),
    "car": (("parked", "shiny", "red", "blue"), ("with round wheels", "with two doors", "driving along")),
    "bench": (("wooden", "empty", "old"), ("with a backrest", "to sit on")),
    "chair": (("wooden", "empty", "old"), ("with four legs", "with a backrest")),
    "tree": (("leafy", "green", "bushy", "shady"), ("with a thick trunk", "with round leaves", "with branches",
                                                     "full of leaves")),
    "people": (("walking", "standing", "smiling", "waving", "happy"), ("wearing a hat", "with a smile",
                                                                       "raising an arm", "in a shirt")),
    "horse": (("running", "galloping", "brown", "trotting"), ("with a long mane", "with a flowing tail")),
    "cow": (("spotted", "grazing", "black and white"), ("with horns", "with spots", "chewing grass")),
    "sheep": (("woolly", "fluffy", "grazing", "white"), ("with curly wool", "eating grass")),
    "pig": (("pink", "muddy", "chubby"), ("with a curly tail", "with a snout")),
    "cat": (("sleepy", "sitting", "striped", "playful"), ("with whiskers", "with a long tail", "licking its paw")),
    "dog": (("running", "barking", "sitting", "playful", "jumping"), ("with a collar", "wagging its tail",
                                                                      "with floppy ears")),
    "chicken": (("pecking", "clucking", "fluffy"), ("with a red comb", "looking for seeds")),
    "duck": (("swimming", "quacking", "waddling", "yellow"), ("with a flat beak", "with webbed feet")),
    "rabbit": (("hopping", "fluffy", "white"), ("with long ears", "eating a carrot")),
    "bird": (("flying", "singing", "chirping"), ("with its wings spread", "in flight")),
    "butterfly": (("fluttering", "colourful", "flying"), ("with patterned wings", "with big wings")),
    "sun": (("shining", "smiling", "bright", "glowing"), ("with rays", "with a face")),
    "moon": (("glowing", "pale", "sleepy"), ("in the night sky", "with a face")),
    "cloud": (("fluffy", "white", "puffy", "drifting"), ("floating by", "in the sky")),
    "star": (("twinkling", "shining", "bright"), ("in the night sky", "with five points")),
    "grass": (("green", "wild", "leafy"), ("growing on the ground", "swaying in the wind")),
    "road": (("winding", "empty", "paved", "grey"), ("through the scene", "leading away")),
}

_IMPERATIVES = ("select", "pick", "highlight", "find", "show me", "grab", "choose", "mark", "click on", "get",
                "segment", "outline", "give me", "point to", "take")
_POLITE = ("please {v} {x}", "{v} {x} please", "could you {v} {x}?", "can you {v} {x}", "i want {x}",
           "i'd like {x}", "would you {v} {x}", "{v} {x} for me", "Please {v} {x}.")
_DIGITS = {1: "1", 2: "2", 3: "3", 4: "4", 5: "5", 6: "6", 7: "7", 8: "8", 9: "9"}
_ORDINAL_WORDS = {1: ("first", "1st"), 2: ("second", "2nd"), 3: ("third", "3rd"), 4: ("fourth", "4th"),
                  5: ("fifth", "5th"), 6: ("sixth", "6th")}
_CORNERS = {("top", "left"): "top left", ("top", "right"): "top right", ("bottom", "left"): "bottom left",
            ("bottom", "right"): "bottom right"}

POSITION_MARGIN = 12.0       # px on the 768 canvas: every position comparison must clear it
SIZE_RATIO = 1.25            # a size superlative needs the winner this much larger (area, height) than the next
NEAR_MAX_GAP = 60.0          # 'next to': box gap of the target to the reference at most this ...
NEAR_SECOND_MARGIN = 50.0    # ... and every other instance at least this much farther
EDGE_BAND = 0.03             # 'at the left edge': box within this share of the page of the edge ...
EDGE_CLEAR = 0.10            # ... and every other instance of the category beyond this share


@dataclass(frozen=True)
class _Inst:
    index: int
    category: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2.0

    @property
    def cy(self) -> float:
        return (self.y0 + self.y1) / 2.0

    @property
    def area(self) -> float:
        return max(1.0, (self.x1 - self.x0) * (self.y1 - self.y0))

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)


@dataclass
class _Phrase:
    """A noun phrase without its determiner logic: text, targets and variation types."""
    text: str
    targets: tuple[int, ...]
    types: frozenset[str]


class _FreeEmitter:
    """(expression -> targets, types); identical strings with different targets are all dropped."""

    def __init__(self, held_out: Iterable[str]) -> None:
        self.held_out = frozenset(held_out)
        self.items: dict[str, tuple[tuple[int, ...], frozenset[str]]] = {}
        self.conflicts: set[str] = set()

    def add(self, text: str, targets: Iterable[int], types: Iterable[str]) -> None:
        types = frozenset(types)
        if types & self.held_out:
            return
        text = " ".join(text.split())
        t = tuple(sorted(set(int(i) for i in targets)))
        if text in self.conflicts:
            return
        old = self.items.get(text)
        if old is None:
            self.items[text] = (t, types)
        elif old[0] != t:
            del self.items[text]
            self.conflicts.add(text)


def _pick(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _noun_forms(category: str, number: str, rng: np.random.Generator, single_target: bool
                ) -> list[tuple[str, frozenset[str]]]:
    """Names for `category` in 'sg' or 'pl': the benchmark's own plus one drawn from each kind of LEXICON."""
    own = singular(category) if number == "sg" else plural(category)
    forms = [(own, frozenset())]
    for kind, nouns in LEXICON.get(category, {}).items():
        if category == "people" and kind == "hyponym" and not single_target:
            continue   # "the 3 women": gender and age are unknown
        usable = [(sg, pl) for sg, pl in nouns if (sg if number == "sg" else pl) != "-"]
        if usable:
            sg, pl = _pick(rng, usable)
            forms.append((sg if number == "sg" else pl, frozenset({kind})))
    return forms


def _count_phrase(n: int, noun_pl: str, rng: np.random.Generator, cluster_like: bool
                  ) -> list[tuple[str, frozenset[str]]]:
    """Ways to say 'all n of these' (n >= 2) with the plural noun."""
    out = [(f"the {_DIGITS.get(n, str(n))} {noun_pl}", frozenset({"digits"})),
           (f"all of the {noun_pl}", frozenset({"quantifier"})),
           (f"each of the {noun_pl}", frozenset({"quantifier"}))]
    if n == 2:
        out += [(f"both {noun_pl}", frozenset({"quantifier"})), (f"both of the {noun_pl}", frozenset({"quantifier"})),
                (f"the pair of {noun_pl}", frozenset({"quantifier"}))]
    else:
        out += [(f"every one of the {noun_pl}", frozenset({"quantifier"})),
                (f"all {_DIGITS.get(n, str(n))} {noun_pl}", frozenset({"digits"}))]
        if cluster_like:
            out += [(f"the group of {noun_pl}", frozenset({"quantifier"}))]
    return out


def _clear_order(values: Sequence[float], margin: float, reverse: bool = False) -> list[int] | None:
    """Ranks of values sorted (ascending, or descending) when adjacent values differ by at least margin."""
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=reverse)
    for a, b in zip(order, order[1:]):
        if abs(values[a] - values[b]) < margin:
            return None
    return order


def _winner(values: Sequence[float], margin: float = 0.0, ratio: float = 1.0, largest: bool = True) -> int | None:
    """Index of the clear extreme of values (beats the runner-up by margin and by ratio), else None."""
    if len(values) < 2:
        return None
    order = sorted(range(len(values)), key=lambda i: values[i], reverse=largest)
    a, b = values[order[0]], values[order[1]]
    if abs(a - b) < margin:
        return None
    if ratio > 1.0 and (max(a, b) < ratio * min(a, b)):
        return None
    return order[0]


def generate_free_expressions(objects: Sequence, rng: np.random.Generator, canvas_size: float = 750,
                              no_target_share: float = 0.05, held_out_types: Iterable[str] = (),
                              with_types: bool = False, max_per_target: int | None = 6):
    """Free-phrasing referring expressions of a scene: {expression: [positions in `objects`]}.

    Same input as :func:`generate_expressions`. ``held_out_types`` (names from :data:`FREE_TYPES`) drops every
    expression with one of those kinds of variation. ``max_per_target`` keeps at most that many expressions
    (drawn at random) per target set, so that a scene gets a few times as many expressions as the template
    family, not twenty. ``with_types=True`` returns {expression: (targets, types)}. Deterministic for a given rng
    state.
    """
    held = frozenset(held_out_types)
    unknown = held - set(FREE_TYPES)
    if unknown:
        raise ValueError(f"unknown variation types {sorted(unknown)} (expected some of {FREE_TYPES})")
    s = canvas_size / BASE_CANVAS
    W = H = float(canvas_size)
    m = POSITION_MARGIN * s
    insts = []
    for i, o in enumerate(objects):
        c = _field(o, "category")
        if c in CATEGORIES:
            x0, y0, x1, y1 = map(float, _field(o, "bbox"))
            insts.append(_Inst(i, c, x0, y0, x1, y1))
    by_cat: dict[str, list[_Inst]] = {}
    for it in insts:
        by_cat.setdefault(it.category, []).append(it)
    em = _FreeEmitter(held)
    # noun phrases for one or more targets, each with determiner-less text and types
    phrases: list[_Phrase] = []

    for c in CATEGORIES:
        group = by_cat.get(c)
        if not group:
            continue
        n = len(group)
        idx = tuple(sorted(it.index for it in group))
        # -- the whole category
        if n == 1:
            for noun, kinds in _noun_forms(c, "sg", rng, True):
                phrases.append(_Phrase(f"the {noun}", idx, kinds))
        else:
            nouns = _noun_forms(c, "pl", rng, False)
            clustered = c in GROUND_CATEGORIES and len(cluster_objects(
                [(g.x0, g.y0, g.x1, g.y1) for g in group], CLUSTER_GAP * s)) == 1
            for noun, kinds in nouns:   # two ways to say "all of them" per name
                ways = _count_phrase(n, noun, rng, clustered)
                for j in rng.permutation(len(ways))[:2]:
                    text, more = ways[int(j)]
                    phrases.append(_Phrase(text, idx, kinds | more))
            every, kinds = _pick(rng, _noun_forms(c, "sg", rng, False))
            phrases.append(_Phrase(f"{_pick(rng, ('every', 'each'))} {every}", idx, kinds | {"quantifier"}))
            if c == "people":
                phrases.append(_Phrase(_pick(rng, ("everyone", "everybody", "all the folks", "the whole crowd")),
                                       idx, frozenset({"quantifier", "informal"})))
        if n >= 2:
            phrases += _extremes(c, group, rng, m)
            phrases += _ordinals(c, group, rng, m)
        phrases += _corners_edges(c, group, rng, W, H, m)
        phrases += _position_words(c, group, rng, W, H, m)
    phrases += _hypernym_phrases(by_cat, rng)
    phrases += _relations(by_cat, rng, s, m)

    # surface forms: each phrase as is, and sometimes with an attribute or a wrapper (or both)
    for ph in phrases:
        em.add(ph.text, ph.targets, ph.types)
        cats = {it.category for it in insts if it.index in ph.targets}
        if len(cats) == 1 and rng.random() < 0.5:
            attr = _with_attribute(ph.text, next(iter(cats)), rng)
            if attr:
                em.add(attr, ph.targets, ph.types | {"attribute"})
        if rng.random() < 0.35:
            em.add(_wrap(ph.text, rng), ph.targets, ph.types | {"wrapper"})

    items = list(em.items.items())
    if max_per_target is not None:
        by_target: dict[tuple[int, ...], list[int]] = {}
        for j, (_, (t, _)) in enumerate(items):
            by_target.setdefault(t, []).append(j)
        keep: set[int] = set()
        for js in by_target.values():
            keep.update(js[int(i)] for i in rng.permutation(len(js))[:max_per_target])
        items = [it for j, it in enumerate(items) if j in keep]
    out = {k: (list(t), tuple(sorted(ty))) for k, (t, ty) in items}
    if no_target_share > 0 and out:
        _free_no_target(out, rng, no_target_share, set(by_cat), held)
    if with_types:
        return out
    return {k: v[0] for k, v in out.items()}


def _noun_for(c: str, rng: np.random.Generator, number: str, single: bool) -> tuple[str, frozenset[str]]:
    return _pick(rng, _noun_forms(c, number, rng, single))


def _extremes(c: str, group: list[_Inst], rng: np.random.Generator, m: float) -> list[_Phrase]:
    """Superlatives of size and position inside one category (the clear winner only), and the k at one end."""
    out: list[_Phrase] = []
    n = len(group)
    sg_noun, kinds = _noun_for(c, rng, "sg", True)
    comp = n == 2

    def add(values, largest, words, margin=0.0, ratio=1.0):
        w = _winner(values, margin, ratio, largest)
        if w is not None:
            text = _pick(rng, words).format(sg=sg_noun)
            out.append(_Phrase(text, (group[w].index,), kinds | {"superlative"}))

    cx = [g.cx for g in group]
    add(cx, False, ("the {sg} furthest to the left", "the {sg} farthest left", "the far-left {sg}",
                    "the {sg} on the far left", "the {sg} furthest left"), m)
    add(cx, True, ("the {sg} furthest to the right", "the {sg} farthest right", "the far-right {sg}",
                   "the {sg} on the far right", "the {sg} furthest right"), m)
    add([g.y0 for g in group], False, (("the higher {sg}", "the upper {sg}") if comp else
                                       ("the highest {sg}", "the uppermost {sg}", "the {sg} nearest the top")), m)
    add([g.y1 for g in group], True, (("the lower {sg}",) if comp else
                                      ("the lowest {sg}", "the {sg} closest to the bottom")), m)
    areas = [g.area for g in group]
    add(areas, True, (("the bigger {sg}", "the larger {sg}") if comp else
                      ("the biggest {sg}", "the largest {sg}", "the hugest {sg}")), ratio=SIZE_RATIO)
    add(areas, False, (("the smaller {sg}", "the littler {sg}") if comp else
                       ("the smallest {sg}", "the tiniest {sg}", "the littlest {sg}")), ratio=SIZE_RATIO)
    if c in ("tree", "people", "horse", "house"):
        add([g.height for g in group], True, (("the taller {sg}",) if comp else ("the tallest {sg}",)),
            ratio=1.15)
        add([g.height for g in group], False, (("the shorter {sg}",) if comp else ("the shortest {sg}",)),
            ratio=1.15)
    # the k leftmost / rightmost (k >= 2) when a clear gap separates them from the rest
    if n >= 3:
        pl_noun, pkinds = _noun_for(c, rng, "pl", False)
        order = sorted(range(n), key=lambda i: cx[i])
        for k in range(2, min(n, 6)):
            for side, chosen, gap in (("left", order[:k], cx[order[k]] - cx[order[k - 1]]),
                                      ("right", order[n - k:], cx[order[n - k]] - cx[order[n - k - 1]])):
                if gap < m:
                    continue
                num = _DIGITS[k] if rng.random() < 0.7 else NUMBER_WORDS.get(k, _DIGITS[k])
                text = _pick(rng, (f"the {num} {pl_noun} furthest to the {side}",
                                   f"the {num} {pl_noun} on the far {side}",
                                   f"the {num} {'leftmost' if side == 'left' else 'rightmost'} {pl_noun}"))
                types = pkinds | {"superlative"} | ({"digits"} if num.isdigit() else set())
                out.append(_Phrase(text, tuple(sorted(group[i].index for i in chosen)), frozenset(types)))
    return out


def _ordinals(c: str, group: list[_Inst], rng: np.random.Generator, m: float) -> list[_Phrase]:
    """'the first X from the left', 'the 2nd X from the right', 'the last X on the right' (clear order only)."""
    n = len(group)
    if n > 6:
        return []
    order = _clear_order([g.cx for g in group], m)
    if order is None:
        return []
    out = []
    sg_noun, kinds = _noun_for(c, rng, "sg", True)
    for rank, i in enumerate(order):
        from_left, from_right = rank + 1, n - rank
        options = []
        for k, side in ((from_left, "left"), (from_right, "right")):
            if k <= 3:
                word, digit = _ORDINAL_WORDS[k]
                options.append((f"the {word} {sg_noun} from the {side}", frozenset({"ordinal"})))
                options.append((f"the {digit} {sg_noun} from the {side}", frozenset({"ordinal", "digits"})))
        if from_right == 1:
            options.append((f"the last {sg_noun} on the right", frozenset({"ordinal"})))
        if from_left == 1:
            options.append((f"the last {sg_noun} on the left", frozenset({"ordinal"})))
        if not options:
            continue
        text, types = _pick(rng, options)
        out.append(_Phrase(text, (group[i].index,), kinds | types))
    return out


def _corners_edges(c: str, group: list[_Inst], rng: np.random.Generator, W: float, H: float, m: float
                   ) -> list[_Phrase]:
    """The one instance of a category in a corner of the page, or at one of its edges."""
    out = []
    sg_noun, kinds = _noun_for(c, rng, "sg", True)
    if c != "road":
        for (v, h), name in _CORNERS.items():
            def inside(g: _Inst, slack: float) -> bool:
                okx = g.cx < W / 3 + slack if h == "left" else g.cx > 2 * W / 3 - slack
                oky = g.cy < H / 3 + slack if v == "top" else g.cy > 2 * H / 3 - slack
                return okx and oky
            strict = [g for g in group if inside(g, -m)]
            loose = [g for g in group if inside(g, m)]
            if len(strict) == 1 and len(loose) == 1:
                text = _pick(rng, (f"the {sg_noun} in the {name} corner", f"the {sg_noun} in the {name}",
                                   f"the {name.replace(' ', '-')} {sg_noun}", f"the {sg_noun} at the {name}"))
                out.append(_Phrase(text, (strict[0].index,), kinds | {"corner_edge"}))
    if c in ("road",):
        return out
    edges = {"left": lambda g: g.x0 / W, "right": lambda g: (W - g.x1) / W,
             "top": lambda g: g.y0 / H, "bottom": lambda g: (H - g.y1) / H}
    for side, dist in edges.items():
        near = [g for g in group if dist(g) <= EDGE_BAND]
        others = [g for g in group if g not in near]
        if len(near) == 1 and all(dist(g) > EDGE_CLEAR for g in others):
            text = _pick(rng, (f"the {sg_noun} at the {side} edge", f"the {sg_noun} touching the {side} edge",
                               f"the {sg_noun} at the {side} edge of the page",
                               f"the {sg_noun} cut off at the {side}"))
            out.append(_Phrase(text, (near[0].index,), kinds | {"corner_edge"}))
    return out


def _position_words(c: str, group: list[_Inst], rng: np.random.Generator, W: float, H: float, m: float
                    ) -> list[_Phrase]:
    """Instances in a region of the page named in other words (left-hand side, centre, upper half, ...)."""
    out = []
    regions = {
        "left": (lambda g: g.cx < W / 3 - m, lambda g: g.cx > W / 3 + m,
                 ("on the left-hand side", "on the left side", "over on the left", "to the left")),
        "right": (lambda g: g.cx > 2 * W / 3 + m, lambda g: g.cx < 2 * W / 3 - m,
                  ("on the right-hand side", "on the right side", "over on the right", "to the right")),
        "centre": (lambda g: W / 3 + m < g.cx < 2 * W / 3 - m and H / 3 + m < g.cy < 2 * H / 3 - m,
                   lambda g: not (W / 3 - m < g.cx < 2 * W / 3 + m and H / 3 - m < g.cy < 2 * H / 3 + m),
                   ("in the centre", "in the center", "in the centre of the page", "right in the middle")),
        "upper": (lambda g: g.cy < H / 2 - m, lambda g: g.cy > H / 2 + m,
                  ("in the upper half", "in the top half", "up top", "at the top")),
        "lower": (lambda g: g.cy > H / 2 + m, lambda g: g.cy < H / 2 - m,
                  ("in the lower half", "in the bottom half", "down at the bottom", "at the bottom")),
    }
    for name, (yes, no, words) in regions.items():
        inside = [g for g in group if yes(g)]
        if not inside or not all(yes(g) or no(g) for g in group):
            continue   # nothing there, or an instance too close to the border to say
        if len(inside) == len(group) and rng.random() < 0.5:
            continue   # true of all of them: right, but not every time
        k = len(inside)
        noun, kinds = _noun_for(c, rng, "sg" if k == 1 else "pl", k == 1)
        if k == 1:
            head = f"the {noun}"
        else:
            num = _DIGITS[k] if k in _DIGITS and rng.random() < 0.5 else ""
            head = f"the {num} {noun}" if num else f"the {noun}"
            kinds = kinds | ({"digits"} if num else set())
        out.append(_Phrase(f"{head} {_pick(rng, words)}", tuple(sorted(g.index for g in inside)),
                           kinds | {"position_words"}))
    return out


def _hypernym_phrases(by_cat: dict[str, list[_Inst]], rng: np.random.Generator) -> list[_Phrase]:
    """'the animal' (the only animal), 'the 3 vehicles' (all of them): broader words that still name exactly
    the instances meant."""
    out = []
    for (sg, pl), members in HYPERNYMS.items():
        inst = [it for c in members for it in by_cat.get(c, [])]
        if not inst:
            continue
        idx = tuple(sorted(it.index for it in inst))
        if len(inst) == 1:
            out.append(_Phrase(f"the {sg}", idx, frozenset({"hypernym"})))
        else:
            text, more = _pick(rng, _count_phrase(len(inst), pl, rng, False) + [(f"the {pl}", frozenset())])
            out.append(_Phrase(text, idx, frozenset({"hypernym"}) | more))
    return out


def _relations(by_cat: dict[str, list[_Inst]], rng: np.random.Generator, s: float, m: float) -> list[_Phrase]:
    """Relations in other words (to the left of, above, under, next to) to a reference that is the only instance
    of its category; the targets are every instance of the category for which the relation holds, emitted only
    when it clearly holds or clearly fails for each of them."""
    out = []
    refs = [g[0] for c, g in by_cat.items() if len(g) == 1 and c not in ("road",)]
    if not refs:
        return out
    for c in GROUND_CATEGORIES + ("cloud", "star", "sun", "moon", "grass"):
        group = by_cat.get(c)
        if not group:
            continue
        cands = [r for r in refs if r.category != c]
        if not cands:
            continue
        for r in [cands[int(i)] for i in rng.permutation(len(cands))[:2]]:
            tests = {
                "left": (lambda g: g.cx < r.x0 - m, lambda g: g.cx > r.x0 + m,
                         ("to the left of", "left of", "on the left side of")),
                "right": (lambda g: g.cx > r.x1 + m, lambda g: g.cx < r.x1 - m,
                          ("to the right of", "right of", "on the right side of")),
                "above": (lambda g: g.y1 < r.y0 + m and r.x0 - m < g.cx < r.x1 + m,
                          lambda g: g.cy > r.y0 + m or g.cx < r.x0 - 3 * m or g.cx > r.x1 + 3 * m,
                          ("above", "over", "up above")),
                "below": (lambda g: g.y0 > r.y1 - m and r.x0 - m < g.cx < r.x1 + m,
                          lambda g: g.cy < r.y1 - m or g.cx < r.x0 - 3 * m or g.cx > r.x1 + 3 * m,
                          ("below", "under", "underneath", "beneath")),
            }
            rnoun, rkinds = _noun_for(r.category, rng, "sg", True)
            for name, (yes, no, words) in tests.items():
                inside = [g for g in group if yes(g)]
                if not inside or not all(yes(g) or no(g) for g in group):
                    continue
                k = len(inside)
                noun, kinds = _noun_for(c, rng, "sg" if k == 1 else "pl", k == 1)
                out.append(_Phrase(f"the {noun} {_pick(rng, words)} the {rnoun}",
                                   tuple(sorted(g.index for g in inside)), kinds | rkinds | {"relation_words"}))
            # next to: the nearest instance, clearly
            gaps = [box_gap((g.x0, g.y0, g.x1, g.y1), (r.x0, r.y0, r.x1, r.y1)) for g in group]
            best = int(np.argmin(gaps))
            if gaps[best] <= NEAR_MAX_GAP * s and all(gaps[j] >= gaps[best] + NEAR_SECOND_MARGIN * s
                                                      for j in range(len(group)) if j != best):
                noun, kinds = _noun_for(c, rng, "sg", True)
                word = _pick(rng, ("next to", "beside", "close to", "by", "right next to", "closest to"))
                out.append(_Phrase(f"the {noun} {word} the {rnoun}", (group[best].index,),
                                   kinds | rkinds | {"relation_words"}))
    return out


def _with_attribute(text: str, c: str, rng: np.random.Generator) -> str | None:
    """The phrase with an adjective after its determiner or a trailing phrase (targets unchanged)."""
    adjs, tails = ATTRIBUTES.get(c, ((), ()))
    words = text.split(" ", 1)
    if rng.random() < 0.5 and tails and len(words) == 2 and words[0] == "the" and len(text.split()) <= 3:
        return f"{text} {_pick(rng, tails)}"
    adj = _pick(rng, adjs + _COMMON_ADJ)
    if words[0] == "the" and len(words) == 2:
        rest = words[1]
        # keep digits and ordinal/superlative words before the adjective: 'the 2 cute dogs', 'the biggest cute dog'
        parts = rest.split(" ")
        k = 0
        while k < len(parts) - 1 and (parts[k].isdigit() or parts[k] in _KEEP_BEFORE_ADJ):
            k += 1
        return " ".join(["the"] + parts[:k] + [adj] + parts[k:])
    return None


_KEEP_BEFORE_ADJ = frozenset(
    "first second third fourth fifth sixth 1st 2nd 3rd 4th 5th 6th last two three four five six "
    "biggest largest hugest smallest tiniest littlest highest lowest uppermost tallest shortest bigger larger "
    "smaller littler higher upper lower taller shorter far-left far-right top-left top-right bottom-left "
    "bottom-right".split())


def _wrap(text: str, rng: np.random.Generator) -> str:
    """An imperative or polite request around the phrase."""
    verb = _pick(rng, _IMPERATIVES)
    if rng.random() < 0.5:
        out = f"{verb} {text}"
    else:
        out = _pick(rng, _POLITE).format(v=verb, x=text)
    if rng.random() < 0.3:
        out = out[0].upper() + out[1:]
    return out


def _free_no_target(out: dict, rng: np.random.Generator, share: float, present: set[str], held: frozenset[str]
                    ) -> None:
    """Expressions in free words naming categories (or broader words) absent from the scene; targets []."""
    if "no_target" in held:
        return
    expected = share / max(1e-9, 1.0 - share) * len(out)
    n = int(math.floor(expected)) + int(rng.random() < expected - math.floor(expected))
    absent = [c for c in CATEGORIES if c not in present]
    absent_hyper = [(sg, pl) for (sg, pl), members in HYPERNYMS.items() if not set(members) & present]
    if n <= 0 or not (absent or absent_hyper):
        return
    added, tries = 0, 0
    while added < n and tries < 50 * n:
        tries += 1
        if absent_hyper and (not absent or rng.random() < 0.15):
            sg, pl = _pick(rng, absent_hyper)
            kinds = frozenset({"hypernym"})
        else:
            c = _pick(rng, absent)
            kind = _pick(rng, ["own"] + sorted(LEXICON.get(c, {})))
            sg, pl = (singular(c), plural(c)) if kind == "own" else _pick(rng, LEXICON[c][kind])
            kinds = frozenset() if kind == "own" else frozenset({kind})
        form = int(rng.integers(5))
        if "-" in ((sg,) if form in (0, 2) else (pl,)):
            continue   # this name has no such form ('cattle' has no singular)
        text = [f"the {sg}", f"the {pl}", f"every {sg}", f"the {int(rng.integers(2, 6))} {pl}",
                f"all of the {pl}"][form]
        types = kinds | {"no_target"} | ({"digits"} if form == 3 else set()) | \
            ({"quantifier"} if form in (2, 4) else set())
        if rng.random() < 0.3:
            text = _wrap(text, rng)
            types |= {"wrapper"}
        if types & held or text in out:
            continue
        out[text] = ([], tuple(sorted(types)))
        added += 1
