"""The sketch canvas: a QGraphicsView showing the base and one item per instance layer.

The canvas observes a SketchDocument and turns mouse/keyboard gestures into document
edits (draw, erase, move, select); it never changes pixels itself except for the live
preview of a stroke or drag, which is replaced by the document's state when the edit lands.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPixmapItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from sketchedit.document import InstanceLayer, SketchDocument

MIN_ZOOM, MAX_ZOOM = 0.02, 64.0
TOOLS = ("move", "pen", "eraser", "ink")   # ink: the brush that moves ink between a layer and the sketch
PICK_TOLERANCE_PX = 4.0                     # on screen: a click this close to a stroke picks its layer


def layer_colour(layer: InstanceLayer) -> tuple[int, int, int]:
    """The colour a layer is shown with (outline, tag, panel swatch): its stroke colour once the
    user recoloured it, else its outline colour from the palette."""
    return layer.stroke_color if layer.stroke_color is not None else layer.outline_color


def readable_text_colour(rgb) -> Qt.GlobalColor:
    """Black or white, whichever reads better on ``rgb``."""
    r, g, b = rgb
    return Qt.GlobalColor.black if r * 0.299 + g * 0.587 + b * 0.114 > 150 else Qt.GlobalColor.white


def pixmap_of(pixels: np.ndarray) -> QPixmap:
    """QPixmap of an HxWx3 or HxWx4 uint8 array (copied, so the array may change later)."""
    pixels = np.ascontiguousarray(pixels)
    h, w = pixels.shape[:2]
    fmt = QImage.Format.Format_RGBA8888 if pixels.shape[2] == 4 else QImage.Format.Format_RGB888
    image = QImage(pixels.data, w, h, pixels.strides[0], fmt)
    return QPixmap.fromImage(image.copy())


class LayerItem(QGraphicsPixmapItem):
    """One instance layer: its pixels, plus an outline and index tag shown when selected."""

    def __init__(self, layer: InstanceLayer):
        super().__init__()
        self.uid = layer.uid
        self._pixel_key = None
        self.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self.setTransformationMode(Qt.TransformationMode.FastTransformation)
        self.outline = QGraphicsRectItem(self)
        self.hover_outline = QGraphicsRectItem(self)
        self.hover_outline.setVisible(False)
        self.tag_box = QGraphicsRectItem(self)
        self.tag = QGraphicsSimpleTextItem(self.tag_box)
        # Outline and tag keep their on-screen size whatever the zoom.
        self.tag_box.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        font = QFont()
        font.setPointSize(9)
        font.setBold(True)
        self.tag.setFont(font)
        self.update_from(layer, selected=False)

    def update_from(self, layer: InstanceLayer, selected: bool) -> None:
        # Re-render pixels only when their look changed: selection and moves are frequent. Edits of a
        # layer's ink (the ink brush) replace its arrays, so the mask's identity tells a change.
        pixel_key = (layer.stroke_color, layer.fill_color, layer.fill_opacity, layer.size, id(layer.ink_mask))
        if pixel_key != self._pixel_key:
            self.setPixmap(pixmap_of(layer.render_rgba()))
            self._pixel_key = pixel_key
        x, y = layer.position
        self.setPos(x, y)
        self.setVisible(layer.visible)
        color = QColor(*layer_colour(layer))
        pen = QPen(color, 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        w, h = layer.size
        self.outline.setPen(pen)
        self.outline.setRect(QRectF(-2, -2, w + 4, h + 4))
        self.outline.setVisible(selected)
        hover_pen = QPen(color, 1, Qt.PenStyle.SolidLine)
        hover_pen.setCosmetic(True)
        self.hover_outline.setPen(hover_pen)
        self.hover_outline.setRect(QRectF(-1, -1, w + 2, h + 2))
        self.tag.setText(layer.label + (" (locked)" if layer.locked else ""))  # as in the panel
        self.tag.setBrush(QBrush(readable_text_colour(layer_colour(layer))))
        text_rect = self.tag.boundingRect()
        self.tag_box.setRect(text_rect.adjusted(-3, -1, 3, 1))
        self.tag_box.setBrush(QBrush(color))
        self.tag_box.setPen(QPen(Qt.PenStyle.NoPen))
        self.tag_box.setPos(-2, -2)
        self.tag_box.setOpacity(1.0 if selected else 0.75)

    def set_hovered(self, hovered: bool) -> None:
        """Highlight the layer under the cursor (what a click would select)."""
        self.hover_outline.setVisible(hovered and not self.outline.isVisible())
        self.setOpacity(0.8 if hovered and not self.outline.isVisible() else 1.0)


class SketchCanvas(QGraphicsView):
    """Zoomable, pannable view of a document with pen, eraser and move tools."""

    zoom_changed = Signal(float)
    tool_changed = Signal(str)
    # Emitted with a user-facing line (e.g. "layer is locked"); the window shows it.
    message = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setBackgroundBrush(QBrush(QColor(96, 96, 96)))
        self.setDragMode(QGraphicsView.DragMode.NoDrag)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.doc: SketchDocument | None = None
        self.tool = "move"
        self.pen_width = 3.0
        self.eraser_width = 16.0
        self.brush_radius = 8.0      # px of the ink brush
        self.hovered: int | None = None
        self._brush: tuple[int, bool] | None = None   # (layer uid, take) of the ink brush stroke in progress
        self.base_item = QGraphicsPixmapItem()
        self.scene().addItem(self.base_item)
        self.items_by_uid: dict[int, LayerItem] = {}
        self._stroke: list[tuple[float, float, float]] = []
        self._stroke_item: QGraphicsPathItem | None = None
        self._drag: tuple[QPointF, dict[int, QPointF]] | None = None
        self._pan: QPointF | None = None
        self._nudge_key = 0
        self._tablet_pressure: float | None = None
        self._space_held = False  # Space + drag pans, as in Krita and Photoshop
        self._fitting = True  # the view follows its size (fit) until the user zooms

    # ------------------------------------------------------------ document
    def set_document(self, doc: SketchDocument) -> None:
        if self.doc is not None:
            for sig, slot in self._connections():
                sig.disconnect(slot)
        self.doc = doc
        for sig, slot in self._connections():
            sig.connect(slot)
        self.scene().setSceneRect(QRectF(0, 0, doc.width, doc.height))
        self._refresh_base()
        self._rebuild_layers()
        self.fit()

    def _connections(self):
        d = self.doc
        return [(d.base_changed, self._refresh_base), (d.layers_changed, self._rebuild_layers),
                (d.layer_changed, self._refresh_layer), (d.selection_changed, self._refresh_selection)]

    def _refresh_base(self) -> None:
        self.base_item.setPixmap(pixmap_of(self.doc.base))

    def _rebuild_layers(self) -> None:
        for item in self.items_by_uid.values():
            self.scene().removeItem(item)
        self.items_by_uid = {}
        for z, layer in enumerate(self.doc.layers, start=1):
            item = LayerItem(layer)
            item.setZValue(z)
            self.scene().addItem(item)
            self.items_by_uid[layer.uid] = item
        self._refresh_selection()

    def _refresh_layer(self, uid: int) -> None:
        if uid in self.items_by_uid and self.doc.has_layer(uid):
            self.items_by_uid[uid].update_from(self.doc.layer(uid), uid in self.doc.selected)

    def _refresh_selection(self) -> None:
        self._nudge_key += 1  # arrow nudges of a new selection are a new undo step
        for uid, item in self.items_by_uid.items():
            item.update_from(self.doc.layer(uid), uid in self.doc.selected)
            item.set_hovered(uid == self.hovered)

    def set_hovered(self, uid: int | None) -> None:
        if uid != self.hovered:
            for old in (self.hovered, uid):
                if old in self.items_by_uid:
                    self.items_by_uid[old].set_hovered(old == uid)
            self.hovered = uid

    # ----------------------------------------------------------------- view
    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, zoom: float) -> None:
        self._fitting = False
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        factor = zoom / self.zoom
        self.scale(factor, factor)  # scale() honours the anchor: zoom about the cursor
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, factor: float) -> None:
        self.set_zoom(self.zoom * factor)

    def fit(self) -> None:
        self._fitting = True
        if self.doc is not None:
            self.fitInView(self.scene().sceneRect().adjusted(-8, -8, 8, 8), Qt.AspectRatioMode.KeepAspectRatio)
            self.zoom_changed.emit(self.zoom)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt API
        # A sketch set before the window was laid out was fitted into a tiny viewport (a 4 % zoom):
        # refit while the view is in "fit" mode, i.e. until the user zooms.
        super().resizeEvent(event)
        if self._fitting:
            self.fit()

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(tool)
        self.tool = tool
        self.viewport().setCursor(Qt.CursorShape.ArrowCursor if tool == "move" else Qt.CursorShape.CrossCursor)
        if tool != "move":
            self.set_hovered(None)
        self.tool_changed.emit(tool)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 - Qt API
        # Wheel zooms about the cursor (like labelme/Krita's zoom); Shift+wheel scrolls.
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)
            return
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom_by(1.15 ** steps)
        event.accept()

    # ---------------------------------------------------------------- input
    def stroke_layer_at(self, scene_pos: QPointF) -> int | None:
        """The layer owning the stroke under the cursor (a few screen pixels of tolerance)."""
        return self.doc.layer_at(scene_pos.x(), scene_pos.y(), PICK_TOLERANCE_PX / max(self.zoom, 1e-6))

    def _layer_at(self, view_pos) -> int | None:
        for item in self.items(view_pos):
            while item is not None and not isinstance(item, LayerItem):
                item = item.parentItem()
            if isinstance(item, LayerItem) and item.isVisible():
                return item.uid
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self.doc is None:
            return
        pos = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.MiddleButton or (event.button() == Qt.MouseButton.LeftButton and (
                self._space_held or event.modifiers() & Qt.KeyboardModifier.AltModifier)):
            self._pan = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if self.tool == "ink":
            if len(self.doc.selected) != 1:
                self.message.emit("Select one layer first: the ink brush moves ink between it and the sketch")
                return
            uid = self.doc.selected[0]
            if self.doc.layer(uid).locked:
                self.message.emit("The selected layer is locked")
                return
            # Ctrl gives the layer's ink back to the sketch; plain strokes take the sketch's ink into the layer
            take = not event.modifiers() & Qt.KeyboardModifier.ControlModifier
            self._brush = (uid, take)
        if self.tool in ("pen", "eraser", "ink"):
            self._stroke = [(pos.x(), pos.y(), self._pressure(event))]
            self._stroke_item = QGraphicsPathItem()
            if self.tool == "ink":
                uid, take = self._brush
                color = QColor(*self.doc.layer(uid).outline_color) if take else QColor(128, 128, 128)
                color.setAlpha(110)
                width = 2 * self.brush_radius
            else:
                color = QColor(255, 255, 255) if self.tool == "eraser" else QColor(0, 0, 0)
                width = self.pen_width if self.tool == "pen" else self.eraser_width
            pen = QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
            self._stroke_item.setPen(pen)
            self._stroke_item.setZValue(10_000)
            self.scene().addItem(self._stroke_item)
            self._update_stroke_preview()
            return
        # the stroke under the cursor picks its layer; inside a selected layer's box, the selection is grabbed
        uid = self.stroke_layer_at(pos)
        if uid is None:
            boxed = self._layer_at(event.position().toPoint())
            uid = boxed if boxed in self.doc.selected else None
        shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        if uid is None:
            if not shift:
                self.doc.set_selection(())
            return
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            sel = set(self.doc.selected) ^ {uid}
            self.doc.set_selection([u for u in (layer.uid for layer in self.doc.layers) if u in sel])
            return
        if shift:  # adds to the selection
            sel = set(self.doc.selected) | {uid}
            self.doc.set_selection([u for u in (layer.uid for layer in self.doc.layers) if u in sel])
            return
        if uid not in self.doc.selected:
            self.doc.set_selection([uid])
        movable = {u: self.items_by_uid[u].pos() for u in self.doc.selected if not self.doc.layer(u).locked}
        if not movable:
            self.message.emit("The selected layer is locked")
            return
        self._drag = (pos, movable)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan is not None:
            delta = event.position() - self._pan
            self._pan = event.position()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - int(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - int(delta.y()))
            return
        pos = self.mapToScene(event.position().toPoint())
        if self.doc is not None and self.tool == "move" and event.buttons() == Qt.MouseButton.NoButton:
            self.set_hovered(self.stroke_layer_at(pos))
        if self._stroke_item is not None:
            self._stroke.append((pos.x(), pos.y(), self._pressure(event)))
            self._update_stroke_preview()
        elif self._drag is not None:
            start, origins = self._drag
            dx, dy = round(pos.x() - start.x()), round(pos.y() - start.y())
            for uid, origin in origins.items():
                self.items_by_uid[uid].setPos(origin + QPointF(dx, dy))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._pan is not None:
            self._pan = None
            self.set_tool(self.tool)
            return
        pos = self.mapToScene(event.position().toPoint())
        if self._stroke_item is not None:
            self.scene().removeItem(self._stroke_item)
            self._stroke_item = None
            points, self._stroke = self._stroke, []
            self._tablet_pressure = None
            if self._brush is not None:
                (uid, take), self._brush = self._brush, None
                moved = self.doc.has_layer(uid) and self.doc.brush_ink(uid, [(x, y) for x, y, _ in points],
                                                                       self.brush_radius, take)
                if not moved:
                    self.message.emit("The brush touched no ink of the sketch" if take
                                      else "The brush touched none of the layer's ink")
                return
            erase = self.tool == "eraser"
            self.doc.paint_stroke(points, self.eraser_width if erase else self.pen_width, erase=erase)
        elif self._drag is not None:
            start, origins = self._drag
            self._drag = None
            dx, dy = round(pos.x() - start.x()), round(pos.y() - start.y())
            if dx or dy:
                self.doc.move(list(origins), dx, dy)

    def viewportEvent(self, event) -> bool:  # noqa: N802 - Qt API
        # Remember the stylus pressure, then let Qt turn the tablet event into mouse events
        # (ignored tablet events are re-sent as mouse events), so one code path draws.
        if event.type() in (QEvent.Type.TabletPress, QEvent.Type.TabletMove):
            self._tablet_pressure = float(event.pressure())
            event.ignore()
            return False
        if event.type() == QEvent.Type.TabletRelease:
            event.ignore()
            return False
        return super().viewportEvent(event)

    def _pressure(self, event: QMouseEvent) -> float:
        if self._tablet_pressure is not None:
            return min(max(self._tablet_pressure, 0.05), 1.0)
        # A mouse (or a platform that puts pressure on synthesised events) otherwise.
        try:
            pressure = float(event.points()[0].pressure())
        except (AttributeError, IndexError):
            pressure = 1.0
        return pressure if 0.0 < pressure <= 1.0 else 1.0

    def _update_stroke_preview(self) -> None:
        path = QPainterPath(QPointF(self._stroke[0][0], self._stroke[0][1]))
        for x, y, _ in self._stroke[1:]:
            path.lineTo(x, y)
        if len(self._stroke) == 1:
            path.lineTo(self._stroke[0][0] + 0.01, self._stroke[0][1])
        self._stroke_item.setPath(path)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space_held = False
            self.set_tool(self.tool)
        super().keyReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_held = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and self.doc is not None:
            self.doc.set_selection(())
            event.accept()
            return
        arrows = {Qt.Key.Key_Left: (-1, 0), Qt.Key.Key_Right: (1, 0), Qt.Key.Key_Up: (0, -1), Qt.Key.Key_Down: (0, 1)}
        if self.doc is not None and event.key() in arrows and self.doc.selected:
            step = 10 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else 1
            dx, dy = arrows[event.key()]
            if all(self.doc.layer(u).locked for u in self.doc.selected):
                self.message.emit("The selected layer is locked")
            self.doc.move(self.doc.selected, dx * step, dy * step, merge_key=self._nudge_key)
            event.accept()
            return
        super().keyPressEvent(event)
