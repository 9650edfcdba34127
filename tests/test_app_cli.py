"""The headless CLI's edits, with the deterministic fake model (same path as the real one)."""
import json

import numpy as np
import pytest
from PIL import Image

import grmnet.methods
from sketchedit import cli
from sketchedit.export import open_document
from fakes import FakeEngine, make_test_sketch


@pytest.fixture
def sketch(tmp_path, monkeypatch):
    monkeypatch.setattr(grmnet.methods, "load_engine", lambda *a, **k: FakeEngine())
    path = tmp_path / "scene.png"
    Image.fromarray(make_test_sketch()).save(path)
    return path


def apply(capsys, *args):
    code = cli.main(["apply", *map(str, args)])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code in (0, 1) and out.strip() else None), err


def test_recolor_writes_pixels_only_where_the_ink_was(tmp_path, sketch, capsys):
    out = tmp_path / "red.png"
    code, summary, _ = apply(capsys, sketch, "-e", "the two sheep", "--pick", "2", "--recolor", "#ff0000", "--out", out)
    assert code == 0 and summary["labels"] == ["sheep 2"] and summary["instances_found"] == 2
    before = make_test_sketch()
    after = np.asarray(Image.open(out).convert("RGB"))
    changed = (after != before).any(axis=2)
    assert changed.any() and not changed[:, :110].any() and not changed[:, 210:].any()
    assert (after[changed][:, 0] == 255).all()


def test_move_fill_hide_delete_and_ora_round_trip(tmp_path, sketch, capsys):
    out = tmp_path / "edit.ora"
    code, summary, _ = apply(capsys, sketch, "-e", "the one sheep", "--fill", "0,200,0", "--move=10,5", "--hide",
                             "--out", out)
    assert code == 0 and summary["edits"] == ["fill", "move", "hide"]
    doc = open_document(out)
    layer = doc.layers[0]
    assert layer.label == "sheep 1" and layer.offset == (10, 5) and not layer.visible
    assert layer.fill_color == (0, 200, 0)

    code, summary, _ = apply(capsys, sketch, "-e", "the one sheep", "--delete", "--out", tmp_path / "gone.png")
    gone = np.asarray(Image.open(tmp_path / "gone.png").convert("RGB"))
    assert code == 0 and (gone[:, :100] == 255).all() and (gone[:, 130:] != 255).any()

    code = cli.main(["export", str(out), "--out", str(tmp_path / "edit.psd")])
    assert code == 0 and json.loads(capsys.readouterr().out)["layers"] == ["sheep 1"]


def test_nothing_matched_and_bad_arguments(tmp_path, sketch, capsys):
    code, summary, _ = apply(capsys, sketch, "-e", "the left one", "--out", tmp_path / "same.png")
    assert code == 1 and summary["instances_found"] == 0 and "matched nothing" in summary["message"]
    assert not (tmp_path / "same.png").exists()          # nothing to edit: nothing written
    code, _, err = apply(capsys, sketch, "-e", "the two sheep", "--pick", "5", "--out", tmp_path / "x.png")
    assert code == 2 and "only 2 instance" in err
    code, _, err = apply(capsys, sketch, "-e", "   ", "--out", tmp_path / "x.png")
    assert code == 2 and "empty" in err
    code, _, err = apply(capsys, sketch, "-e", "the sheep", "--out", tmp_path / "no" / "x.png")
    assert code == 2 and "does not exist" in err
    with pytest.raises(SystemExit):
        cli.main(["apply", str(sketch), "-e", "x", "--recolor", "notacolour", "--out", "x.png"])


def test_parsers():
    assert cli.parse_color("red") == (255, 0, 0) and cli.parse_color("1,2,3") == (1, 2, 3)
    assert cli.parse_pair("-4,7") == (-4, 7) and cli.parse_pick("1,3") == [1, 3]


def test_apply_that_matches_nothing_writes_nothing_and_fails(sketch, tmp_path, capsys):
    from sketchedit.cli import main
    out = tmp_path / "nothing.png"
    assert main(["apply", str(sketch), "-e", "the leftmost one", "--out", str(out)]) == 1
    assert not out.exists()
    assert "matched nothing" in capsys.readouterr().err
