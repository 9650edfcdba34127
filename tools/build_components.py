#!/usr/bin/env python3
"""Build the clip-art component library of the synthetic scene generator (maintainer script).

Run by hand, never at install time::

    pip install -e .[build]          # resvg-py, build-time only
    python tools/build_components.py            # writes resources/components/
    python tools/build_components.py --review   # also writes tools/.icon-packages/review.png

It `npm pack`s open-licensed Iconify icon sets into the git-ignored ``tools/.icon-packages/``,
checks each set's licence (permissive / CC-BY / Apache / MIT / ISC only: no NC, no SA),
picks the icons of the reviewed list ``PICKS`` below, rasterises them with resvg
(RGBA, 256 px on the long side, cropped to the drawn content) and writes, per component,
``<category>/<set>__<icon>.png`` and ``.svg`` plus ``manifest.json`` and ``ATTRIBUTION.md``.
One-colour rasters are stored as exact palette PNGs (lossless, read back as RGBA). ``manifest.json`` also
names the two whole sets held out of training for the style-held-out test split (``style_held_out_sets``).

Each set has a *style* telling the line-art renderer (grmnet/data/render.py) how to turn
the raster into strokes: ``color`` (colour emoji: silhouette outline + colour boundaries),
``silhouette`` (one-colour filled glyph: outline of the alpha, holes included) or
``stroke`` (line icon: the alpha already is the line; rendered with thin strokes here).
"""
from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PKG_DIR = REPO / "tools" / ".icon-packages"
OUT_DIR = REPO / "resources" / "components"
LONG_SIDE = 256

# set prefix -> renderer style
SETS: dict[str, str] = {
    "noto": "color",
    "noto-v1": "color",
    "twemoji": "color",
    "fluent-emoji-flat": "color",
    "emojione": "color",
    "fxemoji": "color",
    "streamline-emojis": "color",
    "fluent-emoji-high-contrast": "silhouette",
    "emojione-monotone": "silhouette",
    "game-icons": "silhouette",
    "mdi": "silhouette",
    "fa6-solid": "silhouette",
    "healthicons": "silhouette",
    "ph": "silhouette",
    "material-symbols": "silhouette",
    "tabler": "stroke",
    "lucide": "stroke",
    "icon-park-outline": "stroke",
    # added for issue #14 (library x3)
    "fluent-emoji": "color",
    "streamline-freehand-color": "color",
    "streamline-ultimate-color": "color",
    "icon-park": "color",
    "flat-color-icons": "color",
    "fluent-color": "color",
    "fluent": "silhouette",
    "mingcute": "silhouette",
    "la": "silhouette",
    "pepicons-pencil": "silhouette",
    "uil": "silhouette",
    "ri": "silhouette",
    "carbon": "silhouette",
    "bx": "silhouette",
    "streamline-pixel": "silhouette",
    "pixelarticons": "silhouette",
    "fa6-regular": "silhouette",
    "wi": "silhouette",
    "clarity": "silhouette",
    "ion": "silhouette",
    "hugeicons": "stroke",
    "solar": "stroke",
    "lucide-lab": "stroke",
    "iconoir": "stroke",
    "mynaui": "stroke",
    "streamline-ultimate": "stroke",
    "tdesign": "stroke",
    "akar-icons": "stroke",
    "humbleicons": "stroke",
    "iconamoon": "stroke",
    "lets-icons": "stroke",
    "bi": "silhouette",
    "lineicons": "silhouette",
    "jam": "silhouette",
    "gravity-ui": "silhouette",
    "fontisto": "silhouette",
    "cil": "silhouette",
    "famicons": "silhouette",
    "majesticons": "silhouette",
    "mage": "silhouette",
}
# Two whole sets held out of training for the style-held-out test split (manifest key
# "style_held_out_sets"): twemoji (flat colour emoji, 22 of the 23 component categories) and game-icons
# (detailed hand-cut black silhouettes, 18 categories); together 22 categories (all but bench, which is mostly
# procedural), two very different drawing styles, and neither shares its drawings with another set here.
STYLE_HELD_OUT = ["twemoji", "game-icons"]
# Licences we accept (SPDX). Anything else (NC, SA, unknown) makes the build fail for that set.
OK_LICENCES = {"MIT", "Apache-2.0", "ISC", "CC-BY-3.0", "CC-BY-4.0", "OFL-1.1"}

# Stroke icons are drawn with this stroke width (in 256-px raster pixels) instead of their own.
STROKE_PX = 3.0

E7 = ("noto", "noto-v1", "twemoji", "fluent-emoji-flat", "emojione", "fxemoji", "streamline-emojis")
EMO = ("noto", "noto-v1", "twemoji", "fluent-emoji-flat", "emojione")


def _emoji(name: str, sets=EMO, hc: bool = True, mono: bool = False) -> list[tuple[str, str]]:
    out = [(s, name) for s in sets]
    if hc:
        out.append(("fluent-emoji-high-contrast", name))
    if mono:
        out.append(("emojione-monotone", name))
    return out


# Reviewed picks: category -> [(set, icon name)]. Reviewed on the contact sheet docs/components.png;
# icons that do not read as their category in a line drawing were removed.
PICKS: dict[str, list[tuple[str, str]]] = {
    "house": _emoji("house", mono=True) + _emoji("house-with-garden", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("noto", "hut"), ("game-icons", "house"), ("game-icons", "family-house"), ("game-icons", "wood-cabin"),
       ("game-icons", "barn"), ("mdi", "home"), ("mdi", "home-modern"), ("mdi", "barn"), ("tabler", "home"),
       ("icon-park-outline", "home"), ("lucide", "house")],
    "bus": _emoji("bus", mono=True) + _emoji("oncoming-bus", ("noto", "twemoji"), hc=False)
    + [("fxemoji", "bus"), ("mdi", "bus-side"), ("mdi", "bus-school"), ("mdi", "bus-double-decker"),
       ("game-icons", "bus"), ("tabler", "bus"), ("icon-park-outline", "bus"), ("fa6-solid", "bus")],
    "truck": _emoji("delivery-truck", mono=True) + _emoji("pickup-truck", ("noto", "twemoji", "fluent-emoji-flat"))
    + _emoji("articulated-lorry", ("noto", "twemoji"), hc=False)
    + [("mdi", "truck"), ("mdi", "dump-truck"), ("mdi", "truck-flatbed"), ("mdi", "tanker-truck"),
       ("game-icons", "truck"), ("game-icons", "tow-truck"), ("tabler", "truck"), ("fa6-solid", "truck")],
    "car": _emoji("automobile", E7, mono=True) + _emoji("taxi", ("noto", "twemoji"), hc=False)
    + [("mdi", "car-side"), ("mdi", "car-hatchback"), ("mdi", "car-estate"), ("mdi", "car-convertible"),
       ("mdi", "car-sports"), ("game-icons", "city-car"), ("tabler", "car"), ("fa6-solid", "car-side")],
    "bench": [("mdi", "bench"), ("mdi", "bench-back"), ("game-icons", "park-bench"), ("ph", "park"),
              ("material-symbols", "chair-umbrella")],
    "chair": [("noto", "chair"), ("twemoji", "chair"), ("fluent-emoji-flat", "chair"),
              ("fluent-emoji-high-contrast", "chair"), ("game-icons", "wooden-chair"), ("game-icons", "rocking-chair"),
              ("game-icons", "director-chair"), ("mdi", "chair-school"), ("tabler", "chair-director"),
              ("tabler", "rocking-chair"), ("lucide", "rocking-chair"), ("icon-park-outline", "chair"),
              ("fa6-solid", "chair"), ("ph", "chair")],
    "tree": _emoji("deciduous-tree", E7, mono=True) + _emoji("evergreen-tree", EMO, mono=True)
    + [("noto", "leafless-tree"), ("game-icons", "oak"), ("game-icons", "pine-tree"), ("game-icons", "fruit-tree"),
       ("game-icons", "willow-tree"), ("game-icons", "holy-oak"), ("mdi", "tree"), ("mdi", "pine-tree"),
       ("icon-park-outline", "tree"), ("ph", "tree"), ("ph", "tree-evergreen"), ("tabler", "tree"), ("lucide", "tree-deciduous"),
       ("lucide", "tree-pine")],
    "people": _emoji("person-walking", E7[:-1], mono=True) + _emoji("person-standing", ("noto", "twemoji", "fluent-emoji-flat"))
    + _emoji("woman-walking", ("noto", "twemoji", "fluent-emoji-flat", "noto-v1")) + _emoji("man-standing", ("noto", "twemoji"), hc=False)
    + _emoji("woman-standing", ("noto", "twemoji"), hc=False) + _emoji("person-running", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("streamline-emojis", "man-walking-1"), ("streamline-emojis", "woman-walking-1"),
       ("streamline-emojis", "man-running-1"), ("mdi", "human-male"), ("mdi", "human-female"), ("mdi", "walk"),
       ("mdi", "human-greeting"), ("mdi", "human-handsup"), ("mdi", "human-child"), ("game-icons", "person"),
       ("game-icons", "walk"), ("fa6-solid", "person"), ("fa6-solid", "person-walking"), ("fa6-solid", "child"),
       ("fa6-solid", "person-running"), ("healthicons", "man"), ("healthicons", "woman"), ("ph", "person-simple-walk"),
       ("tabler", "walk"), ("lucide", "person-standing")],
    "horse": _emoji("horse", E7, mono=True) + [("mdi", "horse"), ("mdi", "horse-variant"), ("ph", "horse"),
                                               ("fa6-solid", "horse"), ("tabler", "horse")],
    "cow": _emoji("cow", E7, mono=True) + _emoji("ox", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + _emoji("water-buffalo", ("noto", "twemoji"), hc=False)
    + [("mdi", "cow"), ("game-icons", "cow"), ("game-icons", "bull"), ("ph", "cow"), ("fa6-solid", "cow"),
       ("healthicons", "animal-cow")],
    "sheep": _emoji("ewe", EMO, mono=True) + _emoji("ram", ("noto", "twemoji", "fluent-emoji-flat", "emojione"))
    + [("fxemoji", "sheep"), ("fxemoji", "ram"), ("mdi", "sheep"), ("game-icons", "sheep"), ("game-icons", "ram")],
    "pig": _emoji("pig", E7[:-1], mono=True) + _emoji("boar", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("mdi", "pig"), ("mdi", "pig-variant"), ("game-icons", "pig"), ("game-icons", "boar"), ("healthicons", "animal-pig"),
       ("icon-park-outline", "pig")],
    "cat": _emoji("cat", E7, mono=True) + _emoji("black-cat", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("mdi", "cat"), ("game-icons", "cat"), ("ph", "cat"), ("fa6-solid", "cat"), ("tabler", "cat"), ("lucide", "cat"),
       ("icon-park-outline", "cat")],
    "dog": _emoji("dog", E7, mono=True) + _emoji("poodle", ("noto", "twemoji", "fluent-emoji-flat", "emojione"))
    + _emoji("guide-dog", ("noto", "twemoji"), hc=False)
    + [("mdi", "dog"), ("mdi", "dog-side"), ("game-icons", "sitting-dog"), ("game-icons", "jumping-dog"),
       ("game-icons", "sniffing-dog"), ("fa6-solid", "dog"), ("ph", "dog"), ("tabler", "dog"), ("lucide", "dog")],
    "chicken": _emoji("rooster", E7[:-1], mono=True) + _emoji("chicken", ("noto", "twemoji", "fluent-emoji-flat", "emojione", "fxemoji"))
    + _emoji("baby-chick", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("game-icons", "chicken"), ("game-icons", "rooster"), ("healthicons", "animal-chicken")],
    "duck": _emoji("duck", ("noto", "noto-v1", "twemoji", "fluent-emoji-flat", "emojione"), mono=True)
    + _emoji("goose", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("mdi", "duck"), ("game-icons", "duck"), ("game-icons", "plastic-duck"), ("icon-park-outline", "duck")],
    "rabbit": _emoji("rabbit", E7, mono=True)
    + [("mdi", "rabbit"), ("mdi", "rabbit-variant"), ("game-icons", "rabbit"), ("ph", "rabbit"), ("lucide", "rabbit"),
       ("icon-park-outline", "rabbit")],
    "bird": _emoji("bird", E7[:-1], mono=True) + _emoji("dove", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + _emoji("black-bird", ("noto", "twemoji"), hc=False)
    + [("streamline-emojis", "bird-1"), ("streamline-emojis", "bird-2"), ("mdi", "bird"), ("game-icons", "dove"),
       ("game-icons", "swallow"), ("game-icons", "hummingbird"), ("ph", "bird"), ("lucide", "bird"),
       ("icon-park-outline", "bird")],
    "butterfly": _emoji("butterfly", ("noto", "noto-v1", "twemoji", "fluent-emoji-flat", "emojione"), mono=True)
    + [("noto", "monarch-butterfly"), ("mdi", "butterfly"), ("mdi", "butterfly-outline"), ("game-icons", "butterfly"),
       ("ph", "butterfly"), ("tabler", "butterfly"), ("icon-park-outline", "butterfly")],
    "cloud": _emoji("cloud", E7[:-1], mono=True)
    + [("mdi", "cloud"), ("mdi", "cloud-outline"), ("game-icons", "fluffy-cloud"), ("ph", "cloud"), ("tabler", "cloud"),
       ("lucide", "cloud"), ("fa6-solid", "cloud")],
    "sun": _emoji("sun", ("noto", "noto-v1", "twemoji", "fluent-emoji-flat", "emojione"), mono=True)
    + _emoji("sun-with-face", ("noto", "twemoji", "fluent-emoji-flat", "emojione"), hc=False)
    + [("mdi", "white-balance-sunny"), ("mdi", "weather-sunny"), ("game-icons", "sun"), ("ph", "sun"), ("tabler", "sun"),
       ("lucide", "sun"), ("fa6-solid", "sun")],
    "moon": _emoji("crescent-moon", EMO, mono=True)
    + _emoji("first-quarter-moon-face", ("noto", "twemoji", "fluent-emoji-flat"), hc=False)
    + [("mdi", "moon-waning-crescent"), ("game-icons", "moon"), ("ph", "moon"), ("tabler", "moon"), ("lucide", "moon"),
       ("fa6-solid", "moon")],
    "star": _emoji("star", E7[:-1], mono=True) + _emoji("glowing-star", ("noto", "twemoji"), hc=False)
    + [("mdi", "star"), ("mdi", "star-outline"), ("game-icons", "flat-star"), ("ph", "star"), ("tabler", "star"),
       ("lucide", "star"), ("fa6-solid", "star")],
}

# Removed after looking at the contact sheet (kept here so a rebuild does not bring them back).
REJECTED: set[tuple[str, str]] = {
    ("mdi", "home-modern"), ("emojione", "delivery-truck"), ("emojione-monotone", "delivery-truck"),
    ("game-icons", "park-bench"), ("ph", "park"), ("material-symbols", "chair-umbrella"), ("mdi", "chair-school"),
    ("game-icons", "holy-oak"), ("mdi", "human-child"), ("mdi", "horse-variant"), ("ph", "horse"), ("mdi", "cow"),
    ("game-icons", "bull"), ("ph", "cow"), ("game-icons", "ram"), ("mdi", "sheep"), ("fxemoji", "pig"),
    ("noto", "boar"), ("twemoji", "boar"), ("fluent-emoji-flat", "boar"), ("mdi", "pig"), ("game-icons", "boar"),
    ("icon-park-outline", "pig"), ("emojione", "cat"), ("fxemoji", "cat"), ("emojione-monotone", "cat"),
    ("mdi", "cat"), ("ph", "cat"), ("tabler", "cat"), ("lucide", "cat"), ("icon-park-outline", "cat"),
    ("noto-v1", "dog"), ("emojione", "dog"), ("fxemoji", "dog"), ("emojione-monotone", "dog"), ("mdi", "dog"),
    ("game-icons", "jumping-dog"), ("game-icons", "sniffing-dog"), ("ph", "dog"), ("tabler", "dog"), ("lucide", "dog"),
    ("noto", "chicken"), ("twemoji", "chicken"), ("fluent-emoji-flat", "chicken"), ("fxemoji", "chicken"),
    ("fluent-emoji-high-contrast", "chicken"), ("mdi", "rabbit-variant"), ("ph", "rabbit"),
    ("icon-park-outline", "rabbit"), ("fxemoji", "bird"), ("streamline-emojis", "bird-1"), ("game-icons", "swallow"),
    ("game-icons", "butterfly"), ("game-icons", "fluffy-cloud"), ("game-icons", "moon"), ("game-icons", "flat-star"),
}


# ---- issue #14: library x3. Groups of alternative names ("a|b|c": the first one the set has) tried
# in many sets; one variant per drawing (e.g. only "-linear" of solar, "-24-regular" of fluent).
EMOJI_ALL = ("noto", "noto-v1", "twemoji", "fluent-emoji-flat", "fluent-emoji-high-contrast", "emojione",
             "emojione-monotone", "fxemoji", "streamline-emojis")
UI_SETS = ("hugeicons", "solar", "lucide-lab", "iconoir", "mynaui", "streamline-ultimate", "tdesign", "fluent",
           "mingcute", "la", "pepicons-pencil", "uil", "ri", "carbon", "bx", "streamline-pixel", "pixelarticons",
           "fa6-regular", "wi", "clarity", "ion", "icon-park", "streamline-freehand-color",
           "streamline-ultimate-color", "flat-color-icons", "fluent-color", "mdi", "game-icons", "ph", "tabler",
           "lucide", "fa6-solid", "healthicons", "material-symbols", "akar-icons", "humbleicons", "iconamoon",
           "lets-icons", "bi", "lineicons", "jam", "gravity-ui", "fontisto", "cil", "famicons", "majesticons", "mage")


def _alts(*groups: str, sets=UI_SETS) -> list[tuple[str, str]]:
    return [(s, g if "|" in g else g + "|") for s in sets for g in groups]


def _v(*names: str) -> str:
    """Alternative spellings/variants of one drawing, most line-like first."""
    out = []
    for n in names:
        out += [f"{n}-linear", f"{n}-24-regular", f"{n}-line", f"{n}-outline", n, f"{n}-solid", f"{n}-fill", f"bxs-{n}"]
    return "|".join(out)


EXTRA: dict[str, list[tuple[str, str]]] = {
    "people": _alts("person-walking", "person-standing", "woman-walking", "man-walking", "man-standing",
                    "woman-standing", "person-running", "man-running", "woman-running", "man-dancing", "woman-dancing",
                    "person-walking-with-cane", sets=EMOJI_ALL)
    + _alts(_v("walk", "walking", "pedestrian", "person-simple-walk"), _v("person-standing", "man", "person", "human"),
            _v("woman", "human-female"), _v("child", "human-child"), _v("person-simple-run", "run", "running", "person-running"),
            _v("figure", "humans"), _v("body"), sets=UI_SETS),
    "tree": _alts("deciduous-tree", "evergreen-tree", "palm-tree", "leafless-tree", sets=EMOJI_ALL)
    + _alts(_v("tree", "tree-deciduous", "animal-tree"), _v("tree-pine", "pine-tree", "tree-evergreen", "nature-ecology-pine-tree-plant-tree-farming-christmas-nature-plants-pine-environment"),
            _v("tree-palm", "palm-tree", "palmtree", "coconut-tree"), _v("tree-one", "african-tree", "oak", "ecology-tree"),
            _v("tree-two", "christmas-tree"), _v("fruit-tree", "willow-tree", "birch-trees"), sets=UI_SETS),
    "house": _alts("house", "house-with-garden", "hut", "derelict-house", sets=EMOJI_ALL)
    + _alts(_v("building-cottage", "cottage"), _v("cabin", "wood-cabin", "cabin-a-frame"), _v("barn", "barns"), _v("hut"),
            _v("house-manor", "family-house", "farm-house", "farm-home"), _v("home-chimney", "house-chimney"),
            _v("house", "homestay", "house-simple"), _v("guest-house", "house-siding", "house-roof"), sets=UI_SETS),
    "truck": _alts("delivery-truck", "pickup-truck", "articulated-lorry", "fire-engine", sets=EMOJI_ALL)
    + _alts(_v("truck", "delivery-truck", "vehicle-truck-profile"), _v("dump-truck", "truck-dump"), _v("pickup-truck", "truck-pickup"),
            _v("fire-truck", "firetruck"), _v("truck-flatbed", "tanker-truck", "cargo-truck", "garbage-truck"),
            _v("truck-delivery", "shipping-truck", "delivery-truck-01", "truck-monster"), sets=UI_SETS),
    "car": _alts("automobile", "taxi", "police-car", "racing-car", "sport-utility-vehicle", sets=EMOJI_ALL)
    + _alts(_v("car-side", "vehicle-car-profile", "car"), _v("car-hatchback", "car-2", "car-01"), _v("car-sport", "car-sports", "sport-car", "racing-car"),
            _v("car-convertible", "car-estate", "car-03", "car-suv", "jeep"), _v("taxi", "car-taxi"), sets=UI_SETS),
    "bus": _alts("bus", "oncoming-bus", "trolleybus", "minibus", sets=EMOJI_ALL)
    + _alts(_v("bus-side", "bus", "vehicle-bus"), _v("bus-school", "school-bus"), _v("bus-double-decker", "double-decker"),
            _v("bus-01", "bus-2", "bus-alt", "bus-stop"), _v("bus-02", "bus-3", "minibus"), sets=UI_SETS),
    "chair": _alts("chair", sets=EMOJI_ALL)
    + _alts(_v("chair", "wooden-chair"), _v("chair-2", "chair-01", "chair-one"), _v("chair-02", "rocking-chair"),
            _v("chair-03", "armchair", "director-chair", "chair-director"), _v("chair-04", "stool", "bar-chair"),
            _v("chair-05", "office-chair", "chair-rolling"), _v("study-chair", "chair-accent", "armchair-2"), sets=UI_SETS),
    "bench": _alts(_v("bench", "bench-back", "park-bench"), sets=UI_SETS),
    "horse": _alts("horse", "racehorse", sets=EMOJI_ALL)
    + _alts(_v("horse", "animal-horse"), _v("donkey", "animal-donkey"), _v("rocking-horse", "toy-horse", "horse-toy"), sets=UI_SETS),
    "cow": _alts("cow", "ox", "water-buffalo", "bison", sets=EMOJI_ALL)
    + _alts(_v("cow", "animal-cow", "cattle"), _v("bull", "charging-bull", "pet-animals-ox", "pet-animals-buffalo"), sets=UI_SETS),
    "sheep": _alts("ewe", "ram", "sheep", sets=EMOJI_ALL) + _alts(_v("sheep", "animal-sheep", "ram"), _v("goat"), sets=UI_SETS),
    "pig": _alts("pig", "boar", sets=EMOJI_ALL) + _alts(_v("pig", "animal-pig"), _v("boar"), sets=UI_SETS),
    "cat": _alts("cat", "black-cat", sets=EMOJI_ALL)
    + _alts(_v("cat", "animal-cat", "pet-animals-cat", "hollow-cat"), _v("cat-big", "black-cat"), sets=UI_SETS),
    "dog": _alts("dog", "poodle", "guide-dog", "service-dog", sets=EMOJI_ALL)
    + _alts(_v("dog", "animal-dog", "pet-animals-dog", "dog-side"), _v("sitting-dog", "guide-dog", "disability-service-dog"),
            _v("jumping-dog", "sniffing-dog", "balloon-dog"), sets=UI_SETS),
    "chicken": _alts("rooster", "chicken", "baby-chick", "front-facing-baby-chick", sets=EMOJI_ALL)
    + _alts(_v("chicken", "animal-chicken"), _v("rooster", "hen"), sets=UI_SETS),
    "duck": _alts("duck", "goose", sets=EMOJI_ALL)
    + _alts(_v("duck", "rubber-duck", "plastic-duck"), _v("goose", "canadian-goose"), sets=UI_SETS),
    "rabbit": _alts("rabbit", sets=EMOJI_ALL)
    + _alts(_v("rabbit", "animal-rabbit", "pet-animals-rabbit", "bunny"), _v("hare"), sets=UI_SETS),
    "bird": _alts("bird", "dove", "black-bird", "eagle", "parrot", "owl", "flamingo", "peacock", "dodo", sets=EMOJI_ALL)
    + _alts(_v("bird", "dove", "twitter-bird"), _v("pigeon", "swallow", "hummingbird", "crow"), _v("eagle", "owl"),
            _v("kiwi-bird", "parrot"), sets=UI_SETS),
    "butterfly": _alts("butterfly", sets=EMOJI_ALL) + _alts(_v("butterfly"), sets=UI_SETS),
    "cloud": _alts("cloud", sets=EMOJI_ALL)
    + _alts(_v("cloud", "weather-cloudy", "cloudy", "fluffy-cloud"), _v("cloud-01", "cloud-2", "clouds"), sets=UI_SETS),
    "sun": _alts("sun", "sun-with-face", sets=EMOJI_ALL)
    + _alts(_v("sun", "weather-sunny", "sunny", "day-sunny", "white-balance-sunny"), _v("sun-01", "sun-2", "sun-one", "sun-high"), sets=UI_SETS),
    "moon": _alts("crescent-moon", "first-quarter-moon-face", "last-quarter-moon-face", sets=EMOJI_ALL)
    + _alts(_v("moon", "weather-moon", "half-moon", "moon-waning-crescent", "moon-waxing-crescent"), _v("moon-01", "moon-2", "night-moon-begin"), sets=UI_SETS),
    "star": _alts("star", "glowing-star", "white-medium-star", sets=EMOJI_ALL)
    + _alts(_v("star", "flat-star", "rating-star"), _v("star-one", "star-2", "bright-star"), sets=UI_SETS),
}
# Rejected on the issue-#14 review sheets (faces/heads instead of whole animals or people, UI front-view
# glyphs of vehicles, bus stops, turkeys, swans, decorated Christmas trees, pixel-art, moon phases, ...).
REJECTED |= {
    ("bx", "bus"), ("bx", "bus-school"), ("bx", "car"), ("bx", "taxi"), ("carbon", "bus"), ("carbon", "run"),
    ("emojione", "boar"), ("emojione", "boy"), ("emojione", "christmas-tree"), ("emojione", "eagle"),
    ("emojione", "girl"), ("emojione", "old-man"), ("emojione", "old-woman"), ("emojione", "turkey"),
    ("emojione-monotone", "boar"), ("emojione-monotone", "boy"), ("emojione-monotone", "christmas-tree"),
    ("emojione-monotone", "eagle"), ("emojione-monotone", "girl"), ("emojione-monotone", "old-man"),
    ("emojione-monotone", "old-woman"), ("emojione-monotone", "owl"), ("emojione-monotone", "turkey"),
    ("fa6-solid", "house"), ("fa6-solid", "house-chimney"), ("fa6-solid", "taxi"), ("fluent", "person-24-regular"),
    ("fluent", "run-24-regular"), ("fluent", "vehicle-bus-24-regular"), ("fluent-emoji-flat", "boy"),
    ("fluent-emoji-flat", "child"), ("fluent-emoji-flat", "christmas-tree"), ("fluent-emoji-flat", "eagle"),
    ("fluent-emoji-flat", "girl"), ("fluent-emoji-flat", "old-man"), ("fluent-emoji-flat", "old-woman"),
    ("fluent-emoji-flat", "older-person"), ("fluent-emoji-flat", "owl"), ("fluent-emoji-flat", "swan"),
    ("fluent-emoji-flat", "turkey"), ("fluent-emoji-high-contrast", "boar"), ("fluent-emoji-high-contrast", "boy"),
    ("fluent-emoji-high-contrast", "child"), ("fluent-emoji-high-contrast", "christmas-tree"),
    ("fluent-emoji-high-contrast", "eagle"), ("fluent-emoji-high-contrast", "girl"),
    ("fluent-emoji-high-contrast", "old-man"), ("fluent-emoji-high-contrast", "old-woman"),
    ("fluent-emoji-high-contrast", "older-person"), ("fluent-emoji-high-contrast", "owl"),
    ("fluent-emoji-high-contrast", "swan"), ("fluent-emoji-high-contrast", "turkey"), ("fxemoji", "boar"),
    ("fxemoji", "boy"), ("fxemoji", "girl"), ("game-icons", "bus-stop"), ("game-icons", "donkey"),
    ("game-icons", "goat"), ("game-icons", "swan"), ("healthicons", "donkey-outline"), ("hugeicons", "bus-01"),
    ("hugeicons", "bus-02"), ("hugeicons", "car-03"), ("hugeicons", "cat"), ("hugeicons", "child"),
    ("hugeicons", "cottage"), ("hugeicons", "moon"), ("hugeicons", "moon-01"), ("hugeicons", "rocking-horse"),
    ("hugeicons", "school-bus"), ("hugeicons", "taxi"), ("hugeicons", "woman"), ("icon-park", "bird"),
    ("icon-park", "bus"), ("icon-park", "car"), ("icon-park", "cat"), ("icon-park", "cattle"),
    ("icon-park", "chicken"), ("icon-park", "cloudy"), ("icon-park", "coconut-tree"), ("icon-park", "dog"),
    ("icon-park", "eagle"), ("icon-park", "homestay"), ("icon-park", "pig"), ("icon-park", "rabbit"),
    ("icon-park", "rocking-horse"), ("icon-park", "star-one"), ("icon-park", "sun-one"), ("icon-park", "taxi"),
    ("icon-park", "tree-one"), ("icon-park", "woman"), ("icon-park-outline", "bus"), ("iconoir", "bus-outline"),
    ("iconoir", "bus-stop"), ("iconoir", "car-outline"), ("ion", "bus-outline"), ("ion", "car-sport-outline"),
    ("la", "bus"), ("la", "bus-alt"), ("la", "child"), ("la", "moon"), ("lucide-lab", "cat-big"),
    ("lucide-lab", "owl"), ("material-symbols", "house-outline"), ("material-symbols", "house-siding-outline"),
    ("material-symbols", "owl-outline"), ("mdi", "bus-stop"), ("mdi", "chair-outline"), ("mdi", "donkey"),
    ("mdi", "hare-outline"), ("mdi", "home-chimney"), ("mdi", "house-outline"), ("mdi", "house-roof"),
    ("mdi", "office-chair"), ("mdi", "owl"), ("mdi", "study-chair"), ("mdi", "taxi"),
    ("mdi", "truck-delivery-outline"), ("mingcute", "body-line"), ("mingcute", "bus-line"),
    ("mingcute", "car-2-line"), ("mingcute", "cat-line"), ("mingcute", "chicken-line"), ("mingcute", "dog-line"),
    ("mingcute", "house-line"), ("mingcute", "rabbit-line"), ("mingcute", "star-2-line"),
    ("mingcute", "sun-2-line"), ("mingcute", "toy-horse-line"), ("noto", "boy"), ("noto", "child"),
    ("noto", "christmas-tree"), ("noto", "girl"), ("noto", "old-man"), ("noto", "old-woman"),
    ("noto", "older-person"), ("noto", "swan"), ("noto", "turkey"), ("noto-v1", "boar"), ("noto-v1", "boy"),
    ("noto-v1", "christmas-tree"), ("noto-v1", "girl"), ("noto-v1", "old-man"), ("noto-v1", "old-woman"),
    ("noto-v1", "turkey"), ("pepicons-pencil", "car"), ("pepicons-pencil", "house"), ("pepicons-pencil", "person"),
    ("pepicons-pencil", "taxi"), ("pepicons-pencil", "truck"), ("ph", "bus"), ("ph", "car"), ("ph", "jeep"),
    ("ph", "taxi"), ("pixelarticons", "bus"), ("pixelarticons", "car"), ("pixelarticons", "cloud"),
    ("pixelarticons", "dog"), ("pixelarticons", "human"), ("pixelarticons", "moon"), ("pixelarticons", "star"),
    ("pixelarticons", "sun"), ("pixelarticons", "tree"), ("pixelarticons", "tree-pine"), ("pixelarticons", "truck"),
    ("pixelarticons", "twitter-bird"), ("ri", "bus-2-line"), ("ri", "bus-line"), ("ri", "car-line"),
    ("ri", "ram-line"), ("ri", "taxi-line"), ("solar", "body-linear"), ("solar", "bus-linear"),
    ("solar", "car-linear"), ("solar", "cat-linear"), ("solar", "star-2-linear"),
    ("streamline-emojis", "christmas-tree"), ("streamline-emojis", "palm-tree"), ("streamline-emojis", "turkey"),
    ("streamline-freehand-color", "disability-service-dog"), ("streamline-pixel", "ecology-tree"),
    ("streamline-pixel", "pet-animals-cat"), ("streamline-pixel", "pet-animals-dog"),
    ("streamline-pixel", "pet-animals-ox"), ("streamline-pixel", "weather-moon"),
    ("streamline-ultimate", "night-moon-begin"), ("streamline-ultimate", "taxi"),
    ("streamline-ultimate-color", "house-chimney"), ("streamline-ultimate-color", "night-moon-begin"),
    ("tabler", "bus-stop"), ("tabler", "horse-toy"), ("tabler", "moon-2"), ("tdesign", "cat"),
    ("tdesign", "chicken"), ("twemoji", "boy"), ("twemoji", "child"), ("twemoji", "christmas-tree"),
    ("twemoji", "eagle"), ("twemoji", "girl"), ("twemoji", "old-man"), ("twemoji", "old-woman"),
    ("twemoji", "older-person"), ("twemoji", "swan"), ("twemoji", "turkey"), ("uil", "bus"), ("uil", "bus-alt"),
    ("uil", "car"), ("uil", "taxi"),
}
# Rejected on the review of the second batch of UI sets (front views, UI user glyphs, heads).
REJECTED |= {
    ("akar-icons", "moon"), ("akar-icons", "person"), ("cil", "cat"), ("cil", "child"), ("cil", "dog"),
    ("cil", "taxi"), ("famicons", "bus-outline"), ("famicons", "car-outline"), ("famicons", "car-sport-outline"),
    ("fontisto", "bus"), ("fontisto", "car"), ("fontisto", "person"), ("fontisto", "taxi"), ("fontisto", "truck"),
    ("gravity-ui", "car"), ("gravity-ui", "person"), ("jam", "bus"), ("jam", "car"), ("lets-icons", "tree"),
    ("lineicons", "bus"), ("lineicons", "car"), ("lineicons", "car-2"), ("lineicons", "taxi"),
    ("lineicons", "tree"), ("majesticons", "bus-line"), ("majesticons", "car-line"),
}
for _cat, _extra in EXTRA.items():
    PICKS.setdefault(_cat, [])
    PICKS[_cat] = PICKS[_cat] + _extra

# Second pass: more whole-animal drawings (side views of fxemoji, a streamline-emojis variant; the icon-park zodiac
# animals, Material's cruelty-free bunny and game-icons butterfly-flower were looked at and left out).
for _cat, _extra in {
    "cat": [("fxemoji", "catside|")],
    "dog": [("fxemoji", "dogside|")],
    "pig": [("fxemoji", "pigside|")],
    "rabbit": [("fxemoji", "bunnyside|bunny")],
    "sheep": [("streamline-emojis", "ewe-1|")],
    "chicken": [("fxemoji", "babychick|"), ("fxemoji", "frontfacingchick|")],
    "butterfly": [("mingcute", "butterfly-2-line|")],
}.items():
    PICKS[_cat] = PICKS[_cat] + _extra


def _pkg_root(prefix: str) -> Path:
    """npm pack @iconify-json/<prefix> (once) and return the extracted package folder."""
    PKG_DIR.mkdir(parents=True, exist_ok=True)
    dest = PKG_DIR / "x" / prefix
    if (dest / "package" / "icons.json").exists():
        return dest / "package"
    tgz = sorted(PKG_DIR.glob(f"iconify-json-{prefix}-[0-9]*.tgz"))
    if not tgz:
        subprocess.run(["npm", "pack", "--silent", f"@iconify-json/{prefix}"], cwd=PKG_DIR, check=True,
                       stdout=subprocess.DEVNULL)
        tgz = sorted(PKG_DIR.glob(f"iconify-json-{prefix}-[0-9]*.tgz"))
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tgz[-1]) as tf:
        try:
            tf.extractall(dest, filter="data")
        except TypeError:  # Python without extraction filters
            tf.extractall(dest)
    return dest / "package"


class IconSet:
    def __init__(self, prefix: str):
        root = _pkg_root(prefix)
        self.prefix = prefix
        self.data = json.loads((root / "icons.json").read_text())
        self.info = json.loads((root / "info.json").read_text())
        self.version = json.loads((root / "package.json").read_text()).get("version", "")
        lic = self.info.get("license", {})
        self.licence = lic.get("spdx", "")
        self.licence_url = lic.get("url", "")
        self.author = self.info.get("author", {}).get("name", "")
        self.author_url = self.info.get("author", {}).get("url", "")
        if not self.licence_url:  # a few info.json files carry no licence URL
            self.licence_url = f"https://spdx.org/licenses/{self.licence}.html"
        if not self.author_url:
            self.author_url = f"https://icon-sets.iconify.design/{prefix}/"
        if self.licence not in OK_LICENCES:
            raise SystemExit(f"{prefix}: licence {self.licence!r} is not on the accepted list")

    def has(self, name: str) -> bool:
        return name in self.data["icons"] or name in self.data.get("aliases", {})

    def svg(self, name: str) -> str | None:
        icons, aliases = self.data["icons"], self.data.get("aliases", {})
        hflip = False
        seen = 0
        while name not in icons:
            if name not in aliases or seen > 8:
                return None
            hflip ^= bool(aliases[name].get("hFlip"))
            name = aliases[name]["parent"]
            seen += 1
        ic = icons[name]
        hflip ^= bool(ic.get("hFlip"))
        w = ic.get("width", self.data.get("width", 16))
        h = ic.get("height", self.data.get("height", 16))
        left, top = ic.get("left", self.data.get("left", 0)), ic.get("top", self.data.get("top", 0))
        body = ic["body"].replace("currentColor", "#000")
        if SETS[self.prefix] == "stroke":
            sw = STROKE_PX * max(w, h) / LONG_SIDE
            body = re.sub(r'stroke-width="[0-9.]+"', f'stroke-width="{sw:.3f}"', body)
            if "stroke-width" not in body:
                body = f'<g stroke-width="{sw:.3f}">{body}</g>'
        if hflip:
            body = f'<g transform="translate({2 * left + w} 0) scale(-1 1)">{body}</g>'
        return (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                f'viewBox="{left} {top} {w} {h}" width="{w}" height="{h}">{body}</svg>')


def rasterise(svg: str):
    """RGBA uint8 array, LONG_SIDE px on the long side of the drawn content (cropped, 2 px margin)."""
    import numpy as np
    import resvg_py
    from PIL import Image

    def render(zoom_w: int) -> np.ndarray:
        png = resvg_py.svg_to_bytes(svg_string=svg, width=zoom_w)
        return np.array(Image.open(io.BytesIO(bytes(png))).convert("RGBA"))

    m = re.search(r'viewBox="([-0-9.]+) ([-0-9.]+) ([0-9.]+) ([0-9.]+)"', svg)
    w = float(m.group(3))
    a = render(1024)
    ys, xs = np.nonzero(a[..., 3] > 8)
    if len(xs) == 0:
        return None
    ext = max(xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) / 1024.0 * w  # content extent in svg units
    width = int(round((LONG_SIDE - 4) * w / ext))
    a = render(width)
    ys, xs = np.nonzero(a[..., 3] > 8)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = a[y0:y1, x0:x1]
    out = np.zeros((crop.shape[0] + 4, crop.shape[1] + 4, 4), np.uint8)
    out[2:-2, 2:-2] = crop
    return out


def write_png(path: Path, rgba) -> None:
    """RGBA PNG; stored as an exact (lossless) palette PNG when the raster has <= 256 distinct RGBA values
    (one-colour glyphs: black + anti-aliased alpha), which is ~3x smaller. Readers get RGBA back either way."""
    import cv2
    import numpy as np
    from PIL import Image

    flat = np.ascontiguousarray(rgba).reshape(-1, 4)
    vals, idx = np.unique(flat.view(np.uint32).ravel(), return_inverse=True)
    if len(vals) <= 256:
        pal = vals.view(np.uint8).reshape(-1, 4)
        im = Image.fromarray(idx.reshape(rgba.shape[:2]).astype(np.uint8), "P")
        im.putpalette(pal[:, :3].ravel().tolist())
        im.info["transparency"] = bytes(pal[:, 3].tolist())
        im.save(path, optimize=True, transparency=bytes(pal[:, 3].tolist()))
        back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if back is not None and back.ndim == 3 and back.shape[2] == 4 and np.array_equal(
                cv2.cvtColor(back, cv2.COLOR_BGRA2RGBA), rgba):
            return
    cv2.imwrite(str(path), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def contact_sheet_raw(entries: list[dict], root: Path, out: Path, cell: int = 96) -> None:
    """Review sheet of the raw rasters, labelled (for choosing PICKS)."""
    import cv2
    import numpy as np
    cols = 16
    rows = (len(entries) + cols - 1) // cols
    sheet = np.full((rows * (cell + 14), cols * cell, 3), 255, np.uint8)
    for i, e in enumerate(entries):
        a = cv2.imread(str(root / e["file"]), cv2.IMREAD_UNCHANGED)
        a = cv2.cvtColor(a, cv2.COLOR_BGRA2RGBA)
        s = (cell - 8) / max(a.shape[:2])
        a = cv2.resize(a, (max(1, int(a.shape[1] * s)), max(1, int(a.shape[0] * s))), interpolation=cv2.INTER_AREA)
        al = a[..., 3:4] / 255.0
        rgb = (a[..., :3] * al + 255 * (1 - al)).astype(np.uint8)
        r, c = divmod(i, cols)
        y, x = r * (cell + 14), c * cell
        sheet[y + 4:y + 4 + rgb.shape[0], x + 4:x + 4 + rgb.shape[1]] = rgb
        cv2.putText(sheet, f"{i}", (x + 2, y + cell + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 255), 1)
    cv2.imwrite(str(out), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--review", action="store_true", help="also write a numbered raw review sheet")
    args = ap.parse_args()
    import cv2

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*/*"):
        old.unlink()
    sets: dict[str, IconSet] = {}
    manifest: list[dict] = []
    missing = []
    for cat, picks in PICKS.items():
        (out / cat).mkdir(exist_ok=True)
        seen = set()
        for prefix, name in picks:
            if (prefix, name) in REJECTED or (prefix, name) in seen:
                continue
            seen.add((prefix, name))
            if prefix not in SETS:
                missing.append(f"{prefix}:{name} (set not configured)")
                continue
            if prefix not in sets:
                sets[prefix] = IconSet(prefix)
            st = sets[prefix]
            if "|" in name:
                name = next((n for n in name.split("|") if st.has(n)), "")
                if not name or (prefix, name) in REJECTED or (prefix, name) in seen:
                    continue
                seen.add((prefix, name))
            svg = st.svg(name)
            if svg is None:
                missing.append(f"{prefix}:{name}")
                continue
            rgba = rasterise(svg)
            if rgba is None:
                missing.append(f"{prefix}:{name} (empty)")
                continue
            stem = f"{cat}/{prefix}__{name}"
            (out / f"{stem}.svg").write_text(svg)
            write_png(out / f"{stem}.png", rgba)
            manifest.append({
                "file": f"{stem}.png", "svg": f"{stem}.svg", "category": cat, "set": prefix, "icon": name,
                "style": SETS[prefix], "licence": st.licence, "licence_url": st.licence_url,
                "author": st.author, "author_url": st.author_url, "package": f"@iconify-json/{prefix}@{st.version}",
            })
    held = [h for h in STYLE_HELD_OUT if h in sets]
    (out / "manifest.json").write_text(json.dumps({"long_side": LONG_SIDE, "style_held_out_sets": held,
                                                   "components": manifest}, indent=1))
    lines = ["# Component library attribution", "",
             "Clip-art icons used by the synthetic scene generator (`grmnet synth`), rasterised from the SVGs of "
             "the Iconify JSON packages listed below (`tools/build_components.py`). Icons were cropped, "
             "rasterised and, for line icons, re-stroked; the generator turns them into line drawings. "
             "Each file keeps its original licence:", "",
             "| set | package | author | licence | icons |", "|---|---|---|---|---|"]
    for prefix, st in sorted(sets.items()):
        n = sum(1 for m in manifest if m["set"] == prefix)
        if n == 0:  # every pick of the set was rejected on review
            continue
        lines.append(f"| {prefix} | @iconify-json/{prefix}@{st.version} | [{st.author}]({st.author_url}) | "
                     f"[{st.licence}]({st.licence_url}) | {n} |")
    lines += ["", "Per-file source set, icon name and licence: `manifest.json`.", "",
              "Style-held-out sets (manifest key `style_held_out_sets`; used only by the style-held-out test split, "
              "never for training): " + ", ".join(f"`{h}`" for h in held) + "."]
    (out / "ATTRIBUTION.md").write_text("\n".join(lines) + "\n")
    if missing:
        print("missing:", ", ".join(missing), file=sys.stderr)
    print(json.dumps({"components": len(manifest), "sets": len(sets)}))
    if args.review:
        contact_sheet_raw(manifest, out, PKG_DIR / "review.png")
        for i, m in enumerate(manifest):
            print(i, m["category"], m["set"], m["icon"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
