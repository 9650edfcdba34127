"""The document model: layers lift ink off the base, edits are undoable, the composite is right."""
import numpy as np
import pytest

from sketchedit.document import SketchDocument
from fakes import FakeEngine, Instance, make_test_sketch


def two_blob_doc():
    base = np.full((60, 100, 3), 255, np.uint8)
    base[10:20, 10:30] = 0        # "sheep 1"
    base[35:50, 60:90] = 40       # "sheep 2", dark grey ink
    left = np.zeros((60, 100), bool)
    left[5:25, 5:35] = True
    right = np.zeros((60, 100), bool)
    right[30:55, 55:95] = True
    doc = SketchDocument(base)
    instances = [Instance("sheep", 1, "sheep 1", left, left), Instance("sheep", 2, "sheep 2", right, right)]
    return doc, base, instances


def test_select_lifts_ink_and_keeps_the_picture():
    doc, base, instances = two_blob_doc()
    uids = doc.select_as_layers(instances)
    assert [doc.layer(u).label for u in uids] == ["sheep 1", "sheep 2"]
    assert (doc.base[10:20, 10:30] == 255).all(), "ink left the base"
    assert np.array_equal(doc.composite(), base), "base + layers == the original sketch"
    assert doc.selected == tuple(uids)
    doc.undo_stack.undo()
    assert doc.layers == [] and np.array_equal(doc.base, base)
    doc.undo_stack.redo()
    assert len(doc.layers) == 2 and np.array_equal(doc.composite(), base)


def test_recolor_changes_instance_ink_only():
    doc, base, instances = two_blob_doc()
    uids = doc.select_as_layers(instances)
    doc.recolor([uids[0]], (255, 0, 0))
    out = doc.composite()
    changed = (out != base).any(axis=2)
    ink1 = np.zeros_like(changed)
    ink1[10:20, 10:30] = True
    assert np.array_equal(changed, ink1)
    assert (out[10:20, 10:30] == (255, 0, 0)).all()
    doc.undo_stack.undo()
    assert np.array_equal(doc.composite(), base)


def test_move_delete_hide_rename_fill_with_undo():
    doc, base, instances = two_blob_doc()
    a, b = doc.select_as_layers(instances)
    doc.move([a], 5, 3)
    assert doc.layer(a).position == (10, 8)  # crop origin (5, 5) + offset
    assert (doc.composite()[13:23, 15:35] == 0).all()
    doc.delete([b])
    assert not doc.has_layer(b) and (doc.composite()[35:50, 60:90] == 255).all()
    doc.set_visible([a], False)
    assert (doc.composite() == 255).all()
    doc.rename(a, "my sheep")
    doc.fill([a], (0, 255, 0), 0.25)
    for _ in range(5):
        doc.undo_stack.undo()
    assert doc.layer(a).label == "sheep 1" and doc.layer(a).fill_color is None
    assert doc.layer(a).offset == (0, 0) and doc.has_layer(b) and doc.layer(a).visible
    assert np.array_equal(doc.composite(), base)
    for _ in range(5):
        doc.undo_stack.redo()
    assert doc.layer(a).label == "my sheep" and not doc.has_layer(b)


def test_arrow_nudges_merge_into_one_undo_step():
    doc, _, instances = two_blob_doc()
    a, _ = doc.select_as_layers(instances)
    for _ in range(4):
        doc.move([a], 1, 0, merge_key=7)
    assert doc.layer(a).offset == (4, 0)
    doc.undo_stack.undo()
    assert doc.layer(a).offset == (0, 0)


def test_locked_layers_do_not_move_or_delete():
    doc, _, instances = two_blob_doc()
    a, _ = doc.select_as_layers(instances)
    doc.set_locked([a], True)
    doc.move([a], 3, 3)
    doc.delete([a])
    assert doc.has_layer(a) and doc.layer(a).offset == (0, 0)


def test_merge_back_and_reorder():
    doc, base, instances = two_blob_doc()
    a, b = doc.select_as_layers(instances)
    doc.reorder(b, 0)
    assert [l.uid for l in doc.layers] == [b, a]
    doc.recolor([a], (0, 0, 255))
    doc.move([a], 40, 0)
    expected = doc.composite()
    doc.merge_back([a])
    assert not doc.has_layer(a) and np.array_equal(doc.composite(), expected)
    assert (doc.base[10:20, 50:70] == (0, 0, 255)).all()
    doc.undo_stack.undo()
    assert doc.has_layer(a) and np.array_equal(doc.composite(), expected)


def test_already_lifted_ink_is_not_selected_twice_and_labels_stay_unique():
    doc, _, instances = two_blob_doc()
    doc.select_as_layers(instances[:1])
    assert doc.select_as_layers(instances[:1]) == []
    # A second query naming a different instance "sheep 1" gets the next free index.
    renamed = Instance("sheep", 1, "sheep 1", instances[1].ink, instances[1].region)
    new = doc.select_as_layers([renamed])
    assert doc.layer(new[0]).label == "sheep 2"


def test_pen_and_eraser_strokes_are_undoable():
    doc = SketchDocument(np.full((50, 50, 3), 255, np.uint8))
    doc.paint_stroke([(5, 25, 1.0), (45, 25, 1.0)], width=3)
    assert (doc.base[25, 10:40] < 100).all()
    rev = doc.revision
    doc.paint_stroke([(25, 20, 1.0), (25, 30, 1.0)], width=8, erase=True)
    assert (doc.base[25, 22:28] == 255).all() and doc.revision > rev
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert (doc.base == 255).all()
    assert doc.is_dirty is False


def test_engine_instances_become_layers():
    sketch = make_test_sketch()
    instances = FakeEngine().predict(sketch, ["the two sheep"]).results[0].instances
    assert [i.label for i in instances] == ["sheep 1", "sheep 2"]
    assert instances[0].ink.shape == sketch.shape[:2] and instances[0].ink.any()
    doc = SketchDocument(sketch)
    uids = doc.select_as_layers(instances)
    assert [doc.layer(u).label for u in uids] == ["sheep 1", "sheep 2"]
    # instances computed on another sketch (other size) are not lifted
    assert SketchDocument(make_test_sketch(100, 50)).select_as_layers(instances) == []


def test_base_must_be_rgb_uint8():
    with pytest.raises(ValueError):
        SketchDocument(np.zeros((5, 5), np.uint8))


def test_a_no_op_edit_adds_no_undo_step():
    doc, _, instances = two_blob_doc()
    a, _ = doc.select_as_layers(instances)
    doc.fill([a], (1, 2, 3), 0.4)
    steps = doc.undo_stack.count()
    doc.fill([a], (1, 2, 3), 0.4)
    doc.recolor([a], None)
    doc.move([a], 0, 0)
    doc.rename(a, "  ")
    assert doc.undo_stack.count() == steps
