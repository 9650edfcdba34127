"""The real window, driven like a user would (offscreen), with a deterministic fake model.

The fake predictor goes through the same worker thread and result path as the real model;
tests/test_app_model.py runs the real tiny GRM-Net through it as well.
"""
import errno
import time
import xml.etree.ElementTree as ET
import zipfile

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QSettings, Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QColorDialog, QMessageBox

from grmnet.errors import NoWeightsError
from sketchedit import atomic
from sketchedit.app import first_example
from sketchedit.mainwindow import NO_WEIGHTS_STATUS, MainWindow
from fakes import FakeEngine, make_test_sketch

SVG = "{http://www.w3.org/2000/svg}"
INK = "{http://www.inkscape.org/namespaces/inkscape}"


@pytest.fixture
def dialogs(monkeypatch):
    """Record message boxes instead of blocking on them; questions get queued answers."""
    record = {"warnings": [], "questions": [], "answers": []}

    def warning(parent, title, text, *args, **kwargs):
        record["warnings"].append(text)
        return QMessageBox.StandardButton.Ok

    def question(parent, title, text, *args, **kwargs):
        record["questions"].append(text)
        return record["answers"].pop(0) if record["answers"] else QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return record


def make_window(qtbot, tmp_path, predictor=None, factory=None):
    predictor = predictor or FakeEngine()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, engine_factory=factory or (lambda *a: predictor),
                        recovery_dir=str(tmp_path / "recovery"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: not window.client.loading, timeout=10000)
    return window


@pytest.fixture
def sketch_path(tmp_path):
    path = tmp_path / "scene.png"
    Image.fromarray(make_test_sketch()).save(path)
    return path


@pytest.fixture
def fake():
    return FakeEngine()


@pytest.fixture
def window(qtbot, tmp_path, dialogs, fake, sketch_path):
    w = make_window(qtbot, tmp_path, fake)
    assert w.open_path(str(sketch_path))
    return w


def run_query(qtbot, window, text, expect_layers=None):
    edit = window.query_bar.edit
    edit.clear()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    if expect_layers is not None:
        qtbot.waitUntil(lambda: len(window.doc.layers) == expect_layers, timeout=10000)
    qtbot.waitUntil(lambda: not window.client.busy, timeout=10000)


def test_query_makes_layers_outlined_and_labelled(qtbot, window):
    original = window.doc.composite()
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    assert window.layers_panel.labels() == ["sheep 2", "sheep 1"]  # top of the stack first
    assert "Selected 2 instances: sheep 1, sheep 2" in window.last_message
    items = window.canvas.items_by_uid
    assert len(items) == 2 and all(item.outline.isVisible() for item in items.values())
    assert sorted(item.tag.text() for item in items.values()) == ["sheep 1", "sheep 2"]
    assert np.array_equal(window.doc.composite(), original), "selecting changes nothing visible"
    assert window.isWindowModified()


def test_recolour_move_delete_with_undo_and_redo(qtbot, window, monkeypatch):
    original = window.doc.composite()
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    first, second = (layer.uid for layer in window.doc.layers)
    ink = window.doc.layer(first).ink_mask
    x, y = window.doc.layer(first).position

    window.doc.set_selection([first])
    monkeypatch.setattr(QColorDialog, "getColor", staticmethod(lambda *a, **k: QColor(255, 0, 0)))
    window.act_recolor.trigger()
    recoloured = window.doc.composite()
    changed = (recoloured != original).any(axis=2)
    expected = np.zeros_like(changed)
    expected[y:y + ink.shape[0], x:x + ink.shape[1]] = ink
    assert np.array_equal(changed, expected), "recoloured where the instance ink was and nowhere else"
    assert (recoloured[expected] == (255, 0, 0)).all()

    # Arrow keys nudge the selected layer (Shift = 10 px); nudges are one undo step.
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(window.canvas, Qt.Key.Key_Down)
    assert window.doc.layer(first).offset == (10, 1)
    assert window.canvas.items_by_uid[first].pos().x() == x + 10

    # Delete key removes the layer, with its ink.
    qtbot.keyClick(window.canvas, Qt.Key.Key_Delete)
    assert not window.doc.has_layer(first)
    assert (window.doc.composite()[y:y + ink.shape[0], x:x + ink.shape[1] + 10][..., 1] == 255).all()

    undo = lambda: qtbot.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    redo = lambda: qtbot.keyClick(window.canvas, Qt.Key.Key_Z,
                                  Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    undo()
    assert window.doc.has_layer(first) and window.doc.layer(first).offset == (10, 1)
    undo()
    assert window.doc.layer(first).offset == (0, 0)
    undo()
    assert np.array_equal(window.doc.composite(), original)
    redo()
    redo()
    redo()
    assert not window.doc.has_layer(first) and window.doc.has_layer(second)
    assert window.layers_panel.labels() == ["sheep 2"]


def test_drag_moves_the_layer_and_respects_locks(qtbot, window):
    run_query(qtbot, window, "the one sheep", expect_layers=1)
    uid = window.doc.layers[0].uid
    item = window.canvas.items_by_uid[uid]
    view = window.canvas
    start = view.mapFromScene(item.sceneBoundingRect().center())
    end = view.mapFromScene(item.sceneBoundingRect().center() + QPoint(30, 12).toPointF())
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view.viewport(), end)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    dx, dy = window.doc.layer(uid).offset
    assert abs(dx - 30) <= 2 and abs(dy - 12) <= 2
    window.doc.set_locked([uid], True)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    qtbot.mouseMove(view.viewport(), start)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    assert window.doc.layer(uid).offset == (dx, dy) and "locked" in window.last_message


def test_pen_and_eraser_draw_on_the_sketch(qtbot, window):
    view = window.canvas
    before = window.doc.base.copy()
    window.tool_actions["pen"].trigger()
    a, b = view.mapFromScene(20, 20), view.mapFromScene(120, 20)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(view.viewport(), b)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=b)
    assert window.doc.base[20, 30:110].max() < 128, "a dark line where the pen went"
    window.tool_actions["eraser"].trigger()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(60, 20))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(60, 20))
    assert window.doc.base[20, 60].min() == 255
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert np.array_equal(window.doc.base, before)


def test_zoom_and_fit(qtbot, window):
    view = window.canvas
    view.fit()
    fitted = view.zoom
    view.zoom_by(2.0)
    assert view.zoom == pytest.approx(fitted * 2)
    window.act_fit.trigger()
    assert view.zoom == pytest.approx(fitted)
    assert window.zoom_label.text().endswith("%")


def test_layers_panel_edits(qtbot, window):
    run_query(qtbot, window, "the three sheep", expect_layers=3)
    panel = window.layers_panel
    top = panel.tree.topLevelItem(0)
    uid = top.data(2, Qt.ItemDataRole.UserRole)
    top.setText(2, "hero sheep")
    assert window.doc.layer(uid).label == "hero sheep"
    top.setCheckState(0, Qt.CheckState.Unchecked)
    assert not window.doc.layer(uid).visible and not window.canvas.items_by_uid[uid].isVisible()
    panel.item_of(uid).setCheckState(1, Qt.CheckState.Checked)
    assert window.doc.layer(uid).locked
    # Selecting in the panel selects on the canvas; lower it one step, then merge it back.
    panel.tree.clearSelection()
    panel.item_of(uid).setSelected(True)
    assert window.doc.selected == (uid,)
    panel.actions_by_name["lower"].trigger()
    assert window.doc.index_of(uid) == 1
    panel.item_of(uid).setCheckState(0, Qt.CheckState.Checked)
    panel.actions_by_name["merge"].trigger()
    assert not window.doc.has_layer(uid) and len(window.doc.layers) == 2
    window.doc.undo_stack.undo()
    assert window.doc.layer(uid).label == "hero sheep"


def test_export_every_format_and_read_it_back(qtbot, window, tmp_path, monkeypatch):
    original = window.doc.composite()
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    first = window.doc.layers[0]
    window.doc.recolor([first.uid], (0, 160, 0))
    out = tmp_path / "out"
    out.mkdir()

    assert window.export_to(str(out / "flat.png"))
    png = np.asarray(Image.open(out / "flat.png").convert("RGB"))
    changed = (png != original).any(axis=2)
    x, y = first.position
    expected = np.zeros_like(changed)
    expected[y:y + first.ink_mask.shape[0], x:x + first.ink_mask.shape[1]] = first.ink_mask
    assert np.array_equal(changed, expected)

    assert window.export_to(str(out / "scene.ora"))
    with zipfile.ZipFile(out / "scene.ora") as zf:
        assert zf.namelist()[0] == "mimetype"
        stack = ET.fromstring(zf.read("stack.xml"))
        assert [l.get("name") for l in stack.iter("layer")] == ["sheep 2", "sheep 1", "Sketch"]

    assert window.export_to(str(out / "scene.svg"))
    groups = [g for g in ET.parse(out / "scene.svg").getroot().iter(f"{SVG}g")
              if g.get(f"{INK}groupmode") == "layer"]
    assert [g.get(f"{INK}label") for g in groups] == ["Paper", "Sketch", "sheep 1", "sheep 2"]
    assert groups[2].find(f"{SVG}path").get("fill") == "#00a000"

    assert window.export_to(str(out / "scene.psd"))
    from psd_tools import PSDImage

    assert [layer.name for layer in PSDImage.open(out / "scene.psd")] == ["Sketch", "sheep 1", "sheep 2"]

    assert window.export_to(str(out / "layers.zip"))
    with zipfile.ZipFile(out / "layers.zip") as zf:
        assert "manifest.json" in zf.namelist() and len(zf.namelist()) == 4

    # Save natively, reopen: layers, colours and labels are back.
    assert window.save_to(str(out / "saved.ora"))
    assert not window.isWindowModified()
    assert window.open_path(str(out / "saved.ora"))
    assert window.layers_panel.labels() == ["sheep 2", "sheep 1"]
    assert window.doc.layers[0].stroke_color == (0, 160, 0)


def test_export_and_save_failures_lose_nothing(qtbot, window, tmp_path, dialogs, monkeypatch):
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    doc = window.doc

    def denied(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    with monkeypatch.context() as patched:  # a read-only folder (tests run as root, so simulate it)
        patched.setattr(atomic.os, "replace", denied)
        assert not window.export_to(str(tmp_path / "x.png"))
        assert "permission denied" in dialogs["warnings"][-1] and "nothing was lost" in dialogs["warnings"][-1]
        assert not window.save_to(str(tmp_path / "x.ora"))
        assert "permission denied" in dialogs["warnings"][-1]
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert not window.export_to(str(blocker / "x.svg"))
    assert "is a file" in dialogs["warnings"][-1]
    assert window.doc is doc and len(doc.layers) == 2 and window.isWindowModified()
    assert not list(tmp_path.glob(".~*")), "no temporary files left behind"


def test_bad_files_keep_the_current_sketch(qtbot, window, tmp_path, dialogs):
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    doc = window.doc
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 definitely not a jpeg")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    for path in (bad, empty, tmp_path / "missing.webp"):
        assert not window.open_path(str(path), confirm=False)
        assert path.name in dialogs["warnings"][-1]
    assert window.doc is doc and len(doc.layers) == 2


def test_zero_size_image_is_refused(qtbot, window, tmp_path, dialogs):
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path = tmp_path / "zero.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 0, 0, 8, 0, 0, 0, 0))
                     + chunk(b"IEND", b""))
    assert not window.open_path(str(path), confirm=False)
    assert "zero.png" in dialogs["warnings"][-1]


@pytest.mark.slow
def test_huge_image_opens_downscaled_with_a_notice(qtbot, window, tmp_path):
    from PIL import ImageDraw

    path = tmp_path / "huge.png"
    img = Image.new("1", (20000, 20000), 1)
    ImageDraw.Draw(img).line((0, 0, 19999, 19999), fill=0, width=60)
    img.save(path)
    del img
    assert window.open_path(str(path), confirm=False)
    assert (window.doc.width, window.doc.height) == (4096, 4096)
    assert "20000x20000" in window.last_message and "downscaled" in window.last_message
    assert window.doc.base[2048, 2048].max() < 128, "the stroke survives downscaling"


def test_empty_and_unknown_expressions_are_flagged_before_running(qtbot, window, fake):
    run_query(qtbot, window, "   ")
    assert "Type what to select" in window.last_message
    qtbot.keyClicks(window.query_bar.edit, "zorp blah")
    assert window.query_bar.hint.text() == "Unknown: zorp, blah"
    qtbot.keyClick(window.query_bar.edit, Qt.Key.Key_Return)
    assert "None of these words are known" in window.last_message
    assert fake.calls == [], "nothing was sent to the model"
    run_query(qtbot, window, "the left thing")  # partly unknown: runs, says what it ignored
    assert fake.calls == ["the left thing"]
    assert "matched nothing" in window.last_message


def test_history_and_completion(qtbot, window, fake):
    run_query(qtbot, window, "the one sheep", expect_layers=1)
    run_query(qtbot, window, "the two cars")
    edit = window.query_bar.edit
    edit.clear()
    qtbot.keyClick(edit, Qt.Key.Key_Up)
    assert edit.text() == "the two cars"
    qtbot.keyClick(edit, Qt.Key.Key_Up)
    assert edit.text() == "the one sheep"
    qtbot.keyClick(edit, Qt.Key.Key_Down)
    assert edit.text() == "the two cars"
    edit.clear()
    qtbot.keyClicks(edit, "the she")
    completer = edit.completer_
    assert completer.completionPrefix() == "she" and completer.currentCompletion() == "sheep"
    assert completer.popup().isVisible()
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Down)
    qtbot.keyClick(completer.popup(), Qt.Key.Key_Return)
    assert edit.text() == "the sheep"
    qtbot.wait(50)
    assert fake.calls == ["the one sheep", "the two cars"], "accepting a completion does not run the query"


def test_ctrl_l_focuses_the_query_bar(qtbot, window):
    window.canvas.setFocus()
    qtbot.keyClick(window.canvas, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.query_bar.edit.hasFocus())


def test_ui_stays_responsive_while_the_model_runs(qtbot, tmp_path, dialogs, sketch_path):
    slow = FakeEngine(delay_s=1.5)
    window = make_window(qtbot, tmp_path, slow)
    window.open_path(str(sketch_path))
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start(10)
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    timer.stop()
    gaps = np.diff(ticks)
    assert len(ticks) > 50, "the event loop kept ticking during the query"
    assert gaps.max() < 0.25, f"the UI froze for {gaps.max():.2f}s"


def test_stale_results_are_dropped(qtbot, tmp_path, dialogs, sketch_path):
    slow = FakeEngine(delay_s=0.4)
    window = make_window(qtbot, tmp_path, slow)
    window.open_path(str(sketch_path))
    # New queries replace the one running: only the latest lands.
    window.query_bar.edit.setText("the two sheep")
    window.query_bar.edit.returnPressed.emit()
    window.query_bar.edit.setText("the three sheep")
    window.query_bar.edit.returnPressed.emit()
    window.query_bar.edit.setText("the one sheep")
    window.query_bar.edit.returnPressed.emit()
    qtbot.waitUntil(lambda: not window.client.busy, timeout=10000)
    qtbot.wait(900)  # let the superseded answers arrive, if any would
    assert [l.label for l in window.doc.layers] == ["sheep 1"]
    assert slow.calls[-1] == "the one sheep" and len(slow.calls) <= 2, "a queued stale query is skipped"
    # Editing the sketch while a query runs cancels it.
    window.query_bar.edit.setText("the three sheep")
    window.query_bar.edit.returnPressed.emit()
    window.doc.paint_stroke([(5, 5, 1.0), (50, 5, 1.0)], 2)
    qtbot.wait(900)
    assert len(window.doc.layers) == 1 and "cancelled" in window.last_message


def test_without_weights_the_app_says_so_and_still_edits(qtbot, tmp_path, dialogs, sketch_path):
    def no_weights(*args):
        raise NoWeightsError("no trained weights in resources/weights")

    window = make_window(qtbot, tmp_path, factory=no_weights)
    assert window.statusBar().currentMessage() == NO_WEIGHTS_STATUS
    assert window.model_status.text() == "No trained weights"
    assert window.open_path(str(sketch_path))
    run_query(qtbot, window, "the two sheep")
    assert "No trained weights" in window.last_message
    window.doc.paint_stroke([(5, 5, 1.0), (50, 5, 1.0)], 2)
    assert window.export_to(str(tmp_path / "still-works.svg"))


def test_autosave_and_crash_recovery(qtbot, tmp_path, dialogs, sketch_path):
    window = make_window(qtbot, tmp_path)
    window.open_path(str(sketch_path))
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    window.doc.recolor([window.doc.layers[0].uid], (255, 0, 0))
    assert window.autosave_now()
    assert not window.autosave_now(), "nothing new to save"
    recovery = window.recovery_path
    # Simulate a crash: the first window lets go of its lock as a dead process would (a live
    # window's recovery is never offered); a new window finds the recovery file and offers it.
    window.recovery.abandon()
    dialogs["answers"].append(QMessageBox.StandardButton.Yes)
    second = make_window(qtbot, tmp_path)
    assert second.offer_recovery()
    assert "did not close properly" in dialogs["questions"][-1]
    assert second.layers_panel.labels() == ["sheep 2", "sheep 1"]
    assert second.doc.layers[0].stroke_color == (255, 0, 0) and second.isWindowModified()
    # A clean close removes it.
    second.doc.undo_stack.setClean()
    second.close()
    import os
    assert not os.path.exists(recovery)


def test_close_with_unsaved_changes_can_be_cancelled(qtbot, window, dialogs):
    run_query(qtbot, window, "the one sheep", expect_layers=1)
    dialogs["answers"].append(QMessageBox.StandardButton.Cancel)
    window.close()
    assert window.isVisible() and "unsaved changes" in dialogs["questions"][-1]


def test_grab_shows_the_window(qtbot, window):
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    image = window.grab().toImage()
    assert image.width() > 600 and image.height() > 400


def test_first_example_falls_back_when_there_is_none(tmp_path):
    assert first_example(tmp_path / "nope") is None
    assert first_example(tmp_path) is None
    Image.new("RGB", (4, 4), "white").save(tmp_path / "b.png")
    (tmp_path / "README.txt").write_text("not a sketch")
    assert first_example(tmp_path).name == "b.png"


def test_start_up_opens_the_given_file_or_an_example(qtbot, tmp_path, dialogs, sketch_path, monkeypatch):
    from sketchedit import app

    kwargs = dict(settings=QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                  engine_factory=lambda *a: FakeEngine(), recovery_dir=str(tmp_path / "rec"))
    window = app.create_window(str(sketch_path), **kwargs)
    qtbot.addWidget(window)
    assert window.doc.path == str(sketch_path)
    examples = tmp_path / "examples"
    examples.mkdir()
    monkeypatch.setattr(app, "EXAMPLES_DIR", examples)
    monkeypatch.setattr(app.first_example, "__defaults__", (examples,))
    empty = app.create_window(None, **kwargs)
    qtbot.addWidget(empty)
    assert empty.doc.path is None and empty.doc.layers == []  # no example yet: an empty canvas
    Image.fromarray(make_test_sketch()).save(examples / "scene_1.png")
    example = app.create_window(None, **kwargs)
    qtbot.addWidget(example)
    assert example.doc.path.endswith("scene_1.png")


def test_preferences_round_trip(tmp_path):
    from sketchedit.preferences import Preferences, PreferencesDialog

    settings = QSettings(str(tmp_path / "p.ini"), QSettings.Format.IniFormat)
    assert Preferences.load(settings) == Preferences()
    Preferences("w.safetensors", "cuda", 0.7, 30).save(settings)
    prefs = Preferences.load(settings)
    assert prefs == Preferences("w.safetensors", "cuda", 0.7, 30)
    assert prefs.query_threshold == 0.7
    settings.setValue("model/threshold", "garbage")
    assert Preferences.load(settings).threshold == 0.0
    assert Preferences().query_threshold is None          # by default the model's own, tuned threshold
    dialog = PreferencesDialog(prefs)
    dialog.threshold.setValue(0.35)
    dialog.device.setCurrentText("cpu")
    assert dialog.preferences() == Preferences("w.safetensors", "cpu", 0.35, 30)


def test_asking_again_for_lifted_instances_selects_their_layers(qtbot, window):
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    first, second = (layer.uid for layer in window.doc.layers)
    window.doc.move([second], 0, 3)  # the composite changes, the instance is still found
    window.doc.set_selection(())
    run_query(qtbot, window, "the one sheep")
    assert window.doc.selected == (first,) and len(window.doc.layers) == 2
    assert "existing layers: sheep 1" in window.last_message


def test_stylus_pressure_sets_the_stroke_width(qtbot, window):
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
    from PySide6.QtWidgets import QApplication

    stylus = QPointingDevice("test stylus", 7, QInputDevice.DeviceType.Stylus, QPointingDevice.PointerType.Pen,
                             QInputDevice.Capability.Position | QInputDevice.Capability.Pressure, 1, 3)
    view = window.canvas
    window.tool_actions["pen"].trigger()
    window.width_spin.setValue(12)

    def stroke(y, pressure):
        a, b = view.mapFromScene(20, y), view.mapFromScene(100, y)
        tablet = QTabletEvent(QEvent.Type.TabletPress, stylus, QPointF(a), QPointF(view.mapToGlobal(a)), pressure,
                              0, 0, 0, 0, 0, Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton,
                              Qt.MouseButton.LeftButton)
        QApplication.sendEvent(view.viewport(), tablet)
        qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=a)
        qtbot.mouseMove(view.viewport(), b)
        qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=b)
        return int((window.doc.base[y - 10:y + 10, 60] < 128).sum())

    light, firm = stroke(20, 0.2), stroke(60, 1.0)
    assert 0 < light < firm


def test_file_dialogs_open_save_and_export(qtbot, window, tmp_path, sketch_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    from sketchedit.mainwindow import EXPORT_FILTERS

    run_query(qtbot, window, "the two sheep", expect_layers=2)
    chosen = {}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (chosen["path"], chosen["filter"])))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (chosen["path"], "")))
    svg_filter = next(f for f, kind in EXPORT_FILTERS.items() if kind == "svg")
    folder_filter = next(f for f, kind in EXPORT_FILTERS.items() if kind == "layers-folder")
    chosen.update(path=str(tmp_path / "drawing"), filter=svg_filter)
    window.act_export.trigger()
    assert (tmp_path / "drawing.svg").is_file()
    chosen.update(path=str(tmp_path / "parts"), filter=folder_filter)
    window.act_export.trigger()
    assert (tmp_path / "parts" / "manifest.json").is_file()
    chosen.update(path=str(tmp_path / "mine"), filter="")
    window.act_save.trigger()  # a PNG was opened: Save asks where, and saves .ora
    assert (tmp_path / "mine.ora").is_file() and not window.isWindowModified()
    assert window.windowTitle().startswith("mine.ora")
    chosen.update(path=str(sketch_path))
    window.act_open.trigger()
    assert window.doc.path == str(sketch_path) and window.doc.layers == []


def test_space_drag_pans_escape_deselects_and_drop_opens(qtbot, window, tmp_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    view = window.canvas
    view.zoom_by(4.0)
    before = view.horizontalScrollBar().value()
    view.setFocus()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(300, 300))
    qtbot.mouseMove(view.viewport(), QPoint(200, 300))
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(200, 300))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert view.horizontalScrollBar().value() == before + 100
    run_query(qtbot, window, "the one sheep", expect_layers=1)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert window.doc.selected == ()

    other = tmp_path / "other.png"
    Image.new("RGB", (50, 40), "white").save(other)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(other))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    window.dropEvent(drop)
    assert window.doc.path == str(other)


def test_platform_shortcuts(window):
    from PySide6.QtGui import QKeySequence

    def keys(action):
        return {s.toString(QKeySequence.SequenceFormat.PortableText) for s in action.shortcuts()}

    assert "Ctrl+O" in keys(window.act_open) and "Ctrl+S" in keys(window.act_save)
    assert keys(window.act_save_as) == {"Ctrl+Shift+S"} and keys(window.act_export) == {"Ctrl+E"}
    assert "Ctrl+Z" in keys(window.act_undo) and "Ctrl+Shift+Z" in keys(window.act_redo)
    assert "Del" in keys(window.act_delete) and keys(window.act_focus_query) == {"Ctrl+L"}


def test_an_unexpected_error_saves_for_recovery_without_blocking(qtbot, window):
    import os
    import sys

    run_query(qtbot, window, "the one sheep", expect_layers=1)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        window.report_crash(*sys.exc_info())
    assert os.path.exists(window.recovery_path)
    box = window.findChild(QMessageBox)
    assert box is not None and "boom" in box.text() and "saved for recovery" in box.text()
    box.close()


def test_an_opened_sketch_is_prepared_before_the_first_query(qtbot, window, fake):
    """The backbone runs while the user types: the first query finds the sketch's features ready; an edit
    prepares the edited sketch again (debounced), never while the same sketch is cached."""
    qtbot.waitUntil(lambda: fake.backbone_runs == 1, timeout=10000)
    assert fake.calls == [] and not window.client.busy          # no query ran, nothing shown as busy
    run_query(qtbot, window, "the two sheep", expect_layers=2)
    assert fake.backbone_runs == 1
    window.doc.set_visible([window.doc.layers[0].uid], False)    # an edit that changes the composite
    qtbot.waitUntil(lambda: fake.backbone_runs == 2, timeout=10000)
