"""Reading sketches from image files: any mode, any size, with clear errors.

No Qt here: the CLI and the app share it.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from grmnet.errors import ImageError

# Longest side kept on open; larger sketches are downscaled (with a notice) so the canvas,
# the undo history and the model stay responsive.
MAX_SIDE = 4096
# Beyond this many pixels we refuse to decode at all (a 100k x 100k PNG would need 30 GB).
MAX_DECODE_PIXELS = 32768 * 32768
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def to_rgb_on_white(img: Image.Image) -> np.ndarray:
    """Any PIL image (1, L, LA, P, RGB, RGBA, I;16, CMYK...) as RGB uint8 on white paper."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, np.float64)
        hi = float(arr.max()) or 1.0
        img = Image.fromarray(np.clip(arr / hi * 255.0, 0, 255).astype(np.uint8), "L")
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if has_alpha:
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(paper, rgba).convert("RGB")).copy()
    return np.asarray(img.convert("RGB")).copy()


def load_sketch(path: str | os.PathLike, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str | None]:
    """Read an image file as an RGB sketch. Returns (pixels, notice) where notice says
    what was changed on the way in (downscaling), or None. Raises ImageError."""
    path = os.fspath(path)
    name = os.path.basename(path)
    if not os.path.exists(path):
        raise ImageError(f"{name}: no such file")
    if os.path.isdir(path):
        raise ImageError(f"{name} is a folder, not an image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            old_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = MAX_DECODE_PIXELS
            try:
                with Image.open(path) as img:
                    w, h = img.size
                    if w <= 0 or h <= 0:
                        raise ImageError(f"{name} is empty (zero size)")
                    notice = None
                    scale = max(w, h) / max_side
                    if scale > 1:
                        # JPEG can decode straight at a reduced size; others shrink after decoding.
                        img.draft("RGB", (int(w / scale), int(h / scale)))
                    img = ImageOps.exif_transpose(img)
                    img.load()
            finally:
                Image.MAX_IMAGE_PIXELS = old_limit
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name} is too large to open ({MAX_DECODE_PIXELS // 1_000_000} megapixels at most)") from None
    except (UnidentifiedImageError, SyntaxError) as exc:
        raise ImageError(f"{name} is not an image this app can read ({exc.__class__.__name__})") from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"{name} cannot be read: {exc}") from None
    except MemoryError:
        raise ImageError(f"{name} is too large to fit in memory") from None
    if scale > 1:
        new_size = (max(1, round(w / scale)), max(1, round(h / scale)))
        if img.mode == "1":  # 1-bit images shrink badly; grey keeps strokes visible
            img = img.convert("L")
        # reduce() first is a fast integer box filter, then an exact resize.
        factor = int(scale)
        if factor >= 2:
            img = img.reduce(factor)
        img = img.resize(new_size, Image.Resampling.LANCZOS if img.mode not in ("P",) else Image.Resampling.NEAREST)
        notice = f"{name} is {w}x{h}; downscaled to {new_size[0]}x{new_size[1]} for editing"
    rgb = to_rgb_on_white(img)
    if rgb.size == 0:
        raise ImageError(f"{name} is empty (zero size)")
    return rgb, notice
