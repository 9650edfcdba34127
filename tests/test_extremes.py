"""Extremes of size and height ("the biggest tree") and order in the group ("the leftmost tree") resolved from the
boxes of every instance of the category."""
import pytest
import torch

from grmnet.extremes import Extreme, Order, box_measure, parse_extreme, parse_order, rank_by_extreme, rank_by_order


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
    assert parse_extreme("the leftmost tree") is None                    # an order: parse_order
    assert parse_extreme("the biggest trees") is None                     # how many is not said
    assert parse_extreme("the tallest sheep") == Extreme("height", True, 1)
    # plain adjectives single one out among several: "the big tree" of two is the bigger one
    assert parse_extreme("the big tree") == Extreme("area", True, 1)
    assert parse_extreme("small cat") == Extreme("area", False, 1)
    assert parse_extreme("the tall person") == Extreme("height", True, 1)
    assert parse_extreme("the big trees") is None                        # how many is not said
    assert parse_extreme("the butterfly with big wings") is None         # a trailing phrase, not a pick
    # "top" / "bottom" as an adjective of the target noun; elsewhere a place on the page
    assert parse_extreme("the top bird") == Extreme("top", True, 1)
    assert parse_extreme("the bottom cloud") == Extreme("bottom", True, 1)
    assert parse_extreme("the top left tree") is None
    assert parse_extreme("the cloud at the top") is None
    assert parse_extreme("the top bird on the left") is None


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
    from fakes import box_lefts as xs, predictor_with_detections

    sizes = {20: 60, 100: 30, 170: 45}             # x -> box height (and width / 2)
    probs = torch.zeros(3, len(CATEGORIES) + 1)
    probs[:, label_of("tree")] = torch.tensor([0.95, 0.7, 0.9])
    probs[:, 0] = 1 - probs[:, label_of("tree")]
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, resolve_extremes=True),
        [(x, 200 - h, x + h // 2, 200) for x, h in sizes.items()], probs)

    assert xs(p.refer(sketch, "the smallest tree")) == [100]
    assert xs(p.refer(sketch, "the tallest tree")) == [20]
    assert sorted(xs(p.refer(sketch, "the 2 biggest trees"))) == [20, 170]
    result = p.refer(sketch, "the smallest tree", with_candidates=True)
    assert [round(c.box[0]) for c in result.candidates][0] == 100
    assert result.returned_flags() == [True, False, False]
    assert result.instances[0].label == "tree 1" and result.understood.category == "tree"
    p.inference = dataclasses.replace(p.inference, resolve_extremes=False)
    assert xs(p.refer(sketch, "the smallest tree")) == [20]          # off: the model's best-scored tree


def test_parse_order_reads_the_grammar_and_free_phrasing():
    assert parse_order("the leftmost tree") == Order("left")
    assert parse_order("the tree on the leftmost") == Order("left")
    assert parse_order("the tree on the left") == Order("left", thirds=True)   # also the image third's phrase
    assert parse_order("the right dog") == Order("right")
    assert parse_order("the middle dog") == Order("middle")
    assert parse_order("the dog in the middle") == Order("middle", thirds=True)
    assert parse_order("the second bus on the right") == Order("right", 2)
    assert parse_order("the bottommost duck") == Order("bottom")
    assert parse_order("Grab the 2nd kitty from the left side") == Order("left", 2)
    assert parse_order("the left-most tree") == Order("left")
    assert parse_order("the two leftmost trees") == Order("left", 1, 2)
    assert parse_order("the tree") is None                          # nothing to order by
    assert parse_order("the trees on the left") is None             # some of the trees, how many not said
    assert parse_order("the three sheep on the left") is None       # the grammar's group in the left third
    assert parse_order("the tree on the left of the house") is None  # a relation
    assert parse_order("the leftmost tree near the house") is None
    assert parse_order("the biggest tree on the left") is None      # an extreme too
    assert parse_order("the second middle tree") is None


def test_rank_by_order_on_hand_made_boxes():
    row = [(200, 100, 260, 300), (0, 120, 50, 310), (100, 90, 150, 305)]      # feet level: a horizontal group
    assert rank_by_order(row, Order("left")) == [1, 2, 0]
    assert rank_by_order(row, Order("right"))[0] == 0
    assert rank_by_order(row, Order("left", 2))[0] == 2
    assert rank_by_order(row, Order("middle"))[0] == 2
    assert rank_by_order(row, Order("left", 1, 2))[:2] == [1, 2]
    assert rank_by_order(row, Order("top")) is None       # never said of a row: the model answers
    assert rank_by_order(row, Order("left", 4)) is None   # fewer members than the rank
    assert rank_by_order(row[:1], Order("left")) is None  # one found: the group is not all there
    assert rank_by_order(row[:2], Order("middle")) is None
    column = [(0, 0, 40, 40), (10, 200, 50, 240), (5, 100, 45, 140)]         # one above the other
    assert rank_by_order(column, Order("top"))[0] == 0
    assert rank_by_order(column, Order("bottom"))[0] == 1
    assert rank_by_order(column, Order("middle"))[0] == 2
    assert rank_by_order(column, Order("left")) is None
    many = [(x, 0, x + 20, 30) for x in (90, 10, 50, 130, 170, 210)]      # six: outside the grammar's groups
    assert rank_by_order(many, Order("left"))[0] == 1
    assert rank_by_order(many, Order("right", 2))[0] == 4
    # two groups (a pair on the left, one tree far off in the middle third of a 750 px image): "the tree in the
    # middle" is the one alone in the middle third, not the middle one of all three
    apart = [(10, 100, 60, 200), (80, 100, 130, 200), (350, 100, 400, 200)]
    assert rank_by_order(apart, Order("middle", thirds=True), image_width=750)[0] == 2
    assert rank_by_order(apart, Order("middle"), image_width=750)[0] == 1     # "the middle tree": the order
    assert rank_by_order(apart, Order("left", thirds=True), image_width=750) is None   # two in the left third


def test_predictor_answers_order_among_every_instance(tmp_path):
    """With resolve_order, 'the leftmost tree' is the leftmost of the trees the plural query returns; when they
    cannot answer ('the middle tree' of two), the model answers the expression."""
    import dataclasses

    from grmnet.config import InferenceConfig
    from grmnet.data.categories import CATEGORIES, label_of
    from fakes import box_lefts as xs, predictor_with_detections

    probs = torch.zeros(3, len(CATEGORIES) + 1)
    probs[:, label_of("tree")] = torch.tensor([0.95, 0.7, 0.9])
    probs[:, 0] = 1 - probs[:, label_of("tree")]
    boxes = [(100, 150, 130, 200), (20, 150, 50, 200), (170, 150, 200, 200)]
    p, sketch, _ = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, resolve_order=True),
        boxes, probs)

    assert xs(p.refer(sketch, "the leftmost tree")) == [20]
    assert xs(p.refer(sketch, "the tree in the middle")) == [100]
    assert xs(p.refer(sketch, "the second tree from the right")) == [100]
    result = p.refer(sketch, "the rightmost tree", with_candidates=True)
    assert xs(result) == [170] and result.returned_flags()[0] and round(result.candidates[0].box[0]) == 170
    p.inference = dataclasses.replace(p.inference, resolve_order=False)
    assert xs(p.refer(sketch, "the leftmost tree")) == [100]          # off: the model's best-scored tree


def test_instances_of_several_categories_are_ranked_plainly_along_the_side():
    """'the leftmost animal': cats and birds scattered over the page form no grammar group (its groups are of one
    category), so the grammar-faithful rule gives up; ranked plainly, the leftmost is the leftmost."""
    cat, bird_high, bird_low = (80, 520, 160, 620), (200, 120, 250, 170), (300, 300, 340, 340)
    boxes = [bird_high, cat, bird_low]
    assert rank_by_order(boxes, Order("left"), "animal", 750, grammar_groups=False)[0] == 1
    assert rank_by_order(boxes, Order("left", thirds=True), "animal", 750, grammar_groups=False)[0] == 1
    assert rank_by_order(boxes, Order("top"), "animal", 750, grammar_groups=False)[0] == 0
    assert rank_by_order(boxes, Order("right", count=2), "animal", 750, grammar_groups=False)[:2] == [2, 0]
    assert rank_by_order(boxes, Order("middle"), "animal", 750, grammar_groups=False) is None
    assert rank_by_order(boxes[:1], Order("left", count=2), "animal", 750, grammar_groups=False) is None
