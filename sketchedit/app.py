"""Starting the desktop app: `python main.py [FILE]`."""
from __future__ import annotations

import sys
from pathlib import Path

from sketchedit.images import IMAGE_SUFFIXES

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "resources" / "examples"


def first_example(folder: Path = EXAMPLES_DIR) -> Path | None:
    """The first example sketch shipped with the app, or None when there is none yet."""
    if not folder.is_dir():
        return None
    candidates = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES + (".ora",))
    return candidates[0] if candidates else None


def create_window(path: str | None = None, **window_kwargs):
    """The main window with ``path`` open, else the autosaved sketch after a crash, else the
    first example, else an empty canvas. Needs a QApplication."""
    from sketchedit.mainwindow import MainWindow

    window = MainWindow(**window_kwargs)
    window.show()
    if window.offer_recovery():
        return window
    if path:
        window.open_path(path, confirm=False)
        return window
    example = first_example()
    if example is not None and window.open_path(str(example), confirm=False) and example.suffix.lower() == ".ora":
        window.doc.path = None  # Save must not overwrite the shipped example
        window._update_title()
    return window


def run(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    from grmnet.runtime import prefer_passive_waits
    prefer_passive_waits()          # the model shares the machine with the user's other programs
    from PySide6.QtWidgets import QApplication

    from sketchedit.mainwindow import APP_NAME

    app = QApplication.instance() or QApplication(argv)
    app.setOrganizationName("SketchEdit")
    app.setApplicationName(APP_NAME)
    window = create_window(argv[1] if len(argv) > 1 else None)
    previous_hook = sys.excepthook

    def excepthook(exc_type, exc, tb):
        previous_hook(exc_type, exc, tb)  # keep the traceback on stderr for bug reports
        window.report_crash(exc_type, exc, tb)

    sys.excepthook = excepthook
    return app.exec()
