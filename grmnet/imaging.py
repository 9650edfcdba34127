"""Image normalisation: any file / mode / bit depth -> grey uint8, ink masks, and the model's input tensor."""
from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from grmnet.errors import ImageError

MAX_PIXELS = 100_000_000  # above this, decoding alone would take GBs: refuse with a clear message


def to_grey(image) -> np.ndarray:
    """Path / PIL image / numpy array (grey, RGB, RGBA, palette, 16-bit, float) -> grey uint8 [H, W].

    Transparent pixels become white paper (sketch PNGs often store ink on a transparent layer).
    """
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise ImageError(f"{path}: no such image file")
        try:
            with Image.open(path) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise ImageError(f"{path}: {im.width}x{im.height} is too large (max {MAX_PIXELS // 1_000_000} MP)")
                im.load()
                return to_grey(im)
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
            raise ImageError(f"{path}: not a readable image ({exc.__class__.__name__})") from exc
    if isinstance(image, Image.Image):
        if image.width == 0 or image.height == 0:
            raise ImageError("the image is empty (zero width or height)")
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            arr = np.asarray(image, dtype=np.float64)
            peak = 65535.0 if arr.max() > 255 else 255.0
            return np.clip(arr / peak * 255.0, 0, 255).astype(np.uint8)
        if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(white, rgba).convert("L"))
        return np.asarray(image.convert("L"))
    arr = np.asarray(image)
    if arr.size == 0 or arr.ndim < 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError("the image is empty (zero width or height)")
    if arr.dtype == np.uint16:
        arr = (arr / 257.0).astype(np.uint8)
    elif arr.dtype in (np.float32, np.float64):
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif arr.dtype == bool:
        arr = np.where(arr, 0, 255).astype(np.uint8)
    elif arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        return arr
    if arr.shape[2] == 4:
        return to_grey(Image.fromarray(arr, "RGBA"))
    if arr.shape[2] == 3:
        return np.asarray(Image.fromarray(arr, "RGB").convert("L"))
    if arr.shape[2] == 1:
        return arr[:, :, 0]
    raise ImageError(f"unsupported image shape {arr.shape}")


def ink_mask(grey: np.ndarray, threshold: int = 128) -> np.ndarray:
    """SketchyScene convention: ink = grey value below 128 at the image's original resolution."""
    return grey < threshold


@dataclass
class ModelInput:
    """One image resized for the network: long side = input_size, padded bottom/right to a square."""
    tensor: torch.Tensor        # [3, S, S] float, ink = 1, paper = 0
    scale: float                # input pixels per original pixel
    size: tuple[int, int]       # (h, w) of the resized image inside the padded square
    original_size: tuple[int, int]


def model_input(grey: np.ndarray, input_size: int) -> ModelInput:
    h, w = grey.shape
    scale = input_size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    ink = torch.from_numpy(grey.astype(np.float32)).div_(255.0).neg_().add_(1.0)[None, None]   # ink = 1
    # area averaging keeps thin strokes visible when shrinking (bilinear would drop 1-px lines)
    resized = F.interpolate(ink, size=(nh, nw), mode="area" if scale < 1 else "bilinear", align_corners=None if scale < 1 else False)
    padded = torch.zeros((1, 1, input_size, input_size))
    padded[..., :nh, :nw] = resized
    return ModelInput(padded[0].expand(3, -1, -1).contiguous(), scale, (nh, nw), (h, w))


class SketchCache:
    """Small LRU of expression-independent work per sketch, keyed by the image's content, so a second
    expression on the same (unchanged) sketch skips the backbone."""

    def __init__(self, size: int = 4):
        self.size = size
        self._items: "OrderedDict[str, object]" = OrderedDict()

    @staticmethod
    def key(grey: np.ndarray) -> str:
        return hashlib.blake2b(grey.tobytes(), digest_size=16).hexdigest() + str(grey.shape)

    def get_or_make(self, grey: np.ndarray, make):
        """-> (cached or freshly made value, whether it was made now)"""
        key = self.key(grey)
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key], False
        value = make()
        self._items[key] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value, True

    def clear(self) -> None:
        self._items.clear()
