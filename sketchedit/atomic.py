"""Atomic writes for the app, on top of grmnet.files: a file (or folder) either appears complete
or the old one stays, and only the path the user named is ever replaced.

This module adds the app's user-facing error: every failure becomes an ExportError whose message
says which file and why, in words a user can act on.
"""
from __future__ import annotations

import contextlib
import errno
import os
from typing import Iterator

from grmnet.files import OutputPathError, check_output_file, check_output_folder, temp_file_for, temp_folder_for


class ExportError(OSError):
    """A write failed; the message says which file and why, in words a user can act on."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.errno = code


def _describe(exc: OSError, target: str) -> str:
    reason = {
        errno.EACCES: "permission denied (is the folder read-only?)",
        errno.EPERM: "permission denied (is the folder read-only?)",
        errno.ENOSPC: "the disk is full",
        getattr(errno, "EDQUOT", -2): "the disk quota is used up",
        errno.EROFS: "the disk is read-only",
        errno.ENOTDIR: "a part of the path is a file, not a folder",
        errno.ENOENT: "the folder does not exist",
        errno.ENAMETOOLONG: "the file name is too long",
        errno.ENOTEMPTY: "the folder is not empty",
        errno.EISDIR: "it is a folder",
    }.get(exc.errno or -1, exc.strerror or str(exc))
    return f"Could not write {target}: {reason}"


@contextlib.contextmanager
def _as_export_error(target: str) -> Iterator[None]:
    """An OSError or a refused path inside becomes an ExportError naming the target (ExportErrors pass)."""
    try:
        yield
    except ExportError:
        raise
    except OutputPathError as exc:
        raise ExportError(str(exc)) from None
    except OSError as exc:
        raise ExportError(_describe(exc, target), exc.errno) from exc


def check_file_target(target: str | os.PathLike) -> None:
    """Raise ExportError unless ``target`` can be written as a file (checked before any work)."""
    with _as_export_error(os.fspath(target)):
        check_output_file(target)


def check_folder_target(target: str | os.PathLike) -> None:
    """Raise ExportError unless ``target`` is a new name or an empty folder."""
    with _as_export_error(os.fspath(target)):
        check_output_folder(target)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary file path next to ``target``; on success it replaces ``target``."""
    with _as_export_error(os.fspath(target)), temp_file_for(target, suffix) as tmp:
        yield tmp


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike) -> Iterator[str]:
    """Yield a fresh temporary folder next to ``target`` (a new name or an empty folder); on
    success it becomes ``target``. A non-empty folder is refused, never emptied."""
    with _as_export_error(os.fspath(target)), temp_folder_for(target) as tmp:
        yield tmp
