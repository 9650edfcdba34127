"""Autosave and crash recovery with real processes: a GUI killed with SIGKILL loses at most ~5 s of
edits and keeps its file path; two instances never offer or delete each other's live recovery."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from fakes import make_test_sketch
from sketchedit.mainwindow import MainWindow
from sketchedit.preferences import Preferences
from sketchedit.recovery import crashed_sessions

# A SketchEdit window in its own process (offscreen, no model) that edits its sketch on a timer:
# stroke n is a short horizontal line on row 10 + 3n, printed with its time once it is made.
GUI_SCRIPT = textwrap.dedent(r"""
    import os, sys, time
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication
    from sketchedit.mainwindow import MainWindow

    recovery_dir, settings_dir, sketch, edits, every_ms = sys.argv[1:6]
    app = QApplication([])
    window = MainWindow(settings=QSettings(os.path.join(settings_dir, "s.ini"), QSettings.Format.IniFormat),
                        recovery_dir=recovery_dir, start_model=False)
    window.show()
    assert window.open_path(sketch, confirm=False)
    done = 0

    def edit():
        global done
        y = 10 + 3 * done
        window.doc.paint_stroke([(5, y, 1.0), (60, y, 1.0)], 1)
        print("edit", done, time.time(), flush=True)
        done += 1
        if done < int(edits):
            QTimer.singleShot(int(every_ms), edit)

    QTimer.singleShot(300, edit)
    print("pid", os.getpid(), flush=True)
    app.exec()
""")


@pytest.fixture
def sketch_path(tmp_path):
    path = tmp_path / "scene.png"
    Image.fromarray(make_test_sketch()).save(path)
    return path


@pytest.fixture
def answers(monkeypatch):
    """Recovery questions answered Yes and recorded; unsaved work is discarded on close; any warning
    fails the test."""
    asked = []

    def question(parent, title, text, *args, **kwargs):
        if "unsaved changes" in text:
            return QMessageBox.StandardButton.Discard
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    def warning(parent, title, text, *args, **kwargs):
        raise AssertionError(f"unexpected warning: {text}")

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(warning))
    return asked


class Gui:
    """The GUI script in a subprocess; ``next_edit`` returns (n, time) as its edits happen."""

    started: list["Gui"] = []

    def __init__(self, tmp_path, recovery_dir, sketch, edits=1, every_ms=300):
        script = tmp_path / "gui.py"
        script.write_text(GUI_SCRIPT)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": os.getcwd()}
        self.proc = subprocess.Popen([sys.executable, str(script), str(recovery_dir), str(tmp_path), str(sketch),
                                      str(edits), str(every_ms)], stdout=subprocess.PIPE, text=True, env=env)
        Gui.started.append(self)

    def next_edit(self) -> tuple[int, float]:
        while True:
            line = self.proc.stdout.readline()
            assert line, "the GUI process ended early"
            if line.startswith("edit"):
                _, n, when = line.split()
                return int(n), float(when)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc.stdout.close()


@pytest.fixture(autouse=True)
def no_gui_left_behind():
    """A failing test must not leave its GUI process running."""
    yield
    while Gui.started:
        Gui.started.pop().kill()


def new_window(qtbot, tmp_path, recovery_dir) -> MainWindow:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, recovery_dir=str(recovery_dir), start_model=False)
    qtbot.addWidget(window)
    return window


def strokes_in(doc) -> list[int]:
    """Which of the GUI script's strokes the document has (dark pixels on their rows)."""
    rows = [10 + 3 * n for n in range(40)]
    return [n for n, y in enumerate(rows) if y < doc.height and (doc.base[y, 20:50] < 128).all()]


def wait_for(condition, timeout=20.0):
    end = time.time() + timeout
    while not condition():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


def test_kill_9_after_steady_editing_loses_at_most_5_seconds(qtbot, tmp_path, sketch_path, answers):
    recovery = tmp_path / "recovery"
    gui = Gui(tmp_path, recovery, sketch_path, edits=30, every_ms=300)
    times = {}
    for _ in range(24):  # about 7 s of steady editing (the autosave never sees 2 quiet seconds)
        n, when = gui.next_edit()
        times[n] = when
    killed_at = time.time()
    gui.kill()
    window = new_window(qtbot, tmp_path, recovery)
    assert window.offer_recovery() and "scene.png" in answers[-1]
    found = strokes_in(window.doc)
    assert found == list(range(len(found))), "edits come back in order, none missing"
    lost_seconds = killed_at - (times[found[-1] + 1] if found[-1] + 1 in times else killed_at)
    print(f"kill -9 after steady editing: {len(found)} of {len(times)} edits recovered, "
          f"{lost_seconds:.1f} s of edits lost")
    assert lost_seconds <= 5.0, f"the last {lost_seconds:.1f} s of edits were lost"
    assert window.doc.path == str(sketch_path), "the source path is kept"
    assert window.isWindowModified() and window.doc.width == 320


def test_kill_9_a_few_seconds_after_one_edit_recovers_it(qtbot, tmp_path, sketch_path, answers):
    recovery = tmp_path / "recovery"
    gui = Gui(tmp_path, recovery, sketch_path, edits=1)
    _, edited_at = gui.next_edit()
    time.sleep(max(0.0, edited_at + 4.5 - time.time()))
    gui.kill()
    window = new_window(qtbot, tmp_path, recovery)
    assert window.offer_recovery()
    assert strokes_in(window.doc) == [0] and window.doc.path == str(sketch_path)
    assert not crashed_sessions(str(recovery)), "the dead window's files went once recovered"
    window.doc.undo_stack.setClean()
    window.close()
    assert os.listdir(recovery) == [], "a clean close leaves nothing behind"


def test_two_instances_never_touch_each_others_recovery(qtbot, tmp_path, sketch_path, answers):
    recovery = tmp_path / "recovery"
    gui = Gui(tmp_path, recovery, sketch_path, edits=1)
    gui.next_edit()
    # the document is written first, then its info: wait for both (reading between the two raced once)
    wait_for(lambda: recovery.is_dir() and any((d / "document.ora").is_file() and (d / "info.json").is_file()
                                               for d in recovery.iterdir()))
    (theirs,) = os.listdir(recovery)
    info = json.loads((recovery / theirs / "info.json").read_text())
    assert info["path"] == str(sketch_path) and info["pid"] == gui.proc.pid and info["undo_steps"] == ["Draw"]

    second = new_window(qtbot, tmp_path, recovery)
    assert not second.offer_recovery() and answers == [], "a live instance's autosave is not a crash"
    second.open_path(str(sketch_path), confirm=False)
    second.doc.paint_stroke([(5, 150, 1.0), (60, 150, 1.0)], 1)
    assert second.autosave_now()
    assert len(os.listdir(recovery)) == 2
    second.doc.undo_stack.setClean()
    second.close()
    assert os.listdir(recovery) == [theirs], "closing one instance removes only its own recovery"

    gui.kill()
    third = new_window(qtbot, tmp_path, recovery)
    assert third.offer_recovery() and strokes_in(third.doc) == [0]


def test_autosave_is_debounced_and_written_off_the_ui_thread(qtbot, tmp_path, sketch_path, answers):
    window = new_window(qtbot, tmp_path, tmp_path / "recovery")
    window.prefs = Preferences(autosave_seconds=1)
    window.open_path(str(sketch_path), confirm=False)
    window.doc.paint_stroke([(5, 10, 1.0), (60, 10, 1.0)], 1)
    assert not os.path.exists(window.recovery_path), "not at once: a few quiet seconds first"
    qtbot.waitUntil(lambda: os.path.exists(window.recovery_path), timeout=5000)
    qtbot.waitUntil(lambda: window._autosave_job is None, timeout=5000)
    assert not window.autosave_now(), "the background write counted"
    window.doc.undo_stack.undo()  # back to the file as opened: nothing to recover
    qtbot.waitUntil(lambda: not os.path.exists(window.recovery_path), timeout=5000)
    assert np.array_equal(window.doc.base, np.asarray(Image.open(sketch_path).convert("RGB")))
