"""Reading sketches from image files: any mode, any size, with clear errors.

The one loader and its limits live in grmnet.imaging (the model reads files the same way); this
module keeps the app's names. No Qt here: the CLI and the app share it.
"""
from __future__ import annotations

import os

import numpy as np

from grmnet.imaging import IMAGE_SUFFIXES, MAX_PIXELS, MAX_SIDE, load_image, to_rgb_on_white

__all__ = ["IMAGE_SUFFIXES", "MAX_PIXELS", "MAX_SIDE", "load_sketch", "to_rgb_on_white"]


def load_sketch(path: str | os.PathLike, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str | None]:
    """Read an image file as an RGB sketch of dark ink on white. Returns (pixels, notice) where
    notice says what was changed on the way in (downscaled, inverted), or None. Raises ImageError."""
    return load_image(path, max_side)
