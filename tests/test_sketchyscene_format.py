"""SketchyScene layout: round trip, error messages, real fixture, data-stats."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io as sio

from grmnet.data import sketchyscene as ss
from grmnet.data.categories import SKETCHYSCENE_CLASSES, class_id
from grmnet.data.stats import compute_stats, run_data_stats
from grmnet.errors import DatasetFormatError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLES = SHARED / "sketchyscene_samples"


def _scene(h=64, w=80):
    """Three instances: a filled-outline square (dog), a stroke (tree), a small ring (house)."""
    inst = np.zeros((h, w), np.uint8)
    cls = np.zeros((h, w), np.uint8)
    inst[5:20, 5] = inst[5:20, 19] = inst[5, 5:20] = inst[19, 5:20] = 3          # outline square, id 3
    inst[30:60, 40] = 7                                                          # vertical stroke, id 7
    inst[40:50, 60] = inst[40:50, 70] = inst[40, 60:71] = inst[49, 60:71] = 9    # ring, id 9
    cls[inst == 3] = class_id("dog")
    cls[inst == 7] = class_id("tree")
    cls[inst == 9] = class_id("house")
    drawing = np.full((h, w, 3), 255, np.uint8)
    drawing[inst > 0] = 0
    reg = np.zeros((3, h, w), bool)
    reg[0, 5:20, 5:20] = True
    reg[1] = inst == 7
    reg[2, 40:50, 60:71] = True
    return drawing, inst, cls, reg


def _write(root, with_regions=True, sentences=None):
    drawing, inst, cls, reg = _scene()
    ss.write_colormap(root)
    ss.write_sample(root, "train", 1, drawing, inst, cls, reg if with_regions else None)
    ss.write_sample(root, "train", 2, drawing[:, :, 0], inst, cls)
    ss.write_sentences(root, "train", sentences or {
        1: {"the dog": [0], "the tree behind the house": [1], "the house": [2], "all the house": [0, 2],
            "the cow": []},
        2: {"the tree": [1]},
    })
    return drawing, inst, cls, reg


def test_round_trip(tmp_path):
    drawing, inst, cls, reg = _write(tmp_path)
    img = ss.read_sample(tmp_path, "train", 1)
    assert img.instance_ids == [3, 7, 9]
    assert img.categories == ["dog", "tree", "house"]
    assert np.array_equal(img.drawing, drawing)
    assert np.array_equal(img.instance_gt, inst) and np.array_equal(img.class_gt, cls)
    assert img.has_regions and np.array_equal(img.region_masks, reg)
    assert img.ink_masks.dtype == bool and img.ink_masks.shape == (3, 64, 80)
    for k, i in enumerate([3, 7, 9]):
        assert np.array_equal(img.ink_masks[k], inst == i)
    # grayscale drawing is stored as RGB; no REGION_GT → derived by closing + hole filling
    img2 = ss.read_sample(tmp_path, "train", 2)
    assert img2.drawing.shape == (64, 80, 3) and not img2.has_regions
    assert np.array_equal(img2.region_masks[0], reg[0]) and np.array_equal(img2.region_masks[2], reg[2])
    assert np.all(img2.region_masks >= img2.ink_masks)
    # sentences
    sents = ss.read_sentences(ss.sentences_path(tmp_path, "train"))
    assert sents[1]["all the house"] == [0, 2] and sents[1]["the cow"] == [] and sents[2] == {"the tree": [1]}
    raw = json.loads(ss.sentences_path(tmp_path, "train").read_text())
    assert isinstance(raw, list) and set(raw[0]) == {"key", "sen_instIdx_map"}
    # colour map mimics the real file
    cm = sio.loadmat(str(tmp_path / "colorMapC46.mat"))["colorMap"]
    assert cm.shape == (46, 2) and cm.dtype == object and cm[5][0][0] == "bee"
    assert ss.read_colormap(tmp_path) == list(SKETCHYSCENE_CLASSES)
    assert not list(tmp_path.rglob("*.tmp"))


def test_dataset_pairs(tmp_path):
    _write(tmp_path)
    ds = ss.SketchySceneDataset(tmp_path, "train")
    assert ds.keys == [1, 2] and len(ds) == 6
    assert ds.pairs[1] == (1, "the tree behind the house", [1])
    item = ds[3]
    assert item["expression"] == "all the house" and item["target_indices"] == [0, 2]
    assert item["categories"] == ["dog", "house"] and item["all_categories"] == ["dog", "tree", "house"]
    assert item["ink_masks"].shape == (2, 64, 80) and item["all_region_masks"].shape == (3, 64, 80)
    assert ds[4]["ink_masks"].shape == (0, 64, 80)   # no-target expression
    assert ds.image(1) is ds.image(1)
    assert ds.expressions_of(2) == {"the tree": [1]}
    ds.validate()
    other = tmp_path / "other.json"
    ss.write_sentences(tmp_path, "x", {2: {"the dog": [0]}})
    (tmp_path / "sentence_instance_x.json").rename(other)
    assert ss.SketchySceneDataset(tmp_path, "train", sentences_file=other).pairs == [(2, "the dog", [0])]


def test_missing_mat_key(tmp_path):
    _write(tmp_path)
    p = ss.instance_path(tmp_path, "train", 1)
    sio.savemat(str(p), {"SOMETHING": np.zeros((64, 80), np.uint8)})
    with pytest.raises(DatasetFormatError, match=r"sample_1_instance\.mat.*no key 'INSTANCE_GT'"):
        ss.read_sample(tmp_path, "train", 1)


def test_missing_file(tmp_path):
    _write(tmp_path)
    ss.class_path(tmp_path, "train", 2).unlink()
    with pytest.raises(DatasetFormatError, match=r"sample_2_class\.mat: file is missing"):
        ss.read_sample(tmp_path, "train", 2)
    with pytest.raises(DatasetFormatError, match=r"sample_2_class\.mat"):
        ss.SketchySceneDataset(tmp_path, "train")


def test_index_out_of_range(tmp_path):
    _write(tmp_path, sentences={1: {"the dog": [0], "the house": [5]}})
    ds = ss.SketchySceneDataset(tmp_path, "train")
    with pytest.raises(DatasetFormatError, match=r"'the house' refers to instance index 5 .*has 3 instances"):
        ds[0]
    with pytest.raises(DatasetFormatError, match="instance index 5"):
        compute_stats(tmp_path, "train")


@pytest.mark.parametrize("content, message", [
    ("", "file is empty"), ("   \n", "file is empty"), ("[{", "malformed JSON"), ('{"a": 1}', "expected a JSON list"),
    ('[{"key": 1}]', "entry 0 is not an object"), ('[{"key": 1, "sen_instIdx_map": {"the dog": [-1]}}]', "non-negative"),
    ('[{"key": "x", "sen_instIdx_map": {}}]', "non-integer key"),
])
def test_malformed_sentences(tmp_path, content, message):
    p = tmp_path / "s.json"
    p.write_text(content)
    with pytest.raises(DatasetFormatError, match=message) as ei:
        ss.read_sentences(p)
    assert "s.json" in str(ei.value)
    with pytest.raises(DatasetFormatError, match="file is missing"):
        ss.read_sentences(tmp_path / "none.json")


def test_shape_mismatch(tmp_path):
    _write(tmp_path)
    sio.savemat(str(ss.class_path(tmp_path, "train", 1)), {"CLASS_GT": np.zeros((10, 10), np.uint8)})
    with pytest.raises(DatasetFormatError, match=r"sample_1_class\.mat: CLASS_GT shape \(10, 10\) differs"):
        ss.read_sample(tmp_path, "train", 1)
    drawing, inst, cls, reg = _scene()
    with pytest.raises(DatasetFormatError, match="region_gt"):
        ss.write_sample(tmp_path, "train", 3, drawing, inst, cls, reg[:2])
    with pytest.raises(DatasetFormatError, match="drawing"):
        ss.write_sample(tmp_path, "train", 3, drawing[:10], inst, cls)
    np.savez_compressed(ss.region_path(tmp_path, "train", 2), REGION_GT=np.zeros((1, 64, 80), bool))
    with pytest.raises(DatasetFormatError, match=r"sample_2_region\.npz: REGION_GT shape"):
        ss.read_sample(tmp_path, "train", 2)


def test_stats_json_line(tmp_path, capsys):
    _write(tmp_path)
    run_data_stats(SimpleNamespace(root=str(tmp_path), split="train", sentences=None))
    last = capsys.readouterr().out.strip().splitlines()[-1]
    st = json.loads(last)
    assert st["images"] == 2 and st["pairs"] == 6 and st["instances"] == 6
    assert st["targets_histogram"] == {"0": 1, "1": 4, "2": 1, "3": 0, "4": 0, "5+": 0}
    assert st["no_target_share"] == pytest.approx(1 / 6, abs=1e-3)
    assert st["category_instances"] == {"dog": 2, "house": 2, "tree": 2}


def test_real_samples():
    if not (SAMPLES / "sentence_instance_test.json").is_file():
        pytest.skip("shared sketchyscene_samples fixture not available")
    ds = ss.SketchySceneDataset(SAMPLES, "test")
    assert ds.keys == [1, 2, 3] and len(ds) == 31
    ds.validate()
    img = ds.image(1)
    assert img.num_instances == 16 and img.drawing.shape == (750, 750, 3) and not img.has_regions
    assert img.categories.count("chicken") == 4 and img.categories[0] == "sun"
    assert np.all(img.region_masks >= img.ink_masks)
    hist = {}
    for i in range(len(ds)):
        item = ds[i]
        assert len(item["categories"]) == len(item["target_indices"]) == item["ink_masks"].shape[0]
        assert all(m.any() for m in item["ink_masks"])
        n = len(item["target_indices"])
        hist[n] = hist.get(n, 0) + 1
    assert hist[1] == 19 and hist[2] == 5
    assert ss.read_colormap(SAMPLES) == list(SKETCHYSCENE_CLASSES)
    st = compute_stats(SAMPLES, "test")
    assert st["pairs"] == 31 and st["images"] == 3 and st["instances"] == 38
