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


def generate_expressions(objects: Sequence, rng: np.random.Generator, canvas_size: float = 750,
                         no_target_share: float = 0.05) -> dict[str, list[int]]:
    """Referring expressions of a scene: {expression: [positions in `objects`]}.

    ``objects`` have ``.category`` (one of the 25 categories; others are ignored) and ``.bbox``
    (x0, y0, x1, y1); dicts with those keys work too. About ``no_target_share`` of the returned expressions name a category absent from
    the scene and have the target list ``[]``. Deterministic for a given rng state.
    """
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
