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


def fsync(fd: int) -> None:
    _fsync(fd)
    path = _target(fd)
    if path.endswith(".jsonl"):
        _reached("output-synced")
    elif path.endswith(".tmp"):
        _reached("temp-synced")


def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    _replace(src, dst)
    if os.fspath(dst).endswith(".state.json"):
        _reached("renamed")


os.fsync = fsync
os.replace = replace

if __name__ == "__main__":
    from integration_logs_async.cli import main

    sys.exit(main())
