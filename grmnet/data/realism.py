"""Hand-drawn realism of the synthetic data engine: ONE typed set of switches, each one ablatable.

Real SketchyScene sketches differ from clean clip-art line drawings: strokes wobble, pen pressure
changes their width (and, for pencils, their darkness), strokes break and overshoot their corners,
outlines are retraced by hand, objects in front hide what is behind them, and scenes are dense
(many trees and grass tufts, smallish objects). :class:`Realism` names each of these effects; the
data engine (:mod:`grmnet.data.scene`, :mod:`grmnet.data.synth`) takes one instance and nothing
else (no globals). ``Realism()`` (everything on) is the training default; ``Realism.legacy()`` is the
engine before these switches (occlusion on, nothing else); ``Realism.parse("no-gaps,no-wobble")`` turns
single switches off (``grmnet synth --realism ...``).

Per-object effects (:func:`apply_object`) act on an object's own crop (``ink`` ⊆ ``region``) before it
is placed, so the scene's guarantees (visible inks disjoint, ink inside its region, dark pixels = the
union of the inks) keep holding after occlusion. :func:`ink_tone` gives the ink's grey levels
(always < 128 on ink pixels: :func:`grmnet.imaging.ink_mask` reads ink as grey < 128) and a light,
non-ink (>= 128) anti-aliasing fringe in places.

All effects draw from their own generator (seeded once per object by the caller, whatever the
switches), so turning one switch off leaves the layout of a (split, seed, key) scene unchanged.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

import cv2
import numpy as np

__all__ = ["Realism", "SWITCHES", "apply_object", "apply_road", "ink_tone", "INK_MAX_GREY"]

REDRAW_SHARE = 0.6       # share of objects whose outline is retraced (the others keep the clip-art outline)
INK_MAX_GREY = 100       # darkest-to-lightest ink grey (< 128: still ink)
FRINGE_GREY = (150, 235)  # anti-aliasing halo: lighter than 128, never ink


@dataclass(frozen=True)
class Realism:
    """Switches of the hand-drawn look (all on = the training default)."""

    wobble: bool = True      # smooth random displacement of each object's strokes (~1 % of its size)
    pressure: bool = True    # stroke width thinner/thicker along strokes; grey (still < 128) ink in places
    gaps: bool = True        # small breaks in strokes
    overshoot: bool = True   # stroke ends carried past corners / past the start of a closed outline
    redraw: bool = True      # outline retraced by hand: simplified, jittered polygon; interior detail kept
    occlusion: bool = True   # a front object's silhouette hides the strokes behind it (drawing order)
    density: bool = True     # object counts and sizes matched to SketchyScene (else the older tables)
    detail: bool = True      # a share of the houses drawn with interior detail (boards, shingles, panes, cupola)

    @classmethod
    def legacy(cls) -> "Realism":
        """The engine before the realism switches: occlusion only, older count/size tables."""
        return cls(**{k: k == "occlusion" for k in SWITCHES})

    @classmethod
    def none(cls) -> "Realism":
        return cls(**{k: False for k in SWITCHES})

    @classmethod
    def parse(cls, spec: "str | Realism | None") -> "Realism":
        """``None``/"" / "all" -> all on; "none", "legacy"; or a comma list applied to all-on (or to a
        leading "none"/"legacy"): ``no-gaps``, ``gaps=0``, ``-wobble``, ``+density``, ``redraw=on``."""
        if spec is None or isinstance(spec, Realism):
            return spec if spec is not None else cls()
        base = cls()
        parts = [p.strip() for p in str(spec).replace(";", ",").split(",") if p.strip()]
        if parts and parts[0].lower() in ("all", "none", "legacy", "off", "on"):
            base = {"all": cls(), "on": cls(), "none": cls.none(), "off": cls.none(),
                    "legacy": cls.legacy()}[parts.pop(0).lower()]
        changes: dict[str, bool] = {}
        for p in parts:
            q = p.lower().replace("_", "-")
            if "=" in q:
                name, val = (s.strip() for s in q.split("=", 1))
                if val in ("1", "on", "true", "yes"):
                    on = True
                elif val in ("0", "off", "false", "no"):
                    on = False
                else:
                    raise ValueError(f"realism switch {p!r}: value must be on/off (1/0)")
            elif q.startswith("no-"):
                name, on = q[3:], False
            elif q[:1] in "+-":
                name, on = q[1:], q[0] == "+"
            else:
                name, on = q, True
            if name not in SWITCHES:
                raise ValueError(f"unknown realism switch {name!r} (known: {', '.join(SWITCHES)}; "
                                 "or all, none, legacy)")
            changes[name] = on
        return replace(base, **changes)

    def spec(self) -> str:
        """Inverse of :meth:`parse` (e.g. ``"all"`` or ``"no-gaps,no-wobble"``)."""
        off = [k for k, v in asdict(self).items() if not v]
        return "all" if not off else ",".join(f"no-{k}" for k in off)

    def any_stroke_effect(self) -> bool:
        return self.wobble or self.pressure or self.gaps or self.overshoot or self.redraw


SWITCHES: tuple[str, ...] = tuple(f.name for f in fields(Realism))


# --------------------------------------------------------------------------------------------- helpers


def _disk(r: int) -> np.ndarray:
    r = max(1, int(r))
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (r, r))


def _smooth_field(h: int, w: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """Smooth random field ~N(0, 1) of shape [h, w] (bicubic upsampling of a coarse grid)."""
    from grmnet.data.render import upsample_pair

    g = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return upsample_pair(g, None, w, h)[..., 0]


def _smooth_fields(h: int, w: int, rng: np.random.Generator, cells: int) -> np.ndarray:
    """Two independent smooth random fields, float32 [h, w, 2] (the two grids drawn one after the other)."""
    from grmnet.data.render import upsample_pair

    a = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    b = rng.normal(0, 1, (cells, cells)).astype(np.float32)
    return upsample_pair(a, b, w, h)


def _wobble(ink: np.ndarray, region: np.ndarray, rng: np.random.Generator, size: float):
    """Joint smooth displacement of ink and region (amplitude ~1 % of the object's size)."""
    h, w = ink.shape
    if h < 6 or w < 6:
        return ink, region
    amp = size * float(rng.uniform(0.005, 0.013))
    cells = int(rng.integers(5, 10))
    m = _smooth_fields(h, w, rng, cells)    # (dx, dy)
    m *= np.float32(amp)
    m[..., 0] += np.arange(w, dtype=np.float32)[None, :]   # + the pixel grid, by broadcasting (no np.mgrid)
    m[..., 1] += np.arange(h, dtype=np.float32)[:, None]
    img = np.empty((h, w, 2), np.uint8)
    np.multiply(ink, np.uint8(255), out=img[..., 0])
    np.multiply(region, np.uint8(255), out=img[..., 1])
    out = cv2.remap(img, m, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    ink2 = out[..., 0] > 90      # a little generous: thin diagonal lines stay connected
    reg2 = out[..., 1] > 127
    return ink2, reg2 | ink2


def _outline_polys(region: np.ndarray, size: float, rng: np.random.Generator, jitter: float
                   ) -> list[np.ndarray]:
    """Closed polygons (float [n, 2] x, y) of the silhouette's outer contours, simplified (and jittered)."""
    cnts, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    total = float(region.sum())
    polys = []
    for c in cnts:
        if len(c) < 8 or cv2.contourArea(c) < max(20.0, 0.02 * total):
            continue
        eps = size * float(rng.uniform(0.005, 0.012))
        p = cv2.approxPolyDP(c, eps, True)[:, 0, :].astype(np.float64)
        if len(p) < 3:
            continue
        if jitter > 0:
            p = p + rng.normal(0, jitter, p.shape)
        polys.append(p)
    return polys


def _draw(img: np.ndarray, pts: np.ndarray, width: int) -> None:
    if len(pts) >= 2:
        cv2.polylines(img, [np.round(pts).astype(np.int32)], False, 1, thickness=max(1, int(width)),
                      lineType=cv2.LINE_8)


def _ext(a: np.ndarray, b: np.ndarray, length: float) -> np.ndarray:
    """Point ``length`` past ``b`` along a->b."""
    d = b - a
    n = float(np.hypot(*d))
    return b if n < 1e-6 else b + d / n * length


def _redraw_outline(ink, region, polys, rng, stroke: int, size: float, overshoot: bool):
    """Replace the outline strokes by a hand-retraced polygon (interior detail kept)."""
    band = stroke + 2
    inner = cv2.erode(region.astype(np.uint8), _disk(2 * band + 1)) > 0
    out = (ink & inner).astype(np.uint8)
    reg = np.zeros_like(out)
    for p in polys:
        cv2.fillPoly(reg, [np.round(p).astype(np.int32)], 1)
        n = len(p)
        start = int(rng.integers(n))
        q = np.concatenate([p[start:], p[:start], p[start:start + 1]], 0)  # closed, from a random vertex
        k = int(rng.choice([1, 1, 2, 2, 3])) if n >= 6 else 1       # one to three pen strokes
        cuts = sorted(rng.choice(np.arange(1, len(q) - 1), size=k - 1, replace=False)) if k > 1 else []
        bounds = [0, *cuts, len(q) - 1]
        for a, b in zip(bounds[:-1], bounds[1:]):
            seg = q[a:b + 1].copy()
            if overshoot and len(seg) >= 2 and rng.random() < 0.6:  # the pen runs on past where it meets
                seg = np.concatenate([seg, _ext(seg[-2], seg[-1], stroke + size * rng.uniform(0.01, 0.04))[None]])
            _draw(out, seg, stroke - 1 if stroke >= 3 else stroke)  # polylines draw a little heavier
    return out > 0, (reg > 0) | (out > 0)


def _corner_overshoots(img: np.ndarray, polys, rng, stroke: int, size: float, share: float) -> None:
    """At sharp corners, carry one or both edges a little past the vertex."""
    for p in polys:
        n = len(p)
        if n < 3:
            continue
        # every vertex's incoming (u = b - a) and outgoing (v = c - b) edge at once
        e = np.diff(p, axis=0, append=p[:1])          # e[i] = p[i + 1] - p[i]
        us, vs = np.roll(e, 1, axis=0), e
        nus, nvs = np.hypot(us[:, 0], us[:, 1]), np.hypot(vs[:, 0], vs[:, 1])
        long = (nus >= 4) & (nvs >= 4)
        # batched matmul: the same dot product (bit for bit) as np.dot of each pair
        dots = np.matmul(us[:, None, :], vs[:, :, None])[:, 0, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            cos = dots / (nus * nvs)
        for i in np.flatnonzero(long & ~(cos > 0.3)).tolist():   # turn sharper than ~70 degrees only
            if rng.random() > share:
                continue
            a, b, c = p[i - 1], p[i], p[(i + 1) % n]
            nu, nv = nus[i], nvs[i]
            L = stroke + size * float(rng.uniform(0.008, 0.03))
            if rng.random() < 0.7:
                _draw(img, np.stack([b, _ext(a, b, min(L, 0.5 * nu))]), max(1, stroke - 1))
            if rng.random() < 0.4:
                _draw(img, np.stack([b, _ext(c, b, min(L, 0.5 * nv))]), max(1, stroke - 1))


def _gaps(ink: np.ndarray, rng: np.random.Generator, stroke: int, scale: float) -> np.ndarray:
    """Small breaks: erase short pieces of line-like strokes (not of filled areas)."""
    n_ink = int(np.count_nonzero(ink))
    if n_ink < 40:
        return ink
    length = n_ink / max(1.0, float(stroke))
    n = int(rng.poisson(length / (rng.uniform(250, 600) * scale)))
    if n == 0:
        return ink
    dt = cv2.distanceTransform(ink.astype(np.uint8), cv2.DIST_L2, 3)
    sel = (dt > 0) & (dt <= stroke / 2.0 + 1.0)
    pts = cv2.findNonZero(sel.view(np.uint8))   # (x, y) in raster order, as np.nonzero gives them
    if pts is None:
        return ink
    pts = pts.reshape(-1, 2)
    xs, ys = pts[:, 0], pts[:, 1]
    if len(xs) == 0:
        return ink
    out = ink.astype(np.uint8)
    budget = 0.06 * n_ink
    for j in rng.integers(len(xs), size=min(n, 40)):
        r = int(np.ceil(stroke / 2.0 + rng.uniform(0.8, 2.2) * max(1.0, scale)))
        before = int(out[max(0, ys[j] - r):ys[j] + r + 1, max(0, xs[j] - r):xs[j] + r + 1].sum())
        if before > budget:
            continue
        cv2.circle(out, (int(xs[j]), int(ys[j])), r, 0, -1)
        budget -= before
    return out > 0


def _pressure_width(ink: np.ndarray, rng: np.random.Generator, stroke: int) -> np.ndarray:
    """Thicker where the smooth pressure field is high, thinner (never broken) where it is low."""
    h, w = ink.shape
    f = _smooth_field(h, w, rng, int(rng.integers(3, 7)))
    out = ink.copy()
    thick = f > rng.uniform(0.7, 1.3)
    if stroke <= 3 and thick.any():  # a thick pen does not get thicker
        out |= (cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & thick
    thin = f < -rng.uniform(0.4, 0.9)
    if stroke >= 3 and thin.any():
        core = cv2.erode(ink.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        near_core = cv2.dilate(core.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        boundary = ink & ~core
        out &= ~(boundary & near_core & thin)
    return out


def _padded(a: np.ndarray, pad: int) -> np.ndarray:
    """``np.pad(a, pad)`` (zeros) without np.pad's generic machinery."""
    out = np.zeros((a.shape[0] + 2 * pad, a.shape[1] + 2 * pad), a.dtype)
    out[pad:pad + a.shape[0], pad:pad + a.shape[1]] = a
    return out


def _recrop(ink: np.ndarray, region: np.ndarray):
    from grmnet.data.render import Drawn, _crop
    d: Drawn = _crop(ink, region)
    return d


def apply_object(d, rng: np.random.Generator, stroke: int, realism: Realism, scale: float = 1.0,
                 closed: bool = True):
    """One object's crop (``render.Drawn``) with the per-object effects of ``realism`` applied.

    ``stroke``: the object's stroke width (px); ``scale``: canvas / 750; ``closed``: the object has a
    silhouette to retrace (False for roads). Returns a new ``Drawn`` (ink ⊆ region, foot recomputed)."""
    if not realism.any_stroke_effect() or d.ink.size <= 1 or not d.ink.any():
        return d
    pad = int(stroke + 4 + 0.06 * max(d.ink.shape))
    ink, region = _padded(d.ink, pad), _padded(d.region, pad)
    size = float(max(d.region.shape))
    # one sub-stream per effect: switching one off does not change the others
    r_redraw, r_over, r_wob, r_gap, r_pres = (np.random.default_rng(s) for s in rng.integers(1 << 62, size=5))
    polys = None
    redraw = realism.redraw and r_redraw.random() < REDRAW_SHARE
    if closed and (redraw or realism.overshoot):
        jitter = size * float(r_redraw.uniform(0.003, 0.009)) if redraw else 0.0
        # the outline's centre line: the silhouette shrunk by half a stroke
        core = cv2.erode(region.astype(np.uint8), _disk(stroke)) if stroke >= 3 else region.astype(np.uint8)
        polys = _outline_polys(core > 0, size, r_redraw, jitter)
    if closed and redraw and polys:
        ink, region = _redraw_outline(ink, region, polys, r_redraw, stroke, size, realism.overshoot)
    if closed and realism.overshoot and polys:
        img = ink.astype(np.uint8)
        _corner_overshoots(img, polys, r_over, stroke, size, share=0.5)
        ink = img > 0
        region = region | ink
    if realism.wobble:
        ink, region = _wobble(ink, region, r_wob, size)
    if realism.pressure:
        ink = _pressure_width(ink, r_pres, stroke) if stroke >= 2 else ink
        region = region | ink
    if realism.gaps:
        ink = _gaps(ink, r_gap, stroke, scale)
    if not ink.any():
        return d
    return _recrop(ink, region)


def apply_road(ink: np.ndarray, region: np.ndarray, rng: np.random.Generator, stroke: int, realism: Realism,
               scale: float = 1.0):
    """Roads (two long strokes on the canvas-sized crop): pressure and gaps only (wobble is in render.road)."""
    r_gap, r_pres = (np.random.default_rng(s) for s in rng.integers(1 << 62, size=2))
    if realism.pressure and stroke >= 2:
        ink = _pressure_width(ink, r_pres, stroke)
    if realism.gaps:
        ink = _gaps(ink, r_gap, stroke, scale * 1.5)
    return ink, region | ink


def ink_tone(ink: np.ndarray, rng: np.random.Generator, realism: Realism) -> np.ndarray:
    """Grey drawing [H, W] uint8 for the scene's ink (bool): ink pixels < 128 always, white elsewhere,
    plus (pressure on) lighter pencil tones in places and a light (>= 128) anti-aliasing fringe."""
    h, w = ink.shape
    black = np.logical_not(ink).view(np.uint8) * np.uint8(255)   # 0 on ink, 255 elsewhere
    if not realism.pressure:
        return black
    style = rng.random()
    if style < 0.65:           # black marker (most SketchyScene drawings): pure black
        return black
    grey = black
    small = (max(8, h // 8), max(8, w // 8))
    f = _smooth_field(small[0], small[1], rng, int(rng.integers(3, 8)))
    f = cv2.resize(f, (w, h), interpolation=cv2.INTER_LINEAR)
    light = float(rng.uniform(20, INK_MAX_GREY))
    fi = f[ink]                # the tone of the ink pixels only (elementwise: the same values)
    grey[ink] = np.clip(light * (0.5 + 0.6 * fi), 0, INK_MAX_GREY).astype(np.uint8)
    if style < 0.85:           # soft pen: light anti-aliased halo around the strokes in places
        halo = (cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~ink & (f > -0.3)
        lo, hi = FRINGE_GREY
        grey[halo] = np.uint8(rng.integers(lo, hi))
    return grey
