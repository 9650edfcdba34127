"""Writing output files and folders safely: complete or not at all, and nothing else touched.

    atomic_write(path, write_fn)      write_fn(tmp_path) writes the whole file; it then replaces ``path``
    atomic_folder(path, fill_fn)      fill_fn(tmp_dir) fills a fresh folder; it then becomes ``path``

Both write to a temporary sibling (``.~NAME.<host>-<pid>-<random>.tmp``), fsync it and move it into
place with os.replace, so a crash, a kill -9, a full disk or an exception never leaves half a file; the
temporary is removed on any failure, and ones left by killed runs (their process is gone) are removed
by the next run's first write into the same folder.

What the user named is the only thing replaced: an existing output file must be a regular file (never
a folder, a device or a pipe), a folder output must be new or an empty folder (a non-empty one is
refused, never emptied or renamed aside). New files get the permissions of any file the process
creates (the umask); a replaced file keeps its mode. A symlink is written through (the link stays).

No Qt, no torch: the model package and the app share it.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import socket
import stat
import threading
import time
import zlib
from typing import Callable, Iterator

from grmnet.errors import GRMNetError

# A temporary this old is stale even when its process id looks alive (the id may have been reused).
STALE_AFTER_S = 24 * 3600
# Temporary names keep the target's name readable but short enough for any file system's name limit.
_NAME_KEEP = 80
_TEMP_RE = re.compile(r"^\.~.*\.(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[0-9a-f]{8}\.tmp(\.[A-Za-z0-9]{1,8})?$")


class OutputPathError(GRMNetError):
    """An output path cannot be used (missing folder, a folder where a file belongs, a device...)."""


# ------------------------------------------------------------------------------------------- checks
def _existing_ancestor(folder: str) -> str:
    while not os.path.lexists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def _check_parent(folder: str, shown: str) -> None:
    """The folder an output goes into must exist, be a folder and be writable."""
    if os.path.isdir(folder):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise OutputPathError(f"Could not write {shown}: permission denied (is the folder {folder} read-only?)")
        return
    ancestor = _existing_ancestor(folder)
    if os.path.lexists(ancestor) and not os.path.isdir(ancestor):
        raise OutputPathError(f"Could not write {shown}: {ancestor} is a file, not a folder")
    raise OutputPathError(f"Could not write {shown}: the folder {folder} does not exist")


def _resolved(path: str | os.PathLike) -> str:
    """The path to write: a symlink is followed so that the link itself stays."""
    path = os.fspath(path)
    if not path or not path.strip():
        raise OutputPathError("No output path given")
    if "\0" in path:
        raise OutputPathError(f"{path!r} is not a valid file name")
    return os.path.realpath(path) if os.path.islink(path) else os.path.abspath(path)


def _kind_of_existing(path: str) -> str:
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_output_file(path: str | os.PathLike) -> str:
    """Raise OutputPathError unless ``path`` can become a file (new, or an existing regular file).
    Returns the absolute path that will be written (symlinks followed)."""
    shown = os.fspath(path)
    target = _resolved(path)
    _check_parent(os.path.dirname(target), shown)
    if os.path.lexists(target):
        kind = _kind_of_existing(target)
        if kind != "a file":
            raise OutputPathError(f"Will not write {shown}: it is {kind}, not a file (nothing was changed)")
    return target


def check_output_folder(path: str | os.PathLike) -> str:
    """Raise OutputPathError unless ``path`` can become a folder of outputs: a new name or an empty
    folder. Returns the absolute path that will be written (symlinks followed)."""
    shown = os.fspath(path)
    target = _resolved(os.fspath(path).rstrip("/\\") or os.fspath(path))
    _check_parent(os.path.dirname(target), shown)
    if os.path.lexists(target):
        kind = _kind_of_existing(target)
        if kind != "a folder":
            raise OutputPathError(f"Will not write the folder {shown}: it is {kind} (nothing was changed)")
        if os.listdir(target):
            raise OutputPathError(f"Will not write into {shown}: the folder is not empty "
                                  "(choose a new folder name; nothing was changed)")
    return target


# ------------------------------------------------------------------------------------- temporaries
def _host_tag() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def temp_name(target: str, suffix: str = "") -> str:
    """A hidden, unique sibling name for ``target`` that says which host and process made it."""
    name = os.path.basename(target)[:_NAME_KEEP]
    return f".~{name}.{_host_tag()}-{os.getpid()}-{secrets.token_hex(4)}.tmp{suffix}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return True  # no cheap, safe check: only age makes it stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def is_stale_temp(folder: str, name: str, now: float | None = None) -> bool:
    """Whether ``name`` in ``folder`` is a temporary of ours whose writer is gone."""
    match = _TEMP_RE.match(name)
    if not match:
        return False
    try:
        age = (now or time.time()) - os.lstat(os.path.join(folder, name)).st_mtime
    except OSError:
        return False
    if age > STALE_AFTER_S:
        return True
    return match["host"] == _host_tag() and not _pid_alive(int(match["pid"]))


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.remove(path)


def clean_stale_temps(folder: str | os.PathLike) -> int:
    """Remove the temporaries that killed runs left in ``folder``. Returns how many went."""
    folder = os.fspath(folder)
    try:
        names = [n for n in os.listdir(folder) if n.startswith(".~")]
    except OSError:
        return 0
    now = time.time()
    stale = [n for n in names if is_stale_temp(folder, n, now)]
    for name in stale:
        _remove(os.path.join(folder, name))
    return len(stale)


_cleaned_folders: set[str] = set()
_cleaned_lock = threading.Lock()


def _clean_once(folder: str) -> None:
    """Clean a folder's stale temporaries on this process's first write there: a dataset writer
    puts thousands of files in one folder and must not list it for each one."""
    with _cleaned_lock:
        if folder in _cleaned_folders:
            return
        _cleaned_folders.add(folder)
    clean_stale_temps(folder)


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: str) -> None:
    """Make a rename durable (POSIX only; other systems cannot open folders)."""
    if os.name == "posix":
        with contextlib.suppress(OSError):
            _fsync_path(folder)


def _new_temp_file(target: str, suffix: str) -> tuple[str, int]:
    """Create an empty temporary sibling with the umask's mode; returns (path, that mode)."""
    folder = os.path.dirname(target)
    for _ in range(100):
        tmp = os.path.join(folder, temp_name(target, suffix))
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any file
        except FileExistsError:
            continue
        try:
            return tmp, stat.S_IMODE(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
    raise FileExistsError(errno.EEXIST, "could not create a temporary file", folder)


def _take_over_owner_and_mode(tmp: str, target: str, default_mode: int) -> None:
    """The new file gets the replaced file's mode (and owner, where allowed), else the umask's mode."""
    try:
        old = os.stat(target)
    except FileNotFoundError:
        os.chmod(tmp, default_mode)
        return
    os.chmod(tmp, stat.S_IMODE(old.st_mode))
    if hasattr(os, "chown"):
        with contextlib.suppress(OSError):
            new = os.stat(tmp)
            if (new.st_uid, new.st_gid) != (old.st_uid, old.st_gid):
                os.chown(tmp, old.st_uid, old.st_gid)


@contextlib.contextmanager
def temp_file_for(path: str | os.PathLike, suffix: str = "", durable: bool = True) -> Iterator[str]:
    """Yield a temporary file path next to ``path``; when the block ends normally the file is
    synced and moved onto ``path``. On any exception (or KeyboardInterrupt) it is removed.
    ``durable=False`` skips the fsyncs (bulk writers: still complete-or-absent, but a power cut may
    lose the newest files)."""
    target = check_output_file(path)
    _clean_once(os.path.dirname(target))
    tmp, default_mode = _new_temp_file(target, suffix)
    try:
        yield tmp
        if durable:
            _fsync_path(tmp)  # the bytes are on disk before the name points at them
        _take_over_owner_and_mode(tmp, target, default_mode)
        os.replace(tmp, target)
        tmp = None
        if durable:
            _fsync_folder(os.path.dirname(target))
    finally:
        if tmp is not None:
            _remove(tmp)


def _fsync_tree(folder: str) -> None:
    for root, _dirs, files in os.walk(folder):
        for name in files:
            _fsync_path(os.path.join(root, name))
        _fsync_folder(root)


def _new_temp_folder(target: str) -> str:
    parent = os.path.dirname(target)
    for _ in range(100):
        tmp = os.path.join(parent, temp_name(target))
        try:
            os.mkdir(tmp, 0o777)  # the umask applies, as for any folder
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "could not create a temporary folder", parent)


def _move_folder_into_place(tmp: str, target: str) -> None:
    """rename() replaces an empty folder atomically on POSIX; a folder that filled up meanwhile
    makes it fail (ENOTEMPTY) and nothing is lost."""
    if os.path.isdir(target):
        os.chmod(tmp, stat.S_IMODE(os.stat(target).st_mode))
        if os.name != "posix":  # Windows cannot rename over a folder: drop the (empty) one first
            os.rmdir(target)
    os.replace(tmp, target)


@contextlib.contextmanager
def temp_folder_for(path: str | os.PathLike) -> Iterator[str]:
    """Yield a fresh temporary folder next to ``path``; when the block ends normally it becomes
    ``path`` (which must be new or an empty folder). On any exception it is removed."""
    target = check_output_folder(path)
    _clean_once(os.path.dirname(target))
    tmp = _new_temp_folder(target)
    try:
        yield tmp
        _fsync_tree(tmp)
        check_output_folder(path)  # still new or empty: never replace what appeared meanwhile
        _move_folder_into_place(tmp, target)
        tmp = None
        _fsync_folder(os.path.dirname(target))
    finally:
        if tmp is not None:
            _remove(tmp)


# ------------------------------------------------------------------------------------ one-call API
def atomic_write(path: str | os.PathLike, write_fn: Callable[[str], object], suffix: str = "",
                 durable: bool = True) -> str:
    """Call ``write_fn(tmp_path)`` to write the whole file, then put it at ``path`` atomically.
    ``suffix`` ends the temporary's name (for writers that pick the format by extension);
    ``durable=False`` skips the fsyncs (see temp_file_for). Returns the path written.
    Raises OutputPathError for an unusable path, OSError when writing fails."""
    with temp_file_for(path, suffix, durable) as tmp:
        write_fn(tmp)
    return _resolved(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> str:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)

    return atomic_write(path, write)


def atomic_write_text(path: str | os.PathLike, text: str) -> str:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_folder(path: str | os.PathLike, fill_fn: Callable[[str], object]) -> str:
    """Call ``fill_fn(tmp_dir)`` to fill a fresh folder, then make it ``path`` atomically
    (``path`` must be new or an empty folder). Returns the path written."""
    with temp_folder_for(path) as tmp:
        fill_fn(tmp)
    return _resolved(os.fspath(path).rstrip("/\\") or os.fspath(path))
