"""Layers panel: the instance layers, top of the stack first (as in Krita and GIMP).

Columns: visibility, lock, colour swatch + label (double-click to rename). Buttons and the
context menu recolour, fill, reorder, merge back or delete the selected layers.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sketchedit.canvas import layer_colour
from sketchedit.document import SketchDocument

COL_VISIBLE, COL_LOCKED, COL_LABEL = 0, 1, 2
UID_ROLE = Qt.ItemDataRole.UserRole


def swatch(color, fill=None, size: int = 16) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*fill) if fill is not None else QColor(255, 255, 255))
    from PySide6.QtGui import QPainter, QPen

    painter = QPainter(pix)
    painter.setPen(QPen(QColor(*color), 4))
    painter.drawRect(2, 2, size - 5, size - 5)
    painter.end()
    return QIcon(pix)


class LayersPanel(QWidget):
    """Observes the document; the window connects the action requests to its dialogs."""

    recolor_requested = Signal()
    fill_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.doc: SketchDocument | None = None
        self._syncing = False
        self.tree = QTreeWidget(self)
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels(["Show", "Lock", "Layer"])
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        triggers = QAbstractItemView.EditTrigger
        self.tree.setEditTriggers(triggers.DoubleClicked | triggers.EditKeyPressed)
        header = self.tree.header()
        header.setSectionResizeMode(COL_VISIBLE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_LOCKED, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_LABEL, QHeaderView.ResizeMode.Stretch)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.itemSelectionChanged.connect(self._on_tree_selection)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)

        self.actions_by_name: dict[str, QAction] = {}
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        for name, text, tip, slot in [
            ("recolor", "Colour…", "Recolour the strokes of the selected layers", self.recolor_requested.emit),
            ("fill", "Fill…", "Fill the selected instances' regions", self.fill_requested.emit),
            ("raise", "▲", "Raise the selected layer", lambda: self._shift(+1)),
            ("lower", "▼", "Lower the selected layer", lambda: self._shift(-1)),
            ("merge", "Merge", "Merge the selected layers back into the sketch", self.merge_selected),
            ("delete", "Delete", "Delete the selected layers (their ink leaves the sketch)", self.delete_selected),
        ]:
            action = QAction(text, self)
            action.setToolTip(tip)
            action.triggered.connect(slot)
            self.actions_by_name[name] = action
            self.tree.addAction(action)
            button = QToolButton(self)
            button.setDefaultAction(action)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._update_actions()

    # ------------------------------------------------------------- document
    def set_document(self, doc: SketchDocument) -> None:
        if self.doc is not None:
            self.doc.layers_changed.disconnect(self.rebuild)
            self.doc.layer_changed.disconnect(self._refresh_item)
            self.doc.selection_changed.disconnect(self._sync_selection)
        self.doc = doc
        doc.layers_changed.connect(self.rebuild)
        doc.layer_changed.connect(self._refresh_item)
        doc.selection_changed.connect(self._sync_selection)
        self.rebuild()

    def item_of(self, uid: int) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(COL_LABEL, UID_ROLE) == uid:
                return item
        return None

    def labels(self) -> list[str]:
        """Layer labels as listed, top first (handy for tests and accessibility)."""
        return [self.tree.topLevelItem(i).text(COL_LABEL) for i in range(self.tree.topLevelItemCount())]

    def rebuild(self) -> None:
        self._syncing = True
        try:
            self.tree.clear()
            for layer in reversed(self.doc.layers):
                item = QTreeWidgetItem()
                item.setFlags(Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsEditable
                              | Qt.ItemFlag.ItemIsUserCheckable)
                item.setData(COL_LABEL, UID_ROLE, layer.uid)
                self.tree.addTopLevelItem(item)
                self._fill_item(item, layer.uid)
        finally:
            self._syncing = False
        self._sync_selection()

    def _fill_item(self, item: QTreeWidgetItem, uid: int) -> None:
        layer = self.doc.layer(uid)
        item.setText(COL_LABEL, layer.label)
        item.setIcon(COL_LABEL, swatch(layer_colour(layer), layer.fill_color))  # the colour of its tag on the canvas
        item.setCheckState(COL_VISIBLE, Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
        item.setCheckState(COL_LOCKED, Qt.CheckState.Checked if layer.locked else Qt.CheckState.Unchecked)
        item.setToolTip(COL_LABEL, f"{layer.label} — {layer.category}, score {layer.score:.2f}")
        item.setToolTip(COL_VISIBLE, "Visible")
        item.setToolTip(COL_LOCKED, "Locked (cannot be moved or deleted)")

    def _refresh_item(self, uid: int) -> None:
        item = self.item_of(uid)
        if item is not None and self.doc.has_layer(uid):
            self._syncing = True
            try:
                self._fill_item(item, uid)
            finally:
                self._syncing = False
        self._update_actions()

    def _sync_selection(self) -> None:
        self._syncing = True
        try:
            selected = set(self.doc.selected)
            for i in range(self.tree.topLevelItemCount()):
                item = self.tree.topLevelItem(i)
                item.setSelected(item.data(COL_LABEL, UID_ROLE) in selected)
        finally:
            self._syncing = False
        self._update_actions()

    # ---------------------------------------------------------------- edits
    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._syncing or self.doc is None:
            return
        uid = item.data(COL_LABEL, UID_ROLE)
        if column == COL_VISIBLE:
            self.doc.set_visible([uid], item.checkState(COL_VISIBLE) == Qt.CheckState.Checked)
        elif column == COL_LOCKED:
            self.doc.set_locked([uid], item.checkState(COL_LOCKED) == Qt.CheckState.Checked)
        elif column == COL_LABEL:
            text = item.text(COL_LABEL).strip()
            if text:
                self.doc.rename(uid, text)
            self._refresh_item(uid)  # an empty name snaps back

    def _on_tree_selection(self) -> None:
        if self._syncing or self.doc is None:
            return
        uids = {item.data(COL_LABEL, UID_ROLE) for item in self.tree.selectedItems()}
        self.doc.set_selection([layer.uid for layer in self.doc.layers if layer.uid in uids])

    def _update_actions(self) -> None:
        has = bool(self.doc and self.doc.selected)
        for action in self.actions_by_name.values():
            action.setEnabled(has)

    def _shift(self, step: int) -> None:
        if self.doc and len(self.doc.selected) == 1:
            uid = self.doc.selected[0]
            self.doc.reorder(uid, self.doc.index_of(uid) + step)
            self.doc.set_selection([uid])

    def merge_selected(self) -> None:
        if self.doc and self.doc.selected:
            self.doc.merge_back(self.doc.selected)

    def delete_selected(self) -> None:
        if self.doc and self.doc.selected:
            self.doc.delete(self.doc.selected)
