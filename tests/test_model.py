"""GRM-Net shapes, target assignment, weights I/O and the predictor's cache, with the tiny model."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from grmnet.config import GRMNetConfig, tiny_config
from grmnet.errors import ExpressionError, ImageError, NoWeightsError, WeightsError
from grmnet.masks import decode_rle, encode_rle
from grmnet.modeling.grmnet import GRMNet
from grmnet.data.categories import singular
from grmnet.prediction import Predictor
from grmnet.results import ReferredInstance, label_instances
from fakes import make_tiny_weights


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    return make_tiny_weights(tmp_path_factory.mktemp("tiny"))


def _targets(n_pairs, s, with_box=True):
    out = []
    for i in range(n_pairs):
        if with_box and i % 2 == 0:
            masks = torch.zeros(1, s, s, dtype=torch.uint8)
            masks[0, 20:80, 30:100] = 1
            out.append({"boxes": torch.tensor([[30.0, 20.0, 100.0, 80.0]]), "labels": torch.tensor([7]),
                        "masks": masks})
        else:  # a no-target expression: everything is background
            out.append({"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long),
                        "masks": torch.zeros(0, s, s, dtype=torch.uint8)})
    return out


@pytest.mark.parametrize("overrides", [{}, {"num_references": 0}, {"reference_mode": "distance", "reference_dim": 3},
                                       {"absolute_position": False}, {"mask_roi_size": 28}])
def test_shapes_through_the_whole_model(overrides):
    cfg = tiny_config()
    for k, v in overrides.items():
        setattr(cfg, k, v)
    torch.manual_seed(0)
    model = GRMNet(cfg, vocab_size=20)
    s = cfg.input_size
    images = torch.rand(2, 3, s, s)
    tokens = torch.randint(2, 20, (4, cfg.max_words))
    lengths = torch.tensor([3, 15, 1, 6])
    pair_image = torch.tensor([0, 0, 1, 1])
    losses = model.train()(images, [(s, s), (s, s - 40)], pair_image, tokens, lengths, _targets(4, s))
    assert set(losses) == {"loss_rpn_objectness", "loss_rpn_box", "loss_classifier", "loss_box_reg", "loss_mask"}
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert model.language.embedding.weight.grad is not None
    with torch.no_grad():
        out = model.eval()(images, [(s, s), (s, s)], torch.tensor([0, 1]), tokens[:2], lengths[:2])
    assert len(out) == 2
    for o in out:
        n = len(o["boxes"])
        m = 2 * cfg.mask_roi_size
        assert o["boxes"].shape == (n, 4) and o["scores"].shape == (n,) and o["masks"].shape == (n, 1, m, m)


def test_rpn_targets_are_the_referred_instances_only():
    """An anchor lying exactly on a non-referred object is a negative: only targets are positives."""
    cfg = tiny_config()
    model = GRMNet(cfg, vocab_size=10)
    referred = torch.tensor([[32.0, 32.0, 96.0, 96.0]])
    other = torch.tensor([[140.0, 140.0, 204.0, 204.0]])   # another object, not referred
    anchors = [torch.cat([referred, other])]
    labels, _ = model.rpn.assign_targets_to_anchors(anchors, [{"boxes": referred}])
    assert labels[0].tolist() == [1.0, 0.0]
    labels, _ = model.rpn.assign_targets_to_anchors(anchors, [{"boxes": torch.zeros(0, 4)}])
    assert labels[0].tolist() == [0.0, 0.0]


def test_rpn_anchors_are_remembered_per_input_layout():
    """The remembered anchors equal the generator's, per image, and follow a change of input or map size."""
    from torchvision.models.detection.image_list import ImageList
    rpn = GRMNet(tiny_config(), vocab_size=10).rpn
    for h, w in [(128, 128), (128, 96), (128, 128)]:
        images = ImageList(torch.zeros(2, 1, h, w), [(h, w), (h - 8, w)])
        maps = [torch.zeros(2, 4, h // s, w // s) for s in (4, 8, 16, 32)[:len(rpn.anchor_generator.sizes)]]
        expected = rpn.anchor_generator(images, maps)
        got = rpn.anchors(images, maps)
        assert len(got) == 2 and all(torch.equal(a, b) for a, b in zip(expected, got))
        assert rpn.anchors(images, maps)[0] is got[0]          # the second query reuses them


def test_rle_round_trip():
    rng = np.random.default_rng(0)
    mask = rng.random((37, 53)) > 0.7
    rle = encode_rle(mask)
    assert rle["size"] == [37, 53] and isinstance(rle["counts"], str)
    json.dumps(rle)
    assert np.array_equal(decode_rle(rle), mask)


def test_predictor_caches_backbone_features(tiny_weights):
    p = Predictor(tiny_weights, threshold=0.0)
    img = np.full((120, 160), 255, np.uint8)
    img[30:35, 20:120] = 0
    r = p.predict(img, ["the two sheep", "the tree on the left"])
    assert p.backbone_runs == 1
    p.predict(img.copy(), ["the sun"])
    assert p.backbone_runs == 1            # same content: cache hit
    img[0, 0] = 0
    p.predict(img, ["the sun"])
    assert p.backbone_runs == 2
    assert r.width == 160 and r.height == 120 and len(r.results) == 2
    assert r.results[0].expression == "the two sheep"


def test_predictor_normalises_image_modes(tiny_weights, tmp_path):
    p = Predictor(tiny_weights)
    base = np.full((64, 80), 255, np.uint8)
    base[10:20, 10:70] = 0
    for mode in ("L", "RGB", "RGBA", "P", "I;16", "1"):
        im = Image.fromarray(base).convert(mode) if mode != "I;16" else Image.fromarray(base.astype(np.uint16) * 257)
        path = tmp_path / f"x_{mode.replace(';', '')}.png"
        im.save(path)
        r = p.predict(path, ["the tree"])
        assert (r.width, r.height) == (80, 64)


def test_bad_expressions_and_images(tiny_weights, tmp_path):
    p = Predictor(tiny_weights)
    img = np.full((64, 64), 255, np.uint8)
    with pytest.raises(ExpressionError, match="empty"):
        p.predict(img, ["   "])
    with pytest.raises(ExpressionError, match="known"):
        p.predict(img, ["zebra giraffe"])
    assert p.predict(img, ["the zebra tree"]).results[0].unknown_words == ("zebra",)
    with pytest.raises(ExpressionError, match="no words"):
        p.predict(img, ["🐱🐶"])
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(ImageError, match="not (a readable image|an image)"):
        p.predict(bad, ["the tree"])
    with pytest.raises(ImageError, match="empty"):
        p.predict(np.zeros((0, 10), np.uint8), ["the tree"])


def test_corrupt_and_mismatched_weights(tiny_weights, tmp_path):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for f in tiny_weights.parent.iterdir():
        (corrupt / f.name).write_bytes(f.read_bytes())
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(WeightsError, match="corrupt"):
        Predictor(corrupt)
    mismatched = tmp_path / "mismatched"
    mismatched.mkdir()
    for f in tiny_weights.parent.iterdir():
        (mismatched / f.name).write_bytes(f.read_bytes())
    cfg = tiny_config()
    cfg.fpn_channels = 48
    cfg.save(mismatched / "config.json")
    with pytest.raises(WeightsError, match="does not match"):
        Predictor(mismatched)
    with pytest.raises(NoWeightsError):
        Predictor(tmp_path / "nothing-here")
    pickled = tmp_path / "model.pt"
    pickled.write_bytes(b"x")
    with pytest.raises(WeightsError, match="safetensors"):
        Predictor(pickled)


def test_config_round_trip_and_unknown_fields(tmp_path):
    cfg = GRMNetConfig(num_references=5, reference_mode="distance")
    cfg.save(tmp_path / "c.json")
    assert GRMNetConfig.load(tmp_path / "c.json") == cfg
    (tmp_path / "bad.json").write_text(json.dumps({"num_refs": 3}))
    with pytest.raises(WeightsError, match="unknown fields"):
        GRMNetConfig.load(tmp_path / "bad.json")


def test_instances_indexed_per_category_left_to_right():
    empty = np.zeros((4, 4), bool)
    inst = [ReferredInstance(c, s, (x, 0, x + 5, 5), empty, empty)
            for c, x, s in (("sheep", 300, 0.9), ("sheep", 100, 0.8), ("people", 500, 0.7))]
    labelled = label_instances(inst, singular)
    assert [i.label for i in labelled] == ["sheep 2", "sheep 1", "person 1"]     # same order as given
    assert [i.score for i in labelled] == [0.9, 0.8, 0.7]


def test_ink_of_region_takes_outline_strokes_on_the_border():
    from grmnet.prediction import ink_of_region
    ink = np.zeros((40, 40), bool)
    ink[10, 10:30] = ink[29, 10:30] = ink[10:30, 10] = ink[10:30, 29] = True   # a square outline
    ink[5, 5] = True                                                             # someone else's ink
    region = np.zeros((40, 40), bool)
    region[12:28, 12:28] = True            # a mask 2 px too small: misses the whole outline
    assert not ink_of_region(region, ink, 0).any()
    got = ink_of_region(region, ink, 2)
    assert got[10, 12:28].all() and got[12:28, 29].all()     # the sides of the outline are taken
    assert got.sum() >= 0.85 * ink[10:30, 10:30].sum()       # (the round kernel may miss corner pixels)
    assert not got[5, 5]


def test_old_flat_config_loads_and_inference_settings_come_from_it(tmp_path):
    import dataclasses
    from grmnet.weights import INFERENCE_NAME, save_inference
    from grmnet.config import InferenceConfig
    make_tiny_weights(tmp_path)
    nested = json.loads((tmp_path / "config.json").read_text())
    flat = {k: v for k, v in nested.items() if k != "training"} | nested["training"]
    flat |= {"score_threshold": 0.7, "count_floor": 0.3, "count_nouns": True, "ink_threshold": 128,
             "mask_threshold": 0.4, "ink_margin": 4}           # the layout every weights file had before
    (tmp_path / "config.json").write_text(json.dumps(flat))
    p = Predictor(tmp_path)
    assert p.threshold == 0.7 and p.inference.count_floor == 0.3 and p.inference.ink_margin == 4
    assert p.cfg.training.batch_size == nested["training"]["batch_size"]
    # grmnet tune writes inference.json beside the weights; it wins over the old fields
    save_inference(tmp_path, dataclasses.replace(p.inference, score_threshold=0.6))
    assert (tmp_path / INFERENCE_NAME).is_file() and Predictor(tmp_path).threshold == 0.6
    assert InferenceConfig.load(tmp_path / INFERENCE_NAME).count_nouns is True


@pytest.mark.parametrize("field,value,message", [("input_size", "384", "whole number"), ("input_size", -384, "positive"),
                                                  ("anchor_sizes", "abc", "list"), ("num_references", "ten", "whole number"),
                                                  ("reference_mode", "nearest", "one of")])
def test_config_fields_of_the_wrong_type_name_the_field(tmp_path, field, value, message):
    cfg = json.loads(tiny_config().to_json())
    cfg[field] = value
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    with pytest.raises(WeightsError, match=f"{field}.*{message}|{message}.*{field}"):
        GRMNetConfig.load(tmp_path / "c.json")


def test_one_pass_over_several_settings_equals_one_evaluation_per_setting(tiny_weights, tmp_path):
    """`grmnet tune` scores every (mask threshold, ink margin, scoring) from one model pass per pair; each
    setting's metrics must be exactly those of a plain evaluation with the predictor set to it."""
    import dataclasses

    from grmnet.cli import main
    from grmnet.data.sketchyscene import SketchySceneDataset
    from grmnet.evaluation import evaluate, evaluate_settings
    from grmnet.selection import SelectionRule

    assert main(["synth", "--out", str(tmp_path), "--split", "val", "--n", "1", "--seed", "4"]) == 0
    data = SketchySceneDataset(tmp_path, "val")
    predictor = Predictor(tiny_weights)
    settings = [(0.3, 2), (0.5, 8, True)]
    rules = [SelectionRule(0.5, None, False), SelectionRule(0.9, 0.3, True)]
    together = evaluate_settings(predictor, data, settings, limit=6, progress=False, sweep=rules)
    for (mask_threshold, margin, *named), metrics in zip(settings, together):
        predictor.inference = dataclasses.replace(predictor.inference, mask_threshold=mask_threshold,
                                                  ink_margin=margin, named_category=bool(named))
        alone, _ = evaluate(predictor, data, limit=6, progress=False, sweep=rules)
        for key in ("AP", "AP50", "AP75", "exact_selection", "sweep", "per_type", "pairs"):
            assert metrics[key] == alone[key], key
    assert together[0]["AP"] != together[1]["AP"] or together[0]["sweep"] != together[1]["sweep"]


def test_tune_writes_settings_from_its_grids(tiny_weights, tmp_path):
    import shutil

    from grmnet.cli import main
    from grmnet.tuning import MARGINS, MASK_THRESHOLDS, THRESHOLDS

    data, weights = tmp_path / "data", tmp_path / "w"
    assert main(["synth", "--out", str(data), "--split", "val", "--n", "1", "--seed", "4"]) == 0
    shutil.copytree(tiny_weights.parent, weights)
    assert main(["tune", str(weights), "--data", str(data), "--limit", "5", "--report", str(tmp_path / "r.json")]) == 0
    chosen = json.loads((weights / "inference.json").read_text())
    report = json.loads((tmp_path / "r.json").read_text())
    assert chosen["mask_threshold"] in MASK_THRESHOLDS and chosen["ink_margin"] in MARGINS
    assert chosen["score_threshold"] in THRESHOLDS
    assert report["pairs"] == 5 and len(report["regions"]) == len(MASK_THRESHOLDS) * len(MARGINS) * 2
    assert chosen["named_category"] in (False, True)


def test_named_category_scores_each_candidate_by_the_category_the_expression_names(tiny_weights):
    """With named_category a candidate's score is the probability that it is a referred object of the category
    the expression names, not of its best category: a car the class head likes is not 'the cloud'."""
    from grmnet.data.categories import label_of
    from grmnet.prediction import CandidateSetting

    predictor = Predictor(tiny_weights)
    grey = np.full((120, 120), 255, np.uint8)
    grey[20:22, 10:50] = grey[80:82, 60:110] = 0                       # two strokes, one in each box
    sketch = predictor.encode(grey)
    scale = sketch.inputs.scale
    probs = torch.zeros((2, 26))
    probs[0, label_of("car")], probs[0, label_of("cloud")] = 0.8, 0.15   # a car
    probs[1, label_of("cloud")], probs[1, label_of("car")] = 0.6, 0.1    # a cloud
    out = {"boxes": torch.tensor([[8, 15, 52, 27], [58, 75, 112, 87]], dtype=torch.float32) * scale,
           "scores": probs[:, 1:].max(1).values, "labels": probs[:, 1:].argmax(1) + 1,
           "masks": torch.ones((2, 1, 28, 28)), "class_probs": probs}
    best, named = predictor._instance_variants(sketch, out, 0.1, [CandidateSetting(0.5, 0),
                                                                 CandidateSetting(0.5, 0, True)], ("cloud",))
    assert [(i.category, round(i.score, 2)) for i in best] == [("car", 0.8), ("cloud", 0.6)]
    assert [(i.category, round(i.score, 2)) for i in named] == [("cloud", 0.6), ("cloud", 0.15)]
    assert named[0].ink[81, 80] and not named[0].ink[21, 30]
    (only,) = predictor._instance_variants(sketch, out, 0.5, [CandidateSetting(0.5, 0, True)], ("cloud",))
    assert [i.category for i in only] == ["cloud"]                      # the car is below the floor now
    (unnamed,) = predictor._instance_variants(sketch, out, 0.1, [CandidateSetting(0.5, 0, True)], ())
    assert [i.category for i in unnamed] == ["car", "cloud"]            # no noun: the best category scores


def test_the_selection_rule_prefers_right_empty_answers_within_one_standard_error():
    """choose_rule: a rule whose exact selection lies within one binomial standard error of the best (~1.2 points
    on 1250 pairs) but answers absent categories with nothing more often wins; a clearly better one still wins."""
    from grmnet.tuning import choose_rule

    def rule(floor, exact, no_target):
        return {"threshold": 0.8, "count_floor": floor, "count_nouns": True, "exact_selection": exact,
                "no_target_accuracy": no_target}

    grid = [rule(0.3, 74.96, 46.77), rule(0.5, 74.24, 58.06), rule(0.7, 73.04, 72.58)]
    assert choose_rule(grid, 1250)["count_floor"] == 0.5
    assert choose_rule(grid, 100000)["count_floor"] == 0.3        # a large split tells 0.7 points apart
    assert choose_rule([rule(0.3, 80.0, None), rule(0.5, 79.5, None)], 1250)["count_floor"] == 0.3


def test_a_floor_on_the_referred_probability_keeps_exactly_those_detections_and_their_masks():
    # the predictor asks only for detections it could return (FusedRoIHeads.forward, min_referred): the kept ones
    # must be the same rows, with the same masks, as when every detection's mask is computed
    cfg = tiny_config()
    cfg.box_score_thresh = 0.0
    torch.manual_seed(3)
    model = GRMNet(cfg, vocab_size=20).eval()
    s = cfg.input_size
    with torch.no_grad():
        encoded = model.encode_images(torch.rand(1, 3, s, s))
        tokens, lengths = torch.randint(2, 20, (1, cfg.max_words)), torch.tensor([5])
        every = model.refer(encoded, [(s, s)], tokens, lengths)[0]
        referred = 1 - every["class_probs"][:, 0]
        floor = float(referred.median())
        some = model.refer(encoded, [(s, s)], tokens, lengths, min_referred=floor)[0]
    rows = torch.where(referred >= floor)[0]
    assert 0 < len(rows) < len(every["boxes"])
    for key in ("boxes", "scores", "labels", "class_probs", "masks"):
        assert torch.allclose(some[key].float(), every[key][rows].float(), atol=1e-5), key


def test_ink_of_a_window_is_the_ink_of_the_same_region_over_the_whole_image():
    from grmnet.prediction import ink_of_region, ink_of_window
    rng = np.random.default_rng(0)
    ink = rng.random((60, 80)) < 0.3
    window = rng.random((20, 25)) < 0.5
    for origin, margin in (((10, 5), 0), ((10, 5), 3), ((0, 0), 2), ((55, 40), 4)):    # the last one overhangs
        x, y = origin
        whole = np.zeros_like(ink)
        h, w = whole[y:y + 20, x:x + 25].shape
        whole[y:y + h, x:x + w] = window[:h, :w]
        got_ink, got_region = ink_of_window(window[:h, :w], origin, ink, margin)
        assert np.array_equal(got_region, whole)
        assert np.array_equal(got_ink, ink_of_region(whole, ink, margin))
