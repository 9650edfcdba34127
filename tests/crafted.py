"""Hostile-but-realistic input files, generated on the fly (no binaries in the repository).

PNGs are written row by row through zlib, so a 30000 x 30000 file costs a few hundred KB of
memory to make, like the few-KB "decompression bombs" a user may meet.
"""
from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> channels
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def blank_png(width: int, height: int, color_type: int = 0, bit_depth: int = 8, value: int = 255,
              rows: int | None = None, palette: bytes | None = None, trns: bytes | None = None) -> bytes:
    """A PNG of ``width`` x ``height`` filled with ``value`` bytes. ``rows`` limits how many rows of
    pixel data are really written (a truncated file), None = all of them."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    out = [PNG_SIGNATURE, png_chunk(b"IHDR", ihdr)]
    if color_type == 3:
        out.append(png_chunk(b"PLTE", palette or bytes([255, 255, 255, 0, 0, 0])))
    if trns is not None:
        out.append(png_chunk(b"tRNS", trns))
    row_bytes = (width * CHANNELS[color_type] * bit_depth + 7) // 8
    row = b"\x00" + bytes([value]) * row_bytes
    packer = zlib.compressobj(9)
    data = []
    for _ in range(height if rows is None else min(rows, height)):
        data.append(packer.compress(row))
    data.append(packer.flush())
    out.append(png_chunk(b"IDAT", b"".join(data)))
    out.append(png_chunk(b"IEND", b""))
    return b"".join(out)


def header_only_png(width: int, height: int, color_type: int = 6) -> bytes:
    """A valid header declaring any size, with almost no pixel data (must be refused unread)."""
    return (PNG_SIGNATURE + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + png_chunk(b"IEND", b""))


def small_png(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()


def stack_xml(w: int | str = 40, h: int | str = 30, layers=(("data/base.png", 0, 0),), extra: str = "") -> bytes:
    items = "".join(f'<layer name="l{n}" src="{src}" x="{x}" y="{y}"/>' for n, (src, x, y) in enumerate(layers))
    return f'<?xml version="1.0"?>{extra}<image version="0.0.5" w="{w}" h="{h}"><stack>{items}</stack></image>'.encode()


def ora_bytes(entries: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("mimetype", "image/openraster")
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def our_layer(uid: int = 1, **overrides) -> dict:
    record = {"uid": uid, "category": "cat", "index": 1, "label": "cat 1", "origin": [2, 3], "offset": [0, 0],
              "size": [10, 8], "stroke_color": None, "fill_color": None, "fill_opacity": 0.5, "visible": True,
              "locked": False, "score": 0.9, "outline_color": [230, 25, 75]}
    record.update(overrides)
    return record


def our_ora(meta=None, layer_png: bytes | None = None, w: int = 40, h: int = 30, **stack) -> bytes:
    """An ORA in SketchEdit's own layout with one 10x8 layer; ``meta`` replaces document.json."""
    base = small_png(np.full((h, w, 3), 255, np.uint8))
    layer = layer_png or small_png(np.zeros((8, 10, 4), np.uint8))
    region = small_png(np.zeros((8, 10), np.uint8))
    if meta is None:
        meta = {"format": "sketchedit", "version": 1, "width": w, "height": h, "layers": [our_layer()]}
    return ora_bytes({"stack.xml": stack_xml(w, h, **stack), "data/base.png": base, "data/layer-1.png": layer,
                      "sketchedit/ink-1.png": layer, "sketchedit/region-1.png": region,
                      "sketchedit/document.json": meta if isinstance(meta, (bytes, str)) else json.dumps(meta)})
