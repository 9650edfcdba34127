"""Render a screenshot of the real window after a query (offscreen), for the docs.

    python -m sketchedit.screenshot --out docs/screenshot.png \
        [--image resources/examples/scene_1.png] [--expression "the two cats"] [--weights W]

Uses the shipped (or given) weights through the app's own worker: the picture is a model result.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile


def wait_until(condition, timeout_s: float) -> None:
    """Run the Qt event loop until condition() holds or timeout_s passes."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: condition() and loop.quit())
    poll.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    if not condition():
        loop.exec()
    poll.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--image", default=None, help="default: the first example sketch")
    parser.add_argument("--expression", default="the two cats")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--recolor", default=None, help="recolour the selected instances, e.g. '#e6194b'")
    parser.add_argument("--size", default="1280x820")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from sketchedit.app import first_example
    from sketchedit.mainwindow import MainWindow
    from sketchedit.worker import load_engine

    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
        if args.weights:
            settings.setValue("model/weights", args.weights)
        settings.setValue("model/device", "cpu")
        window = MainWindow(settings=settings, engine_factory=load_engine, recovery_dir=os.path.join(tmp, "rec"))
        w, h = (int(v) for v in args.size.split("x"))
        window.resize(w, h)
        window.show()
        # wait in a real event loop: spinning processEvents() while the worker thread runs torch has
        # aborted the interpreter ("deallocating None") with PySide6
        wait_until(lambda: not window.client.loading, 120)
        if window.client.info is None:
            print(f"the model is not available: {window.last_message}", file=sys.stderr)
            return 2
        image = args.image or str(first_example())
        if not window.open_path(image, confirm=False):
            return 2
        window.query_bar.edit.setText(args.expression)
        window.query_bar.edit.add_history(args.expression)
        window.run_query(args.expression)
        wait_until(lambda: not window.client.busy, 120)
        if args.recolor and window.doc.selected:
            from sketchedit.cli import parse_color

            window.doc.recolor(window.doc.selected, parse_color(args.recolor))
        message = window.last_message
        window.statusBar().showMessage(message)
        window.canvas.fit()
        wait_until(lambda: False, 0.3)
        window.grab().save(args.out)
        print(message)
        window.doc.undo_stack.setClean()
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
