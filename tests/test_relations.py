"""Relations to a named reference ("the dog behind the house") resolved by the grammar's geometry over every
instance of the target and reference categories (grmnet.relations)."""
import torch

from grmnet.relations import Relation, parse_relation, rank_by_relation


def test_parse_relation_reads_target_relation_and_reference():
    assert parse_relation("the dog behind the house") == Relation("behind", "house", 1)
    assert parse_relation("the kitty behind the car") == Relation("behind", "car", 1)        # other names
    assert parse_relation("the two trees on the left of the car") == Relation("on the left of", "car", 2)
    assert parse_relation("the dog on the left front of the bus") == Relation("on the left front of", "bus", 1)
    assert parse_relation("the bird near the bench") == Relation("near", "bench", 1)
    assert parse_relation("the person among the trees") == Relation("among", "tree", 1)
    assert parse_relation("the cow in front of the left house") is None       # which house: the model's
    assert parse_relation("the topmost tree on the left of the car") is None  # an order inside the group too
    assert parse_relation("the trees behind the house") is None               # how many is not said
    assert parse_relation("all the trees near the house") is None
    assert parse_relation("the tree in front") is None                        # no reference
    assert parse_relation("the dog") is None
    # other words for the same relations
    assert parse_relation("the dog next to the house") == Relation("near", "house", 1)
    assert parse_relation("the dog to the left of the car") == Relation("on the left of", "car", 1)
    assert parse_relation("the cat in back of the bench") == Relation("behind", "bench", 1)


def test_rank_by_relation_on_hand_made_boxes():
    house = [(300, 200, 450, 400)]                       # feet at y = 400
    dogs = [(320, 100, 360, 150),                        # feet higher, straight above: behind the house
            (100, 350, 150, 400),                        # same feet level, far left: on the left of
            (480, 500, 520, 560)]                        # lower, to the right: on the right front of
    assert rank_by_relation(dogs, house, Relation("behind", "house"), "dog", 750)[0] == 0
    assert rank_by_relation(dogs, house, Relation("on the left of", "house"), "dog", 750)[0] == 1
    assert rank_by_relation(dogs, house, Relation("on the right front of", "house"), "dog", 750)[0] == 2
    assert rank_by_relation(dogs, house, Relation("in front of", "house"), "dog", 750) is None   # none is
    assert rank_by_relation(dogs, house, Relation("near", "house"), "dog", 750)[0] == 0           # 50 px away
    two_houses = house + [(600, 600, 700, 700)]          # two groups: "the house" is not one of them
    assert rank_by_relation(dogs, two_houses, Relation("behind", "house"), "dog", 750) is None
    assert rank_by_relation(dogs, [], Relation("behind", "house"), "dog", 750) is None
    pair = [(0, 300, 40, 380), (60, 340, 100, 420)]      # two dogs together, the house's feet within theirs
    assert sorted(rank_by_relation(pair, house, Relation("on the left of", "house", 2), "dog", 750)[:2]) == [0, 1]


def test_predictor_answers_relations_among_every_instance(tmp_path):
    """With resolve_relations, 'the tree on the left of the house' is the tree the geometry says, not the
    model's best-scored tree; off, the model's."""
    import dataclasses

    from grmnet.config import InferenceConfig
    from grmnet.data.categories import CATEGORIES, label_of
    from fakes import box_lefts as xs, predictor_with_detections

    boxes = [(115, 10, 135, 50), (0, 110, 20, 150), (100, 80, 160, 150)]     # tree, tree, house (256 px sketch)
    probs = torch.zeros(3, len(CATEGORIES) + 1)
    probs[0, label_of("tree")], probs[1, label_of("tree")], probs[2, label_of("house")] = 0.95, 0.9, 0.95
    probs[:, 0] = 1 - probs.sum(dim=1)
    p, sketch, asked = predictor_with_detections(tmp_path, InferenceConfig(
        score_threshold=0.6, count_floor=0.5, count_nouns=True, named_category=True, resolve_relations=True),
        boxes, probs)

    assert xs(p.refer(sketch, "the tree on the left of the house")) == [0]
    assert asked == [1, 1]        # "the houses", then "the trees"...
    p.refer(sketch, "the trees")
    assert asked == [1, 1]        # ...remembered for the sketch's next queries
    assert xs(p.refer(sketch, "the tree behind the house")) == [115]
    asked.clear()
    sketch.outputs.clear()
    p.refer(sketch, "the tree near the bench")          # no bench found: the model answers, no "the trees" pass
    assert asked == [1, 1] and list(sketch.outputs) == ["the benches", "the tree near the bench"]
    p.inference = dataclasses.replace(p.inference, resolve_relations=False)
    assert xs(p.refer(sketch, "the tree on the left of the house")) == [115]     # off: the best-scored tree
