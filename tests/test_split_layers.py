"""Clean layers in the app: "Split into layers", click-to-select the layer owning a stroke (hover, shift-click),
and the ink brush that moves ink between a layer and the sketch; every edit undoable. Document-level tests
first, then the real window driven like a user (offscreen) with a fake engine that finds every blob."""
import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from grmnet.partition import Detection, partition_ink, partition_instances
from sketchedit.document import SketchDocument, ink_of, soft_ink_of
from sketchedit.mainwindow import MainWindow
from fakes import FakeEngine, make_test_sketch


def blob_detections(grey: np.ndarray, category: str = "sheep") -> list[Detection]:
    """One detection per drawing of make_test_sketch: its blob, filled, as the mask probability."""
    ink = (grey < 128).astype(np.uint8)
    n, labels = cv2.connectedComponents(cv2.dilate(ink, np.ones((9, 9), np.uint8)))
    found = []
    for k in range(1, n):
        blob = (labels == k).astype(np.uint8)
        contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        filled = np.zeros_like(blob)
        cv2.drawContours(filled, contours, -1, 1, -1)
        ys, xs = np.nonzero(filled)
        found.append(Detection(category, 0.9, (float(xs.min()), float(ys.min()), float(xs.max() + 1),
                                               float(ys.max() + 1)), filled.astype(np.float32)))
    return found


class SplittingEngine(FakeEngine):
    """The fake engine, plus every blob as an object (what grmnet.partition asks an engine for)."""

    def detect_all(self, sketch):
        return blob_detections(sketch.grey)


def split_instances(rgb: np.ndarray, objects_of: np.ndarray | None = None):
    """The partition's layers of a sketch whose objects are the drawings of `objects_of` (default: itself)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    seen = grey if objects_of is None else cv2.cvtColor(objects_of, cv2.COLOR_RGB2GRAY)
    return partition_instances(partition_ink(grey < 128, blob_detections(seen)))


def antialiased_sketch() -> np.ndarray:
    img = make_test_sketch()
    cv2.line(img, (20, 180), (300, 185), (0, 0, 0), 1, cv2.LINE_AA)    # a soft ground line nobody owns
    cv2.circle(img, (60, 100), 34, (0, 0, 0), 1, cv2.LINE_AA)         # soft edges on the circle
    return img


# ---- document ---------------------------------------------------------------------------------------------

def test_split_lifts_every_object_with_its_soft_edges_in_one_undo_step():
    original = antialiased_sketch()
    doc = SketchDocument(original)
    uids = doc.split_into_layers(split_instances(original, objects_of=make_test_sketch()))
    assert len(uids) == 3 and doc.undo_stack.count() == 1 and set(doc.selected) == set(uids)
    assert sorted(doc.layer(u).label for u in uids) == ["sheep 1", "sheep 2", "sheep 3"]
    assert np.array_equal(doc.composite(), original), "splitting changes nothing visible"
    masks = []
    for u in uids:
        layer = doc.layer(u)
        full = np.zeros(original.shape[:2], bool)
        x, y = layer.position
        full[y:y + layer.ink_mask.shape[0], x:x + layer.ink_mask.shape[1]] = layer.ink_mask
        masks.append(full)
    assert not (masks[0] & masks[1]).any() and not (masks[1] & masks[2]).any() and not (masks[0] & masks[2]).any()
    circle = next(u for u in uids if doc.layer(u).position[0] < 100)
    doc.move([circle], 0, -150)                  # far away: whatever stays behind is a ghost
    left = soft_ink_of(doc.composite())[60:140, 20:100]
    assert not left.any(), "moving the circle leaves no grey edge behind"
    assert soft_ink_of(doc.base)[175:190, 20:300].any(), "the unowned soft ground line stays in the sketch"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert np.array_equal(doc.base, original) and not doc.layers
    doc.undo_stack.redo()
    assert len(doc.layers) == 3


def test_selecting_a_referred_instance_lifts_its_soft_edges_too_so_a_move_or_recolour_leaves_no_ghost():
    """One definition of what a lift takes (grmnet.imaging.liftable_inks): the referring path ("the cat", then move
    or recolour) lifts the anti-aliased fringe with the ink, exactly as Split into layers does."""
    from grmnet.results import ReferredInstance
    original = antialiased_sketch()
    doc = SketchDocument(original)
    ink = ink_of(original)
    left = np.zeros(ink.shape, bool)
    left[:170, :100] = True                                    # the circle's drawing, not the ground line
    inst = ReferredInstance("sheep", 0.9, (20.0, 60.0, 100.0, 140.0), ink & left, left, 1, "sheep 1")
    (uid,) = doc.select_as_layers([inst])
    layer = doc.layer(uid)
    assert layer.ink_mask.sum() > (ink & left).sum(), "the layer holds the soft edges as well as the ink"
    assert np.array_equal(doc.composite(), original), "lifting changes nothing visible"
    doc.recolor([uid], (255, 0, 0))
    assert not soft_ink_of(doc.base)[60:140, 20:100].any(), "recolouring leaves no grey edge in the sketch"
    doc.move([uid], 0, -150)
    assert not soft_ink_of(doc.composite())[60:140, 20:100].any(), "moving leaves no grey edge behind"
    assert soft_ink_of(doc.base)[175:190, 20:300].any(), "the soft ground line nobody selected stays"
    doc.recolor([uid], None)
    assert max(layer.display_color) < 60, "the swatch shows the ink's colour, not the average with its light edges"
    core = layer.core_mask
    assert core.sum() == (ink & left).sum() and not (core & ~layer.ink_mask).any()


def test_liftable_inks_take_the_fringe_of_their_own_ink_only_and_never_overlap():
    from grmnet.imaging import liftable_inks
    grey = np.full((20, 40), 255, np.uint8)
    grey[8:11, 5:15] = 0                                       # a stroke...
    grey[7, 5:15] = grey[11, 5:15] = 200                       # ...with soft edges
    grey[8:11, 25:35] = 0                                      # another stroke, soft edges, nobody's
    grey[7, 25:35] = 200
    grey[2, 5:15] = 200                                        # a faint line of its own, away from any ink
    first = np.zeros(grey.shape, bool)
    first[:, :20] = True
    a, b = liftable_inks(grey, [first, first])                 # the same ink asked twice: the first wins
    assert a[7:12, 5:15].all() and not a[2].any() and not a[:, 20:].any()
    assert not b.any() and not (a & b).any()


def test_layer_at_finds_the_stroke_under_the_cursor_where_the_layer_is_drawn_now():
    doc = SketchDocument(make_test_sketch())
    doc.split_into_layers(split_instances(make_test_sketch()))
    circle = next(layer.uid for layer in doc.layers if layer.position[0] < 100)
    assert doc.layer_at(90, 100) == circle                  # on the circle's stroke (r = 30 around (60, 100))
    assert doc.layer_at(93.5, 100, tolerance=3) == circle   # a few pixels off the stroke still picks it
    assert doc.layer_at(60, 100) is None                    # inside the circle: paper
    assert doc.layer_at(10, 10) is None
    doc.move([circle], 5, 0)
    assert doc.layer_at(95, 100) == circle and doc.layer_at(86, 100, tolerance=1) is None
    doc.set_visible([circle], False)
    assert doc.layer_at(95, 100) is None


def test_ink_brush_moves_ink_between_a_layer_and_the_sketch_with_undo():
    original = make_test_sketch()
    doc = SketchDocument(original)
    doc.split_into_layers(split_instances(original))
    circle = next(layer for layer in doc.layers if layer.position[0] < 100)
    before_ink = circle.ink_mask.sum()
    # give the circle's right side back to the sketch
    assert doc.brush_ink(circle.uid, [(90, 80), (90, 120)], 6, take=False)
    assert doc.layer(circle.uid).ink_mask.sum() < before_ink
    assert ink_of(doc.base)[85:115, 85:95].any(), "the ink is back in the sketch"
    assert np.array_equal(doc.composite(), original)
    doc.undo_stack.undo()
    assert doc.layer(circle.uid).ink_mask.sum() == before_ink and not ink_of(doc.base).any()
    # take a new stroke of the sketch into the layer
    doc.paint_stroke([(10, 20, 1.0), (100, 20, 1.0)], 3)
    assert doc.brush_ink(circle.uid, [(10, 20), (100, 20)], 5, take=True)
    layer = doc.layer(circle.uid)
    assert layer.size[1] > 80 and layer.position[1] <= 19          # the crop grew to hold the stroke
    assert not ink_of(doc.base).any() and np.array_equal(doc.composite(), doc.composite(include_hidden=True))
    doc.move([circle.uid], 0, 30)
    assert not ink_of(doc.composite())[15:25, 12:98].any(), "the taken stroke moves with the layer"
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert ink_of(doc.base)[18:23, 12:98].any() and doc.layer(circle.uid).ink_mask.sum() == before_ink
    assert not doc.brush_ink(circle.uid, [(250, 20)], 4, take=True), "no ink under the brush: no undo step"
    doc.set_locked([circle.uid], True)
    assert not doc.brush_ink(circle.uid, [(90, 80), (90, 120)], 6, take=False)


# ---- the window -------------------------------------------------------------------------------------------

@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    # closing a window with unsaved layers asks first: answer Discard instead of blocking
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))
    engine = SplittingEngine()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, engine_factory=lambda *a: engine, recovery_dir=str(tmp_path / "recovery"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.client.loading, timeout=10000)
    path = tmp_path / "scene.png"
    Image.fromarray(make_test_sketch()).save(path)
    assert w.open_path(str(path))
    return w


def split(qtbot, window):
    window.act_split.trigger()
    qtbot.waitUntil(lambda: len(window.doc.layers) == 3, timeout=10000)
    qtbot.waitUntil(lambda: not window.client.busy, timeout=10000)


def click(qtbot, window, x, y, modifier=Qt.KeyboardModifier.NoModifier):
    pos = window.canvas.mapFromScene(QPointF(x, y))
    qtbot.mouseClick(window.canvas.viewport(), Qt.MouseButton.LeftButton, modifier, pos)


def drag(qtbot, window, points, modifier=Qt.KeyboardModifier.NoModifier):
    view = window.canvas
    pos = [view.mapFromScene(QPointF(x, y)) for x, y in points]
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, modifier, pos[0])
    for p in pos[1:]:
        qtbot.mouseMove(view.viewport(), p)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, modifier, pos[-1])


def uid_at_x(window, x0, x1):
    return next(layer.uid for layer in window.doc.layers if x0 <= layer.position[0] < x1)


def test_split_into_layers_from_the_menu_is_one_undo_step(qtbot, window):
    original = window.doc.composite()
    split(qtbot, window)
    assert sorted(window.layers_panel.labels()) == ["sheep 1", "sheep 2", "sheep 3"]
    assert "Split into 3 layers" in window.last_message
    assert np.array_equal(window.doc.composite(), original)
    window.act_undo.trigger()
    assert not window.doc.layers and np.array_equal(window.doc.base, original)
    window.act_redo.trigger()
    assert len(window.doc.layers) == 3


def test_click_selects_the_layer_owning_the_stroke_and_shift_click_adds(qtbot, window):
    split(qtbot, window)
    circle, square = uid_at_x(window, 0, 100), uid_at_x(window, 100, 200)
    window.canvas.resetTransform()              # 1:1, so scene and view pixels agree
    window.canvas.centerOn(160, 100)
    click(qtbot, window, 10, 10)                # paper: nothing
    assert window.doc.selected == ()
    click(qtbot, window, 31, 100)               # the circle's stroke (centre 60, radius 30)
    assert window.doc.selected == (circle,)
    click(qtbot, window, 60, 100)               # inside the circle, on paper, but within the selection's box
    assert window.doc.selected == (circle,)
    click(qtbot, window, 131, 100, Qt.KeyboardModifier.ShiftModifier)   # the square's left edge
    assert set(window.doc.selected) == {circle, square}
    click(qtbot, window, 10, 190)
    assert window.doc.selected == ()
    # hovering a stroke highlights the layer a click would select
    qtbot.mouseMove(window.canvas.viewport(), window.canvas.mapFromScene(QPointF(190, 100)))
    assert window.canvas.hovered == square and window.canvas.items_by_uid[square].hover_outline.isVisible()
    qtbot.mouseMove(window.canvas.viewport(), window.canvas.mapFromScene(QPointF(10, 10)))
    assert window.canvas.hovered is None
    # a click-selected layer drags like any other, and the move is undoable
    click(qtbot, window, 31, 100)
    drag(qtbot, window, [(31, 100), (41, 105), (51, 110)])
    assert window.doc.layer(circle).offset == (20, 10)
    window.act_undo.trigger()
    assert window.doc.layer(circle).offset == (0, 0)


def test_ink_brush_takes_and_gives_back_ink_with_undo(qtbot, window):
    split(qtbot, window)
    circle = uid_at_x(window, 0, 100)
    window.canvas.resetTransform()
    window.canvas.centerOn(160, 100)
    window.doc.set_selection([circle])
    window.tool_actions["ink"].trigger()
    assert window.canvas.tool == "ink"
    ink_before = window.doc.layer(circle).ink_mask.sum()
    # Ctrl + brush gives the layer's ink under it back to the sketch
    drag(qtbot, window, [(90, 85), (90, 100), (90, 115)], Qt.KeyboardModifier.ControlModifier)
    assert window.doc.layer(circle).ink_mask.sum() < ink_before
    assert ink_of(window.doc.base)[85:115, 85:95].any()
    window.act_undo.trigger()
    assert window.doc.layer(circle).ink_mask.sum() == ink_before and not ink_of(window.doc.base).any()
    # the brush takes a stroke of the sketch into the selected layer
    window.doc.paint_stroke([(10, 20, 1.0), (100, 20, 1.0)], 3)
    drag(qtbot, window, [(12, 20), (50, 20), (98, 20)])
    assert not ink_of(window.doc.base).any() and window.doc.layer(circle).ink_mask.sum() > ink_before
    window.act_undo.trigger()
    assert ink_of(window.doc.base)[18:23, 14:96].any()
    # without a selected layer the brush says what to do
    window.doc.set_selection([])
    drag(qtbot, window, [(12, 20), (98, 20)])
    assert "Select one layer" in window.last_message


# ---- headless -----------------------------------------------------------------------------------------------

def test_headless_split_writes_the_whole_partition(tmp_path, monkeypatch, capsys):
    import json

    import grmnet.methods
    from sketchedit import cli
    from sketchedit.export import open_document

    monkeypatch.setattr(grmnet.methods, "load_engine", lambda *a, **k: SplittingEngine())
    image = tmp_path / "scene.png"
    Image.fromarray(make_test_sketch()).save(image)
    out = tmp_path / "layers.ora"
    assert cli.main(["split", str(image), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["layers"] == 3 and sorted(summary["labels"]) == ["sheep 1", "sheep 2", "sheep 3"]
    doc = open_document(str(out))
    assert len(doc.layers) == 3 and not ink_of(doc.base).any(), "every stroke is in a layer"
    assert np.array_equal(doc.composite(), make_test_sketch())
