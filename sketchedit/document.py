"""The sketch document: a base ink raster plus an ordered stack of instance layers.

Plain numpy data with Qt's undo framework (QtGui's QUndoStack is not a widget). Every edit
goes through a QUndoCommand so undo/redo covers it; widgets observe the document through
its signals and never the other way round.

Pixel conventions: the base is an opaque RGB raster of the sketch on white paper. A layer
keeps its pixels cropped to its own bounding box (``origin`` is where the crop sat in the
sketch when it was lifted; ``offset`` is how far the user has moved it since), so a
hundred layers on a large sketch do not cost a hundred full-size rasters.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Iterable, Sequence

import cv2
import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from grmnet.imaging import FRINGE_LEVEL, ink_mask, liftable_inks, luma, soft_ink_mask
from grmnet.results import ReferredInstance

PAPER = (255, 255, 255)
# Palette offered for freshly selected instances' outlines (the paper's figure style).
OUTLINE_PALETTE: tuple[tuple[int, int, int], ...] = (
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 240, 240), (240, 50, 230), (210, 245, 60), (0, 128, 128), (170, 110, 40),
)

Color = tuple[int, int, int]


def gray_of(rgb: np.ndarray) -> np.ndarray:
    """Luma (0..255 float32) of an HxWx3 uint8 array."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def ink_of(rgb: np.ndarray) -> np.ndarray:
    """Boolean mask of the ink pixels: the model's one definition (grmnet.imaging.ink_mask of the luma)."""
    return ink_mask(luma(rgb))


def bbox_of(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x, y, w, h) of the True pixels of a mask, None when it has none."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if ys.size == 0:
        return None
    return int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)


@dataclass
class InstanceLayer:
    """One referred instance lifted off the base.

    ``ink_mask``/``ink_rgb``/``region_mask`` are crops of the same shape placed at
    ``origin + offset`` in sketch coordinates. ``stroke_color`` None keeps the original ink
    colours; otherwise the ink is repainted in that colour with its original darkness as
    coverage, so anti-aliased edges stay smooth.
    """

    uid: int
    category: str
    index: int
    label: str
    ink_mask: np.ndarray
    ink_rgb: np.ndarray
    region_mask: np.ndarray
    origin: tuple[int, int]
    stroke_color: Color | None = None
    fill_color: Color | None = None
    fill_opacity: float = 0.5
    offset: tuple[int, int] = (0, 0)
    visible: bool = True
    locked: bool = False
    score: float = 1.0
    outline_color: Color = OUTLINE_PALETTE[0]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the layer's crop."""
        return int(self.ink_mask.shape[1]), int(self.ink_mask.shape[0])

    @property
    def position(self) -> tuple[int, int]:
        """Top-left of the crop in sketch coordinates, offset included."""
        return self.origin[0] + self.offset[0], self.origin[1] + self.offset[1]

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x, y, w, h) of the crop in sketch coordinates, offset included."""
        x, y = self.position
        w, h = self.size
        return x, y, w, h

    @property
    def core_mask(self) -> np.ndarray:
        """The layer's ink without its anti-aliased fringe (what a vector export traces; the swatch's colour);
        the whole ink_mask when it has no dark pixel (a layer of faint strokes)."""
        core = self.ink_mask & ink_of(self.ink_rgb)
        return core if core.any() else self.ink_mask

    @property
    def display_color(self) -> Color:
        """Colour shown on the layer's swatch: its stroke colour, else its mean ink colour (fringe left out)."""
        if self.stroke_color is not None:
            return self.stroke_color
        if self.ink_mask.any():
            mean = self.ink_rgb[self.core_mask].mean(axis=0)
            return int(mean[0]), int(mean[1]), int(mean[2])
        return (0, 0, 0)

    def ink_alpha(self) -> np.ndarray:
        """Coverage (0..1 float32) of each ink pixel when the ink is repainted in one colour."""
        darkness = 255.0 - gray_of(self.ink_rgb.astype(np.float32))
        darkness[~self.ink_mask] = 0.0
        peak = float(darkness.max()) if self.ink_mask.any() else 0.0
        if peak <= 0.0:
            return self.ink_mask.astype(np.float32)
        return np.clip(darkness / peak, 0.0, 1.0)

    def render_rgba(self) -> np.ndarray:
        """The layer's own pixels (crop-sized RGBA uint8): fill under strokes."""
        h, w = self.ink_mask.shape
        rgb = np.zeros((h, w, 3), np.float32)
        alpha = np.zeros((h, w), np.float32)
        if self.fill_color is not None and self.fill_opacity > 0:
            a = self.region_mask.astype(np.float32) * float(self.fill_opacity)
            rgb += np.asarray(self.fill_color, np.float32) * a[..., None]
            alpha += a
        if self.stroke_color is None:
            ink_rgb = self.ink_rgb.astype(np.float32)
            a = self.ink_mask.astype(np.float32)
        else:
            ink_rgb = np.broadcast_to(np.asarray(self.stroke_color, np.float32), (h, w, 3))
            a = self.ink_alpha()
        # Porter-Duff "over" in premultiplied form, then un-premultiply.
        rgb = ink_rgb * a[..., None] + rgb * (1.0 - a[..., None])
        alpha = a + alpha * (1.0 - a)
        out = np.zeros((h, w, 4), np.uint8)
        nz = alpha > 0
        out[..., :3][nz] = np.clip(rgb[nz] / alpha[nz][..., None] + 0.5, 0, 255).astype(np.uint8)
        out[..., 3] = np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return out

    def clone(self) -> "InstanceLayer":
        return copy.deepcopy(self)


def composite_over(canvas_rgb: np.ndarray, rgba: np.ndarray, position: tuple[int, int]) -> None:
    """Alpha-blend an RGBA patch onto an RGB canvas in place, clipped to the canvas."""
    H, W = canvas_rgb.shape[:2]
    h, w = rgba.shape[:2]
    x, y = position
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
    if x0 >= x1 or y0 >= y1:
        return
    patch = rgba[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32)
    a = patch[..., 3:4] / 255.0
    dst = canvas_rgb[y0:y1, x0:x1].astype(np.float32)
    canvas_rgb[y0:y1, x0:x1] = np.clip(patch[..., :3] * a + dst * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)


class SketchDocument(QObject):
    """A sketch: base ink raster + ordered instance layers (index 0 = bottom), with undo."""

    # Emitted after any change of pixels or layer properties (the composite changed).
    changed = Signal()
    # Emitted when layers are added, removed or reordered.
    layers_changed = Signal()
    # Emitted when one layer's properties change (uid).
    layer_changed = Signal(int)
    # Emitted when the base raster changes (drawing, erasing, lifting, merging).
    base_changed = Signal()
    # Emitted when the set of selected layers changes.
    selection_changed = Signal()
    # Emitted when the file path or the dirty state changes.
    state_changed = Signal()

    def __init__(self, base_rgb: np.ndarray | None = None, path: str | None = None, parent: QObject | None = None):
        super().__init__(parent)
        if base_rgb is None:
            base_rgb = np.full((600, 800, 3), 255, np.uint8)
        if base_rgb.ndim != 3 or base_rgb.shape[2] != 3 or base_rgb.dtype != np.uint8:
            raise ValueError("base must be an HxWx3 uint8 array")
        self.base = np.array(base_rgb, copy=True, order="C")  # the document owns its pixels
        self.layers: list[InstanceLayer] = []
        self.path = path
        self.notice: str | None = None  # e.g. "downscaled from 20000x20000" set by the loader
        self.selected: tuple[int, ...] = ()
        # Bumped on every pixel edit: results computed on an older sketch are stale.
        self.revision = 0
        self._uids = itertools.count(1)
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)
        self.undo_stack.indexChanged.connect(self._on_edit)

    # ----------------------------------------------------------------- queries
    @property
    def width(self) -> int:
        return int(self.base.shape[1])

    @property
    def height(self) -> int:
        return int(self.base.shape[0])

    @property
    def is_dirty(self) -> bool:
        return not self.undo_stack.isClean()

    def layer(self, uid: int) -> InstanceLayer:
        for layer in self.layers:
            if layer.uid == uid:
                return layer
        raise KeyError(uid)

    def index_of(self, uid: int) -> int:
        for i, layer in enumerate(self.layers):
            if layer.uid == uid:
                return i
        raise KeyError(uid)

    def has_layer(self, uid: int) -> bool:
        return any(layer.uid == uid for layer in self.layers)

    def composite(self, include_hidden: bool = False) -> np.ndarray:
        """The flattened sketch: base then every visible layer in z-order (RGB uint8)."""
        out = self.base.copy()
        for layer in self.layers:
            if layer.visible or include_hidden:
                composite_over(out, layer.render_rgba(), layer.position)
        return out

    def next_index(self, category: str) -> int:
        """The next free per-category index label ("sheep 3" after "sheep 1", "sheep 2")."""
        used = [layer.index for layer in self.layers if layer.category == category]
        return max(used, default=0) + 1

    def layers_overlapping(self, masks: Sequence[np.ndarray]) -> list[int]:
        """Uids of visible layers whose ink (where it is drawn now) touches any of the
        full-size masks."""
        found = []
        for layer in self.layers:
            x, y = layer.position
            h, w = layer.ink_mask.shape
            x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, self.width), min(y + h, self.height)
            if not layer.visible or x0 >= x1 or y0 >= y1:
                continue
            ink = layer.ink_mask[y0 - y:y1 - y, x0 - x:x1 - x]
            if any((mask[y0:y1, x0:x1] & ink).any() for mask in masks):
                found.append(layer.uid)
        return found

    # ---------------------------------------------------------------- selection
    def set_selection(self, uids: Iterable[int]) -> None:
        new = tuple(u for u in uids if self.has_layer(u))
        if new != self.selected:
            self.selected = new
            self.selection_changed.emit()

    # -------------------------------------------------------------------- edits
    def select_as_layers(self, instances: Sequence[ReferredInstance]) -> list[int]:
        """Lift each instance's ink off the base into a new layer (one undo step).

        Instances whose ink is already lifted (nothing left on the base under their mask)
        are skipped. Returns the new layers' uids.
        """
        return self._push_lift(SelectAsLayersCommand(self, instances))

    def _push_lift(self, cmd: "SelectAsLayersCommand") -> list[int]:
        """Push a command that lifts ink into new layers (no empty undo steps); select and return them."""
        if not cmd.new_layers:
            return []
        self.undo_stack.push(cmd)
        uids = [layer.uid for layer in cmd.new_layers]
        self.set_selection(uids)
        return uids

    def recolor(self, uids: Iterable[int], color: Color | None) -> None:
        self._set_attr(uids, "stroke_color", color, "Recolour")

    def fill(self, uids: Iterable[int], color: Color | None, opacity: float = 0.5) -> None:
        uids = [u for u in uids if self.has_layer(u)
                and (self.layer(u).fill_color, self.layer(u).fill_opacity) != (color, float(opacity))]
        if not uids:
            return  # no empty undo steps
        self.undo_stack.beginMacro("Fill")
        self._set_attr(uids, "fill_color", color, "Fill")
        self._set_attr(uids, "fill_opacity", float(opacity), "Fill")
        self.undo_stack.endMacro()

    def set_visible(self, uids: Iterable[int], visible: bool) -> None:
        self._set_attr(uids, "visible", bool(visible), "Show" if visible else "Hide")

    def set_locked(self, uids: Iterable[int], locked: bool) -> None:
        self._set_attr(uids, "locked", bool(locked), "Lock" if locked else "Unlock")

    def rename(self, uid: int, label: str) -> None:
        label = label.strip()
        if label and label != self.layer(uid).label:
            self._set_attr([uid], "label", label, "Rename")

    def move(self, uids: Iterable[int], dx: int, dy: int, merge_key: int | None = None) -> None:
        """Move unlocked layers by (dx, dy). Consecutive moves with the same merge_key
        (arrow-key nudges) collapse into one undo step."""
        uids = [u for u in uids if not self.layer(u).locked]
        if uids and (dx or dy):
            self.undo_stack.push(MoveCommand(self, uids, int(dx), int(dy), merge_key))

    def delete(self, uids: Iterable[int]) -> None:
        """Delete layers (their ink leaves the sketch); locked layers are kept."""
        uids = [u for u in uids if not self.layer(u).locked]
        if uids:
            self.undo_stack.push(RemoveLayersCommand(self, uids, merge=False))

    def merge_back(self, uids: Iterable[int]) -> None:
        """Flatten layers into the base (as drawn now) and remove them."""
        uids = [u for u in uids if self.has_layer(u)]
        if uids:
            self.undo_stack.push(RemoveLayersCommand(self, uids, merge=True))

    def reorder(self, uid: int, new_index: int) -> None:
        new_index = max(0, min(new_index, len(self.layers) - 1))
        if self.index_of(uid) != new_index:
            self.undo_stack.push(ReorderCommand(self, uid, new_index))

    def paint_stroke(self, points: Sequence[tuple[float, float, float]], width: float, erase: bool = False,
                     color: Color = (0, 0, 0)) -> None:
        """Draw (or erase to paper) a polyline on the base; points are (x, y, pressure)."""
        if points:
            cmd = StrokeCommand(self, points, width, erase, color)
            if cmd.bbox is not None:
                self.undo_stack.push(cmd)

    # ------------------------------------------------------ ink partition
    def split_into_layers(self, instances: Sequence[ReferredInstance]) -> list[int]:
        """Every object of the sketch becomes an indexed layer in one undo step (instances with disjoint inks,
        e.g. grmnet.partition.split_into_layers); each takes its anti-aliased edges along. Ink already lifted
        stays where it is. Returns the new layers' uids (selected)."""
        return self._push_lift(SplitIntoLayersCommand(self, instances))

    def layer_at(self, x: float, y: float, tolerance: float = 3.0) -> int | None:
        """The visible layer owning the ink nearest to (x, y) in sketch coordinates, as drawn now, within
        `tolerance` px (the upper layer on a tie); None over paper or the base sketch's own ink."""
        best: tuple[float, int] | None = None
        r = int(np.ceil(tolerance))
        for layer in self.layers:                            # bottom to top: "<=" lets the upper one win ties
            if not layer.visible:
                continue
            px, py = layer.position
            lx, ly = x - px, y - py                          # in the layer's crop
            h, w = layer.ink_mask.shape
            x0, y0 = max(int(np.floor(lx)) - r, 0), max(int(np.floor(ly)) - r, 0)
            x1, y1 = min(int(np.floor(lx)) + r + 1, w), min(int(np.floor(ly)) + r + 1, h)
            if x0 >= x1 or y0 >= y1:
                continue
            ys, xs = np.nonzero(layer.ink_mask[y0:y1, x0:x1])
            if len(ys) == 0:
                continue
            d = float(np.min((xs + x0 + 0.5 - lx) ** 2 + (ys + y0 + 0.5 - ly) ** 2)) ** 0.5   # to pixel centres
            if d <= tolerance + 0.5 and (best is None or d <= best[0]):
                best = (d, layer.uid)
        return None if best is None else best[1]

    def brush_ink(self, uid: int, points: Sequence[tuple[float, float]], radius: float, take: bool) -> bool:
        """Reassign the ink under a brush stroke (points in sketch coordinates, `radius` px): into the layer from
        the base sketch (take=True), or out of the layer back onto the base where it is drawn now (take=False).
        One undo step; False when the layer is locked or the brush touched no ink."""
        if not points or not self.has_layer(uid) or self.layer(uid).locked:
            return False
        cmd = InkBrushCommand(self, uid, points, radius, take)
        if cmd.changed is None:
            return False
        self.undo_stack.push(cmd)
        return True

    # ------------------------------------------------------------- internals
    def _set_attr(self, uids: Iterable[int], attr: str, value, text: str) -> None:
        uids = [u for u in uids if self.has_layer(u) and getattr(self.layer(u), attr) != value]
        if uids:
            self.undo_stack.push(SetLayerAttrCommand(self, uids, attr, value, text))

    def _new_uid(self) -> int:
        return next(self._uids)

    def _reserve_uids(self, uids: Iterable[int]) -> None:
        """After loading layers with stored uids, make sure new ones do not collide."""
        top = max(list(uids), default=0)
        self._uids = itertools.count(top + 1)

    def _on_clean_changed(self, _clean: bool) -> None:
        self.state_changed.emit()

    def _on_edit(self, _index: int) -> None:
        self.changed.emit()
        self.state_changed.emit()

    def _emit_base(self) -> None:
        self.revision += 1
        self.base_changed.emit()

    def _emit_layers(self) -> None:
        self.revision += 1
        self.selected = tuple(u for u in self.selected if self.has_layer(u))
        self.layers_changed.emit()
        self.selection_changed.emit()

    def _emit_layer(self, uid: int, pixels: bool = True) -> None:
        if pixels:  # a rename or a lock does not make a running query stale
            self.revision += 1
        self.layer_changed.emit(uid)


# ------------------------------------------------------------------- commands
class SelectAsLayersCommand(QUndoCommand):
    """Lift instances' ink from the base into new layers on top of the stack. Each layer takes its ink with the
    anti-aliased fringe around it (grmnet.imaging.liftable_inks, the one definition of what a lift takes), so
    that moving, recolouring or exporting it leaves no grey ghost behind."""

    def __init__(self, doc: SketchDocument, instances: Sequence[ReferredInstance]):
        super().__init__(f"Select {len(instances)} instance(s)")
        self.doc = doc
        self.new_layers: list[InstanceLayer] = []
        base = doc.base
        lifted = np.zeros(base.shape[:2], bool)
        instances = [inst for inst in instances if inst.ink.shape == base.shape[:2]]  # others: another sketch
        inks = liftable_inks(luma(base), [inst.ink for inst in instances])
        for inst, ink in zip(instances, inks):
            region = inst.region | ink
            box = bbox_of(region)
            if box is None or not ink.any():
                continue
            x, y, w, h = box
            crop = np.s_[y:y + h, x:x + w]
            index, label = inst.index, inst.label
            if self._index_taken(inst.category, index):  # keep labels unique across queries
                siblings = [other.index for other in [*doc.layers, *self.new_layers] if other.category == inst.category]
                index = 1 + max(siblings, default=0)
                label = f"{inst.category} {index}"
            layer = InstanceLayer(
                uid=doc._new_uid(), category=inst.category, index=index, label=label,
                ink_mask=ink[crop].copy(), ink_rgb=base[crop].copy(), region_mask=region[crop].copy(),
                origin=(x, y), score=float(inst.score),
                outline_color=OUTLINE_PALETTE[(len(doc.layers) + len(self.new_layers)) % len(OUTLINE_PALETTE)],
            )
            layer.ink_rgb[~layer.ink_mask] = PAPER
            self.new_layers.append(layer)
            lifted |= ink
        box = bbox_of(lifted)
        self.bbox = box
        if box is not None:
            x, y, w, h = box
            self.before = base[y:y + h, x:x + w].copy()
            self.lift_mask = lifted[y:y + h, x:x + w].copy()

    def _index_taken(self, category: str, index: int) -> bool:
        taken = {(other.category, other.index) for other in [*self.doc.layers, *self.new_layers]}
        return (category, index) in taken

    def redo(self) -> None:
        x, y, w, h = self.bbox
        self.doc.base[y:y + h, x:x + w][self.lift_mask] = PAPER
        self.doc.layers.extend(self.new_layers)
        self.doc._emit_base()
        self.doc._emit_layers()

    def undo(self) -> None:
        x, y, w, h = self.bbox
        self.doc.base[y:y + h, x:x + w] = self.before
        ids = {other.uid for other in self.new_layers}
        self.doc.layers[:] = [other for other in self.doc.layers if other.uid not in ids]
        self.doc._emit_base()
        self.doc._emit_layers()


class SetLayerAttrCommand(QUndoCommand):
    """Set one attribute of several layers (recolour, fill, hide, lock, rename)."""

    def __init__(self, doc: SketchDocument, uids: Sequence[int], attr: str, value, text: str):
        super().__init__(text)
        self.doc, self.uids, self.attr, self.value = doc, list(uids), attr, value
        self.old = {u: getattr(doc.layer(u), attr) for u in self.uids}

    def _apply(self, values: dict) -> None:
        for u, v in values.items():
            setattr(self.doc.layer(u), self.attr, v)
            self.doc._emit_layer(u, pixels=self.attr not in ("label", "locked"))

    def redo(self) -> None:
        self._apply({u: self.value for u in self.uids})

    def undo(self) -> None:
        self._apply(self.old)


class MoveCommand(QUndoCommand):
    _MERGE_ID = 0x5E1

    def __init__(self, doc: SketchDocument, uids: Sequence[int], dx: int, dy: int, merge_key: int | None):
        super().__init__("Move")
        self.doc, self.uids, self.dx, self.dy, self.merge_key = doc, list(uids), dx, dy, merge_key

    def id(self) -> int:  # noqa: A003 - Qt API name
        return self._MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt API name
        if not isinstance(other, MoveCommand) or other.merge_key != self.merge_key or other.uids != self.uids:
            return False
        self.dx += other.dx
        self.dy += other.dy
        return True

    def _shift(self, dx: int, dy: int) -> None:
        for u in self.uids:
            layer = self.doc.layer(u)
            layer.offset = (layer.offset[0] + dx, layer.offset[1] + dy)
            self.doc._emit_layer(u)

    def redo(self) -> None:
        self._shift(self.dx, self.dy)

    def undo(self) -> None:
        self._shift(-self.dx, -self.dy)


class RemoveLayersCommand(QUndoCommand):
    """Delete layers, or merge them back into the base first (merge=True)."""

    def __init__(self, doc: SketchDocument, uids: Sequence[int], merge: bool):
        super().__init__("Merge back" if merge else "Delete")
        self.doc, self.merge = doc, merge
        self.removed = [(doc.index_of(u), doc.layer(u)) for u in uids]
        self.removed.sort(key=lambda t: t[0])
        self.base_before = doc.base.copy() if merge else None

    def redo(self) -> None:
        doc = self.doc
        if self.merge:
            for _, layer in self.removed:  # bottom-most first keeps the z-order
                if layer.visible:
                    composite_over(doc.base, layer.render_rgba(), layer.position)
        ids = {layer.uid for _, layer in self.removed}
        doc.layers[:] = [other for other in doc.layers if other.uid not in ids]
        if self.merge:
            doc._emit_base()
        doc._emit_layers()

    def undo(self) -> None:
        doc = self.doc
        for i, layer in self.removed:
            doc.layers.insert(i, layer)
        if self.merge:
            doc.base[...] = self.base_before
            doc._emit_base()
        doc._emit_layers()


class ReorderCommand(QUndoCommand):
    def __init__(self, doc: SketchDocument, uid: int, new_index: int):
        super().__init__("Reorder layer")
        self.doc, self.uid, self.new_index = doc, uid, new_index
        self.old_index = doc.index_of(uid)

    def _move_to(self, index: int) -> None:
        layer = self.doc.layers.pop(self.doc.index_of(self.uid))
        self.doc.layers.insert(index, layer)
        self.doc._emit_layers()

    def redo(self) -> None:
        self._move_to(self.new_index)

    def undo(self) -> None:
        self._move_to(self.old_index)


class StrokeCommand(QUndoCommand):
    """A pen or eraser stroke on the base; keeps only the touched rectangle for undo."""

    def __init__(self, doc: SketchDocument, points: Sequence[tuple[float, float, float]], width: float,
                 erase: bool, color: Color):
        super().__init__("Erase" if erase else "Draw")
        self.doc = doc
        H, W = doc.height, doc.width
        pad = int(np.ceil(width)) + 2
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        x0, y0 = max(int(min(xs)) - pad, 0), max(int(min(ys)) - pad, 0)
        x1, y1 = min(int(max(xs)) + pad + 1, W), min(int(max(ys)) + pad + 1, H)
        if x0 >= x1 or y0 >= y1:
            self.bbox = None
            return
        self.bbox = (x0, y0, x1 - x0, y1 - y0)
        self.before = doc.base[y0:y1, x0:x1].copy()
        after = self.before.copy()
        ink = PAPER if erase else tuple(int(c) for c in color)
        # Fixed-point (shift=4) coordinates keep sub-pixel tablet positions.
        pts = [(int(round((x - x0) * 16)), int(round((y - y0) * 16)), max(float(p), 0.05)) for x, y, p in points]
        line_type = cv2.LINE_8 if erase else cv2.LINE_AA
        if len(pts) == 1:
            x, y, p = pts[0]
            cv2.circle(after, (x, y), max(int(round(width * p * 8)), 8), ink, -1, line_type, shift=4)
        for (xa, ya, pa), (xb, yb, pb) in zip(pts, pts[1:]):
            thickness = max(int(round(width * (pa + pb) / 2)), 1)
            cv2.line(after, (xa, ya), (xb, yb), ink, thickness, line_type, shift=4)
        self.after = after

    def _put(self, pixels: np.ndarray) -> None:
        x, y, w, h = self.bbox
        self.doc.base[y:y + h, x:x + w] = pixels
        self.doc._emit_base()

    def redo(self) -> None:
        self._put(self.after)

    def undo(self) -> None:
        self._put(self.before)


# ------------------------------------------------------------ ink partition
# Lighter than this is paper; between ink (grey < 128) and this are a stroke's anti-aliased edges.
SOFT_PAPER_LEVEL = FRINGE_LEVEL


def soft_ink_of(rgb: np.ndarray) -> np.ndarray:
    """bool [H, W]: every pixel that is not paper (ink and its anti-aliased edges; grmnet.imaging.soft_ink_mask)."""
    return soft_ink_mask(luma(rgb))


class SplitIntoLayersCommand(SelectAsLayersCommand):
    """The whole sketch into indexed layers in one step (as selecting instances: each lifts its ink with its
    anti-aliased edges)."""

    def __init__(self, doc: SketchDocument, instances: Sequence[ReferredInstance]):
        super().__init__(doc, instances)
        self.setText(f"Split into {len(self.new_layers)} layers")


class InkBrushCommand(QUndoCommand):
    """Ink under a brush stroke moves between one layer and the base sketch ("this stroke is that object's").

    take=True: the base's non-paper pixels under the brush join the layer (its crop grows to hold them);
    take=False: the layer's ink under the brush, where the layer is drawn now, goes back onto the base.
    Keeps the layer's arrays before and after (they are replaced, never edited in place, so views can tell a
    change by identity) and the touched base rectangle.
    """

    def __init__(self, doc: SketchDocument, uid: int, points: Sequence[tuple[float, float]], radius: float,
                 take: bool):
        super().__init__("Add ink to layer" if take else "Give ink back to the sketch")
        self.doc, self.uid = doc, uid
        layer = doc.layer(uid)
        brush = np.zeros((doc.height, doc.width), np.uint8)
        pts = [(int(round(x * 16)), int(round(y * 16))) for x, y, *_ in points]    # shift=4: sub-pixel
        r16 = max(int(round(radius * 16)), 8)
        for p in pts:
            cv2.circle(brush, p, r16, 1, -1, cv2.LINE_8, shift=4)
        for a, b in zip(pts, pts[1:]):
            cv2.line(brush, a, b, 1, max(2 * int(round(radius)), 1), cv2.LINE_8, shift=4)
        brush = brush.astype(bool)
        self.before = (layer.ink_mask, layer.ink_rgb, layer.region_mask, layer.origin)
        self.changed = None
        px, py = layer.position
        h, w = layer.ink_mask.shape
        if take:
            moved = brush & soft_ink_of(doc.base)
            box = bbox_of(moved)
            if box is None:
                return
            # the layer's crop grows to the union of where it is drawn now and the taken pixels
            bx, by, bw, bh = box
            x0, y0 = min(px, bx), min(py, by)
            x1, y1 = max(px + w, bx + bw), max(py + h, by + bh)
            ink_mask = np.zeros((y1 - y0, x1 - x0), bool)
            ink_rgb = np.full((y1 - y0, x1 - x0, 3), PAPER, np.uint8)
            region = np.zeros_like(ink_mask)
            old = np.s_[py - y0:py - y0 + h, px - x0:px - x0 + w]
            ink_mask[old], ink_rgb[old], region[old] = layer.ink_mask, layer.ink_rgb, layer.region_mask
            new = np.s_[by - y0:by - y0 + bh, bx - x0:bx - x0 + bw]
            taken = moved[by:by + bh, bx:bx + bw]
            ink_mask[new] |= taken
            region[new] |= taken
            ink_rgb[new][taken] = doc.base[by:by + bh, bx:bx + bw][taken]
            self.after = (ink_mask, ink_rgb, region, (x0 - layer.offset[0], y0 - layer.offset[1]))
            base_box = box
            base_after = doc.base[by:by + bh, bx:bx + bw].copy()
            base_after[taken] = PAPER
        else:
            # only the part of the layer that lies on the canvas now can go back
            x0, y0, x1, y1 = max(px, 0), max(py, 0), min(px + w, doc.width), min(py + h, doc.height)
            if x0 >= x1 or y0 >= y1:
                return
            moved = np.zeros((h, w), bool)
            moved[y0 - py:y1 - py, x0 - px:x1 - px] = brush[y0:y1, x0:x1]
            moved &= layer.ink_mask
            box = bbox_of(moved)
            if box is None:
                return
            bx, by, bw, bh = box
            ink_mask, ink_rgb = layer.ink_mask & ~moved, layer.ink_rgb.copy()
            ink_rgb[moved] = PAPER
            self.after = (ink_mask, ink_rgb, layer.region_mask, layer.origin)
            base_box = (px + bx, py + by, bw, bh)
            base_after = doc.base[py + by:py + by + bh, px + bx:px + bx + bw].copy()
            given = moved[by:by + bh, bx:bx + bw]
            base_after[given] = layer.ink_rgb[by:by + bh, bx:bx + bw][given]
        x, y, bw, bh = base_box
        self.changed = base_box
        self.base_before = doc.base[y:y + bh, x:x + bw].copy()
        self.base_after = base_after

    def _put(self, arrays, base_pixels: np.ndarray) -> None:
        layer = self.doc.layer(self.uid)
        layer.ink_mask, layer.ink_rgb, layer.region_mask, layer.origin = arrays
        x, y, w, h = self.changed
        self.doc.base[y:y + h, x:x + w] = base_pixels
        self.doc._emit_base()
        self.doc._emit_layer(self.uid)

    def redo(self) -> None:
        self._put(self.after, self.base_after)

    def undo(self) -> None:
        self._put(self.before, self.base_before)
