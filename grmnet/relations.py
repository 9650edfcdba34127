"""Relations to a named reference: "the dog behind the house", "the two trees on the left of the car", "the bird
near the bench".

SketchyScene-Matching's relation words are geometry between two groups (GRAMMAR §4.1, §4.6): objects of one
category 200 px apart or closer form a group; "behind" / "in front of" when the line joining the bottom-edge
midpoints is steeper than 60 degrees (higher feet = farther), "on the left of" / "on the right of" when flatter
than 30, the diagonal words in between, "among" / "around" a group of trees by span and foot band. A reference
is named by its bare noun only when its category forms one group (§4.7). So once every instance of the target and
reference categories is found, the group the expression means is the one whose relation to the reference is the
one said; the model learned the same rule from examples and picks the wrong instance of the right category more
often than it misses the category. "near" is said of the group (or the member of a group) nearest the reference.

Only "the [N] X {relation} the Y" is resolved: no direction word on the reference ("the left house"), no order
word on the target ("the topmost tree on the left of the car"); anything else, and any case the found instances
cannot answer (several reference groups, no or several groups in that relation), is left to the model.
Pure functions on boxes; `Predictor` calls them when its inference settings enable `resolve_relations`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from grmnet.data.categories import CATEGORIES, TREE
from grmnet.selection import NUMBERS, head_noun, noun_table
from grmnet.text import tokenize

__all__ = ["Relation", "parse_relation", "rank_by_relation"]


@dataclass(frozen=True)
class Relation:
    """`count` targets (one group of them) in `relation` (a phrase of grammar §4.6, or "near") to `reference`,
    the one group of that category."""
    relation: str
    reference: str
    count: int = 1


# Other words people use for the grammar's relations (free phrasing) -> the grammar's phrase.
RELATION_SYNONYMS: dict[str, str] = {
    **{w: "near" for w in ("next to", "close to", "beside", "by", "near to", "nearest to", "closest to",
                           "nearest", "closest", "by the side of")},
    **{w: "behind" for w in ("in back of", "at the back of", "at the rear of")},
    **{w: f"on the {side} of" for side in ("left", "right") for w in (f"to the {side} of", f"{side} of")},
    **{w: "among" for w in ("amongst", "amid", "amidst", "in between")},
    "surrounding": "around",
}


def _relation_phrases() -> list[tuple[tuple[str, ...], str]]:
    """(words, the grammar's relation) of every phrase read as a relation, longest first."""
    from grmnet.data.expressions import RELATIONS
    phrases = [(r, r) for r in RELATIONS] + list(RELATION_SYNONYMS.items())
    return sorted(((tuple(tokenize(w)), r) for w, r in phrases), key=lambda p: len(p[0]), reverse=True)


def parse_relation(expression: str) -> Relation | None:
    """The relation an expression asks for when it is "the [N] X {relation} the Y" and nothing else: X a
    category noun (singular, or plural with a numeral), Y a category's bare noun; the relation one of the
    grammar's phrases or another word for it ("next to", "to the left of": RELATION_SYNONYMS). None otherwise."""
    words = tokenize(expression)
    start, end, entry = head_noun(words)
    if entry is None:
        return None
    before, rest = words[:start], words[end:]
    said, relation = next(((w, r) for w, r in _relation_phrases() if tuple(rest[:len(w)]) == w), ((), None))
    if relation is None:
        return None
    reference = rest[len(said):]
    if reference[:1] == ["the"]:
        reference = reference[1:]
    ref_entry = noun_table().get(tuple(reference))
    if ref_entry is None or ref_entry[0] not in CATEGORIES or ref_entry[0] == entry[0]:
        return None        # no single reference noun ("the left house"), a broader word, or trees by trees
    numbers = [NUMBERS[w] for w in before if w in NUMBERS]
    if any(w not in ("the", "a", "an") and w not in NUMBERS for w in before) or len(numbers) > 1:
        return None        # "all the", "both the", order or extreme words: the model answers
    if numbers:
        count = numbers[0]
    elif entry[1]:
        count = 1
    else:
        return None        # "the trees behind the house": how many is not said
    return Relation(relation, ref_entry[0], count)


def reference_group(reference_boxes: Sequence[Sequence[float]], image_width: float) -> list[int] | None:
    """Indices of the reference boxes when they form the one group a relation can be said to (GRAMMAR §4.6);
    None when there are none or several groups (the grammar would have named which one: "the left house")."""
    from grmnet.data.expressions import BASE_CANVAS, CLUSTER_GAP, cluster_objects

    if not len(reference_boxes):
        return None
    groups = cluster_objects(reference_boxes, CLUSTER_GAP * image_width / BASE_CANVAS)
    return list(groups[0]) if len(groups) == 1 else None


def rank_by_relation(target_boxes: Sequence[Sequence[float]], reference_boxes: Sequence[Sequence[float]],
                     relation: Relation, target_category: str, image_width: float) -> list[int] | None:
    """Indices of the target boxes (x0, y0, x1, y1), the group in `relation` to the reference first, then the
    rest by their distance to the reference; None when the found boxes cannot answer (no reference, several
    reference groups, no or several target groups of `relation.count` in that relation)."""
    from grmnet.data.expressions import BASE_CANVAS, CLUSTER_GAP, boxes_gap, cluster_objects, describe_relation

    if not len(target_boxes):
        return None
    group = reference_group(reference_boxes, image_width)
    if group is None:
        return None
    gap = CLUSTER_GAP * image_width / BASE_CANVAS
    ref = [reference_boxes[i] for i in group]
    distance = [boxes_gap([b], ref) for b in target_boxes]
    by_distance = sorted(range(len(target_boxes)), key=lambda i: (distance[i], i))
    if relation.relation == "near":
        # the nearest group of birds / butterflies, or the one member of a group that stands by the reference
        if relation.count == 1:
            first = by_distance[0]
            if len(by_distance) > 1 and distance[by_distance[1]] <= distance[first]:
                return None
            return by_distance
        groups = sorted(cluster_objects(target_boxes, gap), key=lambda g: min(distance[i] for i in g))
        if len(groups[0]) != relation.count:
            return None
        chosen = groups[0]
    else:
        groups = [g for g in cluster_objects(target_boxes, gap) if len(g) == relation.count and describe_relation(
            [target_boxes[i] for i in g], ref, target_category in TREE, relation.reference in TREE)
            == relation.relation]
        if len(groups) != 1:
            return None
        chosen = groups[0]
    return sorted(chosen) + [i for i in by_distance if i not in chosen]
