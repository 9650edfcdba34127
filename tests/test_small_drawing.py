"""A small drawing on a big page (a sketch in a corner of a large canvas, a doodle on an A4 scan) is shown to the
network framed, at the scale scenes are drawn at, and its results come back in page pixels."""
from pathlib import Path

import numpy as np
import pytest
import torch

from grmnet.imaging import drawing_frame, ink_mask, model_input, to_grey

ROOT = Path(__file__).resolve().parent.parent
SCENE = ROOT / "resources" / "examples" / "scene_1.png"


def test_a_drawing_filling_its_page_is_not_framed():
    ink = np.zeros((400, 400), bool)
    ink[20:380, 50:300] = True
    assert drawing_frame(ink) is None
    assert drawing_frame(np.zeros((50, 50), bool)) is None


def test_a_small_drawing_is_framed_with_a_margin_and_boxes_map_back_to_the_page():
    ink = np.zeros((1000, 1500), bool)
    ink[600:700, 1200:1400] = True                       # 200 px of a 1500 px page
    x0, y0, x1, y1 = drawing_frame(ink)
    assert (x0, y0) == (1200 - 10, 600 - 10) and (x1, y1) == (1400 + 10, 700 + 10)
    grey = np.where(ink, 0, 255).astype(np.uint8)
    inputs = model_input(grey, 384, (x0, y0, x1, y1))
    assert inputs.original_size == (1000, 1500) and inputs.offset == (x0, y0)
    h, w = inputs.size
    assert max(h, w) == 384 and inputs.tensor[0, :h, :w].mean() > 0.5     # the ink fills the network's view
    back = inputs.to_original(torch.tensor([[0.0, 0.0, float(w), float(h)]]))[0].tolist()
    assert back == pytest.approx([x0, y0, x1, y1], abs=1.0)


@pytest.mark.skipif(not SCENE.is_file(), reason="example sketch missing")
def test_the_shipped_model_finds_the_same_objects_in_a_small_copy_on_a_big_page():
    from grmnet.prediction import Predictor

    engine = Predictor(None)
    grey = to_grey(SCENE)
    page = np.full((1800, 2400), 255, np.uint8)
    page[300:1050, 900:1650] = grey                      # the drawing spans 31 % of the page's long side
    for expression in ("the two cats", "the car"):
        alone = engine.predict(grey, [expression]).results[0].instances
        small = engine.predict(page, [expression]).results[0].instances
        assert len(small) == len(alone) > 0
        for a, s in zip(sorted(alone, key=lambda i: i.box[0]), sorted(small, key=lambda i: i.box[0])):
            assert s.ink[:300].sum() == 0 and s.ink[:, :900].sum() == 0        # on the drawing, in page pixels
            placed = s.ink[300:1050, 900:1650]
            assert (placed & a.ink).sum() / (placed | a.ink).sum() > 0.8
