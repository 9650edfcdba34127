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
import os
import re
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
from PIL import Image

from grmnet.errors import ImageError
from sketchedit.atomic import atomic_path
from sketchedit.document import OUTLINE_PALETTE, InstanceLayer, SketchDocument
from sketchedit.images import MAX_DECODE_PIXELS, to_rgb_on_white

MIMETYPE = "image/openraster"
META_PATH = "sketchedit/document.json"
SKETCHEDIT_NS = "https://github.com/sketchedit/sketchedit/ns/ora"
FORMAT_VERSION = 1
THUMBNAIL_SIZE = 256


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


def save_ora(doc: SketchDocument, path: str | os.PathLike) -> None:
    """Write the document as OpenRaster, atomically."""
    ET.register_namespace("sketchedit", SKETCHEDIT_NS)
    image = ET.Element("image", {"version": "0.0.5", "w": str(doc.width), "h": str(doc.height)})
    stack = ET.SubElement(image, "stack")
    meta = {"format": "sketchedit", "version": FORMAT_VERSION, "width": doc.width, "height": doc.height,
            "layers": []}
    entries: list[tuple[str, bytes]] = []
    for layer in reversed(doc.layers):  # stack.xml lists the top layer first
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


def _read_png(zf: zipfile.ZipFile, name: str) -> Image.Image:
    with zf.open(name) as fh:
        img = Image.open(io.BytesIO(fh.read()))
        img.load()
    return img


def _tuple(c):
    return None if c is None else tuple(int(v) for v in c)


def load_ora(path: str | os.PathLike) -> SketchDocument:
    """Read an OpenRaster file (ours, or one saved by Krita/GIMP/MyPaint). Raises ImageError."""
    path = os.fspath(path)
    name = os.path.basename(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if "stack.xml" not in names:
                raise ImageError(f"{name} is not an OpenRaster file (no stack.xml)")
            root = ET.fromstring(zf.read("stack.xml"))
            W, H = int(root.get("w", "0")), int(root.get("h", "0"))
            if W <= 0 or H <= 0:
                raise ImageError(f"{name} has an empty canvas ({W}x{H})")
            if W * H > MAX_DECODE_PIXELS:
                raise ImageError(f"{name} is too large to open ({W}x{H})")
            if META_PATH in names:
                doc = _load_ours(zf, json.loads(zf.read(META_PATH)), W, H)
            else:
                doc = _import_foreign(zf, root, W, H)
    except ImageError:
        raise
    except (zipfile.BadZipFile, ET.ParseError, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise ImageError(f"{name} is damaged or not an OpenRaster file: {exc}") from None
    except OSError as exc:
        raise ImageError(f"{name} cannot be read: {exc.strerror or exc}") from None
    doc.path = path
    return doc


def _load_ours(zf: zipfile.ZipFile, meta: dict, W: int, H: int) -> SketchDocument:
    base = to_rgb_on_white(_read_png(zf, "data/base.png"))
    if base.shape[:2] != (H, W):
        raise ValueError("base layer size does not match the canvas")
    doc = SketchDocument(base)
    for m in meta["layers"]:
        uid = int(m["uid"])
        ink = np.asarray(_read_png(zf, f"sketchedit/ink-{uid}.png").convert("RGBA"))
        region = np.asarray(_read_png(zf, f"sketchedit/region-{uid}.png").convert("L")) > 127
        doc.layers.append(InstanceLayer(
            uid=uid, category=m["category"], index=int(m["index"]), label=m["label"],
            ink_mask=ink[..., 3] > 127, ink_rgb=ink[..., :3].copy(), region_mask=region,
            origin=tuple(m["origin"]), offset=tuple(m["offset"]),
            stroke_color=_tuple(m.get("stroke_color")), fill_color=_tuple(m.get("fill_color")),
            fill_opacity=float(m.get("fill_opacity", 0.5)), visible=bool(m.get("visible", True)),
            locked=bool(m.get("locked", False)), score=float(m.get("score", 1.0)),
            outline_color=_tuple(m.get("outline_color")) or OUTLINE_PALETTE[0],
        ))
    doc._reserve_uids(layer.uid for layer in doc.layers)
    return doc


def _import_foreign(zf: zipfile.ZipFile, root: ET.Element, W: int, H: int) -> SketchDocument:
    """Layers from another editor: the bottom one becomes the base, the others instances."""
    elements = [el for el in root.iter("layer") if el.get("src")]
    if not elements:
        raise ValueError("no layers")
    elements.reverse()  # bottom first
    paper = Image.new("RGBA", (W, H), (255, 255, 255, 255))
    bottom = elements[0]
    paper.alpha_composite(_read_png(zf, bottom.get("src")).convert("RGBA"),
                          (int(float(bottom.get("x", 0))), int(float(bottom.get("y", 0)))))
    doc = SketchDocument(np.asarray(paper.convert("RGB")).copy())
    for n, el in enumerate(elements[1:], start=1):
        rgba = np.asarray(_read_png(zf, el.get("src")).convert("RGBA"))
        label = el.get("name") or f"layer {n}"
        match = re.match(r"^(.*?)\s*(\d+)$", label)
        category, index = (match.group(1) or "object", int(match.group(2))) if match else (label, 1)
        mask = rgba[..., 3] > 0
        doc.layers.append(InstanceLayer(
            uid=doc._new_uid(), category=category, index=index, label=label,
            ink_mask=mask, ink_rgb=rgba[..., :3].copy(), region_mask=mask.copy(),
            origin=(int(float(el.get("x", 0))), int(float(el.get("y", 0)))),
            visible=el.get("visibility", "visible") != "hidden", locked=el.get("edit-locked") == "true",
            outline_color=OUTLINE_PALETTE[n % len(OUTLINE_PALETTE)],
        ))
    return doc
