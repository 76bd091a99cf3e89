"""Helpers of the fan-out and harvest suite: output-file checks and interrupted CLI runs.

Shared helpers (threaded emulator, clients, store views, CLI runs) are in ``tests._support``.
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path

from integration_logs_async.emulator import FaultConfig

__all__ = [
    "LATENCY",
    "PROVIDERS",
    "Process",
    "assert_exactly_once",
    "line_ids",
    "read_lines",
    "signal_at_progress",
    "signal_when",
    "split_source",
]

LATENCY = FaultConfig(
    seed=11, rates={"latency": 1.0}, latency_seconds=0.004, latency_jitter_seconds=0.01
)
"""Every data request delayed 4-14 ms, so concurrent requests overlap."""

PROVIDERS = ("sendcloud", "elasticpath")
_SOURCE = b',"_source":'


# --- output files ------------------------------------------------------------------------


def split_source(line: bytes) -> tuple[bytes, dict[str, str] | None]:
    """A raw output line without its newline and appended ``_source`` member, and that member."""
    assert line.endswith(b"\n") and line.count(b"\n") == 1, line[:200]
    body = line[:-1]
    at = body.rfind(_SOURCE)
    if at < 0:
        return body, None
    source = json.loads(body[at + len(_SOURCE) : -1])
    assert isinstance(source, dict) and set(source) <= {"integration_id", "job_id"}, source
    return body[:at] + b"}", source


def read_lines(path: str | Path) -> list[bytes]:
    """The lines of a JSON Lines file (each with its newline)."""
    data = Path(path).read_bytes()
    assert not data or data.endswith(b"\n"), "the output ends mid-line"
    return data.splitlines(keepends=True)


def line_ids(lines: Iterable[bytes]) -> list[str]:
    """The ``id`` of each line, as a string."""
    return [str(json.loads(line)["id"]) for line in lines]


def assert_exactly_once(
    path: str | Path, expected: dict[str, bytes], *, lossless: bool = True
) -> list[bytes]:
    """The file holds every record of ``expected`` exactly once (byte for byte if lossless)."""
    lines = read_lines(path)
    ids = line_ids(lines)
    dups = [i for i, n in Counter(ids).items() if n > 1]
    assert not dups, f"{len(dups)} duplicated ids, e.g. {dups[:3]}"
    missing = expected.keys() - set(ids)
    extra = set(ids) - expected.keys()
    assert not missing and not extra, (
        f"{len(missing)} missing (e.g. {sorted(missing)[:3]}), {len(extra)} unexpected "
        f"(e.g. {sorted(extra)[:3]})"
    )
    if lossless:
        for ident, line in zip(ids, lines, strict=True):
            body, _ = split_source(line)
            assert body == expected[ident], f"record {ident} differs from the server's bytes"
    return lines


# --- interrupted runs ----------------------------------------------------------------------


Process = asyncio.subprocess.Process
"""A child process started by :func:`signal_when`."""


async def signal_when(
    command: Sequence[str],
    env: dict[str, str],
    sig: signal.Signals,
    ready: Callable[[Process], Awaitable[object]],
) -> tuple[int, bytes]:
    """Run ``command`` (stderr piped), wait (at most 20 s) until ``ready(process)`` returns,
    then send it ``sig``; its exit code and the rest of its stderr."""
    proc = await asyncio.create_subprocess_exec(
        *command,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(20):
            await ready(proc)
        assert proc.returncode is None
        proc.send_signal(sig)
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, err


async def signal_at_progress(
    command: Sequence[str], env: dict[str, str], sig: signal.Signals, *, records: int = 200
) -> tuple[int, bytes]:
    """Run ``command`` with progress lines every 0.05 s and send it ``sig`` once a progress
    line counts more than ``records`` records; its exit code and stderr (after that line)."""

    async def past_records(proc: Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            if line.startswith(b"progress: ") and _count(line) > records:
                return

    return await signal_when([*command, "--progress-interval", "0.05"], env, sig, past_records)


def _count(progress: bytes) -> int:
    """The record count of a ``progress: N records ...`` line."""
    return int(progress.split()[1].replace(b",", b""))
