"""Longest event-loop stall of the real window (offscreen, shipped model) while queries and a whole-sketch split
run: a 5 ms timer keeps ticking and the longest gap between ticks is reported, per kind of work.

usage: python tools/probe_gui_stalls.py [--image resources/examples/scene_1.png] [--repeats 5]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

QUERIES = ["the two cats", "grab the 2 kitties", "all the trees", "the car on the left", "the tallest tree"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default="resources/examples/scene_1.png")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    from PySide6.QtCore import QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from sketchedit.mainwindow import MainWindow
    from sketchedit.screenshot import wait_until

    app = QApplication.instance() or QApplication(sys.argv[:1])  # noqa: F841
    longest = {"query": 0.0, "split": 0.0}
    state = {"last": None, "kind": None}

    def tick() -> None:
        now = time.perf_counter()
        if state["kind"] and state["last"] is not None:
            longest[state["kind"]] = max(longest[state["kind"]], (now - state["last"]) * 1e3)
        state["last"] = now
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(5)
    timer.timeout.connect(tick)
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat)
        settings.setValue("model/device", "cpu")
        window = MainWindow(settings=settings, recovery_dir=os.path.join(tmp, "rec"))
        window.show()
        wait_until(lambda: not window.client.loading, 120)
        if window.client.info is None or not window.open_path(a.image, confirm=False):
            print("model or image not available", file=sys.stderr)
            return 2
        timer.start()
        for r in range(a.repeats):
            for q in QUERIES:
                state["kind"], state["last"] = "query", time.perf_counter()
                window.run_query(q)
                wait_until(lambda: not window.client.busy, 60)
                state["kind"] = None
            window.doc.undo_stack.setIndex(0)       # back to the bare sketch for the next round
        split = getattr(window, "split_into_layers", None)
        for r in range(a.repeats if split else 0):
            state["kind"], state["last"] = "split", time.perf_counter()
            split()
            wait_until(lambda: not window.client.busy, 60)
            state["kind"] = None
            window.doc.undo_stack.setIndex(0)
        timer.stop()
        window.doc.undo_stack.setClean()
        window.close()
    print(json.dumps({"longest_stall_ms": {k: round(v, 1) for k, v in longest.items()}, "repeats": a.repeats}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
