"""Meaning-preserving rewrites of template expressions: the same targets in the words people use.

Each rewrite changes only how something is said, never what it refers to: another name for the category
(synonym / hyponym / informal, number kept), digits for numerals, a wrapper ("please select ..."), other words
for the grammar's relations and positions, an attribute that holds for every drawing of the category. So the
template expression's meaning is a valid target for the rewrite: `grmnet distill-language` teaches the
pretrained text encoder's head to give a rewrite the sentence feature the trained BiLSTM gives its template.
Variation that needs the picture (superlatives of size, corners, ordinals) comes from the generator's free
family (`generate_free_expressions`), not from here.
"""
from __future__ import annotations

import re

import numpy as np

from grmnet.data.categories import CATEGORIES, plural, singular
from grmnet.data.expressions import _COMMON_ADJ, _IMPERATIVES, _POLITE, ATTRIBUTES, LEXICON

REWRITE_TYPES = ("noun", "digits", "wrapper", "relation_words", "attribute")
NUMERALS = {"two": "2", "three": "3", "four": "4", "five": "5"}
# grammar phrase -> other words with the same meaning (longest phrases first when matching)
RELATION_WORDS: dict[str, tuple[str, ...]] = {
    "on the left of": ("to the left of", "left of", "on the left side of"),
    "on the right of": ("to the right of", "right of", "on the right side of"),
    "in front of": ("in the front of", "before"),
    "near": ("next to", "close to", "beside", "by", "near to"),
    "behind": ("in back of", "at the back of"),
    "among": ("amongst", "amid"),
    "around": ("surrounding", "round", "all around"),
    "on the left": ("at the left", "to the left", "on the left side", "on the left hand side"),
    "on the right": ("at the right", "to the right", "on the right side", "on the right hand side"),
    "in the middle": ("in the center", "in the centre", "at the middle", "in the middle of the picture"),
    "leftmost": ("furthest left", "far left", "left most"),
    "rightmost": ("furthest right", "far right", "right most"),
    "topmost": ("highest", "uppermost", "top most"),
    "bottommost": ("lowest", "bottom most"),
    "in the sky": ("up in the sky", "in the air"),
}
_RELATION = re.compile(r"\b(" + "|".join(sorted(map(re.escape, RELATION_WORDS), key=len, reverse=True)) + r")\b")


def _names(category: str, plural_form: bool) -> list[str]:
    """Other names of a category in the given number ('-' marks a form that does not exist)."""
    out = []
    for kind in ("synonym", "hyponym", "informal"):
        for sg, pl in LEXICON.get(category, {}).get(kind, ()):
            word = pl if plural_form else sg
            if word != "-":
                out.append(word)
    return out


def _noun_positions(words: list[str]) -> list[tuple[int, str, bool]]:
    """(index, category, is_plural) of every category noun of a template's words."""
    out = []
    for i, w in enumerate(words):
        for c in CATEGORIES:
            if w in (singular(c), plural(c)):
                out.append((i, c, w == plural(c) and w != singular(c)))
                break
    return out


def rewrite_template(expression: str, rng: np.random.Generator, max_changes: int = 3,
                     held_out_types: tuple[str, ...] = ()) -> tuple[str, tuple[str, ...]]:
    """A rewrite of one template expression with 1..max_changes kinds of change -> (text, kinds used)."""
    kinds = [k for k in REWRITE_TYPES if k not in held_out_types]
    chosen = list(rng.choice(kinds, size=min(len(kinds), int(rng.integers(1, max_changes + 1))), replace=False))
    words = expression.split(" ")        # keeps the blank numeral's double space ("the  trees" = six or more)
    used = []
    nouns = _noun_positions(words)
    if "noun" in chosen and nouns:
        i, c, is_plural = nouns[int(rng.integers(len(nouns)))]
        names = _names(c, is_plural)
        if names:
            words[i] = names[int(rng.integers(len(names)))]
            used.append("noun")
    if "attribute" in chosen and nouns:
        i, c, _ = nouns[0]                                  # the target's noun
        adjectives = ATTRIBUTES.get(c, ((), ()))[0] + _COMMON_ADJ
        words.insert(i, adjectives[int(rng.integers(len(adjectives)))])
        used.append("attribute")
    if "digits" in chosen and any(w in NUMERALS for w in words):
        words = [NUMERALS.get(w, w) for w in words]
        used.append("digits")
    text = " ".join(words)
    if "relation_words" in chosen and _RELATION.search(text):
        matches = list(_RELATION.finditer(text))
        m = matches[int(rng.integers(len(matches)))]
        options = RELATION_WORDS[m.group(1)]
        text = text[:m.start()] + options[int(rng.integers(len(options)))] + text[m.end():]
        used.append("relation_words")
    if "wrapper" in chosen:
        verb = _IMPERATIVES[int(rng.integers(len(_IMPERATIVES)))]
        if rng.random() < 0.5:
            text = f"{verb} {text}"
        else:
            pattern = _POLITE[int(rng.integers(len(_POLITE)))]
            text = pattern.format(v=verb, x=text)
        used.append("wrapper")
    return text, tuple(used)
