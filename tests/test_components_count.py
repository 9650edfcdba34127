"""Component library coverage (issue #14): enough training drawings per category, every file's licence recorded."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

MANIFEST = Path(__file__).resolve().parents[1] / "resources" / "components" / "manifest.json"
LIBRARY_CATEGORIES = ("bench", "bird", "bus", "butterfly", "car", "cat", "chair", "chicken", "cloud", "cow", "dog",
                      "duck", "horse", "house", "moon", "people", "pig", "rabbit", "sheep", "star", "sun", "tree",
                      "truck")
MIN_TRAIN = 30


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def test_min_training_drawings_per_category(manifest):
    held = set(manifest["style_held_out_sets"])
    assert held == {"twemoji", "game-icons"}
    train = Counter(e["category"] for e in manifest["components"] if e["set"] not in held)
    short = {c: train[c] for c in LIBRARY_CATEGORIES if train[c] < MIN_TRAIN}
    assert not short, f"categories with fewer than {MIN_TRAIN} drawings outside the style-held-out sets: {short}"


def test_every_component_records_its_licence(manifest):
    for e in manifest["components"]:
        for k in ("licence", "licence_url", "author", "package"):
            assert isinstance(e.get(k), str) and e[k].strip(), f"{e.get('file')}: missing {k}"
        assert "@" in e["package"], f"{e['file']}: package without a version"


def test_component_files_are_unique(manifest):
    files = [e["file"] for e in manifest["components"]]
    assert len(files) == len(set(files))
