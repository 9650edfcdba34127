"""OpenRaster (.ora): the native save format, readable by Krita, GIMP and MyPaint.

Layout written (OpenRaster 0.0.5):
    mimetype                  "image/openraster", first entry, stored uncompressed
    stack.xml                 the layer stack, top layer first
    data/base.png             the base sketch (opaque)
    data/layer-<uid>.png      each instance as drawn (RGBA, cropped, x/y in stack.xml)
    mergedimage.png           the flattened sketch
    Thumbnails/thumbnail.png  at most 256x256
    sketchedit/document.json  our per-layer metadata (category, index, colours, offsets...)
    sketchedit/ink-<uid>.png, sketchedit/region-<uid>.png   the masks needed to re-edit

Other programs ignore the sketchedit/ folder; a file they re-save loses it, and we then
import their layers as plain instance layers.
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import warnings
import xml.etree.ElementTree as ET
import zipfile
from typing import Callable

import numpy as np
from PIL import Image

from grmnet.errors import ImageError
from grmnet.imaging import check_regular_file, to_rgb_on_white
from sketchedit.atomic import atomic_path
from sketchedit.document import OUTLINE_PALETTE, InstanceLayer, SketchDocument

MIMETYPE = "image/openraster"
META_PATH = "sketchedit/document.json"
SKETCHEDIT_NS = "https://github.com/sketchedit/sketchedit/ns/ora"
FORMAT_VERSION = 1
THUMBNAIL_SIZE = 256

# Limits checked before anything is decoded or allocated (a crafted file is refused, not obeyed).
# Budgets keep opening and exporting any file under about 1.5 GB: a layer costs ~5 bytes a pixel
# kept, and tens of bytes a pixel while it is decoded or rendered.
MAX_CANVAS_PIXELS = 4096 * 4096         # the canvas, and any one layer; the app opens images at 4096 px
MAX_DECODED_PIXELS = 48_000_000         # all PNGs of one file together (base + every layer)
MAX_LAYERS = 1000
MAX_ENTRIES = 10_000
MAX_XML_BYTES = 1 * 2 ** 20
MAX_JSON_BYTES = 16 * 2 ** 20
MAX_PNG_BYTES = 128 * 2 ** 20           # one PNG entry, still compressed
MAX_COORDINATE = 1_000_000              # layer positions and offsets, in pixels
MAX_TEXT = 1000                         # labels and categories


def png_bytes(pixels: np.ndarray | Image.Image) -> bytes:
    img = pixels if isinstance(pixels, Image.Image) else Image.fromarray(pixels)
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=4)  # fast enough for autosave, still small for line art
    return buf.getvalue()


def _color(c):
    return None if c is None else [int(v) for v in c]


def layer_metadata(layer: InstanceLayer) -> dict:
    return {
        "uid": layer.uid, "category": layer.category, "index": layer.index, "label": layer.label,
        "origin": list(layer.origin), "offset": list(layer.offset), "size": list(layer.size),
        "stroke_color": _color(layer.stroke_color), "fill_color": _color(layer.fill_color),
        "fill_opacity": layer.fill_opacity, "visible": layer.visible, "locked": layer.locked,
        "score": layer.score, "outline_color": _color(layer.outline_color),
    }


def save_ora(doc: SketchDocument, path: str | os.PathLike, progress: Callable[[float], None] | None = None) -> None:
    """Write the document as OpenRaster, atomically. ``progress(fraction)`` is called between layers
    and may raise to stop (the old file then stays)."""
    ET.register_namespace("sketchedit", SKETCHEDIT_NS)
    image = ET.Element("image", {"version": "0.0.5", "w": str(doc.width), "h": str(doc.height)})
    stack = ET.SubElement(image, "stack")
    meta = {"format": "sketchedit", "version": FORMAT_VERSION, "width": doc.width, "height": doc.height,
            "layers": []}
    entries: list[tuple[str, bytes]] = []
    for n, layer in enumerate(reversed(doc.layers)):  # stack.xml lists the top layer first
        if progress is not None:
            progress(n / (len(doc.layers) + 2))
        src = f"data/layer-{layer.uid}.png"
        x, y = layer.position
        attrs = {"name": layer.label, "src": src, "x": str(x), "y": str(y), "opacity": "1.0",
                 "visibility": "visible" if layer.visible else "hidden", "composite-op": "svg:src-over",
                 f"{{{SKETCHEDIT_NS}}}category": layer.category, f"{{{SKETCHEDIT_NS}}}uid": str(layer.uid)}
        if layer.locked:
            attrs["edit-locked"] = "true"
        ET.SubElement(stack, "layer", attrs)
        entries.append((src, png_bytes(layer.render_rgba())))
        ink = np.dstack([layer.ink_rgb, layer.ink_mask.astype(np.uint8) * 255])
        entries.append((f"sketchedit/ink-{layer.uid}.png", png_bytes(ink)))
        entries.append((f"sketchedit/region-{layer.uid}.png", png_bytes(layer.region_mask.astype(np.uint8) * 255)))
    ET.SubElement(stack, "layer", {"name": "Sketch", "src": "data/base.png", "x": "0", "y": "0", "opacity": "1.0",
                                   "visibility": "visible", "composite-op": "svg:src-over"})
    entries.append(("data/base.png", png_bytes(doc.base)))
    meta["layers"] = [layer_metadata(layer) for layer in doc.layers]  # bottom first, as in the document
    merged = Image.fromarray(doc.composite())
    thumb = merged.copy()
    thumb.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
    stack_xml = ET.tostring(image, encoding="utf-8", xml_declaration=True)

    with atomic_path(path, suffix=".ora") as tmp:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            # The spec requires mimetype first and uncompressed so `file` can sniff it.
            zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
            zf.writestr("stack.xml", stack_xml)
            for name, data in entries:
                zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)  # PNGs are already compressed
            zf.writestr("mergedimage.png", png_bytes(merged), compress_type=zipfile.ZIP_STORED)
            zf.writestr("Thumbnails/thumbnail.png", png_bytes(thumb), compress_type=zipfile.ZIP_STORED)
            zf.writestr(META_PATH, json.dumps(meta, indent=1))


class _Budget:
    """Pixels a file may still decode; every PNG is charged from its header before it is decoded."""

    def __init__(self, pixels: int):
        self.left = pixels

    def charge(self, name: str, width: int, height: int) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"{name} is empty ({width}x{height})")
        if width * height > MAX_CANVAS_PIXELS:
            raise ValueError(f"{name} is {width}x{height}: too large (at most {MAX_CANVAS_PIXELS // 1_000_000} "
                             "megapixels per layer)")
        self.left -= width * height
        if self.left < 0:
            raise ValueError(f"the layers together are too large (at most {MAX_DECODED_PIXELS // 1_000_000} "
                             "megapixels in one file)")


def _read_entry(zf: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """An entry's bytes, refused when its declared size is over ``limit`` (zip bombs)."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise ValueError(f"{name} is missing") from None
    if info.file_size > limit:
        raise ValueError(f"{name} is too large ({info.file_size} bytes)")
    return zf.read(info)


def _rgba(img: Image.Image) -> Image.Image:
    return img if img.mode == "RGBA" else img.convert("RGBA")  # convert() would copy even an RGBA image


def _read_png(zf: zipfile.ZipFile, name: str, budget: _Budget) -> Image.Image:
    """Decode one PNG entry after checking its header (IHDR) size against the budget."""
    data = _read_entry(zf, name, MAX_PNG_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))  # reads the header (IHDR) only
    except Image.DecompressionBombError:
        raise ValueError(f"{name} declares more than {Image.MAX_IMAGE_PIXELS * 2 // 1_000_000} megapixels") from None
    budget.charge(name, *img.size)
    img.load()
    return img


# ----------------------------------------------------------------------------- schema checks
def _int(value, what: str, lo: int = -MAX_COORDINATE, hi: int = MAX_COORDINATE) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{what} must be a whole number from {lo} to {hi}, not {value!r:.40}")
    return value


def _pair(value, what: str) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError(f"{what} must be a list of two whole numbers, not {value!r:.40}")
    return _int(value[0], what), _int(value[1], what)


def _rgb(value, what: str):
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise ValueError(f"{what} must be null or three numbers 0-255, not {value!r:.40}")
    return tuple(_int(v, what, 0, 255) for v in value)


def _number(value, what: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not lo <= value <= hi:
        raise ValueError(f"{what} must be a number from {lo} to {hi}, not {value!r:.40}")
    return float(value)


def _bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{what} must be true or false, not {value!r:.40}")
    return value


def _text(value, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ValueError(f"{what} must be a non-empty text of at most {MAX_TEXT} characters")
    return value


def _layer_record(m, n: int) -> dict:
    """One document.json layer entry, checked field by field (the message names the field)."""
    at = f"document.json layer {n}"
    if not isinstance(m, dict):
        raise ValueError(f"{at} must be an object, not {type(m).__name__}")
    return {
        "uid": _int(m.get("uid"), f"{at} uid", 1, 10 ** 9),
        "category": _text(m.get("category"), f"{at} category"),
        "index": _int(m.get("index"), f"{at} index", 0, 10 ** 6),
        "label": _text(m.get("label"), f"{at} label"),
        "origin": _pair(m.get("origin"), f"{at} origin"),
        "offset": _pair(m.get("offset", [0, 0]), f"{at} offset"),
        "stroke_color": _rgb(m.get("stroke_color"), f"{at} stroke_color"),
        "fill_color": _rgb(m.get("fill_color"), f"{at} fill_color"),
        "outline_color": _rgb(m.get("outline_color"), f"{at} outline_color") or OUTLINE_PALETTE[0],
        "fill_opacity": _number(m.get("fill_opacity", 0.5), f"{at} fill_opacity", 0.0, 1.0),
        "visible": _bool(m.get("visible", True), f"{at} visible"),
        "locked": _bool(m.get("locked", False), f"{at} locked"),
        "score": _number(m.get("score", 1.0), f"{at} score", -1e9, 1e9),
    }


def _document_meta(data: bytes) -> list[dict]:
    meta = json.loads(data)
    if not isinstance(meta, dict):
        raise ValueError(f"document.json must be an object, not {type(meta).__name__}")
    layers = meta.get("layers", [])
    if not isinstance(layers, list):
        raise ValueError("document.json layers must be a list")
    if len(layers) > MAX_LAYERS:
        raise ValueError(f"too many layers ({len(layers)}; at most {MAX_LAYERS})")
    records = [_layer_record(m, n) for n, m in enumerate(layers, start=1)]
    if len({r["uid"] for r in records}) != len(records):
        raise ValueError("document.json has two layers with the same uid")
    return records


def _stack_root(data: bytes) -> ET.Element:
    # No DTDs at all: entity tricks (billion laughs, external entities) need one.
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise ValueError("stack.xml declares a DTD or entities (not allowed)")
    root = ET.fromstring(data)
    if root.tag != "image":
        raise ValueError(f"stack.xml starts with <{root.tag:.40}>, not <image>")
    return root


def _canvas_size(root: ET.Element, name: str) -> tuple[int, int]:
    try:
        W, H = int(root.get("w", "0")), int(root.get("h", "0"))
    except ValueError:
        raise ValueError("stack.xml canvas size w/h is not a whole number") from None
    if W <= 0 or H <= 0:
        raise ImageError(f"{name} has an empty canvas ({W}x{H})")
    if W * H > MAX_CANVAS_PIXELS:
        raise ImageError(f"{name} is too large to open ({W}x{H}; at most "
                         f"{MAX_CANVAS_PIXELS // 1_000_000} megapixels)")
    return W, H


def _coordinate(el: ET.Element, key: str) -> int:
    try:
        value = float(el.get(key, "0"))
    except ValueError:
        raise ValueError(f"stack.xml layer {key}={el.get(key)!r:.40} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_COORDINATE:
        raise ValueError(f"stack.xml layer {key}={value:.40} is out of range")
    return int(value)


# ------------------------------------------------------------------------------------- reading
def load_ora(path: str | os.PathLike) -> SketchDocument:
    """Read an OpenRaster file (ours, or one saved by Krita/GIMP/MyPaint). Raises ImageError.

    Everything is checked before it is allocated: entry sizes, stack.xml and document.json against
    their schema, every PNG's size from its header against the canvas and the file's pixel budget."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    check_regular_file(path, name)
    try:
        with zipfile.ZipFile(path) as zf:
            if len(zf.infolist()) > MAX_ENTRIES:
                raise ValueError(f"too many entries ({len(zf.infolist())})")
            names = set(zf.namelist())
            if "stack.xml" not in names:
                raise ImageError(f"{name} is not an OpenRaster file (no stack.xml)")
            root = _stack_root(_read_entry(zf, "stack.xml", MAX_XML_BYTES))
            W, H = _canvas_size(root, name)
            budget = _Budget(MAX_DECODED_PIXELS)
            if META_PATH in names:
                doc = _load_ours(zf, _document_meta(_read_entry(zf, META_PATH, MAX_JSON_BYTES)), W, H, budget)
            else:
                doc = _import_foreign(zf, root, W, H, budget)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(f"{name} is too large to fit in memory") from None
    except Exception as exc:  # noqa: BLE001 - any flaw of a crafted file is "damaged", never a crash
        raise ImageError(f"{name} is damaged or not an OpenRaster file: {_reason(exc)}") from None
    doc.path = path
    return doc


def _reason(exc: Exception) -> str:
    if isinstance(exc, (ValueError, zipfile.BadZipFile, ET.ParseError)) and str(exc):
        return str(exc).splitlines()[0][:200]
    if isinstance(exc, OSError):
        return exc.strerror or exc.__class__.__name__
    return exc.__class__.__name__


def _layer_pixels(zf: zipfile.ZipFile, record: dict, W: int, H: int, budget: _Budget):
    """(ink mask, ink rgb, region mask) of one of our layers, sizes checked against each other."""
    uid = record["uid"]
    ink = _read_png(zf, f"sketchedit/ink-{uid}.png", budget)
    region = _read_png(zf, f"sketchedit/region-{uid}.png", budget)
    if ink.size != region.size or ink.width > W or ink.height > H:
        raise ValueError(f"layer {uid}: its masks are {ink.size} and {region.size} on a {W}x{H} canvas")
    rgba = np.asarray(_rgba(ink))
    return rgba[..., 3] > 127, rgba[..., :3].copy(), np.asarray(region.convert("L")) > 127


def _load_ours(zf: zipfile.ZipFile, records: list[dict], W: int, H: int, budget: _Budget) -> SketchDocument:
    base_png = _read_png(zf, "data/base.png", budget)
    if base_png.size != (W, H):
        raise ValueError(f"the base layer is {base_png.size[0]}x{base_png.size[1]}, the canvas {W}x{H}")
    doc = SketchDocument(to_rgb_on_white(base_png))
    for r in records:
        ink_mask, ink_rgb, region = _layer_pixels(zf, r, W, H, budget)
        doc.layers.append(InstanceLayer(
            uid=r["uid"], category=r["category"], index=r["index"], label=r["label"],
            ink_mask=ink_mask, ink_rgb=ink_rgb, region_mask=region, origin=r["origin"], offset=r["offset"],
            stroke_color=r["stroke_color"], fill_color=r["fill_color"], fill_opacity=r["fill_opacity"],
            visible=r["visible"], locked=r["locked"], score=r["score"], outline_color=r["outline_color"],
        ))
    doc._reserve_uids(layer.uid for layer in doc.layers)
    return doc


def _foreign_layers(zf: zipfile.ZipFile, root: ET.Element) -> list[ET.Element]:
    elements = [el for el in root.iter("layer") if el.get("src")]
    if not elements:
        raise ValueError("no layers")
    if len(elements) > MAX_LAYERS:
        raise ValueError(f"too many layers ({len(elements)}; at most {MAX_LAYERS})")
    names = set(zf.namelist())
    missing = [el.get("src") for el in elements if el.get("src") not in names]
    if missing:
        raise ValueError(f"stack.xml names {missing[0]!r:.80}, which is not in the file")
    elements.reverse()  # bottom first
    return elements


def _import_foreign(zf: zipfile.ZipFile, root: ET.Element, W: int, H: int, budget: _Budget) -> SketchDocument:
    """Layers from another editor: the bottom one becomes the base, the others instances."""
    elements = _foreign_layers(zf, root)
    paper = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    bottom = elements[0]
    paper.alpha_composite(_rgba(_read_png(zf, bottom.get("src"), budget)),
                          (_coordinate(bottom, "x"), _coordinate(bottom, "y")))
    base = np.asarray(paper.convert("RGB"))
    del paper
    doc = SketchDocument(base)  # the document copies it
    del base
    for n, el in enumerate(elements[1:], start=1):
        x, y = _coordinate(el, "x"), _coordinate(el, "y")
        rgba = np.asarray(_rgba(_read_png(zf, el.get("src"), budget)))
        label = (el.get("name") or f"layer {n}")[:MAX_TEXT]
        match = re.match(r"^(.*?)\s*(\d{1,6})$", label)
        category, index = (match.group(1) or "object", int(match.group(2))) if match else (label, 1)
        mask = rgba[..., 3] > 0
        doc.layers.append(InstanceLayer(
            uid=doc._new_uid(), category=category, index=index, label=label,
            ink_mask=mask, ink_rgb=rgba[..., :3].copy(), region_mask=mask.copy(), origin=(x, y),
            visible=el.get("visibility", "visible") != "hidden", locked=el.get("edit-locked") == "true",
            outline_color=OUTLINE_PALETTE[n % len(OUTLINE_PALETTE)],
        ))
    return doc
