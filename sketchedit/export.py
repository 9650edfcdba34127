"""Export a document: flattened PNG, layered PNG (folder or zip), OpenRaster, SVG, PSD.

Every writer is atomic (see sketchedit.atomic) and raises ExportError with a message meant
for the user. No Qt widgets here; the CLI uses the same functions as the app.

Writers take an optional ``progress(fraction)`` callback, called between layers; it may raise (e.g.
sketchedit.jobs.Cancelled) to stop: the temporary file goes, the old file stays. ``snapshot_of``
copies a document so that a background thread can export it while the user keeps editing.
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from typing import Callable
from xml.sax.saxutils import escape, quoteattr

import cv2
import numpy as np
from PIL import Image

from sketchedit.atomic import ExportError, atomic_folder, atomic_path, check_file_target, check_folder_target
from sketchedit.document import InstanceLayer, SketchDocument, composite_over, ink_of
from sketchedit.images import IMAGE_SUFFIXES, load_sketch
from sketchedit.ora import layer_metadata, load_ora, png_bytes, save_ora

# kind -> (description, suffix) for file dialogs and the CLI.
FORMATS: dict[str, tuple[str, str]] = {
    "png": ("Flattened PNG", ".png"),
    "layers-zip": ("Layered PNG (zip)", ".zip"),
    "layers-folder": ("Layered PNG folder", ""),
    "ora": ("OpenRaster", ".ora"),
    "svg": ("SVG with Inkscape layers", ".svg"),
    "psd": ("Layered PSD", ".psd"),
}
# Douglas-Peucker tolerance (pixels) for traced ink outlines: visually lossless on line art.
SVG_SIMPLIFY_TOLERANCE = 0.6
# progress(fraction in 0..1); may raise to stop the export.
Progress = Callable[[float], None]


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None:
        progress(min(1.0, done / max(total, 1)))


@dataclass
class DocumentSnapshot:
    """What the exporters read from a document, copied: safe to export from another thread
    while the document changes."""

    base: np.ndarray
    layers: list[InstanceLayer] = field(default_factory=list)
    path: str | None = None

    @property
    def width(self) -> int:
        return int(self.base.shape[1])

    @property
    def height(self) -> int:
        return int(self.base.shape[0])

    @property
    def pixels(self) -> int:
        """How much there is to write: the base's pixels and every layer's."""
        return self.base.shape[0] * self.base.shape[1] + sum(layer.ink_mask.size for layer in self.layers)

    def composite(self, include_hidden: bool = False) -> np.ndarray:
        out = self.base.copy()
        for layer in self.layers:
            if layer.visible or include_hidden:
                composite_over(out, layer.render_rgba(), layer.position)
        return out


def snapshot_of(doc: SketchDocument) -> DocumentSnapshot:
    return DocumentSnapshot(doc.base.copy(), [layer.clone() for layer in doc.layers], doc.path)


def kind_of_path(path: str | os.PathLike) -> str:
    """Export kind chosen by the file name: .png .zip .ora .svg .psd, or a folder."""
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    for kind, (_, ext) in FORMATS.items():
        if ext and suffix == ext:
            return kind
    if suffix == "" or os.path.isdir(path):
        return "layers-folder"
    raise ExportError(f"Cannot export to '{suffix}': use one of .png, .zip, .ora, .svg, .psd or a folder name")


def check_export_path(path: str | os.PathLike, kind: str | None = None) -> str:
    """Raise ExportError unless ``path`` can take an export of ``kind`` (guessed from the name when
    None): cheap, so callers check before any long work. Returns the kind."""
    path = os.fspath(path)
    kind = kind or kind_of_path(path)
    if kind not in FORMATS:
        raise ExportError(f"Unknown export format {kind!r}")
    if kind == "layers-folder":
        check_folder_target(path)
    else:
        check_file_target(path)
    return kind


def export_document(doc: SketchDocument | DocumentSnapshot, path: str | os.PathLike, kind: str | None = None,
                    progress: Progress | None = None) -> str:
    """Write ``doc`` to ``path`` in the format ``kind`` (guessed from the name when None).
    Returns the path written. Raises ExportError, or whatever ``progress`` raises to stop."""
    path = os.fspath(path)
    kind = check_export_path(path, kind)
    writers = {"png": save_flat_png, "layers-zip": save_layered_zip, "layers-folder": save_layered_folder,
               "ora": save_ora, "svg": save_svg, "psd": save_psd}
    try:
        writers[kind](doc, path, progress=progress)
    except ExportError:
        raise
    except OSError as exc:  # a writer failing outside the atomic helpers (rare)
        raise ExportError(f"Could not write {path}: {exc.strerror or exc}", exc.errno) from exc
    return path


def open_document(path: str | os.PathLike) -> SketchDocument:
    """Open a native .ora (layers restored) or any image (a fresh sketch). Raises ImageError."""
    path = os.fspath(path)
    if path.lower().endswith(".ora"):
        return load_ora(path)
    base, notice = load_sketch(path)
    doc = SketchDocument(base, path=path)
    doc.notice = notice
    return doc


def _write_png(pixels: np.ndarray, path: str) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        with open(tmp, "wb") as fh:
            fh.write(png_bytes(pixels))


def save_flat_png(doc: SketchDocument, path: str, progress: Progress | None = None) -> None:
    _report(progress, 0, 1)
    pixels = doc.composite()
    _report(progress, 1, 2)
    _write_png(pixels, path)


# ----------------------------------------------------------------- layered PNG
def _safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "layer"


def full_canvas_rgba(doc: SketchDocument, layer: InstanceLayer) -> np.ndarray:
    """A layer's pixels on a transparent canvas of the sketch's size (offset applied)."""
    out = np.zeros((doc.height, doc.width, 4), np.uint8)
    rgba = layer.render_rgba()
    x, y = layer.position
    h, w = rgba.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, doc.width), min(y + h, doc.height)
    if x0 < x1 and y0 < y1:
        out[y0:y1, x0:x1] = rgba[y0 - y:y1 - y, x0 - x:x1 - x]
    return out


def layered_png_entries(doc: SketchDocument, progress: Progress | None = None) -> list[tuple[str, bytes]]:
    """Files of a layered-PNG export: background.png, one PNG per layer, manifest.json."""
    entries = [("background.png", png_bytes(doc.base))]
    manifest = {"format": "sketchedit-layers", "version": 1, "width": doc.width, "height": doc.height,
                "background": "background.png", "layers": []}
    for z, layer in enumerate(doc.layers):
        _report(progress, z + 1, len(doc.layers) + 2)
        name = f"layer_{z + 1:02d}_{_safe_name(layer.label)}.png"
        entries.append((name, png_bytes(full_canvas_rgba(doc, layer))))
        manifest["layers"].append({"file": name, "z": z + 1, "bbox": list(layer.bbox), **layer_metadata(layer)})
    entries.append(("manifest.json", json.dumps(manifest, indent=1).encode()))
    return entries


def save_layered_folder(doc: SketchDocument, path: str, progress: Progress | None = None) -> None:
    """A new folder (or an empty one) with the layered PNGs; a non-empty folder is refused."""
    with atomic_folder(path) as tmp:
        for name, data in layered_png_entries(doc, progress):
            with open(os.path.join(tmp, name), "wb") as fh:
                fh.write(data)


def save_layered_zip(doc: SketchDocument, path: str, progress: Progress | None = None) -> None:
    with atomic_path(path, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            for name, data in layered_png_entries(doc, progress):
                zf.writestr(name, data)


# ------------------------------------------------------------------------ SVG
def _hex(color) -> str:
    return "#{:02x}{:02x}{:02x}".format(*[int(c) for c in color])


def _simplified(ring: np.ndarray, tolerance: float) -> np.ndarray:
    """Douglas-Peucker of a closed ring with OpenCV, which releases the GIL: shapely's simplify holds
    it for seconds on a big drawing's outline, and a background export would freeze the window."""
    if len(ring) <= 3:
        return ring
    return cv2.approxPolyDP(ring.astype(np.float32).reshape(-1, 1, 2), tolerance, True)[:, 0, :].astype(np.float64)


def trace_mask(mask: np.ndarray, dx: float = 0.0, dy: float = 0.0,
               tolerance: float = SVG_SIMPLIFY_TOLERANCE) -> str:
    """SVG path data (even-odd) of a mask's outlines: OpenCV contours -> shapely, simplified.

    OpenCV traces pixel centres, so each outline is grown by half a pixel (holes shrink by
    as much) to cover the ink exactly; one-pixel lines and specks survive this way too.
    """
    from shapely.geometry import LineString, Point, Polygon

    if not mask.any():
        return ""
    contours, hierarchy = cv2.findContours(mask.astype(np.uint8), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    hierarchy = hierarchy[0]

    def ring(i: int) -> np.ndarray:
        return contours[i][:, 0, :].astype(np.float64) + 0.5  # pixel centres

    parts = []
    for i in range(len(contours)):
        if hierarchy[i][3] != -1:
            continue  # a hole, handled with its outer contour
        outer = ring(i)
        if len(outer) == 1:
            shape = Point(outer[0]).buffer(0.5, cap_style="square")
        elif len(outer) == 2:
            shape = LineString(outer).buffer(0.5, cap_style="square", join_style="mitre")
        else:
            holes = []
            child = hierarchy[i][2]
            while child != -1:
                if len(contours[child]) >= 3:
                    holes.append(ring(child))
                child = hierarchy[child][0]
            shape = Polygon(outer, holes).buffer(0.5, join_style="mitre")
        for poly in getattr(shape, "geoms", [shape]):
            if poly.is_empty:
                continue
            for r in [poly.exterior, *poly.interiors]:
                coords = _simplified(np.asarray(r.coords)[:-1], tolerance) + (dx, dy)
                if len(coords) >= 3:
                    parts.append("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords) + " Z")
    return " ".join(parts)


def layer_svg_group(layer: InstanceLayer, gid: str) -> str:
    x, y = layer.position
    color = _hex(layer.display_color)
    body = []
    if layer.fill_color is not None and layer.fill_opacity > 0:
        d = trace_mask(layer.region_mask, x, y)
        if d:
            body.append(f'    <path d="{d}" fill="{_hex(layer.fill_color)}" fill-opacity="{layer.fill_opacity:.3f}" '
                        f'fill-rule="evenodd" stroke="none"/>')
    d = trace_mask(layer.core_mask, x, y)      # the strokes as the base's are traced: without soft edges
    if d:
        body.append(f'    <path d="{d}" fill="{color}" fill-rule="evenodd" stroke="none"/>')
    style = "" if layer.visible else ' style="display:none"'
    attrs = (f'id="{gid}" inkscape:groupmode="layer" inkscape:label={quoteattr(layer.label)} '
             f'sketchedit:category={quoteattr(layer.category)}')
    if layer.locked:
        attrs += ' sodipodi:insensitive="true"'
    return f"  <g {attrs}{style}>\n" + "\n".join(body) + "\n  </g>"


def svg_text(doc: SketchDocument, progress: Progress | None = None) -> str:
    W, H = doc.width, doc.height
    base_ink = ink_of(doc.base)
    base_d = trace_mask(base_ink)
    # The base's ink is mostly one colour; use its median so colour sketches look right.
    base_color = _hex(np.median(doc.base[base_ink], axis=0)) if base_ink.any() else "#000000"
    groups = [
        f'  <g id="paper" inkscape:groupmode="layer" inkscape:label="Paper" sodipodi:insensitive="true">\n'
        f'    <rect x="0" y="0" width="{W}" height="{H}" fill="#ffffff"/>\n  </g>',
        '  <g id="sketch" inkscape:groupmode="layer" inkscape:label="Sketch">\n'
        + (f'    <path d="{base_d}" fill="{base_color}" fill-rule="evenodd" stroke="none"/>\n' if base_d else "")
        + "  </g>",
    ]
    for n, layer in enumerate(doc.layers):
        _report(progress, n + 1, len(doc.layers) + 1)
        groups.append(layer_svg_group(layer, f"layer-{layer.uid}"))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" '
        f'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
        f'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" '
        f'xmlns:sketchedit="https://github.com/sketchedit/sketchedit/ns/svg" '
        f'width="{W}" height="{H}" viewBox="0 0 {W} {H}">\n'
        f"  <title>{escape(os.path.basename(doc.path or 'sketch'))}</title>\n"
        + "\n".join(groups) + "\n</svg>\n"
    )


def save_svg(doc: SketchDocument, path: str, progress: Progress | None = None) -> None:
    text = svg_text(doc, progress)
    with atomic_path(path, suffix=".svg") as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


# ------------------------------------------------------------------------ PSD
def save_psd(doc: SketchDocument, path: str, progress: Progress | None = None) -> None:
    """Layered PSD via psd-tools: a Background layer, then one pixel layer per instance."""
    from psd_tools import PSDImage

    psd = PSDImage.new("RGBA", (doc.width, doc.height))
    psd.create_pixel_layer(Image.fromarray(doc.base).convert("RGBA"), name="Sketch")
    for n, layer in enumerate(doc.layers):
        _report(progress, n + 1, len(doc.layers) + 2)
        x, y, w, h = layer.bbox
        rgba = layer.render_rgba()
        # PSD layers may not hang off the canvas in every reader: clip to it.
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, doc.width), min(y + h, doc.height)
        if x0 >= x1 or y0 >= y1:
            rgba, x0, y0 = np.zeros((1, 1, 4), np.uint8), 0, 0
        else:
            rgba = rgba[y0 - y:y1 - y, x0 - x:x1 - x]
        pixel_layer = psd.create_pixel_layer(Image.fromarray(np.ascontiguousarray(rgba)), name=layer.label,
                                             top=y0, left=x0)
        pixel_layer.visible = layer.visible
    with atomic_path(path, suffix=".psd") as tmp:
        psd.save(tmp)


def is_openable(path: str) -> bool:
    return path.lower().endswith((".ora",) + IMAGE_SUFFIXES)
