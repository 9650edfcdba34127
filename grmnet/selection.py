"""Which scored instances a query returns: the score threshold, and the target count the expression states.

SketchyScene-Matching states counts exactly ("the two cats", "both the dogs", "all the four trees": the numeral is
always the number of targets), so when the model's scores leave fewer or more instances above the threshold than
the expression says, the count decides: the best-scored ones down to a lower floor fill it, extra ones are dropped.
"""
from __future__ import annotations

from collections.abc import Sequence

from grmnet.modeling.language import tokenize

NUMBERS = {"two": 2, "three": 3, "four": 4, "five": 5}


def stated_count(expression: str) -> int | None:
    """Targets stated by the head noun phrase: 'the three sheep on the left' -> 3, 'both the trees' -> 2,
    'all the four cars' -> 4; None where no number is stated ('the cat', 'all the trees', 'the  trees')."""
    words = tokenize(expression)
    if words[:1] == ["both"]:
        return 2
    if words[:1] == ["all"]:
        words = words[1:]
    if len(words) >= 2 and words[0] == "the" and words[1] in NUMBERS:
        return NUMBERS[words[1]]
    return None


def choose_instances(scores: Sequence[float], threshold: float, count: int | None = None,
                     count_floor: float | None = None) -> list[int]:
    """Indices of the instances to return, best score first.

    Without a count (or with count_floor None) that is every score >= threshold. With a stated count n: the
    best n of those; if fewer than n pass, the next best with score >= count_floor are added up to n."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    chosen = [i for i in order if scores[i] >= threshold]
    if count is None or count_floor is None:
        return chosen
    if len(chosen) >= count:
        return chosen[:count]
    extra = [i for i in order if count_floor <= scores[i] < threshold]
    return chosen + extra[:count - len(chosen)]
