"""The real (tiny, random) GRM-Net through the app's worker thread and through the CLI."""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from sketchedit.mainwindow import MainWindow
from fakes import make_test_sketch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    from fakes import make_tiny_weights

    return str(make_tiny_weights(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def sketch_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sketch") / "scene.png"
    Image.fromarray(make_test_sketch()).save(path)
    return path


def test_real_tiny_model_runs_in_the_worker_thread(qtbot, tmp_path, monkeypatch, tiny_weights, sketch_file):
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("model/weights", tiny_weights)
    settings.setValue("model/device", "cpu")
    window = MainWindow(settings=settings, recovery_dir=str(tmp_path / "recovery"))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.client.info is not None, timeout=60000)
    assert "sheep" in window.query_bar.vocabulary and window.model_status.text().startswith("Model ready (cpu")
    assert window.open_path(str(sketch_file))

    qtbot.keyClicks(window.query_bar.edit, "the two sheep left of the car")
    assert window.query_bar.hint.text() == ""
    qtbot.keyClick(window.query_bar.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not window.client.busy, timeout=60000)
    first = window.last_message
    assert "matched nothing" in first or "Selected" in first
    # A random model may select nothing; either way every layer it made is a real instance.
    assert all(layer.ink_mask.any() for layer in window.doc.layers)

    # Same sketch, second expression: the backbone features come from the cache.
    window.doc.undo_stack.setClean()
    layers_before = len(window.doc.layers)
    if layers_before:
        window.doc.undo_stack.undo()  # back to the exact sketch the cache saw
    window.run_query("the sun")
    qtbot.waitUntil(lambda: not window.client.busy, timeout=60000)
    predictor = window.client._worker._engine
    assert predictor.backbone_runs == 1, "the second query reused the sketch's features"

    # Unknown words are flagged from the real vocabulary before running.
    window.query_bar.edit.setText("the flibbertigibbet")
    assert window.query_bar.hint.text() == "Unknown: flibbertigibbet"


def run_cli(*args, cwd=None):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "sketchedit.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_cli_apply_and_export_without_a_display(tmp_path, tiny_weights, sketch_file):
    out = tmp_path / "out.ora"
    proc = run_cli("apply", str(sketch_file), "-e", "the two sheep", "--weights", tiny_weights, "--threshold", "0",
                   "--recolor", "red", "--move=5,-3", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["written"] == str(out) and summary["expression"] == "the two sheep"
    assert summary["instances_found"] >= summary["instances_selected"] == len(summary["labels"])
    with zipfile.ZipFile(out) as zf:
        assert zf.read("mimetype") == b"image/openraster"
        names = [el.get("name") for el in ET.fromstring(zf.read("stack.xml")).iter("layer")]
    assert names[-1] == "Sketch" and names[:-1] == list(reversed(summary["labels"]))

    svg = tmp_path / "out.svg"
    proc = run_cli("export", str(out), "--out", str(svg))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["written"] == str(svg)
    ET.parse(svg)


def test_cli_reports_bad_input_as_one_line(tmp_path, tiny_weights, sketch_file):
    proc = run_cli("apply", str(sketch_file), "-e", "zorp blah", "--weights", tiny_weights,
                   "--out", str(tmp_path / "x.png"))
    assert proc.returncode == 2 and "known to the model" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.png").exists()
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    proc = run_cli("apply", str(bad), "-e", "the sheep", "--weights", tiny_weights, "--out", str(tmp_path / "y.png"))
    assert proc.returncode == 2 and "bad.png" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("apply", str(sketch_file), "-e", "the sheep", "--weights", str(tmp_path / "missing.safetensors"),
                   "--out", str(tmp_path / "z.png"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
