"""Flushing many files at once (:func:`fsync_all`): together, every one, the first failure
raised once none is in flight."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from integration_logs_async.sinks import _durable
from integration_logs_async.sinks._durable import fsync_all


def files(tmp_path: Path, count: int) -> list[Path]:
    paths = [tmp_path / f"f{i}" for i in range(count)]
    for path in paths:
        path.write_bytes(b"x")
    return paths


def test_flushes_overlap_and_each_file_is_flushed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = files(tmp_path, 3)
    together = threading.Barrier(3, timeout=10)  # broken unless all three wait at once
    flushed: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        together.wait()
        real_fsync(fd)
        flushed.append(threading.current_thread().name)

    monkeypatch.setattr(os, "fsync", fsync)
    fsync_all(paths)
    assert len(flushed) == 3 and all(name.startswith("sink-fsync") for name in flushed)

    def alone(fd: int) -> None:
        real_fsync(fd)
        flushed.append(threading.current_thread().name)

    monkeypatch.setattr(os, "fsync", alone)
    fsync_all([tmp_path], directories=True)  # one: no thread for it
    assert flushed[3:] == [threading.current_thread().name]


def test_the_first_failure_is_raised_once_none_is_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = files(tmp_path, 4)
    started: list[str] = []
    finished: list[str] = []
    failing = paths[0].name

    def flush(path: Path, *, directory: bool = False) -> None:
        started.append(path.name)
        if path.name == failing:
            raise OSError(errno.EIO, "Input/output error")
        time.sleep(0.2)
        finished.append(path.name)

    monkeypatch.setattr(_durable, "fsync_path", flush)
    with pytest.raises(OSError, match="Input/output error"):
        fsync_all(paths)
    # every flush that started has ended (one not started yet may have been cancelled: the
    # batch is abandoned anyway)
    assert failing in started
    assert sorted(finished) == sorted(name for name in started if name != failing)
