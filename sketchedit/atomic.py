"""Atomic writes: a file (or folder) either appears complete or the old one stays.

Everything is written to a temporary sibling first, flushed, then moved over the target
with os.replace, so a crash, a full disk or a permission error never leaves half a file.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from typing import Iterator


class ExportError(OSError):
    """A write failed; the message says which file and why, in words a user can act on."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.errno = code


def _describe(exc: OSError, target: str) -> str:
    import errno

    reason = {
        errno.EACCES: "permission denied (is the folder read-only?)",
        errno.EPERM: "permission denied (is the folder read-only?)",
        errno.ENOSPC: "the disk is full",
        errno.EROFS: "the disk is read-only",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.ENOENT: "the folder does not exist",
    }.get(exc.errno or -1, exc.strerror or str(exc))
    return f"Could not write {target}: {reason}"


@contextlib.contextmanager
def _as_export_error(target: str) -> Iterator[None]:
    """An OSError inside becomes an ExportError that names the target and says why (ExportErrors pass)."""
    try:
        yield
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(_describe(exc, target), exc.errno) from exc


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary file path next to ``target``; on success move it into place."""
    target = os.fspath(target)
    folder = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        with _as_export_error(target):
            fd, tmp = tempfile.mkstemp(prefix=".~" + os.path.basename(target) + ".", suffix=suffix, dir=folder)
            os.close(fd)
            yield tmp
            with open(tmp, "rb+") as fh:  # make sure the bytes are on disk before the rename
                os.fsync(fh.fileno())
            os.replace(tmp, target)
            tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            with contextlib.suppress(OSError):
                os.remove(tmp)


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike) -> Iterator[str]:
    """Yield a temporary folder next to ``target``; on success it replaces ``target``."""
    target = os.fspath(target).rstrip(os.sep) or os.sep
    parent = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        with _as_export_error(target):
            tmp = tempfile.mkdtemp(prefix=".~" + os.path.basename(target) + ".", dir=parent)
            yield tmp
            old = None
            if os.path.exists(target):
                old = target + ".~old"
                if os.path.exists(old):
                    shutil.rmtree(old, ignore_errors=True)
                os.replace(target, old)
            os.replace(tmp, target)
            tmp = None
            if old:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp is not None and os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
