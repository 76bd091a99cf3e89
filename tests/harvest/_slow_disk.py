"""``integration-logs`` with a pause inside the state-file write window, to kill -9 it there.

Run as ``python _slow_disk.py harvest ...`` (same arguments as the CLI) with
``SLOW_DISK_KILL_AT=STEP:N``: at the N-th time the harvest reaches STEP of saving its state,
the process writes ``@@STEP`` to stderr and sleeps, so the test kills it right there:

* ``output-synced``  the output is flushed and fsynced; the state file is not written yet
* ``temp-synced``    the new state is complete in its temporary file, not yet renamed
* ``renamed``        the state file was replaced; the directory is not fsynced yet
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike, StrOrBytesPath

_STEP, _, _NTH = os.environ.get("SLOW_DISK_KILL_AT", ":0").partition(":")
_counts: Counter[str] = Counter()
_fsync, _replace = os.fsync, os.replace


def _reached(step: str) -> None:
    _counts[step] += 1
    if step == _STEP and _counts[step] == int(_NTH):
        sys.stderr.write(f"@@{step}\n")
        sys.stderr.flush()
        time.sleep(30)  # killed here


def _target(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return ""


def fsync(fd: FileDescriptorLike) -> None:
    """``os.fsync``, then note which step of saving the state this sync completed."""
    _fsync(fd)
    path = _target(fd if isinstance(fd, int) else fd.fileno())
    if path.endswith(".jsonl"):
        _reached("output-synced")
    elif path.endswith(".tmp"):
        _reached("temp-synced")


def replace(
    src: StrOrBytesPath,
    dst: StrOrBytesPath,
    *,
    src_dir_fd: int | None = None,
    dst_dir_fd: int | None = None,
) -> None:
    """``os.replace``, then note when it was the state file that was replaced."""
    _replace(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
    if os.fsdecode(dst).endswith(".state.json"):
        _reached("renamed")


os.fsync = fsync
os.replace = replace

if __name__ == "__main__":
    from integration_logs_async.cli import main

    sys.exit(main())
