"""The two baselines: output format (same JSON as GRM-Net), the two-stage selection rule, weights, training
and the study script's report writer. Tiny random models only: no training budget is spent here."""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from grmnet.baselines import BaselineConfig, load_baseline, make_tiny_baseline
from grmnet.baselines.binary import category_of_expression, coordinate_maps, referred_targets
from grmnet.baselines.two_stage import select_instances
from grmnet.data.categories import CATEGORIES
from grmnet.errors import NoWeightsError, WeightsError
from fakes import make_tiny_weights

H, W = 120, 160


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    root = tmp_path_factory.mktemp("baselines")
    return {m: make_tiny_baseline(root / m, m).parent for m in ("two-stage", "binary")}


def _sketch_image():
    """Three square outlines (ink) on white paper: left, middle, right."""
    grey = np.full((H, W), 255, np.uint8)
    for x0 in (10, 60, 110):
        grey[40:80, x0:x0 + 40] = 0
        grey[42:78, x0 + 2:x0 + 38] = 255
    return grey


def _box(x0, y0, x1, y1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


# ---- the selection rule --------------------------------------------------------------------------------

def test_select_instances_overlap_ratio_of_the_instance():
    binary = _box(0, 0, 80, H)                          # the left half
    inside = _box(10, 10, 50, 50)                       # fully inside: ratio 1
    half = _box(60, 10, 100, 50)                        # 20 of 40 columns inside: ratio exactly 0.5
    mostly_out = _box(70, 60, 110, 100)                 # 10 of 40 columns: ratio 0.25
    outside = _box(100, 10, 150, 50)
    masks = np.stack([inside, half, mostly_out, outside])
    assert select_instances(masks, binary, 0.5) == [0, 1]          # >= min_overlap, boundary included
    assert select_instances(masks, binary, 0.6) == [0]
    assert select_instances(masks, binary, 0.2) == [0, 1, 2]
    assert select_instances(list(masks), binary, 0.5) == [0, 1]    # a list of masks works too


def test_select_instances_ratio_is_not_iou():
    """A small instance inside a large binary mask is selected although its IoU with the mask is tiny."""
    binary = _box(0, 0, W, H)
    small = _box(5, 5, 10, 10)
    assert select_instances(small[None], binary, 0.5) == [0]


def test_select_instances_edge_cases():
    binary = _box(0, 0, 80, H)
    assert select_instances(np.zeros((0, H, W), bool), binary, 0.5) == []
    assert select_instances([], binary, 0.5) == []
    assert select_instances(np.zeros((1, H, W), bool), binary, 0.5) == []          # empty instance
    assert select_instances(_box(10, 10, 50, 50)[None], np.zeros((H, W), bool), 0.5) == []   # empty binary
    with pytest.raises(ValueError):
        select_instances(_box(0, 0, 5, 5)[None], np.zeros((H + 1, W), bool), 0.5)
    with pytest.raises(ValueError):
        select_instances(_box(0, 0, 5, 5)[None], np.zeros((1, H, W), bool), 0.5)


def test_two_stage_returns_exactly_the_selected_stage1_instances(weights, monkeypatch):
    engine = load_baseline("two-stage", weights["two-stage"], device="cpu", threshold=0.3)
    grey = _sketch_image()
    sketch = engine.encode(grey)
    ink = grey < 128
    regions = [_box(10, 40, 50, 80), _box(60, 40, 100, 80), _box(110, 40, 150, 80)]
    sketch.detections = [
        {"region": regions[0], "ink": regions[0] & ink, "box": [10, 40, 50, 80], "score": 0.9, "category": "sheep"},
        {"region": regions[1], "ink": regions[1] & ink, "box": [60, 40, 100, 80], "score": 0.8, "category": "sheep"},
        {"region": regions[2], "ink": regions[2] & ink, "box": [110, 40, 150, 80], "score": 0.2, "category": "sheep"},
    ]
    prob = np.zeros((H, W), np.float32)
    prob[:, :105] = 0.9          # covers instances 0 and 1 fully, not instance 2
    prob[:, 105:140] = 0.7       # and 75 % of instance 2, which however scores below the threshold
    monkeypatch.setattr(engine, "referred_probability", lambda s, e: prob)
    result = engine.refer(sketch, "the two sheep")
    assert [i.label for i in result.instances] == ["sheep 1", "sheep 2"]
    assert [i.score for i in result.instances] == [0.9, 0.8]
    for inst, region in zip(result.instances, regions):
        assert np.array_equal(inst.region, region)
        assert np.array_equal(inst.ink, region & ink)
    # threshold 0: the low-scoring third instance is selected too (evaluation ranks by score)
    assert len(engine.refer(sketch, "the two sheep", threshold=0.0).instances) == 3
    # candidates: all three scored, the two above the threshold flagged as returned
    ranked = engine.refer(sketch, "the two sheep", with_candidates=True)
    assert [c.score for c in ranked.candidates] == [0.9, 0.8, 0.2] and ranked.returned_flags() == [True, True, False]
    # the binary mask decides: nothing referred -> nothing returned
    monkeypatch.setattr(engine, "referred_probability", lambda s, e: np.zeros((H, W), np.float32))
    assert engine.refer(sketch, "the two sheep").instances == []


# ---- binary baseline -------------------------------------------------------------------------------------

def test_binary_returns_one_merged_instance_on_ink(weights, monkeypatch):
    engine = load_baseline("binary", weights["binary"], device="cpu", threshold=0.5)
    grey = _sketch_image()
    sketch = engine.encode(grey)
    prob = np.zeros((H, W), np.float32)
    prob[30:90, 0:105] = 0.8           # the left and middle squares, merged
    monkeypatch.setattr(engine, "referred_probability", lambda s, e: prob)
    result = engine.refer(sketch, "the two sheep on the left")
    (inst,) = result.instances
    assert inst.category == "sheep" and inst.label == "sheep 1" and inst.index == 1
    assert inst.score == pytest.approx(0.8)
    assert np.array_equal(inst.ink, (prob >= 0.5) & (grey < 128))
    assert np.array_equal(inst.region, prob >= 0.5)
    assert inst.xywh == (10.0, 40.0, 90.0, 40.0)
    # empty binary mask, or a mask over blank paper only -> no instance
    monkeypatch.setattr(engine, "referred_probability", lambda s, e: np.zeros((H, W), np.float32))
    assert engine.refer(sketch, "the sheep").instances == []
    blank = np.zeros((H, W), np.float32)
    blank[0:20, :] = 0.9
    monkeypatch.setattr(engine, "referred_probability", lambda s, e: blank)
    assert engine.refer(sketch, "the sheep").instances == []


def test_binary_category_is_the_head_noun():
    assert category_of_expression("the two sheep in front of the house") == "sheep"
    assert category_of_expression("all the people") == "people"
    assert category_of_expression("the person on the left") == "people"
    assert category_of_expression("the leftmost one") == "others"


# ---- both engines: the shared interface is tested in test_engine_conformance.py ----------------------------

@pytest.mark.parametrize("method", ["two-stage", "binary"])
def test_baseline_results_name_categories(method, weights):
    engine = load_baseline(method, weights[method], device="cpu", threshold=0.0)
    result = engine.predict(_sketch_image(), ["the tree", "the two sheep"], image_name="s.png")
    for r in result.results:
        for inst in r.instances:
            assert inst.category in CATEGORIES + ("others",)
        if method == "binary":
            assert len(r.instances) <= 1
    assert engine.threshold == 0.0
    assert load_baseline(method, weights[method]).threshold == 0.5     # the config's score_threshold


def test_two_stage_encode_caches_stage1_instances(weights):
    engine = load_baseline("two-stage", weights["two-stage"], device="cpu")
    sketch = engine.encode(_sketch_image())
    assert isinstance(sketch.detections, list)
    for d in sketch.detections:
        assert d["region"].shape == (H, W) and d["ink"].any() and d["category"] in CATEGORIES
    assert engine.encode(_sketch_image()) is sketch


def test_weights_errors(weights, tmp_path):
    with pytest.raises(NoWeightsError):
        load_baseline("binary", None)
    with pytest.raises(WeightsError, match="two-stage"):
        load_baseline("binary", weights["two-stage"])
    with pytest.raises(WeightsError, match="GRM-Net"):
        load_baseline("two-stage", make_tiny_weights(tmp_path / "grm").parent)
    with pytest.raises(ValueError):
        load_baseline("three-stage", weights["binary"])
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in ("config.json", "vocab.txt"):
        (bad / f).write_text((weights["binary"] / f).read_text())
    (bad / "config.json").write_text((weights["binary"] / "config.json").read_text().replace(
        '"seg_channels": 16', '"seg_channels": 24'))
    (bad / "model.safetensors").write_bytes((weights["binary"] / "model.safetensors").read_bytes())
    with pytest.raises(WeightsError, match="does not match"):
        load_baseline("binary", bad)


def test_config_round_trip_and_grmnet_config_input(tmp_path):
    cfg = BaselineConfig(method="two-stage", min_overlap=0.6)
    cfg.save(tmp_path / "b.json")
    back = BaselineConfig.load(tmp_path / "b.json")
    assert back == cfg
    cfg.model.save(tmp_path / "g.json")                        # a plain GRM-Net config: shared fields only
    plain = BaselineConfig.load(tmp_path / "g.json", "binary")
    assert plain.method == "binary" and plain.model == cfg.model
    with pytest.raises(WeightsError):
        BaselineConfig.from_dict({"method": "binary", "bogus": 1})
    with pytest.raises(WeightsError):
        BaselineConfig.from_dict({"method": "one-stage"})


def test_binary_targets_and_coordinates():
    masks = torch.zeros(2, 8, 8, dtype=torch.uint8)
    masks[0, :2], masks[1, -2:] = 1, 1
    t = referred_targets([{"masks": masks}, {"masks": torch.zeros(0, 8, 8, dtype=torch.uint8)}], 8)
    assert t.shape == (2, 8, 8) and t[0].sum() == 32 and t[1].sum() == 0
    c = coordinate_maps(torch.zeros(1, 4, 3, 5))
    assert c.shape == (1, 2, 3, 5)
    assert c[0, 0, 0, 0] == -1 and c[0, 0, 0, -1] == 1 and c[0, 1, -1, 0] == 1


# ---- training (a couple of iterations on two synthetic scenes) ---------------------------------------------

@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    from grmnet.cli import main
    root = tmp_path_factory.mktemp("synth")
    assert main(["synth", "--out", str(root), "--split", "train", "--n", "2", "--seed", "5"]) == 0
    return root


@pytest.mark.slow
def test_train_baseline_stagewise_resume_and_matcher_import(tiny_data, tmp_path):
    from grmnet.cli import main
    from grmnet.config import tiny_config
    cfg = tiny_config()
    cfg.input_size, cfg.training.warmup_iters, cfg.training.checkpoint_every, cfg.training.augment = 128, 1, 1, False
    cfg.save(tmp_path / "c.json")
    common = ["--data", str(tiny_data), "--config", str(tmp_path / "c.json"), "--device", "cpu", "--workers", "0"]
    assert main(["train-baseline", "--method", "binary", "--out", str(tmp_path / "bin"), "--iters", "1", *common]) == 0
    state = json.loads((tmp_path / "bin" / "trainer_state.json").read_text())
    assert state["steps"] == {"matcher": 1} and state["done"]
    assert main(["train-baseline", "--method", "binary", "--out", str(tmp_path / "bin"), "--iters", "2", "--resume",
                 *common]) == 0
    assert json.loads((tmp_path / "bin" / "trainer_state.json").read_text())["steps"] == {"matcher": 2}
    assert main(["train-baseline", "--method", "two-stage", "--out", str(tmp_path / "ts"), "--iters", "1",
                 "--matcher", str(tmp_path / "bin"), *common]) == 0
    state = json.loads((tmp_path / "ts" / "trainer_state.json").read_text())
    assert state["steps"] == {"segmenter": 1, "matcher": 2} and state["matcher_from"]
    engine = load_baseline("two-stage", tmp_path / "ts")
    binary = load_baseline("binary", tmp_path / "bin")
    for k, v in binary.model.matcher.state_dict().items():      # stage 2 is the binary network, unchanged
        assert torch.equal(v, engine.model.matcher.state_dict()[k])
    for f in ("model.safetensors", "optimizer.safetensors", "config.json", "vocab.txt", "train_log.jsonl"):
        assert (tmp_path / "ts" / f).is_file(), f


def test_evaluate_runs_with_a_baseline(tiny_data, weights):
    from grmnet.data.sketchyscene import SketchySceneDataset
    from grmnet.evaluation import evaluate
    engine = load_baseline("binary", weights["binary"], device="cpu")
    metrics, predictions = evaluate(engine, SketchySceneDataset(tiny_data, "train"), engine.threshold, limit=4,
                                    keep_predictions=True, progress=False)
    assert metrics["pairs"] == 4 and "AP" in metrics
    assert predictions and set(predictions[0]) == {"image", "key", "width", "height", "results"}
    assert all("returned" in c for r in predictions[0]["results"] for c in r["candidates"])


def test_evaluate_scores_more_selection_rules_on_the_same_predictions(tiny_data, weights):
    from grmnet.data.sketchyscene import SketchySceneDataset
    from grmnet.evaluation import evaluate
    from grmnet.selection import SelectionRule
    engine = load_baseline("binary", weights["binary"], device="cpu")
    rules = [SelectionRule(engine.threshold), SelectionRule(1.01), SelectionRule(1.01, 0.0, True)]
    metrics, _ = evaluate(engine, SketchySceneDataset(tiny_data, "train"), engine.threshold, limit=6,
                          progress=False, sweep=rules)
    same, nothing, counted = metrics["sweep"]
    assert same["exact_selection"] == metrics["exact_selection"]        # the engine's own rule, scored twice
    assert (same["threshold"], same["count_floor"], same["count_nouns"]) == (engine.threshold, None, False)
    # nothing passes 1.01: exactly the no-target pairs are right; filling counts from 0.0 changes the outcome
    assert nothing["no_target_accuracy"] in (None, 100.0)
    assert counted["exact_selection"] is not None


# ---- the study script's reports -------------------------------------------------------------------------

def _study_module():
    path = Path(__file__).resolve().parents[1] / "tools" / "run_ablations.py"
    spec = importlib.util.spec_from_file_location("run_ablations", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_study_reports_come_from_the_json_files(tmp_path):
    study = _study_module()
    out, docs = tmp_path / "runs", tmp_path / "docs"
    args = study.parse_args(["--out", str(out), "--docs", str(docs), "--iters", "7", "--input-size", "128",
                             "--data", str(tmp_path / "data"), "--report-only"])
    aps = {name: 10.0 + i for i, name in enumerate(study.VARIANTS)}
    aps[study.FULL] = 50.0
    aps.update({"two-stage": 30.0, "binary": 5.0})
    for name, ap in aps.items():
        run = out / name
        run.mkdir(parents=True)
        (run / "study.json").write_text(json.dumps({"train_seconds": 75.0, "device": "cpu"}))
        cfg = study.run_config(name, args)
        if name in study.BASELINES:
            (run / "config.json").write_text(BaselineConfig(method=name, model=cfg).to_json())
            (run / "trainer_state.json").write_text(json.dumps(
                {"steps": {"matcher": 7}, "images_seen": {"matcher": 14}, "seconds": {"matcher": 60}, "done": True}))
        else:
            cfg.save(run / "config.json")
            (run / "trainer_state.json").write_text(json.dumps({"step": 7}))
        (run / "eval_test.json").write_text(json.dumps(
            {"AP": ap, "AP50": ap + 1, "AP75": ap - 1, "exact_selection": 3.0, "no_target_accuracy": 90.0,
             "pairs": 20, "images": 2, "threshold": 0.5, "per_type": {"single": {"AP": ap}}}))
    docs.mkdir()
    (docs / "RESULTS.md").write_text("# Results\n\nintro\n\n<!-- table1:start -->\nOLD-SECTION\n<!-- table1:end -->\n\nrest\n")
    assert study.main(["--out", str(out), "--docs", str(docs), "--iters", "7", "--input-size", "128",
                       "--data", str(tmp_path / "data"), "--report-only"]) == 0
    ablations = (docs / "ABLATIONS.md").read_text()
    assert "| **grm-consistency-k10-5d** | consistency | 10 | 5-d | on | 50.0 | 51.0 | 49.0 |" in ablations
    assert "| grm-k0 | – | 0 | – | on | 10.0 |" in ablations
    assert "claim **holds**" in ablations and "7 iterations" in ablations and "input 128 px" in ablations
    results = (docs / "RESULTS.md").read_text()
    assert results.startswith("# Results\n\nintro\n\n<!-- table1:start -->") and results.endswith("\n\nrest\n")
    assert "OLD-SECTION" not in results and results.count("<!-- table1:start -->") == 1
    assert "| 30.0 | 31.0 | 29.0 |" in results and "45.97" in results and "59.39" in results
    assert "claim **holds**" in results
    # a missing evaluation: no verdict, the row says so
    (out / "binary" / "eval_test.json").unlink()
    study.main(["--out", str(out), "--docs", str(docs), "--iters", "7", "--input-size", "128",
                "--data", str(tmp_path / "data"), "--report-only"])
    assert "not run" in (docs / "RESULTS.md").read_text() and "no verdict" in (docs / "RESULTS.md").read_text()
    # no RESULTS.md yet: created with just the section
    (docs / "RESULTS.md").unlink()
    study.write_results_table1(args, docs / "RESULTS.md")
    assert (docs / "RESULTS.md").read_text().startswith("<!-- table1:start -->")


@pytest.mark.slow
def test_shared_frozen_parts_for_every_method(tiny_data, tmp_path):
    """The ablation protocol: backbone (+ language, + RPN for GRM-Net) copied from one GRM-Net and kept frozen,
    so that the methods differ only in what they train on top."""
    from grmnet.cli import main
    from grmnet.config import tiny_config
    from fakes import make_tiny_weights
    from grmnet.weights import load_model

    source = load_model(make_tiny_weights(tmp_path / "src"), "cpu")[0].state_dict()
    common = ["--data", str(tiny_data), "--device", "cpu", "--workers", "0", "--iters", "2",
              "--init-parts", str(tmp_path / "src")]

    def config(name, parts):
        cfg = tiny_config()
        cfg.input_size, cfg.training.warmup_iters, cfg.training.checkpoint_every, cfg.training.augment = 128, 1, 1, False
        cfg.num_references, cfg.training.frozen_parts = 5, parts
        cfg.save(tmp_path / name)
        return ["--config", str(tmp_path / name)]

    assert main(["train", "--out", str(tmp_path / "grm"), *config("g.json", ["backbone", "language", "rpn"]),
                 *common]) == 0
    trained = load_model(tmp_path / "grm", "cpu")[0].state_dict()
    for k, v in trained.items():
        if k.split(".")[0] in ("backbone", "language", "rpn"):
            assert torch.equal(v, source[k]), k
    assert any(k.startswith("roi_heads.") and (k not in source or v.shape != source[k].shape
                                               or not torch.equal(v, source[k])) for k, v in trained.items())

    base = config("b.json", ["backbone", "language"])
    assert main(["train-baseline", "--method", "binary", "--out", str(tmp_path / "bin"), *base, *common]) == 0
    assert main(["train-baseline", "--method", "two-stage", "--out", str(tmp_path / "ts"), "--matcher",
                 str(tmp_path / "bin"), *base, *common]) == 0
    two_stage = load_baseline("two-stage", tmp_path / "ts").model.state_dict()
    checked = 0
    for k, v in two_stage.items():
        part = k.split(".", 1)[1]
        if part.split(".")[0] in ("backbone", "language"):
            assert torch.equal(v, source[part]), k
            checked += 1
    assert checked > 50            # segmenter.backbone, matcher.backbone and matcher.language
