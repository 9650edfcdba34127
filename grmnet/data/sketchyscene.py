"""Reader and writer of the SketchyScene dataset layout with SketchyScene-Matching expressions.

Layout under a dataset root (exactly the real one)::

    colorMapC46.mat                              key 'colorMap': (46, 2) cell; [i][0][0] = name of class i+1
    <split>/DRAWING_GT/L0_sample{N}.png          drawing, RGB
    <split>/CLASS_GT/sample_{N}_class.mat        key 'CLASS_GT', uint8 HxW: class id 1..46 on ink, 0 elsewhere
    <split>/INSTANCE_GT/sample_{N}_instance.mat  key 'INSTANCE_GT', uint8 HxW: instance id on ink, 0 elsewhere
    sentence_instance_<split>.json               [{"key": N, "sen_instIdx_map": {expression: [instance idx]}}]

An instance index is the 0-based position in the ascending list of instance ids present in INSTANCE_GT.

Our extension (optional, absent from the real data)::

    <split>/REGION_GT/sample_{N}_region.npz      key 'REGION_GT', bool [K, H, W]: filled visible silhouettes,
                                                 in ascending instance id order

Without it, region masks are *derived* from the ink (:func:`derive_region_masks`): per instance a morphological
closing (disk of radius :data:`DERIVED_REGION_RADIUS` px at 750 px) followed by hole filling. This is an approximation of the filled
silhouette (open outlines stay unfilled, touching objects may overlap); ``has_regions`` tells which one a
sample carries.
"""
from __future__ import annotations

import colorsys
import io
import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import scipy.io as sio
from scipy import ndimage

from grmnet.data.categories import SKETCHYSCENE_CLASSES
from grmnet.files import atomic_write
from grmnet.errors import DatasetFormatError

DERIVED_REGION_RADIUS = 7
COLORMAP_FILE = "colorMapC46.mat"


# ------------------------------------------------------------------------------------------------ paths
def drawing_path(root, split: str, key: int) -> Path:
    return Path(root) / split / "DRAWING_GT" / f"L0_sample{int(key)}.png"


def class_path(root, split: str, key: int) -> Path:
    return Path(root) / split / "CLASS_GT" / f"sample_{int(key)}_class.mat"


def instance_path(root, split: str, key: int) -> Path:
    return Path(root) / split / "INSTANCE_GT" / f"sample_{int(key)}_instance.mat"


def region_path(root, split: str, key: int) -> Path:
    return Path(root) / split / "REGION_GT" / f"sample_{int(key)}_region.npz"


def sentences_path(root, split: str) -> Path:
    return Path(root) / f"sentence_instance_{split}.json"


# ----------------------------------------------------------------------------------------------- writing
def _atomic_write(path: Path, write) -> None:
    """Write through an open binary file, atomically (grmnet.files): a killed run never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def fill(tmp: str) -> None:
        with open(tmp, "wb") as f:
            write(f)
    atomic_write(path, fill)


def _class_colors() -> np.ndarray:
    """46 distinct RGB colours (our own, evenly spread hues); 'others' is dark."""
    cols = []
    n = len(SKETCHYSCENE_CLASSES) - 1
    for i in range(n):
        h = (i * 0.618033988749895) % 1.0
        v = 0.95 if i % 2 == 0 else 0.7
        r, g, b = colorsys.hsv_to_rgb(h, 0.85, v)
        cols.append((round(r * 255), round(g * 255), round(b * 255)))
    cols.append((40, 40, 40))
    return np.array(cols, dtype=np.uint8)


def write_colormap(root) -> Path:
    """Write ``colorMapC46.mat``: key 'colorMap', a (46, 2) cell of (class name, uint8 1x3 colour)."""
    colors = _class_colors()
    cm = np.empty((len(SKETCHYSCENE_CLASSES), 2), dtype=object)
    for i, name in enumerate(SKETCHYSCENE_CLASSES):
        cm[i, 0] = np.array([name])
        cm[i, 1] = colors[i].reshape(1, 3)
    path = Path(root) / COLORMAP_FILE
    _atomic_write(path, lambda f: sio.savemat(f, {"colorMap": cm}))
    return path


def read_colormap(root) -> list[str]:
    """Class names of ``colorMapC46.mat`` in file order (class id = position + 1)."""
    path = Path(root) / COLORMAP_FILE
    cm = _load_mat(path, "colorMap")
    try:
        return [str(np.asarray(cm[i][0]).ravel()[0]) for i in range(cm.shape[0])]
    except (IndexError, TypeError) as exc:
        raise DatasetFormatError(f"{path}: 'colorMap' is not a (classes, 2) cell of names and colours") from exc


def _as_label_map(a, name: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 2:
        raise DatasetFormatError(f"{name} must be a 2-D HxW array, got shape {a.shape}")
    if a.size and (a.min() < 0 or a.max() > 255):
        raise DatasetFormatError(f"{name} values must fit uint8 (0..255), got {a.min()}..{a.max()}")
    return a.astype(np.uint8)


def write_sample(root, split: str, key: int, drawing, instance_gt, class_gt, region_gt=None) -> None:
    """Write one sample (drawing PNG, CLASS_GT and INSTANCE_GT .mat, optional REGION_GT .npz)."""
    from PIL import Image

    inst = _as_label_map(instance_gt, "instance_gt")
    cls = _as_label_map(class_gt, "class_gt")
    if inst.shape != cls.shape:
        raise DatasetFormatError(f"instance_gt {inst.shape} and class_gt {cls.shape} differ in shape")
    d = np.asarray(drawing)
    if d.ndim == 2:
        d = np.repeat(d[:, :, None], 3, axis=2)
    if d.ndim != 3 or d.shape[2] not in (3, 4) or d.shape[:2] != inst.shape:
        raise DatasetFormatError(f"drawing of shape {d.shape} does not match the {inst.shape} label maps "
                                 "(expected HxW or HxWx3)")
    d = np.ascontiguousarray(d[:, :, :3].astype(np.uint8))
    if region_gt is not None:
        reg = np.asarray(region_gt).astype(bool)
        k = len(np.unique(inst[inst > 0]))
        if reg.ndim != 3 or reg.shape != (k,) + inst.shape:
            raise DatasetFormatError(f"region_gt of shape {reg.shape} does not match {k} instances of "
                                     f"size {inst.shape} (expected [K, H, W])")

    def _png(f):
        buf = io.BytesIO()
        Image.fromarray(d, "RGB").save(buf, format="PNG")
        f.write(buf.getvalue())

    _atomic_write(drawing_path(root, split, key), _png)
    _atomic_write(class_path(root, split, key),
                  lambda f: sio.savemat(f, {"CLASS_GT": cls}, do_compression=True))
    _atomic_write(instance_path(root, split, key),
                  lambda f: sio.savemat(f, {"INSTANCE_GT": inst}, do_compression=True))
    rp = region_path(root, split, key)
    if region_gt is not None:
        _atomic_write(rp, lambda f: np.savez_compressed(f, REGION_GT=reg))
    elif rp.exists():   # a stale region file would no longer match the instances
        rp.unlink()


def _normalize_entries(entries) -> list[dict]:
    if isinstance(entries, Mapping):
        items = list(entries.items())
    else:
        items = []
        for e in entries:
            if isinstance(e, Mapping):
                items.append((e["key"], e["sen_instIdx_map"]))
            else:
                k, m = e
                items.append((k, m))
    out = []
    for k, m in items:
        out.append({"key": int(k), "sen_instIdx_map": {str(s): [int(i) for i in v] for s, v in m.items()}})
    return out


def write_sentences(root, split: str, entries) -> Path:
    """Write ``sentence_instance_<split>.json``. ``entries``: {key: {expression: [idx]}} or the real list
    of {"key", "sen_instIdx_map"} dicts."""
    data = _normalize_entries(entries)
    path = sentences_path(root, split)
    text = json.dumps(data, indent=1).encode("utf-8")
    _atomic_write(path, lambda f: f.write(text))
    return path


# ----------------------------------------------------------------------------------------------- reading
def _load_mat(path: Path, key: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetFormatError(f"{path}: file is missing")
    try:
        m = sio.loadmat(str(path))
    except Exception as exc:  # scipy raises several types for corrupt files
        raise DatasetFormatError(f"{path}: not a readable MATLAB .mat file ({exc})") from exc
    if key not in m:
        have = sorted(k for k in m if not k.startswith("__"))
        raise DatasetFormatError(f"{path}: .mat file has no key '{key}' (keys: {', '.join(have) or 'none'})")
    return m[key]


def _load_label_map(path: Path, key: str) -> np.ndarray:
    a = np.asarray(_load_mat(path, key))
    if a.ndim != 2 or a.size == 0:
        raise DatasetFormatError(f"{path}: '{key}' must be a non-empty 2-D HxW array, got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        if not np.issubdtype(a.dtype, np.floating) or not np.all(a == np.round(a)):
            raise DatasetFormatError(f"{path}: '{key}' must hold integer labels, got dtype {a.dtype}")
    if a.min() < 0 or a.max() > 255:
        raise DatasetFormatError(f"{path}: '{key}' values must lie in 0..255, got {a.min()}..{a.max()}")
    return a.astype(np.uint8)


def read_drawing(path) -> np.ndarray:
    """A drawing PNG as uint8 [H, W, 3] (gray, palette and RGBA are converted; alpha over white)."""
    from PIL import Image

    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: file is missing")
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
                im = im.convert("RGBA")
                bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
                im = Image.alpha_composite(bg, im)
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise DatasetFormatError(f"{path}: not a readable image ({exc})") from exc
    return arr


def derive_region_masks(ink_masks: np.ndarray, radius: int | None = None) -> np.ndarray:
    """Approximate filled silhouettes from ink masks (used when a sample has no REGION_GT).

    Per instance: morphological closing of its ink with a disk (radius :data:`DERIVED_REGION_RADIUS` px at
    750 px, scaled with the image size), then hole filling in which the other instances' ink also counts as a
    boundary (an outline partly hidden behind another object still encloses its interior); areas that the
    other ink encloses by itself are left out. Open outlines stay unfilled and touching objects may overlap.
    """
    ink = np.asarray(ink_masks, dtype=bool)
    out = np.zeros_like(ink)
    if ink.shape[0] == 0:
        return out
    if radius is None:
        radius = max(2, int(round(DERIVED_REGION_RADIUS * min(ink.shape[1:]) / 750.0)))
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disk = (xx * xx + yy * yy) <= radius * radius
    all_ink = ink.any(axis=0)
    pad = radius + 1
    for k in range(ink.shape[0]):
        ys, xs = np.nonzero(ink[k])
        if len(ys) == 0:
            continue
        y0, y1 = max(0, ys.min() - pad), min(ink.shape[1], ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(ink.shape[2], xs.max() + pad + 1)
        own = np.pad(ink[k, y0:y1, x0:x1], pad)
        other = np.pad(all_ink[y0:y1, x0:x1], pad) & ~own
        closed = ndimage.binary_closing(own, structure=disk)
        with_other = ndimage.binary_fill_holes(closed | other)
        other_only = ndimage.binary_fill_holes(other)
        filled = ((with_other & ~other_only) | closed)[pad:-pad, pad:-pad]
        out[k, y0:y1, x0:x1] = filled | ink[k, y0:y1, x0:x1]
    return out


@dataclass
class SketchySceneImage:
    """One sample: drawing, label maps, and per-instance masks in ascending instance id order."""
    key: int
    drawing: np.ndarray          # uint8 [H, W, 3]
    instance_gt: np.ndarray      # uint8 [H, W]
    class_gt: np.ndarray         # uint8 [H, W]
    instance_ids: list[int]      # ascending non-zero ids present in instance_gt
    categories: list[str]        # majority CLASS_GT label inside each instance
    ink_masks: np.ndarray        # bool [K, H, W]
    region_masks: np.ndarray     # bool [K, H, W] (stored REGION_GT, or derived from ink)
    has_regions: bool            # True when region_masks come from REGION_GT

    @property
    def num_instances(self) -> int:
        return len(self.instance_ids)


def _majority_categories(inst: np.ndarray, cls: np.ndarray, ids: list[int], cp: Path) -> list[str]:
    """Majority non-zero CLASS_GT label inside each instance ('others' when it has none)."""
    cats: list[str] = []
    sel = inst > 0
    iv, cv = inst[sel].astype(np.int64), cls[sel].astype(np.int64)
    table = np.zeros((256, 256), dtype=np.int64)
    np.add.at(table, (iv, cv), 1)
    for i in ids:
        row = table[i].copy()
        row[0] = 0
        if row.sum() == 0:
            cats.append("others")
            continue
        cid = int(row.argmax())
        if cid > len(SKETCHYSCENE_CLASSES):
            raise DatasetFormatError(f"{cp}: class id {cid} (instance {i}) is outside 1..{len(SKETCHYSCENE_CLASSES)}")
        cats.append(SKETCHYSCENE_CLASSES[cid - 1])
    return cats


def read_instances(root, split: str, key: int) -> tuple[list[int], list[str]]:
    """Instance ids (ascending) and categories of a sample, reading only the two .mat files (fast)."""
    cp, ip = class_path(root, split, key), instance_path(root, split, key)
    inst = _load_label_map(ip, "INSTANCE_GT")
    cls = _load_label_map(cp, "CLASS_GT")
    if cls.shape != inst.shape:
        raise DatasetFormatError(f"{cp}: CLASS_GT shape {cls.shape} differs from INSTANCE_GT shape "
                                 f"{inst.shape} in {ip}")
    ids = [int(i) for i in np.unique(inst) if i != 0]
    return ids, _majority_categories(inst, cls, ids, cp)


def read_sample(root, split: str, key: int) -> SketchySceneImage:
    """Read one sample of the SketchyScene layout (DatasetFormatError names the file on any problem)."""
    dp, cp, ip = drawing_path(root, split, key), class_path(root, split, key), instance_path(root, split, key)
    drawing = read_drawing(dp)
    inst = _load_label_map(ip, "INSTANCE_GT")
    cls = _load_label_map(cp, "CLASS_GT")
    if cls.shape != inst.shape:
        raise DatasetFormatError(f"{cp}: CLASS_GT shape {cls.shape} differs from INSTANCE_GT shape "
                                 f"{inst.shape} in {ip}")
    if drawing.shape[:2] != inst.shape:
        raise DatasetFormatError(f"{dp}: drawing size {drawing.shape[1]}x{drawing.shape[0]} differs from "
                                 f"INSTANCE_GT {inst.shape[1]}x{inst.shape[0]} in {ip}")
    ids = [int(i) for i in np.unique(inst) if i != 0]
    ink = np.stack([inst == i for i in ids]) if ids else np.zeros((0,) + inst.shape, dtype=bool)
    cats = _majority_categories(inst, cls, ids, cp)
    rp = region_path(root, split, key)
    if rp.is_file():
        try:
            with np.load(rp) as z:
                if "REGION_GT" not in z.files:
                    raise DatasetFormatError(f"{rp}: .npz file has no key 'REGION_GT' "
                                             f"(keys: {', '.join(z.files) or 'none'})")
                reg = np.asarray(z["REGION_GT"]).astype(bool)
        except DatasetFormatError:
            raise
        except Exception as exc:
            raise DatasetFormatError(f"{rp}: not a readable .npz file ({exc})") from exc
        if reg.shape != ink.shape:
            raise DatasetFormatError(f"{rp}: REGION_GT shape {reg.shape} does not match the {len(ids)} "
                                     f"instances of size {inst.shape} in {ip} (expected {ink.shape})")
        has_regions = True
    else:
        reg = derive_region_masks(ink)
        has_regions = False
    return SketchySceneImage(int(key), drawing, inst, cls, ids, cats, ink, reg, has_regions)


def read_sentences(path) -> dict[int, dict[str, list[int]]]:
    """Parse a ``sentence_instance_*.json`` file into {image key: {expression: [instance indices]}}."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFormatError(f"{path}: file is missing")
    raw = path.read_bytes()
    if not raw.strip():
        raise DatasetFormatError(f"{path}: file is empty (expected a JSON list of "
                                 '{"key": N, "sen_instIdx_map": {...}})')
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetFormatError(f"{path}: malformed JSON ({exc})") from exc
    if not isinstance(data, list):
        raise DatasetFormatError(f"{path}: expected a JSON list of entries, got {type(data).__name__}")
    out: dict[int, dict[str, list[int]]] = {}
    for n, e in enumerate(data):
        if not isinstance(e, dict) or "key" not in e or "sen_instIdx_map" not in e:
            raise DatasetFormatError(f"{path}: entry {n} is not an object with 'key' and 'sen_instIdx_map'")
        k = e["key"]
        if isinstance(k, bool) or not isinstance(k, (int, str)) or not str(k).strip().lstrip("-").isdigit():
            raise DatasetFormatError(f"{path}: entry {n} has a non-integer key {k!r}")
        k = int(k)
        m = e["sen_instIdx_map"]
        if not isinstance(m, dict):
            raise DatasetFormatError(f"{path}: entry {n} (key {k}): 'sen_instIdx_map' must be an object")
        dst = out.setdefault(k, {})
        for s, idx in m.items():
            if not isinstance(idx, list) or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0
                                                    for i in idx):
                raise DatasetFormatError(f"{path}: key {k}, expression {s!r}: targets must be a list of "
                                         f"non-negative integers, got {idx!r}")
            if s in dst and sorted(dst[s]) != sorted(idx):
                raise DatasetFormatError(f"{path}: key {k}, expression {s!r} appears twice with different targets")
            dst[s] = list(idx)
    return out


# ----------------------------------------------------------------------------------------------- dataset
try:
    from torch.utils.data import Dataset as _TorchDataset
except ImportError:  # pragma: no cover - torch is a dependency, but keep the reader usable without it
    _TorchDataset = object  # type: ignore[assignment,misc]


class SketchySceneDataset(_TorchDataset):
    """(image, expression, targets) pairs of one split of a SketchyScene-layout root.

    ``__getitem__`` returns a dict with the pair (key, expression, target_indices), the drawing, masks and
    categories of the targets (ink_masks, region_masks, categories) and of all instances (all_ink_masks,
    all_region_masks, all_categories), plus instance_ids and has_regions. Arrays are numpy.
    """

    cache_size = 8

    def __init__(self, root, split: str, sentences_file=None) -> None:
        self.root = Path(root)
        self.split = split
        self.sentences_file = Path(sentences_file) if sentences_file else sentences_path(root, split)
        if not (self.root / split).is_dir():
            raise DatasetFormatError(f"{self.root / split}: split folder is missing")
        self._sentences = read_sentences(self.sentences_file)
        self.keys: list[int] = sorted(self._sentences)
        for k in self.keys:
            for p in (drawing_path(root, split, k), instance_path(root, split, k), class_path(root, split, k)):
                if not p.is_file():
                    raise DatasetFormatError(f"{p}: file is missing (image {k} of {self.sentences_file})")
        self.pairs: list[tuple[int, str, list[int]]] = [
            (k, s, list(t)) for k in self.keys for s, t in self._sentences[k].items()]
        self._cache: OrderedDict[int, SketchySceneImage] = OrderedDict()
        self._checked: set[int] = set()

    def __len__(self) -> int:
        return len(self.pairs)

    def expressions_of(self, key: int) -> dict[str, list[int]]:
        return {s: list(t) for s, t in self._sentences[int(key)].items()}

    def image(self, key: int) -> SketchySceneImage:
        key = int(key)
        img = self._cache.get(key)
        if img is not None:
            self._cache.move_to_end(key)
            return img
        img = read_sample(self.root, self.split, key)
        if key not in self._checked:
            self._check_indices(key, img)
            self._checked.add(key)
        self._cache[key] = img
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return img

    def _check_indices(self, key: int, img: SketchySceneImage) -> None:
        k = img.num_instances
        for s, t in self._sentences.get(key, {}).items():
            bad = [i for i in t if i >= k]
            if bad:
                raise DatasetFormatError(
                    f"{self.sentences_file}: image {key}, expression {s!r} refers to instance index "
                    f"{bad[0]} but {instance_path(self.root, self.split, key)} has {k} instances "
                    f"(valid indices 0..{k - 1})")

    def validate(self) -> None:
        """Read every image once and check all target indices (raises DatasetFormatError)."""
        for key in self.keys:
            self.image(key)

    def __getitem__(self, i: int) -> dict[str, Any]:
        key, expr, targets = self.pairs[i]
        img = self.image(key)
        t = np.asarray(targets, dtype=np.int64)
        return {
            "key": key,
            "expression": expr,
            "target_indices": list(targets),
            "drawing": img.drawing,
            "ink_masks": img.ink_masks[t],
            "region_masks": img.region_masks[t],
            "categories": [img.categories[j] for j in targets],
            "all_ink_masks": img.ink_masks,
            "all_region_masks": img.region_masks,
            "all_categories": list(img.categories),
            "instance_ids": list(img.instance_ids),
            "has_regions": img.has_regions,
        }


def iter_pairs(dataset: SketchySceneDataset) -> Iterable[tuple[int, str, list[int]]]:
    return iter(dataset.pairs)
