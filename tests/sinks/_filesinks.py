"""Helpers for the DuckDB and Parquet sink tests: rows, another process holding a sink, and
a child process without root's privileges (where chmod does not stop root)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

from integration_logs_async.sinks import LogRow

PROVIDER = "sendcloud/v3"
STORE = "sendcloud:panel.sendcloud.sc:pk_123"


def log_rows(start: int, count: int, *, store: str = STORE) -> list[LogRow]:
    """``count`` rows with ids ``log-<start>``…: offsets other than UTC, NULLs every 3rd row,
    raw JSON with spacing and escapes kept byte for byte."""
    plus2 = timezone(timedelta(hours=2))
    rows: list[LogRow] = []
    for i in range(start, start + count):
        nulls = i % 3 == 2
        rows.append(
            (
                PROVIDER,
                store,
                f"log-{i}",
                None if nulls else f"int-{i % 4}",
                None if nulls else f"job-{i // 10}",
                None if nulls else datetime(2026, 12, 5, 23, 30, tzinfo=plus2) + timedelta(hours=i),
                None if nulls else i % 2 == 0,
                None if nulls else 200 + i % 300,
                None if nulls else "POST",
                None if nulls else f"https://shop.example/orders/{i}",
                None if nulls else "caf\u00e9 \u2603 failed",
                None if nulls else i % 5,
                b'{ "id" : "log-%d",  "msg": "\\u00e9t\\u00e9 \xe2\x98\x83" }' % i,
            )
        )
    return rows


def utc(value: datetime | None) -> datetime | None:
    """``value`` as UTC (to compare instants read back)."""
    return None if value is None else value.astimezone(UTC)


@contextmanager
def held_in_another_process(script: str) -> Iterator[None]:
    """Run ``script`` (Python) in a child that prints ``ready`` once it holds the sink, and
    keeps it until this block ends."""
    code = textwrap.dedent(script) + "\nprint('ready', flush=True)\nsys.stdin.read()\n"
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys\n" + code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", "the child did not take the sink"
        yield
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=60)
        assert child.stdout is not None
        child.stdout.close()


def error_in_unprivileged_child(action: Callable[[], object]) -> str:
    """Run ``action`` (an async function's call returning a coroutine, or a plain call) in a
    forked child, as uid/gid 65534 when we are root (root ignores file modes); returns the
    name of the exception it raised, or ``"none"``."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 0
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            try:
                result = action()
                if asyncio.iscoroutine(result):
                    asyncio.run(result)
                name = "none"
            except BaseException as exc:
                name = f"{type(exc).__name__}: {exc}"
            os.write(write, name.encode())
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, answer
    return answer


__all__ = [
    "PROVIDER",
    "STORE",
    "error_in_unprivileged_child",
    "held_in_another_process",
    "log_rows",
    "utc",
]
