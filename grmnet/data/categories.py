"""The 25 SketchyScene-Matching categories, their roles, nouns and SketchyScene class ids.

Category order is the expression generator's order (GRAMMAR.md §2); class ids follow
SketchyScene's 46-class ``colorMapC46.mat`` (id = 1-based position in that list).
"""
from __future__ import annotations

# colorMapC46.mat, in file order: class id = index + 1.
SKETCHYSCENE_CLASSES: tuple[str, ...] = (
    "airplane", "apple", "balloon", "banana", "basket", "bee", "bench", "bicycle", "bird", "bottle",
    "bucket", "bus", "butterfly", "car", "cat", "chair", "chicken", "cloud", "cow", "cup",
    "dinnerware", "dog", "duck", "fence", "flower", "grape", "grass", "horse", "house", "moon",
    "mountain", "people", "picnic rug", "pig", "rabbit", "road", "sheep", "sofa", "star", "street lamp",
    "sun", "table", "tree", "truck", "umbrella", "others",
)

UNMOVABLE: tuple[str, ...] = ("house", "bus", "truck", "car", "bench", "chair")
TREE: tuple[str, ...] = ("tree",)
MOVABLE: tuple[str, ...] = (
    "people", "horse", "cow", "sheep", "pig", "cat", "dog", "chicken", "duck", "rabbit", "bird", "butterfly",
)
SKY: tuple[str, ...] = ("sun", "moon", "cloud", "star")
STUFF: tuple[str, ...] = ("road", "grass")

# Generator order: unmovable, tree, movable, sky, stuff.
CATEGORIES: tuple[str, ...] = UNMOVABLE + TREE + MOVABLE + SKY + STUFF
GROUND_CATEGORIES: tuple[str, ...] = UNMOVABLE + TREE + MOVABLE  # the 19 that are grouped/positioned/related

_SINGULAR = {"people": "person"}
_PLURAL = {"people": "people", "sheep": "sheep", "grass": "grasses", "butterfly": "butterflies",
           "bus": "buses", "bench": "benches"}


def class_id(category: str) -> int:
    """SketchyScene class id (1..46) of a category name."""
    return SKETCHYSCENE_CLASSES.index(category) + 1


def category_of_class_id(cid: int) -> str:
    """Category name of a SketchyScene class id (1..46)."""
    return SKETCHYSCENE_CLASSES[cid - 1]


def label_of(category: str) -> int:
    """Model label (1..25) of a category; 0 is background / not referred."""
    return CATEGORIES.index(category) + 1


def category_of_label(label: int) -> str:
    return CATEGORIES[label - 1]


def singular(category: str) -> str:
    """Singular noun used in expressions (people -> person)."""
    return _SINGULAR.get(category, category)


def plural(category: str) -> str:
    """Plural noun used in expressions (sheep -> sheep, bus -> buses, butterfly -> butterflies)."""
    return _PLURAL.get(category, category + "s")


def category_of_noun(word: str) -> str | None:
    """Inverse of singular()/plural(); None when the word is not a category noun."""
    for c in CATEGORIES:
        if word in (c, singular(c), plural(c)):
            return c
    return None
