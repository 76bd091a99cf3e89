"""Durable files for the Parquet sink: atomic replace, directory fsync, an exclusive lock.

A file is written under a hidden temporary name beside its final one, flushed to disk,
renamed over the final name, and the directory is flushed too: a reader (or a crash) sees
the old file or the new one, never a part. OS errors become typed sink errors.

Many files at once (a Parquet batch: one per day): :func:`write_temp` each, then
:func:`fsync_all` of them together, then the renames, then :func:`fsync_all` of their
directories. The flushes wait on the disk, not the CPU, so they are issued from a few
threads at once: the disk (and the file system's journal) takes them together, where one
after the other each waited its turn (benchmarks/README.md, "Sinks").
"""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from functools import partial
from pathlib import Path

from .._constants import SINK_FSYNC_THREADS
from .._files import fsync_path
from ._errors import SinkError, SinkFullError, SinkLockedError, SinkReadOnlyError

_FULL = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


def temp_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place."""
    return path.with_name(f".{path.name}.tmp")


def write_atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(temp)`` then make it durable and rename it to ``path`` (the temporary file
    is removed when anything fails). The caller flushes ``path``'s directory (see
    :func:`fsync_dir`), once for many files."""
    temp = write_temp(path, write)
    try:
        fsync_path(temp)
        os.replace(temp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise


def write_temp(path: Path, write: Callable[[Path], object]) -> Path:
    """``write(temp)`` for ``path`` (see :func:`temp_path`), not yet flushed nor renamed;
    returns the temporary path (removed when ``write`` fails)."""
    temp = temp_path(path)
    try:
        write(temp)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    return temp


def fsync_dir(path: Path) -> None:
    """Flush a directory's entries (renames, new files) to disk."""
    fsync_path(path, directory=True)


def fsync_all(paths: Collection[Path], *, directories: bool = False) -> None:
    """Flush every one of ``paths`` (see :func:`~integration_logs_async._files.fsync_path`),
    up to :data:`~integration_logs_async._constants.SINK_FSYNC_THREADS` at a time; returns
    when all are on disk, or raises the first failure once none is in flight (those not started
    yet are dropped: the caller abandons the files)."""
    flush = partial(fsync_path, directory=directories)
    if len(paths) <= 1:
        for path in paths:
            flush(path)
        return
    with ThreadPoolExecutor(min(SINK_FSYNC_THREADS, len(paths)), "sink-fsync") as pool:
        for _ in pool.map(flush, paths):
            pass


def make_dirs(path: Path, top: Path) -> list[Path]:
    """Create ``path`` and its missing parents below ``top``; returns the directories whose
    entries changed (to flush)."""
    missing = []
    current = path
    while current != top and not current.exists():
        missing.append(current)
        current = current.parent
    changed = []
    for directory in reversed(missing):
        with suppress(FileExistsError):
            directory.mkdir()
        changed.append(directory.parent)
    return changed


def lock(path: Path, where: str) -> int:
    """Take ``path``'s exclusive lock for this process (a file descriptor to keep open),
    or raise :class:`SinkLockedError` at once naming the holder."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise SinkLockedError(
            f"{where} is being written by another harvest{holder}; one harvest writes a "
            "Parquet directory at a time: wait for it to finish, or write to another directory"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    with suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _holder(fd: int) -> str:
    with suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().strip())
        return f" (process {pid})"
    return ""


def unlock(fd: int) -> None:
    """Release a lock taken by :func:`lock`."""
    with suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def os_error(exc: OSError, doing: str, where: str) -> SinkError:
    """An OS (or Arrow I/O) error as a typed sink error saying what to do."""
    text = exc.strerror or str(exc)
    low = str(exc).lower()
    if exc.errno in _FULL or "no space left" in low or "file too large" in low:
        return SinkFullError(
            f"{doing} {where}: the disk is full ({text}); nothing of this batch was "
            "committed: free some space and rerun (the harvest resumes from its state)"
        )
    if exc.errno in _READ_ONLY or "permission denied" in low or "read-only" in low:
        return SinkReadOnlyError(
            f"{doing} {where}: cannot write ({text}); make the directory writable or choose "
            "another one"
        )
    return SinkError(f"{doing} {where} failed: {text}")


__all__ = [
    "fsync_all",
    "fsync_dir",
    "lock",
    "make_dirs",
    "os_error",
    "temp_path",
    "unlock",
    "write_atomic",
    "write_temp",
]
