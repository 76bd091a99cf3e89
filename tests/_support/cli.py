"""Running the ``integration-logs`` command line in tests: in this process or as a subprocess."""

# ruff: noqa: ASYNC109 - a timeout for a whole subprocess run

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from integration_logs_async.cli import main
from integration_logs_async.emulator import Emulator

__all__ = ["ERROR_LINE", "cli_command", "cli_env", "error_line", "run_cli", "run_main"]

ERROR_LINE = re.compile(r"^integration-logs: error: \S.*$")
"""The shape of the one line a failed run prints."""


def run_main(
    argv: Sequence[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    """``main(argv, env)`` in this process: exit code, stdout, stderr (argparse exits too)."""
    try:
        code = main(list(argv), env)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def cli_env(emu: Emulator | None = None, **extra: str) -> dict[str, str]:
    """A clean environment for a CLI subprocess (credentials of ``emu`` only)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if emu is not None:
        env.update(emu.env())
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    """``python -m integration_logs_async.cli ARGS`` with the test's interpreter."""
    return [sys.executable, "-m", "integration_logs_async.cli", *args]


async def run_cli(
    args: Sequence[str],
    env: dict[str, str],
    *,
    timeout: float = 30.0,
    cwd: str | Path | None = None,
) -> tuple[int, bytes, str]:
    """Run the CLI in a subprocess (the test's event loop keeps serving); rc, stdout, stderr."""
    proc = await asyncio.create_subprocess_exec(
        *cli_command(*args),
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


def error_line(stderr: str) -> str:
    """The failure's reason: exactly one ``integration-logs`` line, an error, and no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [x for x in stderr.splitlines() if x.startswith("integration-logs")]
    assert len(errors) == 1, stderr
    assert ERROR_LINE.match(errors[0]), errors[0]
    return errors[0]
