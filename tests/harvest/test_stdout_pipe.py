"""``integration-logs harvest ... --out - | head -1``: the reader goes away, the harvest stops
quietly with 141 (128 + SIGPIPE, as a shell reports for a C tool in the same place).

A real subprocess whose stdout is a real pipe, closed after its first line.
"""

# ruff: noqa: ASYNC240 - a small local directory in a test

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from integration_logs_async.emulator import Emulator
from integration_logs_async.harvest._run import _naming

from .._support.cli import cli_command, cli_env


def _first_line_then_close(read_end: int) -> bytes:
    """Read up to the first newline from ``read_end``, then close it (like ``head -1``)."""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        line = b""
        while not line.endswith(b"\n"):
            chunk = pipe.read(1)
            assert chunk, "the output ended before its first line"
            line += chunk
    return line


@pytest.mark.emulator(integrations=2, logs=2000)  # far more output than a pipe holds
async def test_a_closed_stdout_pipe_stops_the_harvest_quietly_with_141(
    emulator: Emulator, tmp_path: Path
) -> None:
    read_end, write_end = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *cli_command("harvest", "elasticpath", "--out", "-", "--quiet"),
            env=cli_env(emulator),
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=write_end,
            stderr=asyncio.subprocess.PIPE,
        )
    finally:
        os.close(write_end)  # the child holds the only write end now
    try:
        line = await asyncio.wait_for(asyncio.to_thread(_first_line_then_close, read_end), 20)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert line.startswith(b'{"id":')
    text = err.decode()
    assert proc.returncode == 141, text
    # quiet: no traceback, no "Exception ignored" at exit, no advice about disks or permissions
    assert text == "", text
    assert list(tmp_path.iterdir()) == []  # --out - keeps no state: nothing else to save


def test_a_broken_pipe_while_saving_is_not_called_a_disk_or_permission_problem() -> None:
    # a save's flush can meet the gone reader too: it must reach main() as what it is
    with pytest.raises(BrokenPipeError), _naming("-", "--out"):
        raise BrokenPipeError(32, "Broken pipe")
    with pytest.raises(OSError, match="make room or fix permissions"), _naming("x", "--out"):
        raise OSError(28, "No space left on device")
