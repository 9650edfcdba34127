"""Long work never stalls the GUI: a 5 ms timer probe keeps ticking while exports and saves run,
progress shows in the status bar, Cancel leaves the old file as it was, and editing goes on."""
import os
import shutil
import time

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QMessageBox

from grmnet.results import ReferredInstance
from sketchedit import jobs
from sketchedit.document import SketchDocument
from sketchedit.mainwindow import MainWindow

STALL_LIMIT_MS = 50


class StallProbe:
    """Measures the longest gap between ticks of a 5 ms timer: how long the event loop stalled."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.longest_ms = 0.0
        self.ticks = 0
        self._last = None

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.longest_ms = max(self.longest_ms, (now - self._last) * 1000.0)
        self._last = now
        self.ticks += 1

    def __enter__(self) -> "StallProbe":
        self._last = time.perf_counter()
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()


def busy_document(width: int = 2400, height: int = 1800, layers: int = 8) -> SketchDocument:
    """A sketch with many strokes and several lifted, recoloured and filled layers."""
    rng = np.random.default_rng(0)
    base = np.full((height, width, 3), 255, np.uint8)
    for _ in range(400):
        pts = rng.integers(0, [width, height], size=(6, 2)).astype(np.int32)
        cv2.polylines(base, [pts], False, (0, 0, 0), int(rng.integers(1, 4)), cv2.LINE_AA)
    doc = SketchDocument(base)
    instances = []
    grey = base.min(axis=2)
    for n in range(layers):
        region = np.zeros((height, width), bool)
        x, y = (n % 4) * width // 4, (n // 4) * height // 2
        region[y:y + height // 2, x:x + width // 4] = True
        instances.append(ReferredInstance("cat", 0.9, (x, y, x + width // 4, y + height // 2), region & (grey < 128),
                                          region, n + 1, f"cat {n + 1}"))
    uids = doc.select_as_layers(instances)
    doc.recolor(uids[::2], (200, 30, 30))
    doc.fill(uids[1::2], (30, 30, 200), 0.4)
    doc.move(uids[:3], 15, -10)
    return doc


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Ok))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    w = MainWindow(settings=settings, recovery_dir=str(tmp_path / "recovery"), start_model=False)
    qtbot.addWidget(w)
    w.show()
    w.set_document(busy_document())  # a large sketch: it starts the worker process
    qtbot.waitUntil(jobs.worker_ready, timeout=30000)  # as it would be by the time a user exports
    return w


@pytest.mark.slow
def test_exports_and_saves_keep_the_event_loop_turning(window, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    stalls = {}
    for name in ("flat.png", "scene.ora", "scene.svg", "scene.psd", "layers.zip", "layers"):
        # A stall that our code causes happens every time; one the OS causes on a loaded machine
        # (other processes on few cores) does not: an export over the limit gets a second try.
        for attempt in range(2):
            if name == "layers":
                shutil.rmtree(out / name, ignore_errors=True)  # a folder export needs a new folder
            with StallProbe() as probe:
                started = time.perf_counter()
                assert window.export_to(str(out / name)), window.last_message
            stalls[name] = (round(probe.longest_ms, 1), round(time.perf_counter() - started, 2))
            if probe.longest_ms < STALL_LIMIT_MS:
                break
    for attempt in range(2):
        with StallProbe() as probe:
            assert window.save_to(str(out / "saved.ora"))
        stalls["save"] = (round(probe.longest_ms, 1), None)
        if probe.longest_ms < STALL_LIMIT_MS:
            break
    print("longest event-loop stall ms, export s:", stalls)
    assert all(ms < STALL_LIMIT_MS for ms, _ in stalls.values()), stalls
    assert os.path.isfile(out / "layers" / "manifest.json") and not window.isWindowModified()


def test_cancel_keeps_the_old_file_and_progress_shows(window, tmp_path, qtbot):
    target = tmp_path / "scene.psd"
    target.write_bytes(b"old")
    seen = []

    def press_cancel():
        if window.job_cancel.isVisible():
            seen.append((window.job_progress.isVisible(), window.last_message))
            window.job_cancel.click()
        else:
            QTimer.singleShot(20, press_cancel)

    QTimer.singleShot(20, press_cancel)
    assert not window.export_to(str(target))
    assert seen and seen[0][0] and "scene.psd" in seen[0][1]
    assert "cancelled" in window.last_message and target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".~")] == []
    assert not window.job_cancel.isVisible() and window.act_export.isEnabled()
    assert window.export_to(str(tmp_path / "after.png")), "the window works normally afterwards"


def test_editing_goes_on_while_a_save_runs(window, tmp_path, qtbot):
    """The save writes the sketch as it was; an edit made meanwhile stays unsaved."""
    def edit_when_running():
        if window._long_job_running:
            window.doc.paint_stroke([(5, 5, 1.0), (80, 5, 1.0)], 3)
        else:
            QTimer.singleShot(5, edit_when_running)

    QTimer.singleShot(5, edit_when_running)
    assert window.save_to(str(tmp_path / "saved.ora"))
    assert window.isWindowModified(), "the edit made during the save is not in the file"
    from sketchedit.ora import load_ora

    assert (load_ora(str(tmp_path / "saved.ora")).base[5, 20] > 200).all()
    assert (window.doc.base[5, 20] < 100).all()
