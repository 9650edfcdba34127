"""Extremes of size and height ("the biggest tree") resolved from the boxes of every instance of the category."""
import pytest
import torch

from grmnet.extremes import Extreme, box_measure, parse_extreme, rank_by_extreme


def test_parse_reads_the_target_phrase_only():
    assert parse_extreme("the biggest tree") == Extreme("area", True, 1)
    assert parse_extreme("Please select the TALLEST person.") == Extreme("height", True, 1)
    assert parse_extreme("grab the 2 smallest kitties") == Extreme("area", False, 2)
    assert parse_extreme("the higher duck") == Extreme("top", True, 1)
    assert parse_extreme("the lowest cloud") == Extreme("bottom", True, 1)
    assert parse_extreme("the tree") is None
    assert parse_extreme("the biggest tree near the house") is None      # among the trees near the house only
    assert parse_extreme("the smallest cat on the left") is None         # a position restricts it too
    assert parse_extreme("the cat next to the biggest tree") is None     # the reference's extreme
    assert parse_extreme("the biggest") is None                          # no target noun
    assert parse_extreme("the biggest smallest tree") is None            # two extremes: unclear
    assert parse_extreme("the tree on the far left") == Extreme("right", False, 1)
    assert parse_extreme("the 2 trees furthest to the right") == Extreme("right", True, 2)
    assert parse_extreme("the cloud nearest the top") == Extreme("top", True, 1)
    assert parse_extreme("the tree furthest left of the house") is None  # a relation: "left of"
    assert parse_extreme("the leftmost tree") is None                    # the grammar's word: the model's
    assert parse_extreme("the biggest trees") is None                     # how many is not said
    assert parse_extreme("the tallest sheep") == Extreme("height", True, 1)


def test_rank_by_extreme_on_hand_made_boxes():
    boxes = [(0, 0, 10, 40), (20, 10, 60, 30), (70, 50, 75, 90)]   # tall-thin, wide (largest area), low
    assert box_measure(boxes[1], "area") == 800
    assert rank_by_extreme(boxes, Extreme("area", True)) == [1, 0, 2]
    assert rank_by_extreme(boxes, Extreme("area", False)) == [2, 0, 1]
    assert rank_by_extreme(boxes, Extreme("height", True))[0] == 0
    assert rank_by_extreme(boxes, Extreme("height", False))[0] == 1
    assert rank_by_extreme(boxes, Extreme("top", True))[0] == 0     # y0 = 0: highest on the page
    assert rank_by_extreme(boxes, Extreme("bottom", True))[0] == 2  # y1 = 90: lowest
    assert rank_by_extreme(boxes, Extreme("right", False)) == [0, 1, 2]
    with pytest.raises(ValueError):
        box_measure(boxes[0], "width")


def test_predictor_keeps_the_most_extreme_of_every_instance(tmp_path):
    """With resolve_extremes, 'the smallest tree' is the smallest of the trees the plural query returns, not the
    model's best-scored tree; AP candidates rank it first."""
    import dataclasses

    from grmnet.config import InferenceConfig
    from grmnet.data.categories import CATEGORIES, label_of
    from fakes import predictor_with_detections

    sizes = {20: 60, 100: 30, 170: 45}             # x -> box height (and width / 2)
    probs = torch.zeros(3, len(CATEGORIES) + 1)
    probs[:, label_of("tree")] = torch.tensor([0.95, 0.7, 0.9])
    probs[:, 0] = 1 - probs[:, label_of("tree")]
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, resolve_extremes=True),
        [(x, 200 - h, x + h // 2, 200) for x, h in sizes.items()], probs)

    def xs(result):
        return [round(i.box[0]) for i in result.instances]

    assert xs(p.refer(sketch, "the smallest tree")) == [100]
    assert xs(p.refer(sketch, "the tallest tree")) == [20]
    assert sorted(xs(p.refer(sketch, "the 2 biggest trees"))) == [20, 170]
    result = p.refer(sketch, "the smallest tree", with_candidates=True)
    assert [round(c.box[0]) for c in result.candidates][0] == 100
    assert result.returned_flags() == [True, False, False]
    assert result.instances[0].label == "tree 1" and result.understood.category == "tree"
    p.inference = dataclasses.replace(p.inference, resolve_extremes=False)
    assert xs(p.refer(sketch, "the smallest tree")) == [20]          # off: the model's best-scored tree
