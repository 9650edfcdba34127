"""Long work (export, save, autosave) off the UI thread, with progress and a way to cancel.

A job calls ``fn(*args, progress=report)``; ``report(fraction)`` raises Cancelled once the user
asked to stop. Two runners with one interface:

- ``ThreadJob``: a Python thread, for small documents (starts at once).
- ``ProcessJob``: a warm worker process, for large ones. numpy, PIL and psd-tools hold the GIL for
  tens or hundreds of milliseconds on big rasters, which would freeze the window however the work
  is threaded; a process shares no GIL. Its arguments are pickled by a feeder thread, not the UI.

The UI thread polls a job from a QTimer, so no Qt object crosses threads; ``run_and_wait`` keeps
the event loop turning (repaints, timers, edits, model results) until the job ends.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import multiprocessing
import os
import sys
import threading
from typing import Callable

# Total pixels (base + layers) above which a job runs in the worker process.
PROCESS_PIXELS = 2_000_000
POLL_MS = 25


# Background work yields the CPU to the window: on a busy machine the UI thread must win.
BACKGROUND_NICENESS = 10


def _lower_priority(thread_id: int = 0) -> None:
    """Nice the calling thread (Linux: a thread id) or process (0) so the UI thread keeps the CPU."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, thread_id, BACKGROUND_NICENESS)


class Cancelled(Exception):
    """Raised inside a job's progress report once the user asked to stop."""


class ThreadJob:
    """``fn(*args, progress=...)`` in a Python thread."""

    def __init__(self, fn: Callable, *args, name: str = "sketchedit-job"):
        self.fraction = 0.0
        self.result = None
        self.error: BaseException | None = None
        self._cancel = threading.Event()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(fn, args), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable, args: tuple) -> None:
        if hasattr(threading, "get_native_id") and sys.platform.startswith("linux"):
            _lower_priority(threading.get_native_id())
        try:
            self.result = fn(*args, progress=self._report)
        except BaseException as exc:  # noqa: BLE001 - handed to the UI thread, which reports it
            self.error = exc
        finally:
            self._done.set()

    def _report(self, fraction: float) -> None:
        self.fraction = max(0.0, min(1.0, float(fraction)))
        if self._cancel.is_set():
            raise Cancelled()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)


# ------------------------------------------------------------------------------ worker process
_child: dict = {}


def _exit_with_parent(parent_pid: int) -> None:
    """The worker must not outlive a window that was killed (kill -9 sends it no goodbye)."""
    import time

    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def _init_child(progress, running_id, cancel_id) -> None:
    _lower_priority()
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()
    _child.update(progress=progress, running_id=running_id, cancel_id=cancel_id)


def _run_in_child(job_id: int, fn: Callable, args: tuple):
    progress, running_id, cancel_id = _child["progress"], _child["running_id"], _child["cancel_id"]
    progress.value, running_id.value = 0.0, job_id

    def report(fraction: float) -> None:
        progress.value = max(0.0, min(1.0, float(fraction)))
        if cancel_id.value == job_id:
            raise Cancelled()

    report(0.0)
    return fn(*args, progress=report)


@contextlib.contextmanager
def _main_script_hidden():
    """A spawned child re-runs the parent's main script unless that script guards its code with
    ``if __name__ == "__main__"``; the worker needs nothing from it, so it is not told about it."""
    main = sys.modules["__main__"]
    saved = {name: main.__dict__[name] for name in ("__file__", "__spec__") if name in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


class _WorkerProcess:
    """One spawned process, reused by every ProcessJob (only the first pays its start-up)."""

    def __init__(self):
        ctx = multiprocessing.get_context("spawn")  # never fork a process that runs Qt threads
        self.progress = ctx.Value("d", 0.0, lock=False)
        self.running_id = ctx.Value("q", 0, lock=False)
        self.cancel_id = ctx.Value("q", 0, lock=False)
        self.prepared: concurrent.futures.Future | None = None
        self.executor = concurrent.futures.ProcessPoolExecutor(
            1, mp_context=ctx, initializer=_init_child, initargs=(self.progress, self.running_id, self.cancel_id))



def _prepare_child(progress=None) -> None:
    """The worker's first task: import the exporters now, at low priority, not during the first job."""
    import sketchedit.export  # noqa: F401


_worker: _WorkerProcess | None = None
_worker_lock = threading.Lock()
_job_ids = itertools.count(1)


def _worker_process() -> _WorkerProcess:
    """The worker, started (by a first no-op task) if it is not running yet."""
    global _worker
    with _worker_lock:
        if _worker is None:
            worker = _WorkerProcess()
            with _main_script_hidden():  # the first task starts the process now
                worker.prepared = worker.executor.submit(_run_in_child, 0, _prepare_child, ())
            _worker = worker
        return _worker


def worker_ready() -> bool:
    """Whether the worker process is up with the exporters imported (see warm_up)."""
    worker = _worker
    return worker is not None and worker.prepared.done()


def _forget_broken_worker() -> None:
    global _worker
    with _worker_lock:
        if _worker is not None:
            _worker.executor.shutdown(wait=False, cancel_futures=True)
        _worker = None


def warm_up() -> None:
    """Start the worker process in the background, so that the first large job does not wait for it."""
    threading.Thread(target=_worker_process, name="sketchedit-warm-up", daemon=True).start()


class ProcessJob:
    """``fn(*args, progress=...)`` in the worker process; ``fn`` and ``args`` must pickle. Starting
    the process and handing the work over happen in a helper thread: the UI never waits for them."""

    def __init__(self, fn: Callable, *args):
        self.id = next(_job_ids)
        self._worker: _WorkerProcess | None = None
        self._future: concurrent.futures.Future | None = None
        self._submit_error: BaseException | None = None
        self._cancel_requested = False
        self._submitted = threading.Event()
        threading.Thread(target=self._submit, args=(fn, args), name="sketchedit-submit", daemon=True).start()

    def _submit(self, fn: Callable, args: tuple) -> None:
        try:
            for attempt in range(2):
                self._worker = _worker_process()
                try:
                    self._future = self._worker.executor.submit(_run_in_child, self.id, fn, args)
                    break
                except concurrent.futures.BrokenExecutor:  # it died earlier (killed, out of memory)
                    _forget_broken_worker()
                    if attempt:
                        raise
            if self._cancel_requested:
                self.cancel()
        except BaseException as exc:  # noqa: BLE001 - reported through .error
            self._submit_error = exc
        finally:
            self._submitted.set()

    @property
    def fraction(self) -> float:
        worker = self._worker
        return worker.progress.value if worker is not None and worker.running_id.value == self.id else 0.0

    def cancel(self) -> None:
        self._cancel_requested = True
        if self._future is not None:
            self._worker.cancel_id.value = self.id
            self._future.cancel()  # if it has not started yet

    @property
    def done(self) -> bool:
        return self._submitted.is_set() and (self._future is None or self._future.done())

    def wait(self, timeout: float | None = None) -> bool:
        self._submitted.wait(timeout)
        if self._future is not None:
            concurrent.futures.wait([self._future], timeout)
        return self.done

    @property
    def result(self):
        return self._future.result() if self.done and self.error is None else None

    @property
    def error(self) -> BaseException | None:
        if not self.done:
            return None
        if self._submit_error is not None:
            return self._submit_error
        if self._future.cancelled():
            return Cancelled()
        error = self._future.exception()
        if isinstance(error, concurrent.futures.BrokenExecutor):
            _forget_broken_worker()
            return OSError("the export process stopped unexpectedly (out of memory?)")
        return error


def start_job(fn: Callable, *args, pixels: int = 0):
    """A ThreadJob, or a ProcessJob when the work covers more than PROCESS_PIXELS pixels."""
    return ProcessJob(fn, *args) if pixels > PROCESS_PIXELS else ThreadJob(fn, *args)


def run_and_wait(fn: Callable, *args, pixels: int = 0, on_start: Callable | None = None,
                 on_progress: Callable[[float], None] | None = None):
    """Run ``fn(*args, progress=...)`` in the background while the Qt event loop keeps turning;
    return its result or raise its error (Cancelled when it was cancelled). ``on_start(job)`` gets
    the job (to wire a Cancel button to job.cancel), ``on_progress(fraction)`` is called as it goes."""
    from PySide6.QtCore import QEventLoop, QTimer

    job = start_job(fn, *args, pixels=pixels)
    if on_start is not None:
        on_start(job)
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(POLL_MS)

    def poll() -> None:
        if on_progress is not None:
            on_progress(job.fraction)
        if job.done:
            loop.quit()

    timer.timeout.connect(poll)
    timer.start()
    if not job.done:
        loop.exec()
    timer.stop()
    if job.error is not None:
        raise job.error
    return job.result
