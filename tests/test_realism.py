"""Realism switches of the data engine (grmnet/data/realism.py) and the style-held-out split."""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest

from grmnet.data import render
from grmnet.data.realism import SWITCHES, Realism, apply_object, ink_tone
from grmnet.data.scene import ComponentLibrary, HeldOutSetsMissing, _counts, compose_scene
from grmnet.data.synth import STYLE_TEST, add_synth_arguments, make_sample

STROKE_SWITCHES = ("wobble", "pressure", "gaps", "overshoot", "redraw")


def _only(name: str) -> Realism:
    return Realism.parse(f"none,{name}")


@pytest.fixture(scope="module")
def empty_lib(tmp_path_factory) -> ComponentLibrary:
    return ComponentLibrary(tmp_path_factory.mktemp("nolib"))  # procedural drawings only: fast, no resources


def _blob_rgba(size: int = 96) -> np.ndarray:
    """A colour 'emoji': a filled body with a darker face detail, transparent background."""
    a = np.zeros((size, size, 4), np.uint8)
    cv2.ellipse(a, (size // 2, size // 2), (size // 3, size // 3), 0, 0, 360, (200, 120, 40, 255), -1)
    cv2.rectangle(a, (size // 4, size // 2), (size // 2, size - 4), (200, 120, 40, 255), -1)  # a leg: corners
    cv2.circle(a, (size // 3, size // 2), size // 12, (20, 20, 20, 255), -1)
    cv2.rectangle(a, (size // 2, size // 2 - 6), (size - 12, size // 2 + 6), (80, 160, 220, 255), -1)
    return a


@pytest.fixture(scope="module")
def drawn() -> render.Drawn:
    return render.render_component(_blob_rgba(), "color", 150, np.random.default_rng(3), stroke=3, detail=1.0,
                                   flip=False)


# ------------------------------------------------------------------------------------------ the options


def test_parse_and_spec():
    assert Realism() == Realism.parse(None) == Realism.parse("all") == Realism.parse("")
    r = Realism.parse("no-gaps,wobble=0")
    assert not r.gaps and not r.wobble and r.redraw and r.occlusion
    assert Realism.parse(r.spec()) == r
    assert Realism.parse("none,+occlusion") == Realism.legacy().__class__(**{k: k == "occlusion" for k in SWITCHES})
    assert Realism.parse("legacy") == Realism.legacy() and Realism.legacy().occlusion
    assert not any(vars(Realism.none()).values())
    with pytest.raises(ValueError, match="unknown realism switch"):
        Realism.parse("no-sparkle")


def test_cli_arguments():
    p = argparse.ArgumentParser()
    p.add_argument("--split", required=True, choices=["train", "val", "test"])
    add_synth_arguments(p)
    a = p.parse_args(["--split", STYLE_TEST, "--realism", "no-gaps,no-density"])
    assert a.split == STYLE_TEST and not a.realism.gaps and not a.realism.density and a.realism.wobble
    assert p.parse_args(["--split", "train"]).realism == Realism()
    with pytest.raises(SystemExit):
        p.parse_args(["--split", "train", "--realism", "no-such"])


# ----------------------------------------------------------------------------------- per-object effects


@pytest.mark.parametrize("name", STROKE_SWITCHES)
def test_switch_changes_drawing_keeps_ink_in_region(drawn, name):
    off = apply_object(drawn, np.random.default_rng(11), 3, Realism.none())
    assert off is drawn  # nothing on: untouched
    on = apply_object(drawn, np.random.default_rng(11), 3, _only(name))
    again = apply_object(drawn, np.random.default_rng(11), 3, _only(name))
    assert np.array_equal(on.ink, again.ink) and np.array_equal(on.region, again.region)  # deterministic
    assert not (on.ink & ~on.region).any()
    assert on.ink.sum() > 0.6 * drawn.ink.sum()
    changed = 0
    for seed in range(11, 19):
        on = apply_object(drawn, np.random.default_rng(seed), 3, _only(name))
        assert not (on.ink & ~on.region).any()
        changed += on.ink.shape != drawn.ink.shape or not np.array_equal(on.ink, drawn.ink)
    assert changed >= 2, f"{name} on must change the strokes"


def test_redraw_keeps_interior_detail(drawn):
    redrawn = 0
    for seed in range(8):
        on = apply_object(drawn, np.random.default_rng(seed), 3, _only("redraw"))
        if on.ink.shape == drawn.ink.shape and np.array_equal(on.ink, drawn.ink):
            continue  # this object kept its clip-art outline (REDRAW_SHARE)
        redrawn += 1
        inner = cv2.erode(on.region.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
        assert (on.ink & inner).sum() > 20, "interior strokes (face, colour boundaries) are kept"
    assert redrawn >= 2


def test_gaps_break_strokes(drawn):
    broken = 0
    for seed in range(8):
        on = apply_object(drawn, np.random.default_rng(seed), 3, _only("gaps"))
        assert on.ink.shape == drawn.ink.shape and not (on.ink & ~drawn.ink).any(), "gaps only erase"
        assert on.ink.sum() > 0.9 * drawn.ink.sum()
        broken += on.ink.sum() < drawn.ink.sum()
    assert broken >= 4


def test_ink_tone_stays_ink():
    ink = np.zeros((60, 60), bool)
    ink[10:50, 20:24] = True
    for seed in range(12):
        g = ink_tone(ink, np.random.default_rng(seed), Realism())
        assert (g[ink] < 128).all(), "ink grey must stay < 128 (imaging.ink_mask)"
        assert (g[~ink] >= 128).all(), "everything else must read as paper"
    assert (ink_tone(ink, np.random.default_rng(0), Realism.none())[ink] == 0).all()
    greys = np.concatenate([ink_tone(ink, np.random.default_rng(s), Realism())[ink] for s in range(12)])
    assert greys.max() > 0, "pressure on gives grey ink in some scenes"


# ----------------------------------------------------------------------------------------------- scenes


def _check_scene(sc, occlusion: bool = True):
    grey = sc.drawing[..., 0]
    union = np.zeros(grey.shape, bool)
    for i, o in enumerate(sc.objects):
        assert not (o.ink & ~o.region).any(), "visible ink lies inside the visible region"
        assert not (union & o.ink).any(), "visible inks are disjoint"
        union |= o.ink
        if occlusion:
            for later in sc.objects[i + 1:]:
                assert not (o.ink & later.region).any()
    assert np.array_equal(grey < 128, union), "dark pixels == union of the visible inks"


@pytest.mark.parametrize("spec", ["all", "legacy", "no-occlusion"])
def test_scene_invariants(empty_lib, spec):
    r = Realism.parse(spec)
    for seed in (1, 2):
        _check_scene(compose_scene(np.random.default_rng(seed), library=empty_lib, realism=r), r.occlusion)


def test_occlusion_switch(empty_lib):
    for seed in range(3, 12):
        a = compose_scene(np.random.default_rng(seed), library=empty_lib)
        b = compose_scene(np.random.default_rng(seed), library=empty_lib, realism=Realism.parse("no-occlusion"))
        if not np.array_equal(a.drawing, b.drawing):
            assert (b.drawing[..., 0] < 128).sum() > (a.drawing[..., 0] < 128).sum(), "hidden strokes show"
            return
    pytest.fail("no overlapping objects in 9 scenes")


def test_switch_off_keeps_layout(empty_lib):
    a = compose_scene(np.random.default_rng(21), library=empty_lib)
    b = compose_scene(np.random.default_rng(21), library=empty_lib, realism=Realism.parse("no-gaps,no-wobble"))
    assert not np.array_equal(a.drawing, b.drawing)
    assert [o.category for o in a.objects] == [o.category for o in b.objects]


def test_detailed_house_has_interior_detail_inside_its_region():
    for seed in range(6):
        d = render.detailed_house(200, np.random.default_rng(seed), stroke=2)
        assert d.ink.any() and not (d.ink & ~d.region).any()
        h, w = d.region.shape
        assert 0.8 * 200 < h < 1.3 * 200 and w >= 0.9 * 200, "a front view, wider than tall"
        # boards, panes, a door: many separate strokes inside the silhouette, not just its outline
        n, _ = cv2.connectedComponents((d.region & ~d.ink).astype(np.uint8), connectivity=4)
        assert n - 1 >= 5, f"seed {seed}: only {n - 1} enclosed areas"
        assert d.ink.sum() > 0.1 * d.region.sum()


def test_detail_switch_changes_only_houses(empty_lib, monkeypatch):
    import grmnet.data.scene as scene
    monkeypatch.setattr(scene, "DETAILED_HOUSE_SHARE", 1.0)
    for seed in range(40):
        a = compose_scene(np.random.default_rng(seed), library=empty_lib)
        if "house" not in [o.category for o in a.objects]:
            continue
        b = compose_scene(np.random.default_rng(seed), library=empty_lib, realism=Realism.parse("no-detail"))
        assert [o.category for o in a.objects] == [o.category for o in b.objects]
        ha = [o.ink.sum() for o in a.objects if o.category == "house"]
        hb = [o.ink.sum() for o in b.objects if o.category == "house"]
        assert sum(ha) > sum(hb), "detailed houses carry more ink than the plain fallback"
        _check_scene(a)
        return
    pytest.fail("no house in 40 scenes")


def test_make_sample_deterministic(empty_lib):
    a = make_sample("train", 0, 4, library=empty_lib)
    b = make_sample("train", 0, 4, library=empty_lib)
    assert np.array_equal(a[0].drawing, b[0].drawing) and np.array_equal(a[1], b[1]) and a[4] == b[4]
    c = make_sample("train", 0, 4, library=empty_lib, realism="legacy")
    assert not np.array_equal(a[0].drawing, c[0].drawing)
    inst = a[1]
    assert np.array_equal(inst > 0, a[0].drawing[..., 0] < 128)


def test_density_tables():
    rng = np.random.default_rng(0)
    real = [_counts(rng, density=True) for _ in range(400)]
    old = [_counts(rng, density=False) for _ in range(400)]
    mean = lambda cs, c: float(np.mean([n.get(c, 0) for n in cs]))  # noqa: E731
    assert mean(real, "grass") > mean(old, "grass") + 0.8      # SketchyScene: ~4.5 grass tufts per scene
    assert mean(real, "tree") > mean(old, "tree")
    assert max(sum(n.values()) for n in real) > 20


# ------------------------------------------------------------------------------------- style-held-out split


def _fake_library(root, held_out=("setb",)):
    comps = []
    for cat in ("tree", "house", "dog"):
        for st in ("seta", "setb"):
            if cat == "dog" and st == "setb":
                continue  # the held-out sets have no dog: style_test scenes leave dogs out
            f = f"{cat}/{st}__{cat}.png"
            (root / cat).mkdir(parents=True, exist_ok=True)
            img = _blob_rgba(64)
            cv2.imwrite(str(root / f), cv2.cvtColor(img, cv2.COLOR_RGBA2BGRA))
            comps.append({"file": f, "category": cat, "set": st, "style": "color"})
    data = {"components": comps}
    if held_out is not None:
        data["style_held_out_sets"] = list(held_out)
    (root / "manifest.json").write_text(json.dumps(data))
    return ComponentLibrary(root)


def _picked_sets(monkeypatch, fn) -> set[str]:
    seen: list[dict] = []
    orig = ComponentLibrary.raster

    def spy(self, entry):
        seen.append(entry)
        return orig(self, entry)

    monkeypatch.setattr(ComponentLibrary, "raster", spy)
    fn()
    return {e["set"] for e in seen}


def test_style_held_out_split(tmp_path, monkeypatch):
    lib = _fake_library(tmp_path)
    assert lib.view("seen").entries.keys() == {"tree", "house", "dog"}
    assert lib.view("held_out").entries.keys() == {"tree", "house"}
    train_sets = _picked_sets(monkeypatch, lambda: [make_sample("train", 0, k, library=lib) for k in range(1, 7)])
    assert train_sets == {"seta"}
    style_sets = _picked_sets(monkeypatch, lambda: [make_sample(STYLE_TEST, 0, k, library=lib) for k in range(1, 7)])
    assert style_sets == {"setb"}
    for k in range(1, 7):
        sc = make_sample(STYLE_TEST, 0, k, library=lib)[0]
        assert all(o.category in {"tree", "house"} | render.PROCEDURAL for o in sc.objects)
    a, b = make_sample(STYLE_TEST, 0, 1, library=lib)[0], make_sample("train", 0, 1, library=lib)[0]
    assert not np.array_equal(a.drawing, b.drawing)  # its own seeds


def test_style_test_needs_the_manifest_key(tmp_path):
    lib = _fake_library(tmp_path, held_out=None)
    assert lib.view("seen") is lib  # training uses everything
    make_sample("train", 0, 1, library=lib)
    with pytest.raises(HeldOutSetsMissing, match="style_held_out_sets"):
        make_sample(STYLE_TEST, 0, 1, library=lib)


def test_style_test_unknown_set_names(tmp_path):
    lib = _fake_library(tmp_path, held_out=("no-such-set",))
    assert lib.view("seen").entries.keys() == lib.entries.keys()
    with pytest.raises(HeldOutSetsMissing, match="no component belongs"):
        make_sample(STYLE_TEST, 0, 1, library=lib)
