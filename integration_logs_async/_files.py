"""Files replaced atomically: written beside the target, fsynced, renamed over it, and the
directory fsynced, so a crash at any moment leaves the old file or the new one, never a mix.

Temporary files are named ``.<name>.<random>.tmp`` in the target's directory, so a killed
run's leftovers can be found and removed (:func:`temp_prefix`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def temp_prefix(path: Path) -> str:
    """The name prefix of ``path``'s temporary files (their suffix is ``.tmp``)."""
    return f".{path.name}."


def directory_of(path: Path) -> Path:
    """``path``'s directory (``.`` for a bare file name)."""
    return path.parent if str(path.parent) else Path(".")


def fsync_path(path: Path, *, directory: bool = False) -> None:
    """Flush a file's data (a directory's entries: renames, new files) to disk."""
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(path: Path) -> None:
    """Make a rename or creation in ``path``'s directory durable."""
    fsync_path(directory_of(path), directory=True)


def replace_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically and durably (OSError as the OS says; the
    temporary file is removed on any failure)."""
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=directory_of(path))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_directory(path)


__all__ = ["directory_of", "fsync_directory", "fsync_path", "replace_atomically", "temp_prefix"]
