"""Extremes of size and height: "the biggest tree", "the two smallest clouds", "the taller person".

SketchyScene-Matching's grammar orders a group left to right or top to bottom ("the leftmost tree"), and the model
learns that; it has no words for size ("biggest", "tallest") or for the highest / lowest member, which artists type
all the time. Those are plain geometry once every instance of the category is known, so they are resolved here
instead of being left to a network that never saw them in the grammar: the engine first finds every instance of
the target category (the same query with the plural noun alone, "the trees"), then keeps the `k` instances that
are most extreme by the measure the word names. Pure functions on boxes; `Predictor` calls them when its
inference settings enable `resolve_extremes`.

Only a target-phrase extreme with nothing else restricting the target is resolved ("the biggest tree", "grab the 2
smallest kitties"): with a relation or a position in the expression ("the biggest tree near the house", "the
smallest cat on the left") the extreme is among some of the instances only, and the model answers as it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from grmnet.selection import NUMBERS, RELATION_STARTS, head_noun
from grmnet.text import tokenize

__all__ = ["Extreme", "EXTREME_WORDS", "parse_extreme", "names_whole_category", "box_measure", "rank_by_extreme"]


@dataclass(frozen=True)
class Extreme:
    """Which instances an extreme word keeps: the `count` with the largest (`largest`) or smallest `measure` of
    their boxes ("area", "height", "top": how high the box's top is, "bottom": how low its bottom is, "right": how
    far right its centre is)."""
    measure: str
    largest: bool
    count: int = 1


# word -> (measure, largest); comparatives too, which name the extreme of two
EXTREME_WORDS: dict[str, tuple[str, bool]] = {
    **{w: ("area", True) for w in ("biggest", "largest", "hugest", "bigger", "larger", "huger", "giant")},
    **{w: ("area", False) for w in ("smallest", "tiniest", "littlest", "smaller", "tinier", "littler")},
    **{w: ("height", True) for w in ("tallest", "taller")},
    **{w: ("height", False) for w in ("shortest", "shorter")},
    **{w: ("top", True) for w in ("highest", "higher", "uppermost", "upper")},
    **{w: ("bottom", True) for w in ("lowest", "lower", "lowermost")},
}

# Extremes said in several words, anywhere in the expression ("the tree on the far left", "the cloud nearest the
# top"): (words, measure, largest). The grammar's own "leftmost" / "topmost" are left to the model, which learned
# them as the grammar defines them (order inside a group).
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
