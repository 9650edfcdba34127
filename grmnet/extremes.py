"""Extremes and order: "the biggest tree", "the two smallest clouds", "the leftmost tree", "the second bus on the right".

SketchyScene-Matching's grammar has no words for size ("biggest", "tallest") or for the highest / lowest member,
which artists type all the time. Those are plain geometry once every instance of the category is known, so they
are resolved here instead of being left to a network that never saw them in the grammar: the engine first finds
every instance of the target category (the same query with the plural noun alone, "the trees"), then keeps the
`k` instances that are most extreme by the measure the word names (`parse_extreme`, `rank_by_extreme`).

The grammar's own order words ("the leftmost tree", "the tree on the left", "the middle dog") are said only of a
category whose instances form one group (GRAMMAR §4.4), so they too are geometry over every instance: ranked by
left edges, or by feet in a group standing one above the other (`parse_order`, `rank_by_order`). The model learns
them, but picks the wrong member of the right category often (single-target order phrases: 63.6 % exact on
validation against 81.9 % for "the tree" alone), and the ranking is exact once the group is found.

Pure functions on boxes; `Predictor` calls them when its inference settings enable `resolve_extremes` /
`resolve_order`. Only a target phrase with nothing else restricting the target is resolved: with a relation or
another position word ("the biggest tree near the house", "the smallest cat on the left") the pick is among some
of the instances only, and the model answers as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from grmnet.selection import NUMBERS, RELATION_STARTS, head_noun
from grmnet.text import tokenize

__all__ = ["Extreme", "EXTREME_WORDS", "parse_extreme", "names_whole_category", "box_measure", "rank_by_extreme",
           "Order", "parse_order", "rank_by_order", "rank_instances"]


@dataclass(frozen=True)
class Extreme:
    """Which instances an extreme word keeps: the `count` with the largest (`largest`) or smallest `measure` of
    their boxes ("area", "height", "top": how high the box's top is, "bottom": how low its bottom is, "right": how
    far right its centre is)."""
    measure: str
    largest: bool
    count: int = 1


# word -> (measure, largest); comparatives too, which name the extreme of two, and the plain adjectives, which
# single one out among several ("the big tree" of two trees is the bigger one; of one tree, that tree)
EXTREME_WORDS: dict[str, tuple[str, bool]] = {
    **{w: ("area", True) for w in ("biggest", "largest", "hugest", "bigger", "larger", "huger", "giant",
                                   "big", "large", "huge")},
    **{w: ("area", False) for w in ("smallest", "tiniest", "littlest", "smaller", "tinier", "littler",
                                    "small", "tiny", "little")},
    **{w: ("height", True) for w in ("tallest", "taller", "tall")},
    **{w: ("height", False) for w in ("shortest", "shorter", "short")},
    **{w: ("top", True) for w in ("highest", "higher", "uppermost", "upper")},
    **{w: ("bottom", True) for w in ("lowest", "lower", "lowermost")},
}

# "top" / "bottom" said as an adjective right before the target noun ("the top bird", "the bottom cloud"); elsewhere
# ("the cloud at the top", "the top left tree") they place the target on the page, and the model answers
PLACE_ADJECTIVES: dict[str, tuple[str, bool]] = {"top": ("top", True), "bottom": ("bottom", True)}

# Extremes said in several words, anywhere in the expression ("the tree on the far left", "the cloud nearest the
# top"): (words, measure, largest). The grammar's own "leftmost" / "topmost" are orders (parse_order).
EXTREME_PHRASES: tuple[tuple[tuple[str, ...], str, bool], ...] = tuple(
    (tuple(words.split()), measure, largest) for words, measure, largest in (
        *((f"{far} to the {side}", "right", side == "right") for far in ("furthest", "farthest")
          for side in ("left", "right")),
        *((f"{far} {side}", "right", side == "right") for far in ("furthest", "farthest", "far")
          for side in ("left", "right")),
        *((f"{near} {to}the {end}", end, True) for near in ("nearest", "closest") for to in ("", "to ")
          for end in ("top", "bottom")),
    ))

# Words that restrict the target to some of its category's instances: a position or an order on the page.
_RESTRICTING = frozenset({"left", "right", "top", "bottom", "middle", "center", "centre", "front", "back",
                          "leftmost", "rightmost", "topmost", "bottommost", "first", "second", "third", "last",
                          "1st", "2nd", "3rd", "corner", "edge", "side"})


def names_whole_category(expression: str) -> bool:
    """Whether the expression picks its targets by their category (and a count) alone: no relation, position,
    order or extreme words ("the animals", "grab all the vehicles", not "the animals on the left")."""
    words = tokenize(expression)
    if any(tuple(words[i:i + len(r)]) == r for i in range(len(words)) for r in RELATION_STARTS):
        return False
    return not any(w in _RESTRICTING or w in EXTREME_WORDS for w in words)


def parse_extreme(expression: str) -> Extreme | None:
    """The extreme an expression asks for, when it is the only thing that picks among the instances of the
    target category: one extreme word before the target noun or one extreme phrase anywhere ("on the far left"),
    no relation or other position words; with a numeral before the noun, that many ("the 2 biggest trees").
    None otherwise."""
    words = said = tokenize(expression)
    if any(tuple(said[i:i + len(r)]) == r for i in range(len(said)) for r in RELATION_STARTS):
        return None        # "the biggest tree near the house", "the cat furthest left of the car"
    found: list[tuple[str, bool]] = []
    for phrase, measure, largest in sorted(EXTREME_PHRASES, key=lambda p: -len(p[0])):   # longest first
        for i in range(len(words) - len(phrase) + 1):
            if tuple(words[i:i + len(phrase)]) == phrase:
                found.append((measure, largest))
                words = words[:i] + words[i + len(phrase):]
                break
    start, end, entry = head_noun(words)
    if entry is None:
        return None
    before = words[:start]
    found += [EXTREME_WORDS[w] for w in before if w in EXTREME_WORDS]
    if before and before[-1] in PLACE_ADJECTIVES:          # "the top bird": the highest one
        found.append(PLACE_ADJECTIVES[before[-1]])
        words, end = words[:start - 1] + words[start:], end - 1
    if len(found) != 1:
        return None
    if any(w in _RESTRICTING for w in words) or any(w in EXTREME_WORDS for w in words[end:]):
        return None
    count = next((NUMBERS[w] for w in before if w in NUMBERS), None)
    if count is None:
        if not entry[1]:
            return None    # "the biggest trees": how many is not said
        count = 1
    measure, largest = found[0]
    return Extreme(measure, largest, count)


def box_measure(box: Sequence[float], measure: str) -> float:
    """The size, height or place of an (x0, y0, x1, y1) box in image pixels (y grows downwards), larger = more:
    "right" is the centre's x."""
    x0, y0, x1, y1 = box
    if measure == "area":
        return (x1 - x0) * (y1 - y0)
    if measure == "height":
        return y1 - y0
    if measure == "right":
        return (x0 + x1) / 2
    if measure == "top":
        return -y0          # higher on the page = smaller y
    if measure == "bottom":
        return y1
    raise ValueError(f"unknown measure {measure!r}")


def rank_by_extreme(boxes: Sequence[Sequence[float]], extreme: Extreme) -> list[int]:
    """Indices of the boxes, the most extreme first (ties: the earlier index first)."""
    sign = -1.0 if extreme.largest else 1.0
    return sorted(range(len(boxes)), key=lambda i: (sign * box_measure(boxes[i], extreme.measure), i))


# ---- order inside the category's group -----------------------------------------------------------------------
# SketchyScene-Matching says order phrases ("the leftmost tree", "the tree on the left", "the middle dog", "the
# second bus on the right") only of a category whose instances form ONE group (GRAMMAR §4.4), so the order is
# among every instance of the category, and it is geometry: members ranked by their left edges (left to right)
# or, in a group that stands one above the other, by their feet (box bottoms, top to bottom). Resolved like the
# extremes: every instance of the category first ("the trees"), then the rank the words name.

@dataclass(frozen=True)
class Order:
    """The `count` members from the `rank`-th (1 = the end itself) counted from `side` ("left", "right", "top",
    "bottom"), or the middle member ("middle": an odd group's centre one along the group's own axis). `thirds`:
    said as "the X on the left / on the right / in the middle", which the grammar also says of an object alone
    in that third of the image when the category forms several groups (GRAMMAR §4.3)."""
    side: str
    rank: int = 1
    count: int = 1
    thirds: bool = False


ORDER_SIDES: dict[str, str] = {"left": "left", "leftmost": "left", "right": "right", "rightmost": "right",
                               "top": "top", "topmost": "top", "bottom": "bottom", "bottommost": "bottom",
                               "middle": "middle", "center": "middle", "centre": "middle"}
ORDINALS: dict[str, int] = {**{w: i for i, w in enumerate(("first", "second", "third", "fourth", "fifth"), 1)},
                            **{f"{i}{s}": i for i, s in ((1, "st"), (2, "nd"), (3, "rd"), (4, "th"), (5, "th"))}}
_SUPERLATIVE_SIDES = frozenset({"leftmost", "rightmost", "topmost", "bottommost"})
# words that may follow the noun in an order phrase: "the tree on the left", "the second one from the right side"
_ORDER_TAIL = frozenset({"on", "in", "at", "from", "to", "the", "side", "hand"})


def parse_order(expression: str) -> Order | None:
    """The order an expression asks for, when it is the only thing that picks among the instances of the target
    category: one side word (before the noun or after it, "on the left"), at most one ordinal before the noun,
    a singular noun (or a numeral with a plural one: "the two leftmost trees"), no relation, extreme or other
    position words. None otherwise."""
    words = _joined(tokenize(expression))
    if any(tuple(words[i:i + len(r)]) == r for i in range(len(words)) for r in RELATION_STARTS):
        return None
    start, end, entry = head_noun(words)
    if entry is None:
        return None
    before, after = words[:start], words[end:]
    sides = [ORDER_SIDES[w] for w in before + after if w in ORDER_SIDES]
    ranks = [ORDINALS[w] for w in before if w in ORDINALS]
    if len(sides) != 1 or len(ranks) > 1 or any(w not in _ORDER_TAIL and w not in ORDER_SIDES for w in after):
        return None
    if any((w in _RESTRICTING and w not in ORDER_SIDES and w not in ORDINALS) or w in EXTREME_WORDS
           for w in before):
        return None
    count = next((NUMBERS[w] for w in before if w in NUMBERS), None)
    if count is None:
        if not entry[1]:
            return None    # "the trees on the left": a part of the category, how many is not said
        count = 1
    elif not _SUPERLATIVE_SIDES & set(before):
        return None        # "the three sheep on the left": the grammar's group in the left third, not an order
    rank = ranks[0] if ranks else 1
    if sides[0] == "middle" and (rank != 1 or count != 1):
        return None
    thirds = rank == 1 and count == 1 and not ranks and after in (["on", "the", "left"], ["on", "the", "right"],
                                                                  ["in", "the", "middle"])
    return Order(sides[0], rank, count, thirds)


def _joined(words: list[str]) -> list[str]:
    """The tokenizer splits "2nd" and "left-most": join them back ("2nd", "leftmost")."""
    out: list[str] = []
    for w in words:
        if out and ((out[-1].isdigit() and f"{out[-1]}{w}" in ORDINALS) or
                    (w == "most" and f"{out[-1]}most" in ORDER_SIDES)):
            out[-1] += w
        else:
            out.append(w)
    return out


def rank_by_order(boxes: Sequence[Sequence[float]], order: Order, category: str = "",
                  image_width: float | None = None, grammar_groups: bool = True) -> list[int] | None:
    """Indices of the boxes (x0, y0, x1, y1), the asked members first, then the rest in their order along the
    side; None when the group cannot answer (fewer than two members, fewer than the rank asks, "middle" of a
    group without one, a group of 2-5 whose own axis is not the side's: then the model answers the expression
    itself). Groups of six or more, which the grammar orders never, are ranked along the side asked. With
    `image_width`, a thirds phrase over instances forming several groups (the grammar's 200 px gaps), or over a
    single instance, is the object alone in that third, if there is one. grammar_groups False (instances of
    several categories, "the leftmost animal": the grammar never orders those, and its groups are of one
    category): every side is ranked plainly along it, "on the left" as "leftmost"."""
    from grmnet.data.expressions import (BASE_CANVAS, CLUSTER_GAP, SIDE3, cluster_objects, group_order,
                                         third_of)     # the grammar's own groups, orientation and labels

    n = len(boxes)
    if not grammar_groups:
        return None if order.side == "middle" else _ranked_along_side(boxes, order)
    if order.thirds and image_width and n:
        groups = cluster_objects(boxes, CLUSTER_GAP * image_width / BASE_CANVAS)
        if len(groups) > 1 or n == 1:
            side3 = SIDE3[("left", "middle", "right").index(order.side)]
            there = [g for g in groups
                     if third_of(sum((boxes[i][0] + boxes[i][2]) / 2 for i in g) / len(g), image_width) == side3]
            if len(there) != 1 or len(there[0]) != 1:
                return None
            first = there[0][0]
            return [first] + [i for i in range(n) if i != first]
    if n < 2:
        return None
    if order.side == "middle":
        labels = group_order(boxes, category)
        if labels is None or "middle" not in labels:
            return None
        first = labels.index("middle")
        return [first] + [i for i in range(n) if i != first]
    if n <= 5:
        # the grammar's own groups: a side across the group's axis ("the leftmost" of trees standing one above
        # the other) was never said of the group found, so it is not all of the category: the model answers
        labels = group_order(boxes, category)
        horizontal = labels is not None and ("left" in labels or "leftmost" in labels)
        if labels is None or horizontal != (order.side in ("left", "right")):
            return None
    return _ranked_along_side(boxes, order)


def _ranked_along_side(boxes: Sequence[Sequence[float]], order: Order) -> list[int] | None:
    """The boxes ranked from the side asked (left / right edge x, foot y), the asked members first; None when
    there are fewer than the rank asks."""
    key = {"left": lambda b: b[0], "right": lambda b: -b[0], "top": lambda b: b[3], "bottom": lambda b: -b[3]}
    ranked = sorted(range(len(boxes)), key=lambda i: (key[order.side](boxes[i]), i))
    k = order.rank - 1
    if k + order.count > len(boxes):
        return None
    return ranked[k:k + order.count] + ranked[:k] + ranked[k + order.count:]


def rank_instances(boxes: Sequence[Sequence[float]], pick: Extreme | Order, category: str = "",
                   image_width: float | None = None, grammar_groups: bool = True) -> list[int] | None:
    """`rank_by_extreme` or `rank_by_order`, whichever `pick` is."""
    if isinstance(pick, Order):
        return rank_by_order(boxes, pick, category, image_width, grammar_groups)
    return rank_by_extreme(boxes, pick)
