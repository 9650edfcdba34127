"""Long work (export, save) off the UI thread, with progress and a way to cancel.

The work runs in a plain Python thread and only touches its own data (a snapshot of the document);
the UI thread polls it from a QTimer, so no Qt object crosses threads. ``run_with_progress`` keeps the
event loop turning (repaints, timers, model results) while the user waits behind a progress dialog.
"""
from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtWidgets import QProgressDialog, QWidget

POLL_MS = 25
SHOW_DIALOG_AFTER_MS = 300  # quick jobs finish without a dialog flashing up


class Cancelled(Exception):
    """Raised inside a job's progress() call once the user asked to stop."""


class BackgroundJob:
    """``work(progress)`` in a thread; ``progress(fraction)`` raises Cancelled after cancel()."""

    def __init__(self, work: Callable[[Callable[[float], None]], object], name: str = "sketchedit-job"):
        self._work = work
        self.fraction = 0.0
        self.result = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            self.result = self._work(self.progress)
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, which reports it
            self.error = exc
        finally:
            self._done.set()

    def progress(self, fraction: float) -> None:
        self.fraction = max(0.0, min(1.0, float(fraction)))
        if self._cancel.is_set():
            raise Cancelled()

    def start(self) -> "BackgroundJob":
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


def run_with_progress(parent: QWidget, label: str, work: Callable[[Callable[[float], None]], object]):
    """Run ``work(progress)`` in the background behind a window-modal progress dialog with a Cancel
    button, keeping the event loop turning; return its result or raise its error (Cancelled if the
    user cancelled)."""
    job = BackgroundJob(work).start()
    dialog = QProgressDialog(label, "Cancel", 0, 1000, parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(SHOW_DIALOG_AFTER_MS)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    dialog.canceled.connect(job.cancel)
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(POLL_MS)

    def poll() -> None:
        dialog.setValue(int(job.fraction * 1000))
        if job.done:
            loop.quit()

    timer.timeout.connect(poll)
    timer.start()
    if not job.done:
        loop.exec()
    timer.stop()
    dialog.canceled.disconnect(job.cancel)
    dialog.close()
    dialog.deleteLater()
    if job.error is not None:
        raise job.error
    return job.result
