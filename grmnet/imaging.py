"""Image normalisation: any file / mode / bit depth -> RGB or grey uint8 of dark ink on light paper, ink
masks, and the model's input tensor.

One loader (``load_image``) with one set of limits serves the model and the app: the pixel count and
the decoded size are checked from the file's header before any pixel is decoded, JPEGs decode straight
at a reduced size, larger images shrink strip by strip (no full-size converted copy), so any file
stays well under 1.5 GB of memory. Transparent drawings go onto paper; light-on-dark drawings are
inverted (``normalise_polarity``), so the model always sees dark ink on light paper.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import threading
import warnings
from typing import TYPE_CHECKING
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from grmnet.errors import ImageError

# Longest side kept on open; larger sketches are downscaled (with a notice): the model works at a few
# hundred pixels, and the app's canvas, undo history and exports stay responsive.
MAX_SIDE = 4096
# Refused before decoding: more pixels than this (20000 x 20000) ...
MAX_PIXELS = 400_000_000
# ... or a decoded raster larger than this in PIL's own storage (1 byte/pixel for 1/L/P, 2 for 16-bit
# grey, 4 for everything else: RGB is stored as 4 bytes), so 100 megapixels of colour. Shrinking adds
# only a strip's worth; with torch loaded (~650 MB) a process stays under ~1.2 GB.
MAX_DECODE_BYTES = 400_000_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".gif")
# Pixels converted at a time when shrinking a large image.
_STRIP_PIXELS = 4_000_000
_ONE_BYTE_MODES = ("1", "L", "P")
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")
_NUMERIC_MODES = _SIXTEEN_BIT_MODES + ("I", "F")
_pil_limit_lock = threading.Lock()


def bytes_per_pixel(mode: str) -> int:
    """Bytes one decoded pixel takes in PIL's storage."""
    if mode in _ONE_BYTE_MODES:
        return 1
    if mode in _SIXTEEN_BIT_MODES:
        return 2
    return 4


def check_decode_size(width: int, height: int, mode: str, name: str) -> None:
    """Raise ImageError when decoding a ``width`` x ``height`` raster in ``mode`` would break the limits."""
    if width <= 0 or height <= 0:
        raise ImageError(f"{name} is empty (zero size)")
    pixels = width * height
    if pixels > MAX_PIXELS or pixels * bytes_per_pixel(mode) > MAX_DECODE_BYTES:
        most = min(MAX_PIXELS, MAX_DECODE_BYTES // bytes_per_pixel(mode)) // 1_000_000
        raise ImageError(f"{name} is {width}x{height} ({pixels / 1e6:.0f} megapixels): too large to open "
                         f"(at most {most} megapixels for a {mode} image)")


# ---------------------------------------------------------------------------------- pixel values
def luma(rgb: np.ndarray) -> np.ndarray:
    """Grey uint8 [H, W] of an RGB uint8 [H, W, 3] array; exactly PIL's convert("L") (ITU-R 601-2).
    Works in bands of rows so its 32-bit temporaries stay small on large sketches."""
    out = np.empty(rgb.shape[:2], np.uint8)
    for top in range(0, rgb.shape[0], 256):
        band = rgb[top:top + 256]
        acc = band[..., 0].astype(np.uint32) * 19595
        acc += band[..., 1].astype(np.uint32) * 38470
        acc += band[..., 2].astype(np.uint32) * 7471
        acc += 0x8000
        acc >>= 16
        out[top:top + 256] = acc
    return out


def ink_mask(grey: np.ndarray, threshold: int = 128) -> np.ndarray:
    """SketchyScene convention: ink = grey value below 128 at the image's original resolution.
    The one definition of ink, for the model and the app."""
    return grey < threshold


# Lighter than this is paper; between ink (grey < 128) and this lie a stroke's anti-aliased edges (its fringe).
FRINGE_LEVEL = 235
# px: a fringe pixel belongs to the stroke whose ink lies this close (farther: a faint stroke of its own).
FRINGE_DISTANCE = 2.0


def soft_ink_mask(grey: np.ndarray, level: int = FRINGE_LEVEL) -> np.ndarray:
    """Every pixel that is not paper: ink and its anti-aliased fringe (grey < `level`)."""
    return grey < level


def spread_to_fringe(owner: np.ndarray, ink: np.ndarray, soft_ink: np.ndarray,
                     max_distance: float = FRINGE_DISTANCE) -> np.ndarray:
    """Give the fringe (soft pixels that are not ink) the owner of the nearest ink pixel within `max_distance`,
    so a lifted object takes its soft edges along instead of leaving a grey ghost behind.

    owner int [H, W] (-1 = none; read on ink pixels), ink bool [H, W], soft_ink bool [H, W] -> int32 [H, W]
    """
    import cv2  # here: the rest of this module does without OpenCV
    out = owner.astype(np.int32).copy()
    if not ink.any():
        return out
    dist, nearest = cv2.distanceTransformWithLabels((~ink).astype(np.uint8), cv2.DIST_L2, 5,
                                                    labelType=cv2.DIST_LABEL_PIXEL)
    table = np.concatenate([[-1], owner[ink]]).astype(np.int32)   # ink pixels are numbered in scan order
    grow = soft_ink & ~ink & (dist <= max_distance)
    out[grow] = table[nearest[grow]]
    return out


def liftable_inks(grey: np.ndarray, inks) -> list[np.ndarray]:
    """The one definition of what lifting an object takes off a sketch: its ink (grmnet.imaging.ink_mask) plus the
    anti-aliased fringe around that ink. Every lift, move, recolour and export path cuts layers with this.

    grey uint8 [H, W]; inks: bool [H, W] masks (an earlier mask wins a pixel two claim) -> disjoint bool masks
    """
    ink = ink_mask(grey)
    owner = np.full(grey.shape, -1, np.int32)
    for i, m in enumerate(inks):
        owner[m & ink & (owner < 0)] = i
    owner = spread_to_fringe(owner, ink, soft_ink_mask(grey))
    return [owner == i for i in range(len(inks))]


def is_inverted(grey: np.ndarray) -> bool:
    """Light lines on a dark background: the border is dark and so is most of the picture.

    Both must hold, so a dark frame around a normal sketch, or large dark fills inside one, are
    not mistaken for an inverted drawing."""
    h, w = grey.shape[:2]
    if h < 3 or w < 3:
        return False
    border = np.concatenate([grey[0], grey[-1], grey[1:-1, 0], grey[1:-1, -1]])
    sample = grey[:: max(1, h // 512), :: max(1, w // 512)]  # a few hundred thousand pixels at most
    return float(np.median(border)) < 100 and float((sample < 128).mean()) > 0.5


def normalise_polarity(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """(dark-ink-on-light pixels, whether they were inverted) of a grey [H, W] or RGB [H, W, 3] uint8 array."""
    grey = pixels if pixels.ndim == 2 else luma(pixels)
    if is_inverted(grey):
        return 255 - pixels, True
    return pixels, False


# ------------------------------------------------------------------------ photographed / scanned paper
# A photo or scan of a paper sketch: grey, tinted, unevenly lit paper and lines of pencil grey, where the model
# (and the ink threshold, grey < 128) expect white paper and dark lines, as drawing apps and SketchyScene give.
PAPER_WINDOW = 0.04      # of the long side: the paper is the lightest value this close (wider than any stroke)
WHITE_PAPER = 245        # median paper at least this light: a digital drawing, left exactly as it is
COLOURFUL = 40           # median colourfulness (max - min channel) above this: coloured artwork, left as it is
FAINT_INK = 60           # after evening out, lines whose darkest part is lighter than this are darkened


def paper_level(grey: np.ndarray) -> np.ndarray:
    """float32 [H, W]: the paper's brightness under each pixel, lines removed (the lightest value within
    PAPER_WINDOW of the long side, smoothed)."""
    import cv2  # here, as in spread_to_fringe
    h, w = grey.shape
    k = max(3, int(round(PAPER_WINDOW * max(h, w))) | 1)
    lightest = cv2.dilate(grey, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return cv2.blur(lightest, (k, k)).astype(np.float32)


def even_out_paper(pixels: np.ndarray) -> tuple[np.ndarray, bool]:
    """(pixels on even white paper, whether anything changed) of a grey [H, W] or RGB [H, W, 3] uint8 array of
    dark ink on light paper. A drawing whose paper is already white is returned as it is (the same array), so
    digital sketches are never touched, and neither is coloured artwork; a photo or scan is divided by its paper
    level, per colour channel (lighting and tint go), then stretched so that its paper is white and, when its
    lines are pencil-faint, its darkest lines dark."""
    if pixels.size == 0 or min(pixels.shape[:2]) < 8:
        return pixels, False
    # fast path (every query of a digital sketch passes here): its median pixel is white paper
    step = max(1, max(pixels.shape[:2]) // 256)
    sample = pixels[::step, ::step]
    if float(np.median(sample if sample.ndim == 2 else luma(np.ascontiguousarray(sample)))) >= WHITE_PAPER:
        return pixels, False
    grey = pixels if pixels.ndim == 2 else luma(pixels)
    if float(np.median(paper_level(grey))) >= WHITE_PAPER:     # mostly dark fills on white paper
        return pixels, False
    if pixels.ndim == 3:   # a painted page is not paper: its fills would be whitened away
        sample = sample.astype(np.int16)
        if float(np.median(sample.max(-1) - sample.min(-1))) > COLOURFUL:
            return pixels, False
    channels = [pixels] if pixels.ndim == 2 else [pixels[..., c] for c in range(pixels.shape[2])]
    flat = [np.minimum(c.astype(np.float32) * (255.0 / np.maximum(paper_level(c), 1.0)), 255.0) for c in channels]
    flat_grey = flat[0] if pixels.ndim == 2 else luma(np.stack(flat, -1).astype(np.uint8)).astype(np.float32)
    # white: the median pixel, which is paper in a sketch (the paper level above sits on the noise's peaks);
    # black: the darkest lines when they are pencil-faint, else black itself
    white = float(np.median(flat_grey))
    darkest = float(np.percentile(flat_grey, 0.5))
    black = darkest if FAINT_INK < darkest < min(200.0, white - 20) else 0.0
    flat = [(c - black) * (255.0 / max(white - black, 1.0)) for c in flat]
    out = np.clip(flat[0] if pixels.ndim == 2 else np.stack(flat, -1), 0, 255).astype(np.uint8)
    return out, True


# ----------------------------------------------------------------------------- PIL image -> paper
def _sixteen_bit_peak(img: Image.Image) -> float:
    lo, hi = img.getextrema()
    return 65535.0 if hi > 255 else 255.0


def _numeric_to_l(img: Image.Image, peak: float) -> Image.Image:
    arr = np.asarray(img, dtype=np.float32)
    return Image.fromarray(np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8), "L")


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (img.mode == "P" and "transparency" in img.info) \
        or (img.mode in ("L", "RGB") and "transparency" in img.info)


def paper_for(img: Image.Image) -> int:
    """Paper brightness to put a transparent drawing on: white, unless its ink is light (a drawing
    made for a dark background), which would vanish on white: then black (inverted later)."""
    if not _has_alpha(img):
        return 255
    w, h = img.size
    sample = img.resize((min(w, 256), min(h, 256)), Image.Resampling.NEAREST).convert("RGBA")
    rgba = np.asarray(sample)
    opaque = rgba[..., 3] > 127
    if not opaque.any():
        return 255
    return 0 if float(np.median(luma(rgba[..., :3])[opaque])) > 160 else 255


def flatten(img: Image.Image, paper: int = 255, peak: float | None = None) -> Image.Image:
    """Any PIL mode -> "L" or "RGB" with transparency composited onto ``paper`` (0..255)."""
    if img.mode == "1":
        return img.convert("L")
    if img.mode in _NUMERIC_MODES:
        return _numeric_to_l(img, peak or (_sixteen_bit_peak(img) if img.mode in _SIXTEEN_BIT_MODES else 255.0))
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (paper, paper, paper, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode == "L":
        return img
    return img.convert("RGB")


def to_rgb_on_white(img: Image.Image) -> np.ndarray:
    """Any PIL image (1, L, LA, P, RGB, RGBA, I;16, CMYK...) as RGB uint8 with transparency on paper."""
    return np.asarray(flatten(img, paper_for(img)).convert("RGB")).copy()


def _shrink(img: Image.Image, new_size: tuple[int, int]) -> Image.Image:
    """Downscale a decoded image to ``new_size`` in strips, so no full-size converted copy exists."""
    w, h = img.size
    paper = paper_for(img)
    peak = _sixteen_bit_peak(img) if img.mode in _SIXTEEN_BIT_MODES else None
    factor = max(1, min(w // new_size[0], h // new_size[1]))  # exact box averaging first
    rows = max(factor, (_STRIP_PIXELS // max(w, 1)) // factor * factor)
    out = None
    for top in range(0, h, rows):
        strip = flatten(img.crop((0, top, w, min(top + rows, h))), paper, peak)
        if factor > 1:
            strip = strip.reduce(factor)
        if out is None:
            out = Image.new(strip.mode, (-(-w // factor), -(-h // factor)), paper if strip.mode == "L" else (paper,) * 3)
        out.paste(strip, (0, top // factor))
    return out.resize(new_size, Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------------------- files
def check_regular_file(path: str, name: str) -> None:
    """Raise ImageError unless ``path`` is an existing regular file (never block on a pipe or a device)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageError(f"{name}: no such file") from None
    except OSError as exc:
        raise ImageError(f"{name} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise ImageError(f"{name} is a folder, not an image")
    if not stat.S_ISREG(mode):
        raise ImageError(f"{name} is not a regular file (a device or a pipe?)")


@contextlib.contextmanager
def _opened(path: str):
    """Image.open with PIL's own bomb check widened to our limit (ours, from the header, is stricter
    in bytes); the lock keeps threads from restoring each other's setting."""
    with _pil_limit_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            img = Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = old
    with img:
        yield img


def _decode(path: str, name: str, max_side: int | None) -> tuple[Image.Image, tuple[int, int], tuple[int, int] | None]:
    """(decoded image, original size, size to shrink to or None), limits checked before decoding."""
    with _opened(path) as img:
        w, h = img.size
        if w <= 0 or h <= 0:
            raise ImageError(f"{name} is empty (zero size)")
        target = None
        if max_side and max(w, h) > max_side:
            scale = max(w, h) / max_side
            target = (max(1, round(w / scale)), max(1, round(h / scale)))
            img.draft(img.mode if img.mode in ("L", "RGB", "CMYK") else "RGB", target)  # JPEG: decode smaller
        check_decode_size(img.size[0], img.size[1], img.mode, name)
        img.load()
        return img, (w, h), target


def load_image(path: str | os.PathLike, max_side: int | None = MAX_SIDE) -> tuple[np.ndarray, str | None]:
    """Read an image file as RGB uint8 [H, W, 3] of dark ink on light paper.

    Returns (pixels, notice): notice says in words what was changed on the way in (downscaled to at
    most ``max_side``, inverted, put on paper), or None. Raises ImageError with a one-line message
    for anything unreadable, empty or too large (checked before decoding)."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    check_regular_file(path, name)
    try:
        img, (w, h), target = _decode(path, name, max_side)
        if target and img.size != target:
            exif = img.info.get("exif")
            img = _shrink(img, target)
            if exif:
                img.info["exif"] = exif  # keeps the camera's orientation for the transpose below
        img = ImageOps.exif_transpose(img)  # after shrinking: a full-size transposed copy is not needed
        rgb = to_rgb_on_white(img)
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError(f"{name} is too large to open (at most {MAX_PIXELS // 1_000_000} megapixels)") from None
    except (UnidentifiedImageError, SyntaxError) as exc:
        raise ImageError(f"{name} is not an image this app can read ({exc.__class__.__name__})") from None
    except MemoryError:
        raise ImageError(f"{name} is too large to fit in memory") from None
    except (OSError, ValueError, EOFError, TypeError, IndexError, KeyError, ZeroDivisionError) as exc:
        raise ImageError(f"{name} is damaged or cannot be read ({exc.__class__.__name__}: {exc})") from None
    if rgb.size == 0:
        raise ImageError(f"{name} is empty (zero size)")
    rgb, inverted = normalise_polarity(rgb)
    rgb, evened = even_out_paper(rgb)
    notes = []
    if target:
        notes.append(f"{name} is {w}x{h}; downscaled to {rgb.shape[1]}x{rgb.shape[0]} for editing")
    if inverted:
        notes.append(f"{name} has light lines on a dark background; inverted to dark on light")
    if evened:
        notes.append(f"{name} looks photographed or scanned; its paper was evened out to white")
    return rgb, "; ".join(notes) or None


def load_grey(path: str | os.PathLike, max_side: int | None = MAX_SIDE) -> tuple[np.ndarray, str | None]:
    """(grey uint8 [H, W] of dark ink on light paper, notice) of an image file; see load_image."""
    rgb, notice = load_image(path, max_side)
    return luma(rgb), notice


def _array_to_grey(image) -> np.ndarray:
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
        return _image_to_grey(Image.fromarray(arr, "RGBA"))
    if arr.shape[2] == 3:
        return luma(arr)
    if arr.shape[2] == 1:
        return arr[:, :, 0]
    raise ImageError(f"unsupported image shape {arr.shape}")


def _image_to_grey(image: Image.Image) -> np.ndarray:
    if image.width == 0 or image.height == 0:
        raise ImageError("the image is empty (zero width or height)")
    flat = flatten(image, paper_for(image))
    return np.asarray(flat) if flat.mode == "L" else luma(np.asarray(flat))


def to_grey(image) -> np.ndarray:
    """Path / PIL image / numpy array (grey, RGB, RGBA, palette, 16-bit, float) -> grey uint8 [H, W] of
    dark ink on light paper (what the model sees).

    A file goes through load_image (limits, downscaling to MAX_SIDE, transparency, inversion; use
    load_grey for its notice). Transparent pixels become paper; light-on-dark pictures are inverted.
    """
    if isinstance(image, (str, Path)):
        return load_grey(image)[0]
    grey = _image_to_grey(image) if isinstance(image, Image.Image) else _array_to_grey(image)
    return even_out_paper(normalise_polarity(grey)[0])[0]


if TYPE_CHECKING:   # torch loads only when a model input is made (the app reads files without it)
    import torch


@dataclass
class ModelInput:
    """One image (or its `drawing_frame`) resized for the network: long side = input_size, padded bottom/right
    to a square."""
    tensor: torch.Tensor        # [3, S, S] float, ink = 1, paper = 0
    scale: float                # input pixels per original pixel
    size: tuple[int, int]       # (h, w) of the resized image inside the padded square
    original_size: tuple[int, int]
    offset: tuple[int, int] = (0, 0)   # (x, y) of the framed part's top-left corner in the original image

    def to_original(self, boxes: torch.Tensor) -> torch.Tensor:
        """Boxes [N, 4] (x0, y0, x1, y1) in input pixels -> the same in original image pixels."""
        x, y = self.offset
        return boxes / self.scale + boxes.new_tensor([x, y, x, y])


# A drawing whose ink spans less than this share of its page's long side (a small sketch on a big canvas or
# sheet) is shown to the network framed, at the scale scenes are drawn at, not as a speck on empty paper.
FRAME_BELOW = 0.5
FRAME_MARGIN = 0.05            # of the drawing's long side, kept around its ink


def drawing_frame(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) (x1, y1 exclusive) of the part of the page to show the network: the ink's bounding box
    with a margin when the drawing is small on its page, else None (the whole page). ink bool [H, W]."""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if rows.size == 0:
        return None
    h, w = ink.shape
    span = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    if span >= FRAME_BELOW * max(h, w):
        return None
    m = max(8, int(round(FRAME_MARGIN * span)))
    return (max(0, int(cols[0]) - m), max(0, int(rows[0]) - m), min(w, int(cols[-1]) + 1 + m),
            min(h, int(rows[-1]) + 1 + m))


def model_input(grey: np.ndarray, input_size: int, frame: tuple[int, int, int, int] | None = None) -> ModelInput:
    """grey uint8 [H, W] -> ModelInput; frame (x0, y0, x1, y1): show only that part (`drawing_frame`)."""
    import torch  # here, not at the top: the app reads images through this module without torch
    import torch.nn.functional as F

    original = grey.shape
    offset = (0, 0)
    if frame is not None:
        x0, y0, x1, y1 = frame
        grey, offset = grey[y0:y1, x0:x1], (x0, y0)
    h, w = grey.shape
    scale = input_size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    ink = torch.from_numpy(grey.astype(np.float32)).div_(255.0).neg_().add_(1.0)[None, None]   # ink = 1
    # area averaging keeps thin strokes visible when shrinking (bilinear would drop 1-px lines)
    resized = F.interpolate(ink, size=(nh, nw), mode="area" if scale < 1 else "bilinear", align_corners=None if scale < 1 else False)
    padded = torch.zeros((1, 1, input_size, input_size))
    padded[..., :nh, :nw] = resized
    return ModelInput(padded[0].expand(3, -1, -1).contiguous(), scale, (nh, nw), original, offset)


class SketchCache:
    """Small LRU of expression-independent work per sketch, keyed by the image's content, so a second
    expression on the same (unchanged) sketch skips the backbone."""

    def __init__(self, size: int = 4):
        self.size = size
        self._items: "OrderedDict[str, object]" = OrderedDict()

    @staticmethod
    def key(grey: np.ndarray) -> str:
        return hashlib.blake2b(grey.tobytes(), digest_size=16).hexdigest() + str(grey.shape)

    def get_or_make(self, grey: np.ndarray, make, key: str | None = None):
        """-> (cached or freshly made value, whether it was made now). key: `key(grey)` when the caller has it
        already (hashing a 750 px sketch costs about 1 ms)."""
        key = self.key(grey) if key is None else key
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
