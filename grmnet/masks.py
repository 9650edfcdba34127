"""Mask encodings: COCO compressed RLE (pycocotools) in image coordinates."""
from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils


def encode_rle(mask: np.ndarray, text: bool = True) -> dict:
    """bool [H, W] -> {"size": [H, W], "counts": str} (text=False: pycocotools' own form, counts as bytes)"""
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    if not text:
        return rle
    return {"size": [int(s) for s in rle["size"]], "counts": rle["counts"].decode("ascii")}


def decode_rle(rle: dict) -> np.ndarray:
    """{"size", "counts"} -> bool [H, W]"""
    counts = rle["counts"]
    return mask_utils.decode({"size": rle["size"], "counts": counts.encode("ascii") if isinstance(counts, str)
                              else counts}).astype(bool)


def mask_bbox(mask: np.ndarray) -> list[float]:
    """bool [H, W] -> [x, y, w, h] of its pixels (zeros for an empty mask)."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()), float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]
