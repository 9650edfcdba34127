"""Crash recovery files: one folder per window and process, locked while that window lives.

    <recovery dir>/<pid>-<random>/lock            held (flock) for the window's lifetime
                                  document.ora    the document as autosaved (layers, colours, offsets)
                                  info.json       its source path, time, process id, undo steps

A folder whose lock nobody holds belongs to a window that died (kill -9, power cut): it is offered
after a restart. A live window's folder is never offered, read or deleted by another window or
process: the lock says it is alive, even when several instances run at once. No Qt here.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass, field

from grmnet.files import atomic_write_text
from sketchedit.atomic import atomic_path

DOCUMENT_NAME = "document.ora"
INFO_NAME = "info.json"
LOCK_NAME = "lock"

try:  # POSIX
    import fcntl

    def _lock_fd(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
except ImportError:  # Windows: a byte-range lock does the same job
    import msvcrt

    def _lock_fd(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True


def try_lock(path: str, create: bool = False) -> int | None:
    """An open descriptor holding the lock of ``path``, or None when someone else holds it (or it is
    missing and ``create`` is False). Each open() is its own lock, even within one process."""
    try:
        fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o600)
    except OSError:
        return None
    if _lock_fd(fd):
        return fd
    os.close(fd)
    return None


def _release(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)  # closing drops the lock


def _remove_folder(folder: str) -> None:
    """Remove a session folder, the lock file last (a scanner then never sees a document unlocked)."""
    for name in (DOCUMENT_NAME, INFO_NAME):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(folder, name))
    shutil.rmtree(folder, ignore_errors=True)


class RecoverySession:
    """This window's recovery folder. Created (and locked) on the first write; removed by discard()."""

    def __init__(self, root: str):
        self.root = root
        self.folder = os.path.join(root, f"{os.getpid()}-{secrets.token_hex(4)}")
        self._lock_fd: int | None = None

    @property
    def document_path(self) -> str:
        return os.path.join(self.folder, DOCUMENT_NAME)

    @property
    def info_path(self) -> str:
        return os.path.join(self.folder, INFO_NAME)

    @property
    def exists(self) -> bool:
        return os.path.exists(self.document_path)

    def _ensure_locked(self) -> None:
        if self._lock_fd is None:
            os.makedirs(self.folder, mode=0o700, exist_ok=True)  # recovery files are private
            self._lock_fd = try_lock(os.path.join(self.folder, LOCK_NAME), create=True)
            if self._lock_fd is None:
                raise OSError(f"cannot lock the recovery folder {self.folder}")

    def prepare(self) -> str:
        """Create and lock the folder (in this process, which keeps the lock); returns it."""
        self._ensure_locked()
        return self.folder

    def write(self, doc, info: dict) -> None:
        """Autosave ``doc`` (a document or a snapshot of one) and its info, each file atomically."""
        write_recovery_files(self.prepare(), doc, info, os.getpid())

    def discard(self) -> None:
        """Remove the recovery files (the work is saved or was discarded by the user)."""
        if self._lock_fd is not None or os.path.isdir(self.folder):
            _remove_folder(self.folder)
        _release(self._lock_fd)
        self._lock_fd = None

    def abandon(self) -> None:
        """Let go of the lock but keep the files, as a crash would (tests simulate crashes with it)."""
        _release(self._lock_fd)
        self._lock_fd = None


def write_recovery_files(folder: str, doc, info: dict, owner_pid: int, progress=None) -> None:
    """Write a session's document and info (atomically, each); may run in a worker process, so the
    window's process id comes as ``owner_pid``."""
    from sketchedit.ora import save_ora

    with atomic_path(os.path.join(folder, DOCUMENT_NAME), suffix=".ora") as tmp:
        save_ora(doc, tmp, progress)
    atomic_write_text(os.path.join(folder, INFO_NAME), json.dumps({**info, "pid": owner_pid, "time": time.time()}))


@dataclass
class CrashedSession:
    """A dead window's recovery folder, locked by us while we decide what to do with it."""

    folder: str
    lock_fd: int | None
    info: dict = field(default_factory=dict)

    @property
    def document_path(self) -> str:
        return os.path.join(self.folder, DOCUMENT_NAME)

    @property
    def saved_at(self) -> float:
        when = self.info.get("time")
        if isinstance(when, (int, float)):
            return float(when)
        try:
            return os.path.getmtime(self.document_path)
        except OSError:
            return 0.0

    @property
    def source_path(self) -> str | None:
        path = self.info.get("path")
        return path if isinstance(path, str) and path else None

    def discard(self) -> None:
        _remove_folder(self.folder)
        self.release()

    def release(self) -> None:
        _release(self.lock_fd)
        self.lock_fd = None


def _read_info(folder: str) -> dict:
    try:
        with open(os.path.join(folder, INFO_NAME), encoding="utf-8") as fh:
            info = json.load(fh)
    except (OSError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}


def crashed_sessions(root: str) -> list[CrashedSession]:
    """Recovery folders in ``root`` that no live window holds, newest first, each locked by us
    (release() or discard() them). Live windows' folders are skipped, never touched."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    found = []
    for name in names:
        folder = os.path.join(root, name)
        if not os.path.isfile(os.path.join(folder, DOCUMENT_NAME)):
            continue  # nothing to recover (or a window that has not autosaved yet)
        fd = try_lock(os.path.join(folder, LOCK_NAME), create=True)  # a lost lock file: nobody holds it
        if fd is None:
            continue  # alive: its own window holds the lock
        if not os.path.isfile(os.path.join(folder, DOCUMENT_NAME)):
            _release(fd)  # it was being discarded just now
            continue
        found.append(CrashedSession(folder, fd, _read_info(folder)))
    found.sort(key=lambda s: s.saved_at, reverse=True)
    return found
