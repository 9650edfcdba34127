"""Line-art renderer of the synthetic scene generator: clip-art raster -> SketchyScene-like strokes.

Every function returns a :class:`Drawn` object: ``ink`` (bool [h, w], the strokes) and ``region``
(bool [h, w], the filled silhouette; ``ink`` always lies inside ``region``) on the object's own
crop, plus the crop-relative ``foot`` point (where the object stands). Pure numpy + OpenCV.

Component styles (see tools/build_components.py):

* ``color``: colour emoji. Strokes = silhouette outline + colour boundaries (Canny on Lab),
  optionally with the darkest colour regions filled (hair, tyres, eyes), as sketchers do.
* ``silhouette``: one-colour glyph. Strokes = outline of the alpha, holes included.
* ``stroke``: line icon, rasterised with thin lines: the alpha is the stroke.

All components get a random stroke width (1-6 px, mostly 2-3), a smooth elastic warp (wobble),
random horizontal flip and a slight aspect jitter. Grass tufts, roads and benches can also be
drawn procedurally, and :func:`procedural` draws simple fallback shapes for any category.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["Drawn", "sample_stroke_width", "render_component", "grass_tuft", "road", "bench", "detailed_house",
           "procedural", "fill_holes", "PROCEDURAL"]

# Categories with a real procedural drawing of their own (the others get a generic body shape from
# :func:`procedural`): what a scene may still contain when the component library lacks the category.
PROCEDURAL = frozenset({"grass", "road", "bench", "sun", "moon", "star", "cloud", "tree", "house", "people"})

_STROKE_WIDTHS = np.array([1, 2, 3, 4, 5, 6])
_STROKE_P = np.array([0.10, 0.36, 0.30, 0.13, 0.07, 0.04])


@dataclass
class Drawn:
    ink: np.ndarray      # bool [h, w]
    region: np.ndarray   # bool [h, w], ink ⊆ region
    foot: tuple[float, float]  # (x, y) in crop coordinates: bottom centre of the silhouette


def sample_stroke_width(rng: np.random.Generator, scale: float = 1.0) -> int:
    """Stroke width in canvas pixels (750-px canvas): 1-6, mostly 2-3; ``scale`` for other canvases."""
    w = int(rng.choice(_STROKE_WIDTHS, p=_STROKE_P))
    return max(1, int(round(w * scale)))


def _disk(w: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (w, w))


def thicken(edges: np.ndarray, width: int) -> np.ndarray:
    """1-px edge map (bool/uint8) -> strokes about ``width`` px wide (bool)."""
    e = edges.astype(np.uint8)
    if width > 1:
        e = cv2.dilate(e, _disk(width))
    return e > 0


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill the enclosed holes of a bool mask (flood fill of the background from the border)."""
    h, w = mask.shape
    pad = np.zeros((h + 2, w + 2), np.uint8)
    pad[1:-1, 1:-1] = mask.astype(np.uint8)
    ff = np.zeros((h + 4, w + 4), np.uint8)
    cv2.floodFill(pad, ff, (0, 0), 2)
    return (pad[1:-1, 1:-1] != 2)


def _crop(ink: np.ndarray, region: np.ndarray) -> Drawn:
    ys = np.flatnonzero(region.any(1))
    if len(ys) == 0:
        return Drawn(ink[:1, :1] & False, region[:1, :1] & False, (0.0, 0.0))
    xs = np.flatnonzero(region[ys[0]:ys[-1] + 1].any(0))
    y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
    ink, region = ink[y0:y1, x0:x1], region[y0:y1, x0:x1]
    # foot: centre of the lowest rows of the silhouette
    last = y1 - 1 - y0
    low = region[max(last - 2, 0):last + 1]
    cols = np.flatnonzero(low.any(0))
    return Drawn(ink, region, (int(cols.sum()) / len(cols), float(last + 1)))   # = cols.mean(), less overhead


def upsample_pair(a: np.ndarray, b: np.ndarray | None, w: int, h: int) -> np.ndarray:
    """Two coarse grids (float32 [c, c]; ``b`` None: zeros) -> bicubic upsampling to float32 [h, w, 2].

    One two-channel resize: OpenCV's own cubic code, whatever the build. (A one-channel float resize goes
    through IPP where OpenCV has it, about ten times slower here for these tiny grids, and with other
    rounding on builds without it.)"""
    g = np.empty(a.shape + (2,), np.float32)
    g[..., 0] = a
    g[..., 1] = 0 if b is None else b
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def _warp_field(h: int, w: int, rng: np.random.Generator, amp: float, cells: int) -> np.ndarray:
    """float32 [h, w, 2] sampling map (x, y) of a smooth random displacement (~``amp`` px)."""
    gy = rng.normal(0, amp, (cells, cells)).astype(np.float32)
    gx = rng.normal(0, amp, (cells, cells)).astype(np.float32)
    m = upsample_pair(gx, gy, w, h)
    m[..., 0] += np.arange(w, dtype=np.float32)[None, :]   # + the pixel grid, by broadcasting
    m[..., 1] += np.arange(h, dtype=np.float32)[:, None]
    return m


def warp(img: np.ndarray, rng: np.random.Generator, amp: float, cells: int = 5, border=0) -> np.ndarray:
    """Smooth random elastic warp (displacement ~``amp`` px)."""
    h, w = img.shape[:2]
    if amp <= 0 or h < 4 or w < 4:
        return img
    return cv2.remap(img, _warp_field(h, w, rng, amp, cells), None, cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_CONSTANT, borderValue=border)


def _zhang_suen_tables() -> tuple[np.ndarray, np.ndarray]:
    """256-entry deletion tables of Zhang-Suen's two sub-iterations over a pixel's 8-neighbour code
    (bit 0 = P2 (north), then clockwise to bit 7 = P9 (north-west))."""
    codes = np.arange(256)
    p = [(codes >> b) & 1 for b in range(8)]                      # P2, P3, ..., P9
    b = sum(p)
    a = sum((p[i] == 0) & (p[(i + 1) % 8] == 1) for i in range(8))
    base = (b >= 2) & (b <= 6) & (a == 1)
    p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
    first = base & (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    second = base & (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return first.astype(np.uint8), second.astype(np.uint8)


_ZS_TABLES = _zhang_suen_tables()
# neighbour bit of each 3x3 position (P2 = north = bit 0, clockwise)
_ZS_BITS = np.array([[128, 1, 2], [64, 0, 4], [32, 16, 8]], np.float32)


def skeleton(mask: np.ndarray, max_iter: int = 60) -> np.ndarray:
    """Zhang-Suen thinning of a bool mask: 1-px wide, connected centre lines.

    Each sub-iteration deletes, all at once, the pixels whose 8-neighbour code (one 3x3 filter) a
    256-entry table marks deletable; the work is confined to the mask's bounding box."""
    out = np.zeros(mask.shape, bool)
    rows = np.flatnonzero(mask.any(1))
    if len(rows) == 0:
        return out
    cols = np.flatnonzero(mask[rows[0]:rows[-1] + 1].any(0))
    win = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    img = mask[win].astype(np.uint8)
    for _ in range(max_iter):
        changed = False
        for table in _ZS_TABLES:
            codes = cv2.filter2D(img, cv2.CV_8U, _ZS_BITS, borderType=cv2.BORDER_CONSTANT)
            rm = cv2.LUT(codes, table) & img
            if rm.any():
                img -= rm
                changed = True
        if not changed:
            break
    out[win] = img > 0
    return out


def _to_width(lines: np.ndarray, width: int) -> np.ndarray:
    """Line-like structures (bool) -> their centre lines drawn ``width`` px wide (lines already thinner stay)."""
    if not lines.any():
        return lines
    dt = cv2.distanceTransform(lines.astype(np.uint8), cv2.DIST_L2, 3)
    if float(dt.max()) * 2.0 <= width + 1:
        return lines
    return thicken(skeleton(lines), width)


def _remove_specks(edges: np.ndarray, min_px: int) -> np.ndarray:
    if min_px <= 1:
        return edges
    n, lab, stats, _ = cv2.connectedComponentsWithStats(edges.astype(np.uint8), connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_px
    keep[0] = False
    if keep[1:].all():   # no speck: the same mask
        return edges.astype(bool)
    return keep[lab]


def render_component(rgba: np.ndarray, style: str, height: float, rng: np.random.Generator,
                     stroke: int | None = None, max_width: float | None = None, detail: float | None = None,
                     flip: bool | None = None) -> Drawn:
    """Line drawing of a component raster (RGBA uint8) scaled to about ``height`` px tall.

    ``stroke``: stroke width (sampled when None); ``detail`` in [0, 1]: how many interior colour
    edges to keep (sampled when None); ``flip``: horizontal flip (random when None).
    """
    h0, w0 = rgba.shape[:2]
    aspect = float(np.exp(rng.normal(0, 0.07)))
    s = height / h0
    tw = max(4, int(round(w0 * s * aspect)))
    th = max(4, int(round(height)))
    if max_width is not None and tw > max_width:
        f = max_width / tw
        tw, th = max(4, int(tw * f)), max(4, int(th * f))
    if stroke is None:
        stroke = sample_stroke_width(rng)
    if flip is None:
        flip = bool(rng.random() < 0.5)
    # Only the colour style reads the colours: the others resize and warp the alpha plane alone (OpenCV's
    # resize, border and remap treat channels independently: the same alpha as with all four channels).
    src = rgba if style == "color" else rgba[..., 3]
    src = src[:, ::-1] if flip else src
    interp = cv2.INTER_AREA if th < h0 else cv2.INTER_LINEAR
    img = cv2.resize(np.ascontiguousarray(src), (tw, th), interpolation=interp)
    pad = stroke + 3
    img = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0,) * (img.shape[2] if img.ndim == 3 else 1))
    long_side = max(tw, th)
    amp = long_side * float(rng.uniform(0.004, 0.018))
    img = warp(img, rng, amp, cells=int(rng.integers(3, 7)))
    alpha = img[..., 3] if img.ndim == 3 else img

    if style == "stroke":
        lines = alpha > 40
        edges = lines
        solid = cv2.morphologyEx(lines.astype(np.uint8), cv2.MORPH_CLOSE, _disk(max(3, long_side // 25))) > 0
        ink = thicken(edges, max(1, stroke - 1))
        region = fill_holes(solid | ink)
        return _crop(ink, region)

    mask = alpha > 127
    m8 = mask.astype(np.uint8)
    # Thin parts of a glyph (lines of outline-style icons, dark contour lines of emoji) are strokes
    # already: keep them as ink. Only thick parts are replaced by their outline.
    d_thin = max(5, 2 * stroke + 1, int(0.1 * long_side) | 1)
    if style == "color":
        a = alpha[..., None].astype(np.float32) / 255.0
        rgb = img[..., :3].astype(np.float32)   # composited on white paper (in place: the same float32 ops)
        rgb *= a
        rgb += 255.0 * (1 - a)
        rgb = rgb.astype(np.uint8)
        lum = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        dark = ((lum < 90) & mask).astype(np.uint8)
    else:
        # A solid glyph (small holes only) is outlined; a line-art glyph (outline drawing of big
        # enclosed areas: high-contrast/monotone emoji) has its thin lines traced as centre lines.
        solid_frac = m8.sum() / max(1, fill_holes(mask).sum())
        dark = m8 if solid_frac < 0.72 else np.zeros_like(m8)
    if dark.any():
        thin = (dark - cv2.morphologyEx(dark, cv2.MORPH_OPEN, _disk(d_thin))) > 0
        thin = _remove_specks(thin, 4)
        thin_lines = _to_width(thin, stroke)
    else:   # nothing dark: no thin parts (what the opening, speck removal and _to_width give)
        thin = thin_lines = np.zeros(dark.shape, bool)
    outline = m8 - cv2.erode(m8, np.ones((3, 3), np.uint8))
    edges = outline > 0
    edges &= ~(cv2.dilate(thin.astype(np.uint8), _disk(3)) > 0)  # a line replaces its own two sides
    fill = None
    if style == "color":
        if detail is None:
            detail = float(rng.uniform(0.3, 1.0))
        sigma = 0.5 + (1.0 - detail) * 1.2 + long_side / 500.0
        blur = cv2.GaussianBlur(rgb, (0, 0), sigma)
        lab = cv2.cvtColor(blur, cv2.COLOR_RGB2LAB)
        lo = 25 + (1.0 - detail) * 60
        inner = cv2.Canny(lab, lo, lo * 2.5) > 0
        inner &= cv2.erode(m8, _disk(3)) > 0  # the outline is drawn separately
        inner &= ~(cv2.dilate(thin.astype(np.uint8), _disk(d_thin + 2)) > 0)
        inner = _remove_specks(inner, max(3, int(long_side * 0.05 * (1.3 - detail))))
        edges |= inner
        if rng.random() < 0.4:  # fill the darkest regions (hair, tyres, eyes) like a sketcher would
            dk = (lum < 60) & mask
            if dk.mean() < 0.3:
                fill = dk
    ink = thicken(edges, stroke) | thin_lines
    if fill is not None:
        ink |= fill
    region = fill_holes(mask | ink)
    return _crop(ink, region)


# ----------------------------------------------------------------------------------------- procedural


def _canvas(h: int, w: int) -> np.ndarray:
    return np.zeros((h, w), np.uint8)


_BEZIER_WEIGHTS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _bezier(p0, p1, p2, n: int = 24) -> np.ndarray:
    if n not in _BEZIER_WEIGHTS:   # the Bernstein weights of n samples, computed once
        t = np.linspace(0, 1, n)[:, None]
        _BEZIER_WEIGHTS[n] = ((1 - t) ** 2, 2 * (1 - t) * t, t ** 2)
    w0, w1, w2 = _BEZIER_WEIGHTS[n]
    p0, p1, p2 = (np.asarray(p, np.float64) for p in (p0, p1, p2))
    return w0 * p0 + w1 * p1 + w2 * p2


def _poly(img: np.ndarray, pts: np.ndarray, width: int, closed: bool = False) -> None:
    cv2.polylines(img, [np.round(pts).astype(np.int32)], closed, 1, thickness=max(1, width), lineType=cv2.LINE_8)


def _finish(ink: np.ndarray, region: np.ndarray | None = None, hull: bool = False) -> Drawn:
    ink = ink > 0
    if region is None:
        region = ink.copy()
    region = region.astype(bool) | ink
    if hull:
        pts = cv2.findNonZero(ink.astype(np.uint8))
        if pts is not None:
            hh = cv2.convexHull(pts)
            r = region.astype(np.uint8)
            cv2.fillPoly(r, [hh], 1)
            region = r > 0
    return _crop(ink, fill_holes(region))


def grass_tuft(width: float, rng: np.random.Generator, stroke: int | None = None) -> Drawn:
    """A tuft of 3-9 curved blades (or a zig-zag clump), about ``width`` px wide."""
    stroke = stroke or sample_stroke_width(rng)
    w = int(width)
    h = int(width * rng.uniform(0.45, 0.9))
    pad = stroke + 3
    ink = _canvas(h + 2 * pad, w + 2 * pad)
    base_y = h + pad
    kind = rng.random()
    if kind < 0.2:  # zig-zag clump: one polyline of spikes
        n = int(rng.integers(4, 9))
        xs = np.linspace(pad, pad + w, 2 * n + 1)
        ys = np.where(np.arange(2 * n + 1) % 2 == 1, base_y - h * rng.uniform(0.5, 1.0, 2 * n + 1),
                      base_y - h * rng.uniform(0.0, 0.15, 2 * n + 1))
        ys[0] = ys[-1] = base_y
        _poly(ink, np.stack([xs + rng.normal(0, w * 0.02, xs.shape), ys], 1), stroke)
    else:
        n = int(rng.integers(3, 10))
        for i in range(n):
            bx = pad + w * (0.3 + 0.4 * rng.random())
            tx = pad + w * (i + rng.uniform(0.2, 0.8)) / n
            ty = base_y - h * rng.uniform(0.45, 1.0)
            mx = (bx + tx) / 2 + rng.normal(0, w * 0.08)
            my = (base_y + ty) / 2
            _poly(ink, _bezier((bx - w * 0.03, base_y), (mx, my), (tx, ty), 12), stroke)
            _poly(ink, _bezier((bx + w * 0.03, base_y), (mx + w * 0.03, my), (tx, ty), 12), max(1, stroke - 1))
        if rng.random() < 0.4:
            _poly(ink, np.array([[pad, base_y], [pad + w, base_y]], float), stroke)
    ink = warp(ink, rng, w * 0.01, 4)
    return _finish(ink, hull=True)


def road(canvas: int, horizon: float, rng: np.random.Generator, stroke: int | None = None) -> tuple[Drawn, int, int]:
    """Two long roughly parallel curves: a road receding to the horizon or crossing the ground.

    Returns the drawing and its top-left (x, y) on the canvas."""
    stroke = stroke or sample_stroke_width(rng)
    S = canvas
    ink = _canvas(S, S)
    region = _canvas(S, S)
    kind = rng.random()
    if kind < 0.55:  # receding: from the bottom edge towards a point near the horizon
        top_y = horizon + rng.uniform(0.0, 0.15) * S
        cx_top = rng.uniform(0.25, 0.75) * S
        half_top = rng.uniform(0.01, 0.06) * S
        cx_bot = np.clip(cx_top + rng.normal(0, 0.2) * S, 0.15 * S, 0.85 * S)
        half_bot = rng.uniform(0.12, 0.3) * S
        bend = rng.normal(0, 0.12) * S
        t = np.linspace(0, 1, 40)[:, None]
        ys = top_y + (S + 5 - top_y) * t[:, 0]
        c = cx_top + (cx_bot - cx_top) * t[:, 0] + bend * np.sin(np.pi * t[:, 0])
        half = half_top + (half_bot - half_top) * t[:, 0] ** 1.2
        left = np.stack([c - half, ys], 1)
        right = np.stack([c + half, ys], 1)
    else:  # crossing: two wavy horizontal curves
        y_top = rng.uniform(horizon + 0.05 * S, 0.85 * S)
        gap = rng.uniform(0.06, 0.16) * S
        xs = np.linspace(-5, S + 5, 40)
        ph, fr = rng.uniform(0, 2 * np.pi), rng.uniform(0.5, 2.0)
        amp = rng.uniform(0.0, 0.04) * S
        tilt = rng.normal(0, 0.05) * S
        base = y_top + amp * np.sin(ph + fr * np.pi * xs / S) + tilt * (xs / S - 0.5)
        widen = rng.uniform(0.8, 1.3)
        left = np.stack([xs, base], 1)
        right = np.stack([xs, base + gap * (1 + (widen - 1) * xs / S)], 1)
    poly = np.concatenate([left, right[::-1]], 0)
    cv2.fillPoly(region, [np.round(poly).astype(np.int32)], 1)
    _poly(ink, left, stroke)
    _poly(ink, right, stroke)
    if rng.random() < 0.25:  # dashed centre line
        mid = (left + right) / 2
        for i in range(2, len(mid) - 2, 4):
            _poly(ink, mid[i:i + 2], max(1, stroke - 1))
    ink = warp(ink, rng, S * 0.003, 6)
    ink_b, reg_b = ink > 0, (region > 0) | (ink > 0)
    y0, x0 = int(np.argmax(reg_b.any(1))), int(np.argmax(reg_b.any(0)))   # top-left of the region's bbox
    d = _crop(ink_b, reg_b)
    return d, x0, y0


def bench(height: float, rng: np.random.Generator, stroke: int | None = None) -> Drawn:
    """A park bench seen from the front/side: seat, optional back planks, legs, optional arm rests."""
    stroke = stroke or sample_stroke_width(rng)
    h = int(height)
    w = int(h * rng.uniform(1.6, 2.8))
    pad = stroke + 4
    ink = _canvas(h + 2 * pad, w + 2 * pad)
    reg = _canvas(h + 2 * pad, w + 2 * pad)
    skew = rng.uniform(-0.15, 0.15) * w
    seat_y = pad + h * rng.uniform(0.45, 0.6)
    seat_t = max(3.0, h * rng.uniform(0.06, 0.12))
    x0, x1 = pad + max(0.0, -skew) * 0.3, pad + w - max(0.0, skew) * 0.3
    seat = np.array([[x0, seat_y], [x1, seat_y], [x1, seat_y + seat_t], [x0, seat_y + seat_t]])
    back = rng.random() < 0.8
    if back:
        nb = int(rng.integers(1, 4))
        top = pad + h * rng.uniform(0.0, 0.1)
        span = seat_y - top - h * 0.05
        for i in range(nb):
            yy = top + span * i / max(nb, 1)
            pl = np.array([[x0 + w * 0.02, yy], [x1 - w * 0.02, yy], [x1 - w * 0.02, yy + span / nb * 0.6],
                           [x0 + w * 0.02, yy + span / nb * 0.6]])
            _poly(ink, pl, stroke, closed=True)
            cv2.fillPoly(reg, [np.round(pl).astype(np.int32)], 1)
        for xx in (x0 + w * 0.08, x1 - w * 0.08):
            _poly(ink, np.array([[xx, top], [xx, seat_y]]), stroke)
    _poly(ink, seat, stroke, closed=True)
    cv2.fillPoly(reg, [np.round(seat).astype(np.int32)], 1)
    nleg = 2 if rng.random() < 0.6 else 3
    for i in range(nleg):
        xx = x0 + w * 0.08 + (x1 - x0 - w * 0.16) * i / (nleg - 1)
        leg = np.array([[xx - seat_t * 0.4, seat_y + seat_t], [xx + seat_t * 0.4, seat_y + seat_t],
                        [xx + seat_t * 0.4, pad + h], [xx - seat_t * 0.4, pad + h]])
        _poly(ink, leg, stroke, closed=True)
        cv2.fillPoly(reg, [np.round(leg).astype(np.int32)], 1)
    if rng.random() < 0.4:
        for xx in (x0, x1):
            arm = np.array([[xx, seat_y], [xx, seat_y - h * 0.22], [xx + (1 if xx == x0 else -1) * w * 0.1,
                                                                       seat_y - h * 0.22]])
            _poly(ink, arm, stroke)
    ink = warp(ink, rng, h * 0.015, 4)
    reg = warp(reg, rng, 0, 4)
    d = _finish(ink, reg > 0, hull=False)
    return d


def _rect(x0, y0, x1, y1) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def _outlined(ink: np.ndarray, reg: np.ndarray | None, pts: np.ndarray, width: int) -> None:
    """A white-filled outlined shape painted over what is behind it (it hides the strokes it covers)."""
    q = [np.round(pts).astype(np.int32)]
    cv2.fillPoly(ink, q, 0)
    if reg is not None:
        cv2.fillPoly(reg, q, 1)
    cv2.polylines(ink, q, True, 1, thickness=max(1, width), lineType=cv2.LINE_8)


def _inside(shape: tuple[int, int], pts: np.ndarray, margin: int) -> np.ndarray:
    """uint8 mask of a polygon's interior shrunk by ``margin`` px (where a surface pattern may go)."""
    m = _canvas(*shape)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return cv2.erode(m, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8)) if margin > 0 else m


def _surface(shape: tuple[int, int], x0: float, y0: float, x1: float, y1: float, kind: str, step: float,
             width: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 pattern strokes of a roof or wall over the box (x0, y0)-(x1, y1) (clip it to the surface):
    horizontal boards, scalloped or ticked shingle rows, diagonal hatching or scattered bricks."""
    m = _canvas(*shape)
    step = max(step, 3 * width + 2)
    rows = np.arange(y0 + step, y1, step)
    if kind == "lines":
        for y in rows:
            _poly(m, np.array([[x0, y], [x1, y]]), width)
    elif kind == "scallops":
        r = step * 0.55
        for i, y in enumerate(rows):
            off = (i % 2) * r
            for x in np.arange(x0 - r + off, x1 + r, 2 * r):
                cv2.ellipse(m, (int(round(x + r)), int(round(y - step * 0.45))), (int(round(r)), int(round(step * 0.45))),
                            0, 0, 180, 1, max(1, width))
    elif kind == "ticks":
        for i, y in enumerate(rows):
            _poly(m, np.array([[x0, y], [x1, y]]), width)
            for x in np.arange(x0 + (i % 2) * step * 0.6, x1, step * 1.2):
                _poly(m, np.array([[x, y], [x, y - step]]), width)
    elif kind == "hatch":
        span = (y1 - y0) + (x1 - x0)
        for t in np.arange(0, span, step):
            _poly(m, np.array([[x0 + t, y0], [x0 + t - (y1 - y0), y1]]), width)
    elif kind == "bricks":
        n = int(rng.integers(3, 8))
        bw, bh = step * 1.8, step * 0.8
        for _ in range(n):
            bx, by = rng.uniform(x0, max(x0 + 1, x1 - bw)), rng.uniform(y0, max(y0 + 1, y1 - bh))
            _poly(m, _rect(bx, by, bx + bw, by + bh), width, closed=True)
    return m


def _window(ink: np.ndarray, x0: float, y0: float, x1: float, y1: float, stroke: int, thin: int,
            rng: np.random.Generator, arched: bool = False) -> None:
    """A window: frame, panes (cross or grid), maybe shutters, a sill or an arched top."""
    w, h = x1 - x0, y1 - y0
    if rng.random() < 0.25:   # shutters
        for sx in ((x0 - w * 0.35, x0), (x1, x1 + w * 0.35)):
            _outlined(ink, None, _rect(sx[0], y0, sx[1], y1), thin)
    frame = _rect(x0, y0, x1, y1)
    if arched:
        arc = [(x0 + w / 2 + w / 2 * np.cos(a), y0 - w / 2 * np.sin(a) * 0.6) for a in np.linspace(np.pi, 0, 12)]
        frame = np.array([(x1, y1), (x0, y1)] + arc)
    _outlined(ink, None, frame, stroke)
    nx, ny = [(2, 2), (2, 2), (3, 2), (2, 3), (1, 2), (4, 2)][int(rng.integers(6))]
    for i in range(1, nx):
        x = x0 + w * i / nx
        _poly(ink, np.array([[x, y0], [x, y1]]), thin)
    for j in range(1, ny):
        y = y0 + h * j / ny
        _poly(ink, np.array([[x0, y], [x1, y]]), thin)
    if rng.random() < 0.4:   # sill
        _outlined(ink, None, _rect(x0 - w * 0.1, y1, x1 + w * 0.1, y1 + max(3.0, h * 0.08)), thin)


def detailed_house(height: float, rng: np.random.Generator, stroke: int | None = None) -> Drawn:
    """A house drawn with interior detail, as scene sketchers draw them: boarded or brick walls, shingled or
    scalloped roof, paned windows (shutters, sills), a single or double door with steps, maybe a chimney, a
    cupola or a second storey. Front view; every part is white-filled, so what lies behind is hidden."""
    stroke = stroke or sample_stroke_width(rng)
    thin = max(1, stroke - 1) if rng.random() < 0.6 else stroke
    h = int(max(height, 24))
    w = int(h * rng.uniform(1.0, 1.7))
    pad = stroke + 4 + int(0.08 * w)
    shape = (h + 2 * pad, w + 2 * pad)
    ink, reg = _canvas(*shape), _canvas(*shape)
    cupola = rng.random() < 0.3
    chimney = rng.random() < 0.5
    top = pad + (h * rng.uniform(0.12, 0.2) if cupola else 0.0)
    roof_h = (pad + h - top) * rng.uniform(0.28, 0.45)
    wall_top, ground = top + roof_h, pad + h
    over = w * rng.uniform(0.0, 0.07)
    bx0, bx1 = pad + over, pad + w - over
    cx = (bx0 + bx1) / 2
    hip = rng.random() < 0.5
    ridge = (w / 2) * rng.uniform(0.15, 0.6) if hip else 0.0
    roof = np.array([[pad - over * 0.3, wall_top], [cx - ridge, top], [cx + ridge, top], [pad + w + over * 0.3, wall_top]])
    unit = max(6.0, h * rng.uniform(0.05, 0.08))     # size of boards, shingles and panes
    # walls and what is on them
    body = _rect(bx0, wall_top, bx1, ground)
    _outlined(ink, reg, body, stroke)
    wall_kind = rng.choice(["plain", "plain", "lines", "bricks"])
    if wall_kind != "plain":
        ink |= _surface(shape, bx0, wall_top, bx1, ground, wall_kind, unit * 0.8, thin, rng) & _inside(shape, body, stroke)
    floors = 2 if (ground - wall_top) > 0.55 * (bx1 - bx0) and rng.random() < 0.7 else 1
    fh = (ground - wall_top) / floors
    bw = bx1 - bx0
    door_w = bw * rng.uniform(0.12, 0.22) * (1.6 if rng.random() < 0.35 else 1.0)
    door_x = cx + rng.uniform(-0.25, 0.25) * bw if rng.random() < 0.5 else cx
    door_x = float(np.clip(door_x, bx0 + door_w, bx1 - door_w))
    door_top = ground - fh * rng.uniform(0.6, 0.85)
    for f in range(floors):
        fy0 = wall_top + f * fh
        n = int(rng.integers(1, 5))
        ww = bw * rng.uniform(0.09, 0.16)
        wh = min(fh * 0.6, ww * rng.uniform(0.8, 1.5))
        wy = fy0 + (fh - wh) * rng.uniform(0.3, 0.45)
        slots = np.linspace(bx0 + ww, bx1 - 2 * ww, n) if n > 1 else np.array([rng.choice([bx0 + bw * 0.15, bx1 - bw * 0.3])])
        arched = rng.random() < 0.2
        for x in slots:
            if f == floors - 1 and x + ww > door_x - door_w / 2 - ww * 0.3 and x < door_x + door_w / 2 + ww * 0.3:
                continue   # the door is there
            _window(ink, x, wy, x + ww, wy + wh, stroke, thin, rng, arched)
    if floors == 2 and rng.random() < 0.5:   # a band between the storeys
        _poly(ink, np.array([[bx0, wall_top + fh], [bx1, wall_top + fh]]), thin)
    door = _rect(door_x - door_w / 2, door_top, door_x + door_w / 2, ground)
    _outlined(ink, reg, door, stroke)
    if door_w > bw * 0.2 or rng.random() < 0.3:   # double door
        _poly(ink, np.array([[door_x, door_top], [door_x, ground]]), thin)
    if rng.random() < 0.6:   # panes in the door's upper half
        for sx in ((door_x - door_w * 0.38, door_x - door_w * 0.08), (door_x + door_w * 0.08, door_x + door_w * 0.38)):
            _outlined(ink, None, _rect(sx[0], door_top + (ground - door_top) * 0.1, sx[1],
                                       door_top + (ground - door_top) * 0.45), thin)
    cv2.circle(ink, (int(door_x + door_w * 0.3), int((door_top + ground) / 2 + (ground - door_top) * 0.08)),
               max(1, thin), 1, -1)
    if rng.random() < 0.35:   # a transom row over the door
        t = _rect(door_x - door_w / 2, door_top - unit * 0.9, door_x + door_w / 2, door_top)
        _outlined(ink, reg, t, thin)
        for k in (1, 2):
            x = door_x - door_w / 2 + door_w * k / 3
            _poly(ink, np.array([[x, door_top - unit * 0.9], [x, door_top]]), thin)
    if rng.random() < 0.4:   # steps
        sw = door_w * 1.3
        _outlined(ink, reg, _rect(door_x - sw / 2, ground - unit * 0.6, door_x + sw / 2, ground + unit * 0.2), stroke)
    # behind the roof: chimney, cupola
    if chimney:
        chx = cx + rng.choice([-1, 1]) * rng.uniform(0.15, 0.3) * w
        chw = w * rng.uniform(0.06, 0.1)
        _outlined(ink, reg, _rect(chx - chw / 2, top + roof_h * rng.uniform(0.0, 0.3), chx + chw / 2, wall_top), stroke)
    if cupola:
        cw = w * rng.uniform(0.14, 0.24)
        cup_top = pad + (top - pad) * 0.5
        _outlined(ink, reg, _rect(cx - cw / 2, cup_top, cx + cw / 2, top + roof_h * 0.4), stroke)
        if rng.random() < 0.5:
            ink |= _surface(shape, cx - cw / 2, cup_top, cx + cw / 2, top + roof_h * 0.4, "lines", unit * 0.6,
                            thin, rng) & _inside(shape, _rect(cx - cw / 2, cup_top, cx + cw / 2, top), stroke)
        else:
            cv2.ellipse(ink, (int(cx), int((cup_top + top) / 2 + 2)), (int(cw * 0.25), int(cw * 0.2)), 0, 0, 360, 1,
                        max(1, thin))
        cap = np.array([[cx - cw * 0.65, cup_top], [cx, pad], [cx + cw * 0.65, cup_top]])
        _outlined(ink, reg, cap, stroke)
        ink |= _surface(shape, cx - cw, pad, cx + cw, cup_top, "hatch", unit * 0.5, thin, rng) & _inside(shape, cap, stroke)
    # the roof over the top of the walls
    _outlined(ink, reg, roof, stroke)
    roof_kind = rng.choice(["plain", "lines", "scallops", "ticks", "hatch"])
    if roof_kind != "plain":
        ink |= _surface(shape, pad, top, pad + w, wall_top, roof_kind, unit, thin, rng) & _inside(shape, roof, stroke + 1)
    if rng.random() < 0.4:   # eaves board
        _poly(ink, np.array([[roof[0, 0], wall_top - unit * 0.4], [roof[3, 0], wall_top - unit * 0.4]]), thin)
    if not hip and not cupola and rng.random() < 0.4:   # round attic window in the gable
        cv2.circle(ink, (int(cx), int(top + roof_h * 0.6)), max(2, int(roof_h * 0.15)), 1, max(1, thin))
    ink = warp(ink, rng, h * 0.006, 5)
    return _finish(ink, reg > 0, hull=False)


def _star_pts(cx, cy, r, n=5, inner=0.45, rot=0.0):
    ang = rot - np.pi / 2 + np.arange(2 * n) * np.pi / n
    rr = np.where(np.arange(2 * n) % 2 == 0, r, r * inner)
    return np.stack([cx + rr * np.cos(ang), cy + rr * np.sin(ang)], 1)


def procedural(category: str, height: float, rng: np.random.Generator, stroke: int | None = None) -> Drawn:
    """Simple hand-drawn-like fallback shape for any category (used when the library has none)."""
    stroke = stroke or sample_stroke_width(rng)
    if category == "grass":
        return grass_tuft(height * 1.6, rng, stroke)
    if category == "bench":
        return bench(height, rng, stroke)
    h = int(max(height, 12))
    w = int(h * {"cloud": 1.8, "car": 2.2, "bus": 2.4, "truck": 2.2, "house": 1.1, "horse": 1.3, "cow": 1.4,
                 "sheep": 1.3, "pig": 1.4, "dog": 1.3, "cat": 1.1, "duck": 1.1, "chicken": 1.0, "rabbit": 0.9,
                 "bird": 1.3, "butterfly": 1.3, "people": 0.45, "tree": 0.8, "chair": 0.7}.get(category, 1.0))
    pad = stroke + 4
    ink = _canvas(h + 2 * pad, w + 2 * pad)
    reg = _canvas(h + 2 * pad, w + 2 * pad)
    cx, cy = pad + w / 2, pad + h / 2
    if category == "sun":
        r = h * 0.3
        cv2.circle(ink, (int(cx), int(cy)), int(r), 1, stroke)
        cv2.circle(reg, (int(cx), int(cy)), int(r), 1, -1)
        for a in np.linspace(0, 2 * np.pi, int(rng.integers(8, 14)), endpoint=False):
            p0 = (cx + r * 1.2 * np.cos(a), cy + r * 1.2 * np.sin(a))
            p1 = (cx + h * 0.48 * np.cos(a), cy + h * 0.48 * np.sin(a))
            _poly(ink, np.array([p0, p1]), stroke)
        return _finish(warp(ink, rng, h * 0.01), warp(reg, rng, 0), hull=True)
    if category == "moon":
        cv2.circle(reg, (int(cx), int(cy)), int(h * 0.45), 1, -1)
        cut = _canvas(*reg.shape)
        cv2.circle(cut, (int(cx + h * 0.25), int(cy - h * 0.08)), int(h * 0.4), 1, -1)
        reg = reg & (1 - cut)
    elif category == "star":
        cv2.fillPoly(reg, [np.round(_star_pts(cx, cy, h * 0.48, rot=rng.normal(0, 0.2))).astype(np.int32)], 1)
    elif category == "cloud":
        for _ in range(int(rng.integers(4, 8))):
            r = h * rng.uniform(0.2, 0.35)
            x = pad + r + rng.uniform(0, max(1.0, w - 2 * r))
            y = pad + h - r - rng.uniform(0, h * 0.35)
            cv2.circle(reg, (int(x), int(y)), int(r), 1, -1)
    elif category == "tree":
        tw = w * rng.uniform(0.12, 0.2)
        cv2.rectangle(reg, (int(cx - tw / 2), int(pad + h * 0.55)), (int(cx + tw / 2), pad + h), 1, -1)
        if rng.random() < 0.5:
            cv2.ellipse(reg, (int(cx), int(pad + h * 0.33)), (int(w * 0.48), int(h * 0.33)), 0, 0, 360, 1, -1)
        else:
            tri = np.array([[cx, pad], [pad + w, pad + h * 0.75], [pad, pad + h * 0.75]])
            cv2.fillPoly(reg, [np.round(tri).astype(np.int32)], 1)
    elif category == "house":
        wall_top = pad + h * 0.45
        cv2.rectangle(reg, (pad + int(w * 0.08), int(wall_top)), (pad + int(w * 0.92), pad + h), 1, -1)
        roof = np.array([[pad, wall_top], [cx, pad], [pad + w, wall_top]])
        cv2.fillPoly(reg, [np.round(roof).astype(np.int32)], 1)
        cv2.rectangle(ink, (int(cx - w * 0.1), int(pad + h * 0.7)), (int(cx + w * 0.1), pad + h), 1, stroke)
    elif category == "people":
        cv2.circle(reg, (int(cx), int(pad + h * 0.1)), int(h * 0.1), 1, -1)
        cv2.rectangle(reg, (int(cx - w * 0.3), int(pad + h * 0.2)), (int(cx + w * 0.3), int(pad + h * 0.6)), 1, -1)
        cv2.rectangle(reg, (int(cx - w * 0.25), int(pad + h * 0.6)), (int(cx - w * 0.05), pad + h), 1, -1)
        cv2.rectangle(reg, (int(cx + w * 0.05), int(pad + h * 0.6)), (int(cx + w * 0.25), pad + h), 1, -1)
    else:  # generic: body ellipse + a head or wheels, enough to be an object
        cv2.ellipse(reg, (int(cx), int(pad + h * 0.55)), (int(w * 0.45), int(h * 0.3)), 0, 0, 360, 1, -1)
        if category in ("car", "bus", "truck"):
            for fx in (0.25, 0.75):
                cv2.circle(reg, (int(pad + w * fx), int(pad + h * 0.85)), int(h * 0.15), 1, -1)
                cv2.circle(ink, (int(pad + w * fx), int(pad + h * 0.85)), int(h * 0.15), 1, stroke)
        else:
            cv2.circle(reg, (int(pad + w * 0.85), int(pad + h * 0.3)), int(h * 0.18), 1, -1)
            for fx in (0.3, 0.65):
                _poly(ink, np.array([[pad + w * fx, pad + h * 0.75], [pad + w * fx, pad + h]]), stroke)
                _poly(reg, np.array([[pad + w * fx, pad + h * 0.75], [pad + w * fx, pad + h]]), stroke)
    reg = warp(reg, rng, h * 0.02, 4)
    r8 = (reg > 0).astype(np.uint8)
    outline = r8 - cv2.erode(r8, np.ones((3, 3), np.uint8))
    ink = (thicken(outline > 0, stroke) | (ink > 0)).astype(np.uint8)
    return _finish(ink, r8 > 0)
