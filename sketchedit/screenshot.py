"""Render a screenshot of the real window after a query (offscreen), for the docs.

    python -m sketchedit.screenshot --out docs/screenshot.png \
        [--image resources/examples/scene_1.png] [--expression "the two cats"] [--weights W]

Uses the shipped (or given) weights. Until trained weights exist, ``--boxes`` stands in for
the model: "cat:75,515,90,115;cat:462,522,95,110" selects the ink inside those boxes as the
instances, through the same worker and result path as the model. The status bar then says
"(boxes stand in for the model)" so the picture is never mistaken for a model result.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time


class BoxPredictor:
    """Predictor interface; instances are the ink inside given boxes (screenshots only)."""

    def __init__(self, boxes: list[tuple[str, tuple[int, int, int, int]]], vocabulary):
        self.boxes = boxes
        self.vocabulary = frozenset(vocabulary)
        self.device = "boxes stand in for the model"

    def unknown_words(self, expression: str) -> list[str]:
        return [w for w in expression.lower().split() if w not in self.vocabulary]

    def predict(self, image, expressions, threshold=None) -> dict:
        import numpy as np

        from sketchedit.testing import rle_of

        image = np.asarray(image)
        H, W = image.shape[:2]
        ink = image[..., :3].mean(axis=2) < 128
        instances, counts = [], {}
        for category, (x, y, w, h) in self.boxes:
            region = np.zeros((H, W), bool)
            region[y:y + h, x:x + w] = True
            counts[category] = counts.get(category, 0) + 1
            instances.append({"label": f"{category} {counts[category]}", "category": category,
                              "index": counts[category], "score": 1.0, "bbox": [x, y, w, h],
                              "ink_mask_rle": rle_of(region & ink), "region_mask_rle": rle_of(region)})
        return {"image": "<array>", "width": W, "height": H,
                "results": [{"expression": e, "unknown_words": [], "latency_ms": 0.0, "instances": instances}
                            for e in expressions]}


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


def parse_boxes(text: str) -> list[tuple[str, tuple[int, int, int, int]]]:
    out = []
    for part in filter(None, text.split(";")):
        category, numbers = part.split(":")
        x, y, w, h = (int(v) for v in numbers.split(","))
        out.append((category.strip(), (x, y, w, h)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--image", default=None, help="default: the first example sketch")
    parser.add_argument("--expression", default="the two cats")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--boxes", default=None, help="stand-in for the model: 'cat:x,y,w,h;cat:x,y,w,h'")
    parser.add_argument("--recolor", default=None, help="recolour the selected instances, e.g. '#e6194b'")
    parser.add_argument("--size", default="1280x820")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from sketchedit.app import first_example
    from sketchedit.mainwindow import MainWindow
    from sketchedit.worker import load_predictor

    app = QApplication.instance() or QApplication(sys.argv[:1])
    factory = load_predictor
    if args.boxes:
        from grmnet.testing import tiny_vocabulary

        vocab = tiny_vocabulary().known_words
        factory = lambda *a: BoxPredictor(parse_boxes(args.boxes), vocab)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        settings = QSettings(os.path.join(tmp, "settings.ini"), QSettings.Format.IniFormat)
        if args.weights:
            settings.setValue("model/weights", args.weights)
        settings.setValue("model/device", "cpu")
        window = MainWindow(settings=settings, predictor_factory=factory, recovery_dir=os.path.join(tmp, "rec"))
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
        message = window.last_message + (" (boxes stand in for the model)" if args.boxes else "")
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
