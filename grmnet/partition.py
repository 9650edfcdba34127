"""Ink partition: every ink pixel of a sketch belongs to at most one object.

A referring head returns coarse 28x28 masks per object; "mask ∩ ink" lets two objects whose strokes touch or
whose regions overlap share pixels, and leaves thin parts outside the coarse mask behind. This module decides
ownership from the strokes themselves (pure numpy / OpenCV; no torch in the core):

1. ``suppress_duplicates``: detections of one object (NMS leftovers, the same object found under two
   categories) give way to the best-scored one.
2. ``pixel_claims``: each ink pixel is claimed by the objects whose mask probability, grown by a few pixels
   (outlines lie ON the silhouette border), is high there; among near-equal claims the object in front
   (``depth_order``: sky behind ground, lower on the page = nearer, as sketchers draw scenes) owns the pixel.
3. ``partition_ink``: a connected stroke that lies mostly in one object joins it whole (thin parts outside the
   coarse mask included); a stroke shared by several objects is cut at its junctions (``stroke_pieces``:
   skeleton + junction points) and each piece goes to the object that claims most of it; pieces nobody claims
   join an owned neighbour piece when they lie inside that object's box (a tail tip), else stay unclaimed
   (the base "Sketch" layer).
4. ``junction_bars`` / ``continue_bars``: at a T-junction (a stroke passing straight through, another ending
   on it: how occlusion looks) the passing stroke is one object's outline; a piece of it that the object behind
   took across the junction goes back to the object in front.

``assign_to_partition`` maps a referring result onto the partition (same object = same layer across queries);
``detect_all`` finds every object of a sketch with the referring model (torch is imported lazily there).
"""
from __future__ import annotations

import time
import weakref
from dataclasses import dataclass, field, replace
from typing import Sequence

import cv2
import numpy as np

__all__ = ["Detection", "PartitionConfig", "InkPartition", "paste_mask", "depth_order", "pixel_claims",
           "suppress_duplicates", "thin", "StrokePieces", "stroke_pieces", "junction_bars", "continue_bars",
           "junction_geometry", "junction_crossings", "bridge_pieces",
           "partition_ink", "spread_to_soft_ink",
           "DetectAllConfig", "detect_all", "category_sentences", "AssignConfig", "assign_to_partition",
           "object_of", "another_category",
           "partition_instances", "SketchPartitioner", "partitioner_of", "split_into_layers"]

# Drawing order of a scene sketch, back to front: sky objects first (sun behind clouds), the road flat on the
# ground, everything else standing on the ground (ordered by where it stands: lower on the page = nearer).
BACKDROP_RANK = {"sun": 0, "moon": 0, "star": 1, "cloud": 2, "road": 3}
GROUND_RANK = 4


@dataclass(frozen=True, eq=False)
class Detection:
    """One object found on a sketch, before the partition makes objects disjoint.

    prob   float32 [h, w]: mask probability over a window of the image whose top-left pixel is `origin` (x, y);
           the window may be the whole image (origin (0, 0)) or the box's crop (see `paste_mask`)
    box    (x0, y0, x1, y1) in image pixels
    """
    category: str
    score: float
    box: tuple[float, float, float, float]
    prob: np.ndarray
    origin: tuple[int, int] = (0, 0)

    def window(self, shape: tuple[int, int]) -> tuple[slice, slice, slice, slice]:
        """(image rows, image cols, prob rows, prob cols) of the part of `prob` inside an image of `shape`."""
        h, w = self.prob.shape
        x, y = self.origin
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, shape[1]), min(y + h, shape[0])
        x1, y1 = max(x1, x0), max(y1, y0)
        return slice(y0, y1), slice(x0, x1), slice(y0 - y, y1 - y), slice(x0 - x, x1 - x)

    def full_prob(self, shape: tuple[int, int]) -> np.ndarray:
        """float32 [H, W]: the probability pasted into an image of `shape`."""
        out = np.zeros(shape, np.float32)
        iy, ix, py, px = self.window(shape)
        out[iy, ix] = self.prob[py, px]
        return out


@dataclass(frozen=True)
class PartitionConfig:
    """Thresholds of the partition; pixel sizes are at 750 px (scaled with the image's long side)."""
    mask_threshold: float = 0.4      # a pixel whose (grown) probability reaches this is claimed by the object
    claim_radius: float = 4.0        # px the probability grows by: outlines lie on the silhouette's border
    front_margin: float = 0.15       # claims within this of the strongest: the object in front owns the pixel
    pure_share: float = 0.9          # a stroke is one object's when it holds this share of the stroke's claims
    piece_share: float = 0.6         # a piece between junctions is one object's when it holds this share
    neighbour_share: float = 0.25    # ...and no other object has this share of its own claimed ink there
    min_claimed: float = 0.5         # a stroke (piece) with fewer claimed pixels is decided by its neighbours
    box_margin: float = 0.1          # an unclaimed piece joins a neighbour's object inside its box grown this much
    inside_box: float = 0.9          # ...when this share of the piece lies in that box
    duplicate_iou: float = 0.5       # claimed-ink IoU above which two detections are one object
    duplicate_cover: float = 0.8     # a detection whose claims lie this much inside a better one is a duplicate
    stray_distance: float = 0.0      # px: a stroke nobody claims joins the one object whose ink lies this close...
                                     # (...and whose box holds inside_box of it); 0 = off: no gain on synthetic val
    junction_radius: float = 10.0    # px: T-junction branch directions are taken this far (0 = no continuation)
    bridge_crossings: bool = True    # a piece both of whose straight continuations are another object's joins it
    min_score: float = 0.5           # detections below this score are ignored
    min_ink: int = 30                # px (at 750 px): an object owning less ink is dropped

    def scaled(self, image_shape: tuple[int, int]) -> "PartitionConfig":
        s = max(image_shape) / 750.0
        return replace(self, claim_radius=self.claim_radius * s, stray_distance=self.stray_distance * s,
                       junction_radius=self.junction_radius * s, min_ink=max(1, int(round(self.min_ink * s * s))))


@dataclass
class InkPartition:
    """Who owns each ink pixel of one sketch.

    owner    int32 [H, W]: index into `objects` of the object owning each ink pixel; -1 = unclaimed ink or paper
    objects  the kept objects (duplicates merged), best score first
    depth    int [K]: each object's place in the drawing order, 0 = farthest back
    """
    owner: np.ndarray
    objects: list[Detection]
    depth: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def __len__(self) -> int:
        return len(self.objects)

    def ink(self, i: int) -> np.ndarray:
        """bool [H, W]: the ink object `i` owns."""
        return self.owner == i

    def ink_counts(self) -> np.ndarray:
        """int [K]: ink pixels owned per object (computed once: `owner` is not changed after the partition)."""
        if self._counts is None:
            self._counts = np.bincount(self.owner[self.owner >= 0], minlength=len(self.objects))[:len(self.objects)]
        return self._counts

    _counts: np.ndarray | None = field(default=None, init=False, repr=False, compare=False)

    def ink_windows(self) -> list[tuple[slice, slice] | None]:
        """Per object, the (rows, cols) slices of the box around its owned ink (None when it owns none); computed
        once per partition: queries on the sketch work inside these windows instead of the whole image."""
        if self._windows is None:
            from scipy.ndimage import find_objects
            self._windows = find_objects(self.owner + 1, max_label=len(self.objects))   # label i + 1: object i
        return self._windows

    _windows: list | None = field(default=None, init=False, repr=False, compare=False)

    def region(self, i: int, mask_threshold: float = 0.4) -> np.ndarray:
        """bool [H, W]: object `i`'s silhouette (probability above the threshold) plus its owned ink."""
        return (self.objects[i].full_prob(self.owner.shape) > mask_threshold) | self.ink(i)


# ---- masks ------------------------------------------------------------------------------------------------

def paste_mask(mask: np.ndarray, box: Sequence[float], image_shape: tuple[int, int], padding: int = 1
               ) -> tuple[np.ndarray, tuple[int, int]]:
    """A Mask R-CNN mask into image pixels, as torchvision's `paste_masks_in_image` does, but only over the box.

    mask float [M, M] probabilities, box (x0, y0, x1, y1) -> (prob float32 [h, w], origin (x, y))
    """
    m = mask.shape[0]
    scale = (m + 2 * padding) / m                         # the padded mask covers a box grown by one cell
    x0, y0, x1, y1 = (float(v) for v in box)
    cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2 * scale, (y1 - y0) / 2 * scale
    bx0, by0, bx1, by1 = int(cx - hw), int(cy - hh), int(cx + hw), int(cy + hh)
    w, h = max(bx1 - bx0 + 1, 1), max(by1 - by0 + 1, 1)
    padded = np.pad(np.asarray(mask, np.float32), padding)
    prob = cv2.resize(padded, (w, h), interpolation=cv2.INTER_LINEAR)
    det = Detection("", 0.0, (0, 0, 0, 0), prob, (bx0, by0))
    iy, ix, py, px = det.window(image_shape)
    return np.ascontiguousarray(prob[py, px]), (ix.start, iy.start)


def depth_order(objects: Sequence[Detection]) -> np.ndarray:
    """int [K]: drawing order, 0 = farthest back (sky, then road, then ground objects from the top down)."""
    keys = [(BACKDROP_RANK.get(o.category, GROUND_RANK), o.box[3]) for o in objects]
    order = sorted(range(len(objects)), key=lambda i: keys[i])
    depth = np.empty(len(objects), int)
    depth[order] = np.arange(len(objects))
    return depth


def pixel_claims(ink_yx: tuple[np.ndarray, np.ndarray], objects: Sequence[Detection], image_shape: tuple[int, int],
                 radius: float) -> np.ndarray:
    """How strongly each object claims each ink pixel: its mask probability grown by `radius` px (grey dilation).

    ink_yx ([N], [N]) pixel rows and columns -> float32 [K, N]
    """
    ys, xs = ink_yx
    claims = np.zeros((len(objects), len(ys)), np.float32)
    index = np.full(image_shape, -1, np.int64)             # ink pixel number at each ink pixel
    index[ys, xs] = np.arange(len(ys))
    r = max(int(round(radius)), 0)
    # On a large sketch the radius grows with it and a dilation by a big ellipse dominated the partition (0.2 s
    # of 0.65 s at 3000 px): there the smooth upsampled probability is max-pooled by `step` first and dilated by
    # r / step. At 750 px and below (r <= 7) step is 1: exactly the dilation by r.
    step = max(1, r // 4)
    rs = int(round(r / step))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * rs + 1, 2 * rs + 1)) if rs else None
    for k, obj in enumerate(objects):
        prob = np.pad(obj.prob, r)
        if step > 1:
            h, w = prob.shape
            pooled = np.pad(prob, ((0, -h % step), (0, -w % step)))
            pooled = pooled.reshape(pooled.shape[0] // step, step, pooled.shape[1] // step, step).max(axis=(1, 3))
            grown = cv2.dilate(pooled, kernel) if rs else pooled
            grown = np.repeat(np.repeat(grown, step, axis=0), step, axis=1)[:h, :w]
        else:
            grown = cv2.dilate(prob, kernel) if r else obj.prob
        window = Detection(obj.category, obj.score, obj.box, grown, (obj.origin[0] - r, obj.origin[1] - r))
        iy, ix, py, px = window.window(image_shape)
        numbers = index[iy, ix]
        on_ink = numbers >= 0
        claims[k, numbers[on_ink]] = grown[py, px][on_ink]
    return claims


def claim_owner(claims: np.ndarray, depth: np.ndarray, threshold: float, front_margin: float) -> np.ndarray:
    """Per pixel, the object owning it by its claims alone: of the objects whose claim reaches the threshold and
    lies within `front_margin` of the strongest, the one in front.

    claims float [K, N], depth int [K] -> int [N] (-1 = unclaimed)
    """
    if claims.shape[0] == 0:
        return np.full(claims.shape[1], -1, np.int64)
    strongest = claims.max(axis=0)
    eligible = (claims >= threshold) & (claims >= strongest - front_margin)
    rank = np.where(eligible, depth[:, None], -1)
    owner = rank.argmax(axis=0)
    owner[~eligible.any(axis=0)] = -1
    return owner


def suppress_duplicates(objects: Sequence[Detection], claims: np.ndarray, cfg: PartitionConfig
                        ) -> list[int]:
    """Indices of the objects to keep, best score first: a detection whose claimed ink overlaps a better one's
    (IoU >= duplicate_iou, or lies inside it >= duplicate_cover) is the same object found again.

    claims float [K, N] (see pixel_claims)
    """
    order = sorted(range(len(objects)), key=lambda i: -objects[i].score)
    claimed = claims >= cfg.mask_threshold                       # bool [K, N]
    if claimed.shape[1] == 0:
        return []
    sizes = claimed.sum(axis=1)
    # Shared pixels of a pair, counted over the span of ink pixel numbers both claim (ink pixels are numbered row by
    # row, so objects far apart share no span). Not a float matmul: numpy's BLAS threads fight torch's OpenMP
    # threads on a 2-core machine and turned this 5 ms product into 1.8 s now and then.
    first = claimed.argmax(axis=1)
    last = claimed.shape[1] - claimed[:, ::-1].argmax(axis=1)   # exclusive

    def shared(i: int, j: int) -> int:
        lo, hi = max(first[i], first[j]), min(last[i], last[j])
        return int(np.count_nonzero(claimed[i, lo:hi] & claimed[j, lo:hi])) if lo < hi else 0

    kept: list[int] = []
    for i in order:
        if sizes[i] == 0:
            continue
        dup = False
        for j in kept:
            inter = shared(i, j)
            union = sizes[i] + sizes[j] - inter
            if inter / union >= cfg.duplicate_iou or inter / sizes[i] >= cfg.duplicate_cover:
                dup = True
                break
        if not dup:
            kept.append(i)
    return kept


# ---- strokes ----------------------------------------------------------------------------------------------

# Neighbour bit of each 3x3 position, clockwise from north (P2..P9 of Zhang & Suen 1984).
_NEIGHBOUR_BITS = np.array([[128, 1, 2],
                            [64, 0, 4],
                            [32, 16, 8]], np.float32)


def _neighbour_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """256-entry tables over a pixel's 8-neighbour code: Zhang-Suen deletion in sub-iterations 1 and 2, and
    the crossing number (0 -> 1 transitions around the pixel; >= 3 at a junction)."""
    codes = np.arange(256)
    p = [(codes >> b) & 1 for b in range(8)]                     # P2, P3, ..., P9
    count = sum(p)
    crossings = sum((p[b] == 0) & (p[(b + 1) % 8] == 1) for b in range(8))
    base = (count >= 2) & (count <= 6) & (crossings == 1)
    p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
    first = base & (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    second = base & (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return first, second, crossings


_DELETE_FIRST, _DELETE_SECOND, _CROSSINGS = (t.astype(np.uint8) for t in _neighbour_tables())


def _neighbour_codes(mask: np.ndarray) -> np.ndarray:
    """uint8 [H, W] (0/1) -> uint8 [H, W] 8-neighbour code (outside the image is background)."""
    return cv2.filter2D(mask, cv2.CV_8U, _NEIGHBOUR_BITS, borderType=cv2.BORDER_CONSTANT)


def thin(mask: np.ndarray, max_iterations: int = 100) -> np.ndarray:
    """Zhang-Suen thinning to a one-pixel 8-connected skeleton: bool [H, W] -> bool [H, W].

    Each sub-iteration deletes, all at once, the pixels whose neighbour code a 256-entry table marks deletable.
    """
    skeleton = mask.astype(np.uint8)
    for _ in range(max_iterations):
        changed = False
        for table in (_DELETE_FIRST, _DELETE_SECOND):
            delete = cv2.LUT(_neighbour_codes(skeleton), table) & skeleton
            if delete.any():
                skeleton -= delete
                changed = True
        if not changed:
            break
    return skeleton.astype(bool)


@dataclass
class StrokePieces:
    """Strokes cut at their junctions.

    pieces    int32 [H, W]: 0 = paper; 1..n = skeleton branches between junctions, and the junctions themselves
    sections  int32 [H, W]: 0 = paper; 1..m = the skeleton pixel nearest to each ink pixel (a stroke's cross-
              section: ownership changes ALONG a stroke, never across its width)
    piece_of_section  int32 [m + 1]: the piece of each section (0 for 0)
    skeleton  bool [H, W]: the strokes thinned to one pixel
    first_junction  pieces numbered from here on are junctions (with their skeleton neighbours), those below
              branches
    """
    pieces: np.ndarray
    sections: np.ndarray
    piece_of_section: np.ndarray
    skeleton: np.ndarray | None = None
    first_junction: int = 1

    _adjacency: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_pieces(self) -> int:
        return int(self.piece_of_section.max(initial=0))

    def adjacency(self) -> np.ndarray:
        """int [M, 2]: pairs of touching pieces (`piece_adjacency` of `pieces`, computed once)."""
        if self._adjacency is None:
            self._adjacency = piece_adjacency(self.pieces)
        return self._adjacency


def stroke_pieces(ink: np.ndarray) -> StrokePieces:
    """Cut the strokes at their junctions: junction points are skeleton pixels with three or more branches
    (crossing number >= 3); each junction (with its 8-neighbours on the skeleton) is a piece of its own, so that
    the branches meeting there stay apart. ink bool [H, W] -> StrokePieces
    """
    box = bbox_of(ink)
    if box is None:
        empty = np.zeros(ink.shape, np.int32)
        return StrokePieces(empty, empty, np.zeros(1, np.int32), np.zeros(ink.shape, bool))
    x0, y0, x1, y1 = box
    cut = _stroke_pieces(np.ascontiguousarray(ink[y0:y1, x0:x1]))
    pieces, sections = np.zeros(ink.shape, np.int32), np.zeros(ink.shape, np.int32)
    skeleton = np.zeros(ink.shape, bool)
    pieces[y0:y1, x0:x1], sections[y0:y1, x0:x1], skeleton[y0:y1, x0:x1] = cut.pieces, cut.sections, cut.skeleton
    # adjacency on the crop: the same pairs as on the whole image, at a fraction of the cost
    return StrokePieces(pieces, sections, cut.piece_of_section, skeleton, cut.first_junction, cut.adjacency())


def _stroke_pieces(ink: np.ndarray) -> StrokePieces:
    skeleton = thin(ink)
    # a dot can thin away entirely: such a stroke is its own skeleton
    n_strokes, strokes = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    has_skeleton = np.bincount(strokes[skeleton], minlength=n_strokes) > 0
    skeleton |= ink & ~has_skeleton[strokes]
    junction = skeleton & (cv2.LUT(_neighbour_codes(skeleton.astype(np.uint8)), _CROSSINGS) >= 3)
    near_junction = cv2.dilate(junction.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & skeleton
    n_branch, branches = cv2.connectedComponents((skeleton & ~near_junction).astype(np.uint8), connectivity=8)
    n_junction, junctions = cv2.connectedComponents(near_junction.astype(np.uint8), connectivity=8)
    node = np.where(near_junction, junctions + n_branch - 1, branches).astype(np.int32)
    # every ink pixel takes its nearest skeleton pixel (zero pixels are numbered 1..m in scan order)
    _, nearest = cv2.distanceTransformWithLabels((~skeleton).astype(np.uint8), cv2.DIST_L2, 3,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    sections = np.where(ink, nearest, 0).astype(np.int32)
    piece_of_section = np.concatenate([[0], node[skeleton]]).astype(np.int32)
    return StrokePieces(piece_of_section[sections], sections, piece_of_section, skeleton, n_branch)


def piece_adjacency(labels: np.ndarray) -> np.ndarray:
    """Pairs of pieces that touch (8-neighbourhood): labels int [H, W] (0 = none) -> int [M, 2], a < b, unique."""
    padded = np.pad(labels, 1)
    h, w = labels.shape
    centre = padded[1:h + 1, 1:w + 1]
    n = int(labels.max()) + 1
    keys = []
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):             # each neighbour direction once
        other = padded[1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx]
        touch = (centre > 0) & (other > 0) & (centre != other)
        a, b = centre[touch].astype(np.int64), other[touch].astype(np.int64)
        keys.append(np.minimum(a, b) * n + np.maximum(a, b))
    keys = np.unique(np.concatenate(keys))
    return np.stack([keys // n, keys % n], axis=1)


def _junction_branches(cut: StrokePieces) -> np.ndarray:
    """int [E, 2]: (junction piece, branch piece) for every branch touching a junction, sorted by junction."""
    if cut.skeleton is None or cut.first_junction > cut.n_pieces:
        return np.zeros((0, 2), np.int64)
    pairs = cut.adjacency()
    is_junction = pairs >= cut.first_junction
    mixed = is_junction[:, 0] != is_junction[:, 1]
    pairs = np.where(is_junction[mixed][:, :1], pairs[mixed], pairs[mixed][:, ::-1])    # (junction, branch)
    return pairs[np.argsort(pairs[:, 0], kind="stable")].astype(np.int64)


def _branch_directions(cut: StrokePieces, entries: np.ndarray, radius: float) -> np.ndarray:
    """Unit direction in which each branch leaves its junction: the mean offset from the junction's centre of
    the branch's skeleton pixels within `radius` px (all of them when none is that near).

    entries int [E, 2] (junction piece, branch piece) -> float [E, 2] (x, y)
    """
    n = cut.n_pieces + 1
    sy, sx = np.nonzero(cut.skeleton)
    label = cut.pieces[sy, sx]
    size = np.maximum(np.bincount(label, minlength=n), 1)
    centre = np.stack([np.bincount(label, weights=sx, minlength=n), np.bincount(label, weights=sy, minlength=n)],
                      axis=1) / size[:, None]
    # every entry with every skeleton pixel of its branch, in one flat list
    order = np.argsort(label, kind="stable")
    starts = np.searchsorted(label[order], np.arange(n + 1))
    junction, branch = entries[:, 0], entries[:, 1]
    lengths = starts[branch + 1] - starts[branch]
    entry = np.repeat(np.arange(len(branch)), lengths)
    offset = np.arange(len(entry)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pixel = order[starts[branch][entry] + offset]
    d = np.stack([sx[pixel], sy[pixel]], axis=1) - centre[junction][entry]
    near = (d ** 2).sum(axis=1) <= radius * radius
    sums = [np.stack([np.bincount(entry, weights=d[:, i] * w, minlength=len(branch)) for i in (0, 1)], axis=1)
            for w in (near, np.ones(len(d)))]
    has_near = np.bincount(entry, weights=near, minlength=len(branch)) > 0
    v = np.where(has_near[:, None], sums[0], sums[1])
    return v / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-6)[:, None]


def junction_geometry(cut: StrokePieces, radius: float, sizes: tuple[int, ...] = (3, 4)
                      ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For the junctions where `n` branches meet (n in `sizes`): n -> (branch pieces int [J, n], the directions in
    which they leave the junction float [J, n, 2]); one pass over the skeleton for every size."""
    entries = _junction_branches(cut)
    count = np.bincount(entries[:, 0], minlength=cut.n_pieces + 1)[entries[:, 0]] if len(entries) else \
        np.zeros(0, np.int64)
    keep = np.isin(count, sizes)
    entries, count = entries[keep], count[keep]
    dirs = _branch_directions(cut, entries, radius) if len(entries) else np.zeros((0, 2))
    return {n: (entries[count == n, 1].reshape(-1, n), dirs[count == n].reshape(-1, n, 2)) for n in sizes}


def junction_bars(cut: StrokePieces, radius: float, straight: float = 0.87,
                  geometry: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Occlusion T-junctions: where three branches meet and two of them continue each other in a straight line
    (directions from the junction opposite within ~30 degrees, `straight` = -cos), those two are one stroke
    passing by (the outline of the object in front) and the third ends there (a stroke of an object behind, or
    of the same object's interior). Directions are taken over each branch's skeleton within `radius` px of the
    junction's centre.

    -> int [J, 3] rows (bar piece, bar piece, stem piece), piece numbers of `cut.pieces`
    """
    branches, dirs = (geometry or junction_geometry(cut, radius, (3,)))[3]     # junctions of three branches
    if len(branches) == 0:
        return np.zeros((0, 3), np.int64)
    cos = np.einsum("jad,jbd->jab", dirs, dirs)
    chosen = np.full(len(branches), -1)
    combos = ((0, 1, 2), (0, 2, 1), (1, 2, 0))
    for c, (x, y, z) in enumerate(combos):
        ok = (cos[:, x, y] <= -straight) & (cos[:, z, x] < straight) & (cos[:, z, y] < straight) & (chosen < 0)
        chosen[ok] = c
    hit = np.flatnonzero(chosen >= 0)
    columns = np.array(combos)[chosen[hit]]                        # [H, 3] (bar, bar, stem) of each hit
    return np.take_along_axis(branches[hit], columns, axis=1).astype(np.int64).reshape(-1, 3)


def continue_bars(bars: np.ndarray, piece_owner: np.ndarray, fits: np.ndarray, depth: np.ndarray,
                  rounds: int = 8) -> np.ndarray:
    """Make each T-junction's bar one object's: when its two pieces have different owners and the stem shares
    one of them, that bar piece was taken by the object behind across the junction; it goes to the other bar
    piece's owner when that object is in front of the stem's (occlusion draws the front outline through) and
    the piece fits it (`fits[piece, object]`, e.g. lies in its box). Repeated, so a stroke passing several
    junctions is carried along.

    bars int [J, 3] (see junction_bars), piece_owner int [P] (-1 none), fits bool [P, K], depth int [K] (drawing
    order, 0 = farthest back) -> updated piece_owner
    """
    owner = piece_owner.copy()
    for _ in range(rounds):
        changed = False
        for a, b, c in bars:
            oa, ob, oc = owner[a], owner[b], owner[c]
            if oa < 0 or ob < 0 or oa == ob:
                continue
            wrong, right = (a, ob) if oc == oa else (b, oa) if oc == ob else (-1, -1)
            if wrong >= 0 and fits[wrong, right] and depth[right] > depth[oc]:
                owner[wrong] = right
                changed = True
        if not changed:
            break
    return owner


def junction_crossings(cut: StrokePieces, radius: float, straight: float = 0.87,
                       geometry: dict[int, tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
    """Crossings: where four branches meet and they pair up into two straight lines (each pair's directions
    opposite within ~30 degrees), two strokes cross there (a front object's stroke over a back object's).

    -> int [X, 2, 2]: per crossing, the two straight pairs of branch pieces
    """
    branches, dirs = (geometry or junction_geometry(cut, radius, (4,)))[4]     # junctions of four branches
    if len(branches) == 0:
        return np.zeros((0, 2, 2), np.int64)
    cos = np.einsum("jad,jbd->jab", dirs, dirs)
    out = []
    for (a, b), (c, d) in (((0, 1), (2, 3)), ((0, 2), (1, 3)), ((0, 3), (1, 2))):
        ok = (cos[:, a, b] <= -straight) & (cos[:, c, d] <= -straight)
        out.append(np.stack([branches[ok][:, [a, b]], branches[ok][:, [c, d]]], axis=1))
    return np.concatenate(out).astype(np.int64)


def bridge_pieces(pairs: np.ndarray, piece_owner: np.ndarray, fits: np.ndarray, rounds: int = 4) -> np.ndarray:
    """A piece that continues a straight stroke at both of its ends, into pieces that one other object owns, is
    that object's stroke passing over (or under) the object that took it: it goes to the stroke's owner when it
    fits that object (`fits[piece, object]`).

    pairs int [M, 2] (pieces continuing each other straight across a junction), piece_owner int [P] (-1 none),
    fits bool [P, K] -> updated piece_owner
    """
    owner = piece_owner.copy()
    if len(pairs) == 0:
        return owner
    piece = np.concatenate([pairs[:, 0], pairs[:, 1]])
    partner = np.concatenate([pairs[:, 1], pairs[:, 0]])
    two = np.bincount(piece, minlength=len(owner))[piece] == 2          # one straight partner at each end
    piece, partner = piece[two], partner[two]
    order = np.argsort(piece, kind="stable")
    piece, partner = piece[order].reshape(-1, 2)[:, 0], partner[order].reshape(-1, 2)
    for _ in range(rounds):
        other = owner[partner]
        move = (other[:, 0] == other[:, 1]) & (other[:, 0] >= 0) & (other[:, 0] != owner[piece])
        move &= fits[piece, np.maximum(other[:, 0], 0)]
        if not move.any():
            break
        owner[piece[move]] = other[move, 0]
    return owner


# ---- partition --------------------------------------------------------------------------------------------

def _counts_by_owner(group: np.ndarray, owner: np.ndarray, n_groups: int, k: int) -> np.ndarray:
    """int [n_groups, k + 1]: pixels of each group owned by each object; column k = unclaimed."""
    col = np.where(owner < 0, k, owner)
    return np.bincount(group * (k + 1) + col, minlength=n_groups * (k + 1)).reshape(n_groups, k + 1)


def _grown_boxes(objects: Sequence[Detection], margin: float) -> np.ndarray:
    """float [K, 4]: each object's box grown by `margin` of its size on every side."""
    boxes = np.array([o.box for o in objects], np.float64).reshape(-1, 4)
    grow = np.concatenate([boxes[:, 2:] - boxes[:, :2]] * 2, axis=1) * margin
    return boxes + grow * np.array([-1, -1, 1, 1])


def _pure_groups(group: np.ndarray, owner: np.ndarray, n_groups: int, claimed_total: np.ndarray,
                 boxes: np.ndarray, xs: np.ndarray, ys: np.ndarray, share: float, cfg: PartitionConfig
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Groups of ink pixels (strokes or pieces) that one object holds.

    group int [N] (group of each pixel), owner int [N] (-1 = unclaimed), claimed_total int [K] (each object's
    claimed pixels overall), boxes float [K, 4] (grown boxes), xs/ys [N]
    -> (pure bool [G]: the dominant object holds `share` of the group's claims, no other object has a real part
        of its own ink there, at least min_claimed of the group is claimed and inside_box of its unclaimed pixels
        lie in the dominant object's box; dominant int [G]; claimed bool [G]: at least min_claimed is claimed)
    """
    k = len(claimed_total)
    counts = _counts_by_owner(group, owner, n_groups, k)
    owned = counts[:, :-1]
    size = counts.sum(axis=1)
    total = owned.sum(axis=1)
    dominant = owned.argmax(axis=1)
    top = owned[np.arange(n_groups), dominant]
    others = owned.copy()
    others[np.arange(n_groups), dominant] = 0
    intruder = ((others > cfg.neighbour_share * np.maximum(claimed_total, 1)[None, :]) & (others > 0)).any(axis=1)
    # the pixels no object claims join the dominant object only when they lie inside its box (a tail tip, not
    # the strokes of an undetected neighbour that touch it)
    b = boxes[dominant[group]]
    in_box = (xs >= b[:, 0]) & (xs <= b[:, 2]) & (ys >= b[:, 1]) & (ys <= b[:, 3])
    unclaimed = owner < 0
    box_share = (np.bincount(group, weights=in_box & unclaimed, minlength=n_groups)
                 / np.maximum(np.bincount(group, weights=unclaimed, minlength=n_groups), 1))
    box_share[counts[:, -1] == 0] = 1.0
    claimed = (total >= cfg.min_claimed * size) & (total > 0)
    pure = claimed & (top >= share * np.maximum(total, 1)) & ~intruder & (box_share >= cfg.inside_box)
    return pure, dominant, claimed


def partition_ink(ink: np.ndarray, detections: Sequence[Detection], cfg: PartitionConfig = PartitionConfig()
                  ) -> InkPartition:
    """Decide which object owns each ink pixel (see the module docstring).

    ink bool [H, W], detections (any order) -> InkPartition with owner int32 [H, W]
    """
    cfg = cfg.scaled(ink.shape)
    candidates = [d for d in detections if d.score >= cfg.min_score]
    ys, xs = np.nonzero(ink)
    claims = pixel_claims((ys, xs), candidates, ink.shape, cfg.claim_radius)
    keep = suppress_duplicates(candidates, claims, cfg)
    objects = [candidates[i] for i in keep]
    claims = claims[keep]
    depth = depth_order(objects)
    k = len(objects)
    owner = np.full(ink.shape, -1, np.int32)
    if k == 0 or len(ys) == 0:
        return InkPartition(owner, objects, depth)

    pixel_owner = claim_owner(claims, depth, cfg.mask_threshold, cfg.front_margin)        # [N]
    claimed_total = np.bincount(pixel_owner[pixel_owner >= 0], minlength=k)
    final = np.full(len(ys), -1, np.int64)

    # 1. strokes (connected ink) that one object holds join it whole
    n_strokes, strokes = cv2.connectedComponents(ink.astype(np.uint8), connectivity=8)
    stroke_of = strokes[ys, xs]
    boxes = _grown_boxes(objects, cfg.box_margin)
    pure, dominant, _ = _pure_groups(stroke_of, pixel_owner, n_strokes, claimed_total, boxes, xs, ys,
                                     cfg.pure_share, cfg)
    whole = pure[stroke_of]
    final[whole] = dominant[stroke_of[whole]]

    # 2. shared strokes are cut at their junctions: a piece that one object holds joins it whole, a piece
    #    several objects claim is split along its length by cross-section claims (the front object wins ties)
    shared = (~whole) & (pixel_owner >= 0)
    shared_strokes = np.zeros(n_strokes, bool)
    shared_strokes[stroke_of[shared]] = True
    rest = np.flatnonzero(shared_strokes[stroke_of])
    if len(rest):
        rest_mask = np.zeros(ink.shape, bool)
        rest_mask[ys[rest], xs[rest]] = True
        cut = stroke_pieces(rest_mask)
        section_of = cut.sections[ys[rest], xs[rest]]
        n_sections = len(cut.piece_of_section)
        size = np.bincount(section_of, minlength=n_sections)
        section_claims = np.stack([np.bincount(section_of, weights=claims[i, rest], minlength=n_sections)
                                   for i in range(k)]) / np.maximum(size, 1)
        section_owner = claim_owner(section_claims, depth, cfg.mask_threshold, cfg.front_margin)
        decided = section_owner[section_of]
        piece_of = cut.piece_of_section[section_of]
        pure, dominant, claimed = _pure_groups(piece_of, decided, cut.n_pieces + 1, claimed_total, boxes,
                                               xs[rest], ys[rest], cfg.piece_share, cfg)
        decided = np.where(pure[piece_of], dominant[piece_of], decided)
        # unclaimed sections of a claimed piece go to its main object; unclaimed pieces to an owned neighbour
        decided = np.where((decided < 0) & claimed[piece_of], dominant[piece_of], decided)
        piece_owner = np.where(claimed, dominant, -1)
        piece_owner = _grow_into_unclaimed(cut.adjacency(), piece_owner, piece_of, ys[rest], xs[rest], boxes, cfg)
        undecided = decided < 0
        decided[undecided] = piece_owner[piece_of[undecided]]
        if cfg.junction_radius > 0:
            decided = _continue_through_junctions(cut, decided, piece_of, xs[rest], ys[rest], boxes, depth,
                                                  cfg)
        final[rest] = decided

    owner[ys, xs] = final
    if cfg.stray_distance > 0:
        _adopt_strays(owner, ink, strokes, n_strokes, boxes, cfg)
    counts = np.bincount(owner[owner >= 0], minlength=len(objects))
    small = counts < cfg.min_ink
    if small.any():          # an object left with a few stray pixels is not a layer anyone wants
        owner[(owner >= 0) & small[np.maximum(owner, 0)]] = -1
        remap = np.cumsum(~small) - 1
        owner = np.where(owner >= 0, remap[np.maximum(owner, 0)], -1).astype(np.int32)
        objects = [o for o, s in zip(objects, small) if not s]
        depth = depth_order(objects)
    return InkPartition(owner, objects, depth)


def _continue_through_junctions(cut: StrokePieces, decided: np.ndarray, piece_of: np.ndarray, xs: np.ndarray,
                                ys: np.ndarray, boxes: np.ndarray, depth: np.ndarray, cfg: PartitionConfig
                                ) -> np.ndarray:
    """Owners of the shared strokes' pixels after T-junction continuation (`junction_bars`, `continue_bars`):
    a piece changes owner whole, and only to an object whose grown box holds all of it.

    decided int [N] (-1 none), piece_of / xs / ys [N], boxes float [K, 4], depth int [K] -> int [N]
    """
    geometry = junction_geometry(cut, cfg.junction_radius, (3, 4) if cfg.bridge_crossings else (3,))
    bars = junction_bars(cut, cfg.junction_radius, geometry=geometry)
    crossings = junction_crossings(cut, cfg.junction_radius, geometry=geometry) if cfg.bridge_crossings else \
        np.zeros((0, 2, 2), int)
    if len(bars) == 0 and len(crossings) == 0:
        return decided
    n, k = cut.n_pieces + 1, len(boxes)
    counts = _counts_by_owner(piece_of, decided, n, k)[:, :k]
    major = np.where(counts.max(axis=1) > 0, counts.argmax(axis=1), -1)
    fits = _piece_fits(piece_of, xs, ys, n, boxes)
    carried = continue_bars(bars, major, fits, depth)
    if cfg.bridge_crossings:
        straight = np.concatenate([bars[:, :2], crossings.reshape(-1, 2)])
        carried = bridge_pieces(straight, carried, fits)
    moved = carried != major
    if not moved.any():
        return decided
    return np.where(moved[piece_of], carried[piece_of], decided)


def _piece_fits(piece_of: np.ndarray, xs: np.ndarray, ys: np.ndarray, n: int, boxes: np.ndarray) -> np.ndarray:
    """bool [n, K]: a piece fits an object when the piece's bounding box lies inside the object's grown box.

    piece_of / xs / ys [N] (piece and position of each pixel), boxes float [K, 4]"""
    lo, hi = np.full((n, 2), np.inf), np.full((n, 2), -np.inf)
    order = np.argsort(piece_of, kind="stable")
    first = np.flatnonzero(np.r_[True, np.diff(piece_of[order]) != 0])
    xy = np.stack([xs, ys], axis=1)[order]
    lo[piece_of[order][first]] = np.minimum.reduceat(xy, first, axis=0)
    hi[piece_of[order][first]] = np.maximum.reduceat(xy, first, axis=0)
    return (lo[:, None] >= boxes[None, :, :2]).all(-1) & (hi[:, None] <= boxes[None, :, 2:]).all(-1)


def _adopt_strays(owner: np.ndarray, ink: np.ndarray, strokes: np.ndarray, n_strokes: int, boxes: np.ndarray,
                  cfg: PartitionConfig) -> None:
    """Strokes no object claims at all (a dot, a whisker, a detached tail tip) join an object in place when the
    only owned ink within `stray_distance` px is that object's and its grown box holds `inside_box` of the stroke.

    owner int32 [H, W] (edited), strokes int [H, W] (connected ink, 0 = paper), boxes float [K, 4] grown boxes
    """
    owned = owner >= 0
    if not owned.any():
        return
    has_owned = np.bincount(strokes[owned], minlength=n_strokes) > 0
    stray_px = ink & ~owned & ~has_owned[strokes]
    if not stray_px.any():
        return
    # strays within reach of some owned ink (one distance transform), then each of those on its own window
    dist = cv2.distanceTransform((~owned).astype(np.uint8), cv2.DIST_L2, 5)
    r = int(np.ceil(cfg.stray_distance))
    reachable = np.zeros(n_strokes, bool)
    reachable[strokes[stray_px & (dist <= cfg.stray_distance)]] = True
    ys, xs = np.nonzero(stray_px)
    label = strokes[ys, xs]
    keep = reachable[label]
    ys, xs, label = ys[keep], xs[keep], label[keep]
    if len(label) == 0:
        return
    order = np.argsort(label, kind="stable")
    ys, xs, label = ys[order], xs[order], label[order]
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    h, w = ink.shape
    for a, b in zip(starts, np.r_[starts[1:], len(label)]):
        sy, sx = ys[a:b], xs[a:b]
        y0, y1 = max(int(sy.min()) - r, 0), min(int(sy.max()) + r + 1, h)
        x0, x1 = max(int(sx.min()) - r, 0), min(int(sx.max()) + r + 1, w)
        paper = np.ones((y1 - y0, x1 - x0), np.uint8)
        paper[sy - y0, sx - x0] = 0
        reach = cv2.distanceTransform(paper, cv2.DIST_L2, 5) <= cfg.stray_distance
        near = np.unique(owner[y0:y1, x0:x1][reach])
        near = near[near >= 0]
        if len(near) != 1:
            continue
        bx0, by0, bx1, by1 = boxes[near[0]]
        if ((sx >= bx0) & (sx <= bx1) & (sy >= by0) & (sy <= by1)).mean() >= cfg.inside_box:
            owner[sy, sx] = near[0]


def bbox_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of a mask's True pixels (x1, y1 exclusive), None when it has none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _grow_into_unclaimed(pairs: np.ndarray, piece_owner: np.ndarray, piece_of: np.ndarray, ys: np.ndarray,
                         xs: np.ndarray, boxes: np.ndarray, cfg: PartitionConfig) -> np.ndarray:
    """Unclaimed pieces join an owned neighbour piece's object when they lie inside its (grown) box; a piece
    touching several objects takes the one whose box holds more of it.

    pairs int [M, 2] touching pieces (`StrokePieces.adjacency`), piece_owner int [P + 1] (-1 = none),
    piece_of / ys / xs [N], boxes float [K, 4] -> updated piece_owner
    """
    piece_owner = piece_owner.copy()
    if len(pairs) == 0:
        return piece_owner
    n = len(piece_owner)
    # share of each unowned piece inside each object's box: [P + 1, K] (owned pieces stay 0: never asked)
    unowned = piece_owner[piece_of] < 0
    p, x, y = piece_of[unowned], xs[unowned], ys[unowned]
    size = np.bincount(p, minlength=n)
    inside = np.stack([np.bincount(p, weights=(x >= x0) & (x <= x1) & (y >= y0) & (y <= y1), minlength=n)
                       for x0, y0, x1, y1 in boxes], axis=1) / np.maximum(size, 1)[:, None]
    both = np.concatenate([pairs, pairs[:, ::-1]])                 # directed: (piece, neighbour)
    for _ in range(64):                                           # grows one piece further per round
        src, nb = both[:, 0], both[:, 1]
        open_ = (piece_owner[src] < 0) & (piece_owner[nb] >= 0)
        src, nb = src[open_], nb[open_]
        obj = piece_owner[nb]
        fits = inside[src, obj] >= cfg.inside_box
        if not fits.any():
            break
        src, obj = src[fits], obj[fits]
        order = np.lexsort((-inside[src, obj], src))               # per piece, the best-fitting object first
        first = np.r_[True, src[order][1:] != src[order][:-1]]
        piece_owner[src[order][first]] = obj[order][first]
    return piece_owner


def spread_to_soft_ink(owner: np.ndarray, ink: np.ndarray, soft_ink: np.ndarray, max_distance: float = 2.0
                       ) -> np.ndarray:
    """Give anti-aliased edges (light pixels that are not ink) the owner of the nearest ink pixel (see
    grmnet.imaging.spread_to_fringe, the one definition). owner int [H, W], ink / soft_ink bool [H, W] -> int32"""
    from grmnet.imaging import spread_to_fringe
    return spread_to_fringe(owner, ink, soft_ink, max_distance)


# ---- every object of a sketch, language-free --------------------------------------------------------------

@dataclass(frozen=True)
class DetectAllConfig:
    """How `detect_all` finds every object with referring heads.

    The RPN is conditioned on the sentence: one category's sentence proposes mostly that category (and its look-
    alikes), so proposals come from a few sentences whose proposals together cover all 25 categories (chosen by
    greedy set cover of proposal recall on synthetic validation scenes). Each proposal is then scored with the
    sentences of the few categories the box head sees in it, so one RoI costs a few box-head passes, not 25.
    """
    proposal_categories: tuple[str, ...] = ("sun", "tree", "grass", "road", "people", "cloud", "duck", "car", "star",
                                            "house")
    proposals_per_sentence: int = 15      # best RPN proposals kept per proposal sentence (20: the same recall on
                                          # synthetic val, 15 % slower)
    rpn_candidates: int = 200             # best-scored anchors per sentence that NMS looks at
    category_guesses: int = 3             # categories each RoI is scored as (the box head's best guesses)
    score_threshold: float = 0.5          # detections below this are not returned (= PartitionConfig.min_score:
                                          # the partition drops them anyway, so their masks are not computed)
    nms_iou: float = 0.5                  # class-agnostic: one object must not come back under two names
    max_detections: int = 40


def category_expression(category: str, knows) -> str:
    """The generic expression naming every instance of a category ("all the trees"; "the sun" when the plural
    is not a known word). knows: word -> bool (the engine vocabulary's `knows`)."""
    from grmnet.data.categories import plural, singular
    every = f"all the {plural(category)}"
    return every if all(knows(w) for w in every.split()) else f"the {singular(category)}"


def category_sentences(model, vocab, max_words: int):
    """float [C, L]: the sentence feature of every category's generic expression, in label order (once per model).

    model: GRMNet (its `language`), vocab: the engine's vocabulary (`encode_batch`, `knows`)."""
    import torch

    from grmnet.data.categories import CATEGORIES
    device = next(model.parameters()).device
    tokens, lengths = vocab.encode_batch([category_expression(c, vocab.knows) for c in CATEGORIES], max_words)
    with torch.inference_mode():
        return model.language(tokens.to(device), lengths)


def _proposals(rpn, features, sentences, size: tuple[int, int], cfg: DetectAllConfig):
    """The fused RPN for several sentences on one image -> (boxes G x [n, 4], objectness G x [n]), best first.

    As torchvision's RPN, but NMS runs only on each sentence's best `rpn_candidates` anchors: the proposals
    kept are few, and NMS over thousands of anchors per sentence would cost more than the heads.
    """
    import torch
    from torchvision.models.detection.image_list import ImageList
    from torchvision.ops import batched_nms, clip_boxes_to_image, remove_small_boxes

    g = len(sentences)
    s_h, s_w = features.input_shape
    fused = [rpn.fusion[str(i)].fuse(p.expand(g, -1, -1, -1), sentences) for i, p in enumerate(features.rpn_parts)]
    objectness, deltas = rpn.head(fused)
    anchors = rpn.anchor_generator(ImageList(fused[0].new_empty((1, 1, s_h, s_w)), [size]), [f[:1] for f in fused])[0]
    objectness = torch.cat([o.permute(0, 2, 3, 1).reshape(g, -1) for o in objectness], dim=1)     # [G, A]
    deltas = torch.cat([d.view(g, -1, 4, d.shape[-2], d.shape[-1]).permute(0, 3, 4, 1, 2).reshape(g, -1, 4)
                        for d in deltas], dim=1)                                                  # [G, A, 4]
    top = objectness.topk(min(cfg.rpn_candidates, objectness.shape[1]), dim=1).indices
    boxes, scores = [], []
    for i in range(g):
        b = rpn.box_coder.decode_single(deltas[i, top[i]], anchors[top[i]])
        b = clip_boxes_to_image(b, size)
        s = objectness[i, top[i]].sigmoid()
        keep = remove_small_boxes(b, 1e-3)
        keep = keep[batched_nms(b[keep], s[keep], torch.zeros_like(keep), rpn.nms_thresh)]
        boxes.append(b[keep])
        scores.append(s[keep])
    return boxes, scores


def detect_all(model, features, inputs, category_sentences, image_shape: tuple[int, int],
               cfg: DetectAllConfig = DetectAllConfig()) -> list[Detection]:
    """Every object of one encoded sketch, with the model's referring heads and no user expression.

    model: GRMNet; features: its ImageFeatures of ONE image (batch 1); inputs: the sketch's ModelInput (size,
    scale); category_sentences float [C, L]: the sentence feature of `category_expression(c)` for every model
    category, in label order (compute once per model: they do not depend on the sketch);
    image_shape (H, W) of the original sketch -> Detections in original pixels, best score first.
    """
    import torch
    import torch.nn.functional as F
    from torchvision.models.detection.roi_heads import maskrcnn_inference
    from torchvision.ops import batched_nms, clip_boxes_to_image, remove_small_boxes

    from grmnet.data.categories import CATEGORIES, category_of_label

    rpn, heads = model.rpn, model.roi_heads
    with torch.inference_mode():
        sentences = category_sentences.to(features.rpn_parts[0].device)
        groups = torch.tensor([CATEGORIES.index(c) for c in cfg.proposal_categories])
        g = len(groups)
        s_h, s_w = features.input_shape
        size = tuple(inputs.size)
        # 1. proposals from the few covering sentences, in one batched RPN pass
        rpn_boxes, rpn_scores = _proposals(rpn, features, sentences[groups], size, cfg)
        proposals = [b[:cfg.proposals_per_sentence] for b in rpn_boxes]
        refs, absolute = heads.context_inputs(proposals, rpn_boxes, rpn_scores, (s_h, s_w))
        pooled = heads.box_roi_pool(features.features, [torch.cat(proposals)], [size])
        conditioned = heads._repeat_sentence(sentences[groups], proposals)

        def box_head(sentence):
            context = heads.box_context(sentence, refs, absolute)
            return heads.box_predictor(heads.box_head(heads.box_fusion(pooled, context)))

        # 2. the categories each RoI looks like under its proposing sentence; scored with each of those
        #    categories' sentences, the best-scored reading wins
        logits, _ = box_head(conditioned)
        guesses = F.softmax(logits, -1)[:, 1:].topk(cfg.category_guesses, dim=1).indices        # [R, k]
        scores = None
        for guess in guesses.T:
            logits, guess_deltas = box_head(sentences[guess])
            guess_scores, guess_labels = F.softmax(logits, -1)[:, 1:].max(dim=1)
            if scores is None:
                scores, labels, deltas = guess_scores, guess_labels, guess_deltas
            else:
                better = guess_scores > scores
                scores = torch.where(better, guess_scores, scores)
                labels = torch.where(better, guess_labels, labels)
                deltas = torch.where(better[:, None], guess_deltas, deltas)
        labels = labels + 1
        boxes = heads.box_coder.decode(deltas, [torch.cat(proposals)])[torch.arange(len(labels)), labels]
        boxes = clip_boxes_to_image(boxes, size)
        group_of = torch.repeat_interleave(torch.arange(g), torch.tensor([len(p) for p in proposals]))
        keep = torch.where(scores >= cfg.score_threshold)[0]
        keep = keep[remove_small_boxes(boxes[keep], 1.0)]
        keep = keep[batched_nms(boxes[keep], scores[keep], torch.zeros_like(keep), cfg.nms_iou)]
        keep = keep[:cfg.max_detections]
        if len(keep) == 0:
            return []
        boxes, scores, labels, group_of = boxes[keep], scores[keep], labels[keep], group_of[keep]
        # 3. masks only for what is kept, each with its own category's sentence and its proposing RPN's references
        per_group = [torch.where(group_of == i)[0] for i in range(g)]
        order = torch.cat(per_group)
        refs, absolute = heads.context_inputs([boxes[i] for i in per_group], rpn_boxes, rpn_scores, (s_h, s_w))
        pooled = heads.mask_roi_pool(features.features, [boxes[order]], [size])
        context = heads.mask_context(sentences[labels[order] - 1], refs, absolute)
        masks = maskrcnn_inference(heads.mask_head(heads.mask_fusion(pooled, context)), [labels[order]])[0][:, 0]
        boxes, scores, labels = inputs.to_original(boxes[order]), scores[order], labels[order]
        detections = []
        for box, score, label, mask in zip(boxes.tolist(), scores.tolist(), labels.tolist(), masks.cpu().numpy()):
            prob, origin = paste_mask(mask, box, image_shape)
            detections.append(Detection(category_of_label(label), float(score), tuple(box), prob, origin))
    return sorted(detections, key=lambda d: -d.score)


# ---- referring results and whole-sketch layers ------------------------------------------------------------

@dataclass(frozen=True)
class AssignConfig:
    cover: float = 0.5        # an object whose owned ink lies this much inside a referred instance's ink is taken
    inside: float = 0.5       # a referred instance whose ink lies this much inside one object takes that object


def assign_to_partition(partition: InkPartition, instances: Sequence, cfg: AssignConfig = AssignConfig()) -> list:
    """Referred instances (grmnet.results.ReferredInstance, best first) -> the same instances owning partition ink.

    Each instance takes, whole, the partition objects it stands for: those whose owned ink lies mostly inside the
    instance's ink (usually exactly one), or else the one object the instance lies mostly inside (the partition
    saw one object where the referring head saw a part of it: the partition's object wins, so that the same
    object is the same layer across queries); plus the unclaimed ink it covers. Ink another object owns is never
    taken, an object already taken by a better instance of this result is not taken twice, and an instance left
    without ink is dropped: the returned inks are pairwise disjoint.
    """
    owner = partition.owner
    k = len(partition)
    sizes = partition.ink_counts()
    windows = partition.ink_windows()
    taken_objects: set[int] = set()
    taken_ink = np.zeros(owner.shape, bool)
    out = []
    for inst in instances:
        box = bbox_of(inst.ink)               # everything below happens inside boxes, not over the whole image
        if box is None:
            continue
        own = (slice(box[1], box[3]), slice(box[0], box[2]))
        counts = np.bincount(owner[own][inst.ink[own]] + 1, minlength=k + 1)
        inside = counts[1:]
        objects = [i for i in np.flatnonzero(inside >= cfg.cover * np.maximum(sizes, 1)) if inside[i] > 0]
        if not objects and inside.size and inside.max() >= cfg.inside * max(int(counts.sum()), 1):
            objects = [int(inside.argmax())]
        objects = [int(i) for i in objects if i not in taken_objects]
        win = _union_window([own] + [windows[i] for i in objects if windows[i] is not None])
        here = owner[win]
        ink = (np.isin(here, objects) if objects else np.zeros(here.shape, bool)) | (inst.ink[win] & (here < 0))
        ink &= ~taken_ink[win]
        if not ink.any():
            continue
        taken_objects.update(objects)
        taken_ink[win] |= ink
        full = np.zeros(owner.shape, bool)
        full[win] = ink
        region = inst.region.copy()
        region[win] |= ink
        out.append(replace(inst, ink=full, region=region))
    return out


def _union_window(windows: Sequence[tuple[slice, slice]]) -> tuple[slice, slice]:
    """The smallest (rows, cols) slices holding every window."""
    return (slice(min(w[0].start for w in windows), max(w[0].stop for w in windows)),
            slice(min(w[1].start for w in windows), max(w[1].stop for w in windows)))


def object_of(partition: InkPartition, ink: np.ndarray, share: float = 0.5) -> int | None:
    """The partition object owning at least `share` of an ink mask's pixels (bool [H, W]), or None."""
    owned = partition.owner[ink]
    if owned.size == 0:
        return None
    counts = np.bincount(owned + 1, minlength=len(partition) + 1)[1:]
    if counts.size == 0 or counts.max() < share * owned.size:
        return None
    return int(counts.argmax())


def another_category(partition: InkPartition, ink: np.ndarray, score: float, categories: Sequence[str],
                     margin: float) -> bool:
    """Whether an instance's ink (scored `score` as one of `categories`) is mostly one partition object that the
    language-free detection calls a category outside `categories` with a score at least `margin` higher."""
    i = object_of(partition, ink)
    if i is None:
        return False
    obj = partition.objects[i]
    return obj.category not in categories and obj.score >= score + margin


def partition_instances(partition: InkPartition, mask_threshold: float = 0.4) -> list:
    """Every object of a partition as a labelled ReferredInstance (ink: the object's owned ink; region: its
    silhouette), best score first."""
    from grmnet.data.categories import singular
    from grmnet.results import ReferredInstance, label_instances
    instances = []
    for i, obj in enumerate(partition.objects):
        ink = partition.ink(i)
        box = bbox_of(ink)
        if box is None:
            continue
        instances.append(ReferredInstance(obj.category, float(obj.score), tuple(float(v) for v in box), ink,
                                          partition.region(i, mask_threshold)))
    return label_instances(instances, singular)


class SketchPartitioner:
    """Whole-sketch partitions for a GRM-Net engine (`grmnet.prediction.Predictor`), made once per sketch and
    cached by the sketch's content like the engine's features, so every query on the sketch maps onto the same
    partition.

    >>> partitioner = SketchPartitioner(engine)
    >>> layers = partitioner.split(image)                           # every object, disjoint inks
    >>> sketch = engine.encode(image)
    >>> owned = partitioner.assign(sketch, engine.refer(sketch, "the cat").instances)
    """

    def __init__(self, engine, detect_cfg: DetectAllConfig = DetectAllConfig(),
                 partition_cfg: PartitionConfig = PartitionConfig(), cache_size: int = 4):
        from grmnet.imaging import SketchCache
        self.engine = engine
        self.detect_cfg, self.partition_cfg = detect_cfg, partition_cfg
        self._cache = SketchCache(cache_size)
        self._sentences = None
        self.last_stages_ms: dict[str, float] = {}

    def detections(self, sketch) -> list[Detection]:
        """Every object of an encoded sketch. An engine with its own `detect_all(sketch)` (a test double, another
        method) gives them; GRM-Net engines use the referring heads (`detect_all`)."""
        own = getattr(self.engine, "detect_all", None)
        if own is not None:
            return own(sketch)
        if self._sentences is None:
            self._sentences = category_sentences(self.engine.model, self.engine.vocab, self.engine.cfg.max_words)
        return detect_all(self.engine.model, sketch.features, sketch.inputs, self._sentences, sketch.grey.shape,
                          self.detect_cfg)

    def partition(self, sketch) -> InkPartition:
        """The partition of an encoded sketch (`engine.encode(image)`), from the cache when seen recently."""
        from grmnet.imaging import ink_mask

        def make() -> InkPartition:
            t0 = time.perf_counter()
            found = self.detections(sketch)
            t1 = time.perf_counter()
            part = partition_ink(ink_mask(sketch.grey), found, self.partition_cfg)
            self.last_stages_ms = {"detect_all": (t1 - t0) * 1e3, "partition": (time.perf_counter() - t1) * 1e3}
            return part
        part, _ = self._cache.get_or_make(sketch.grey, make, getattr(sketch, "key", None))
        return part

    def split(self, image) -> list:
        """Every object of a sketch (path / PIL / array) as labelled ReferredInstances with disjoint inks."""
        return partition_instances(self.partition(self.engine.encode(image)), self.partition_cfg.mask_threshold)

    def assign(self, sketch, instances: Sequence) -> list:
        """A referring result's instances on an encoded sketch -> the same instances owning partition ink."""
        return assign_to_partition(self.partition(sketch), instances)


_PARTITIONERS: "weakref.WeakKeyDictionary[object, SketchPartitioner]" = weakref.WeakKeyDictionary()


def partitioner_of(engine) -> SketchPartitioner:
    """The engine's partitioner (one per engine, so its cache is shared by every caller)."""
    if engine not in _PARTITIONERS:
        _PARTITIONERS[engine] = SketchPartitioner(engine)
    return _PARTITIONERS[engine]


def split_into_layers(engine, image) -> list:
    """Every object of a sketch as ReferredInstances whose inks never overlap (the app's "Split into layers").

    engine: a GRM-Net referring engine (or any engine with `detect_all(sketch)`); image: path / PIL / array."""
    return partitioner_of(engine).split(image)
