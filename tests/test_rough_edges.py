"""Rough edges a new user meets: the first view fits the window (no tiny box at 4 %), every layer's
tag says its label, and tags, outlines and panel swatches follow the layer's colour."""
import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QMessageBox

from grmnet.results import ReferredInstance
from sketchedit.document import SketchDocument
from sketchedit.mainwindow import MainWindow


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    w = MainWindow(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                   recovery_dir=str(tmp_path / "recovery"), start_model=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    return w


def two_layer_document() -> tuple[SketchDocument, list[int]]:
    base = np.full((200, 300, 3), 255, np.uint8)
    base[40:60, 30:90] = 0
    base[120:150, 180:260] = 0
    doc = SketchDocument(base)
    instances = []
    for n, (y0, y1, x0, x1) in enumerate([(30, 70, 20, 100), (110, 160, 170, 270)], start=1):
        region = np.zeros((200, 300), bool)
        region[y0:y1, x0:x1] = True
        instances.append(ReferredInstance("cat", 0.9, (x0, y0, x1, y1), region & (base[..., 0] < 128), region, n,
                                          f"cat {n}"))
    return doc, doc.select_as_layers(instances)


def test_the_first_view_fits_the_window_and_a_user_zoom_stays(window, qtbot):
    assert window.canvas.zoom > 0.3, f"the empty sketch shows at {window.zoom_label.text()}"
    window.canvas.zoom_by(2.0)
    zoom = window.canvas.zoom
    window.resize(window.width() + 100, window.height() + 50)
    qtbot.wait(50)
    assert window.canvas.zoom == pytest.approx(zoom), "resizing keeps the user's zoom"
    window.act_fit.trigger()
    window.resize(window.width() - 300, window.height() - 200)
    qtbot.waitUntil(lambda: window.canvas.zoom < zoom / 2 + 0.5)


def test_tags_show_labels_and_follow_the_layer_colour(window):
    doc, uids = two_layer_document()
    window.set_document(doc)
    doc.set_selection(())
    items = window.canvas.items_by_uid
    assert sorted(item.tag.text() for item in items.values()) == ["cat 1", "cat 2"], "labels, not numbers"
    doc.recolor([uids[0]], (0, 160, 0))
    item = items[uids[0]]
    assert item.tag_box.brush().color() == QColor(0, 160, 0)
    assert item.outline.pen().color() == QColor(0, 160, 0)
    swatch = window.layers_panel.item_of(uids[0]).icon(2).pixmap(16, 16).toImage()
    assert QColor(swatch.pixel(2, 8)) == QColor(0, 160, 0), "the panel shows the same colour"
    other = items[uids[1]]
    assert other.tag_box.brush().color() == QColor(*doc.layer(uids[1]).outline_color)
    doc.set_locked([uids[1]], True)
    assert other.tag.text() == "cat 2 (locked)"
