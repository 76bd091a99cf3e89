"""Helpers of the command-line suite: an emulator on its own thread, in-process CLI runs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Unpack

import pytest

from integration_logs_async.cli import main
from integration_logs_async.emulator import Emulator, EmulatorOptions


@contextmanager
def serving(**options: Unpack[EmulatorOptions]) -> Iterator[Emulator]:
    """An emulator on 127.0.0.1 (random port), served by its own thread and event loop, so
    that ``main()`` can run its own ``asyncio.run`` in the test's thread."""
    emu = Emulator(**options)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(emu.start(), loop).result(10)
        try:
            yield emu
        finally:
            asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(10)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


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


def error_line(stderr: str) -> str:
    """The one ``integration-logs: error:`` line of a failed run (no traceback)."""
    assert "Traceback" not in stderr, stderr
    lines = [x for x in stderr.splitlines() if x.startswith("integration-logs: error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def basic_only(emu: Emulator) -> dict[str, str]:
    """The emulator's environment with only the HTTP Basic pair of Sendcloud credentials."""
    env = emu.env()
    del env["SENDCLOUD_CLIENT_ID"], env["SENDCLOUD_CLIENT_SECRET"]
    return env
