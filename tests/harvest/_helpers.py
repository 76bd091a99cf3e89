"""Helpers of the fan-out and harvest suite: clients, a threaded emulator, CLI runs, checks."""

# ruff: noqa: ASYNC109 - a timeout for a whole subprocess run

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Unpack

from integration_logs_async import BasicAuth, ClientCredentials, ElasticPathClient, SendcloudClient
from integration_logs_async.emulator import Emulator, EmulatorOptions, FaultConfig

FAST: dict[str, Any] = {
    "rate_limit": 0,
    "backoff_initial": 0.001,
    "backoff_max": 0.005,
    "default_429_pause": 0.001,
}
"""Client settings for tests: no pacing, near-instant retries."""

LATENCY = FaultConfig(
    seed=11, rates={"latency": 1.0}, latency_seconds=0.004, latency_jitter_seconds=0.01
)
"""Every data request delayed 4-14 ms, so concurrent requests overlap."""

PROVIDERS = ("sendcloud", "elasticpath")
_SOURCE = b',"_source":'


def ep_client(emu: Emulator, **settings: Any) -> ElasticPathClient:
    """An Elastic Path client for ``emu``."""
    auth = ClientCredentials(emu.epcc_client_id, emu.epcc_client_secret)
    return ElasticPathClient(auth, base_url=emu.elasticpath_url, **{**FAST, **settings})


def sc_client(emu: Emulator, **settings: Any) -> SendcloudClient:
    """A Sendcloud client (HTTP Basic) for ``emu``."""
    auth = BasicAuth(emu.sendcloud_public_key, emu.sendcloud_secret_key)
    return SendcloudClient(auth, base_url=emu.sendcloud_url, **{**FAST, **settings})


def client_for(
    emu: Emulator, provider: str, **settings: Any
) -> SendcloudClient | ElasticPathClient:
    """The client of ``provider`` for ``emu``."""
    return sc_client(emu, **settings) if provider == "sendcloud" else ep_client(emu, **settings)


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of this event loop still alive besides the running one."""
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()}


class ThreadedEmulator:
    """An emulator serving from its own thread and event loop.

    Tests that check ``asyncio.all_tasks()`` use it: the server's own tasks then live in
    another loop, so every task left in the test's loop belongs to the client.
    """

    def __init__(self, **options: Unpack[EmulatorOptions]) -> None:
        self.emu = Emulator(**options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def __aenter__(self) -> Emulator:
        self._thread.start()
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.emu.start(), self._loop))
        return self.emu

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.emu.stop(), self._loop))
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            await asyncio.to_thread(self._thread.join, 5)
            self._loop.close()


# --- what the store holds -----------------------------------------------------------------


def store_records(emu: Emulator, provider: str) -> dict[str, bytes]:
    """Id -> exact JSON bytes of every log of ``provider`` in the emulator's store."""
    view = emu.store.logs(provider)  # type: ignore[arg-type]
    return {str(ident): raw for ident, raw in zip(view.ids(), view, strict=True)}


def store_ids(emu: Emulator, provider: str) -> list[str]:
    """Ids of every log of ``provider``, newest first."""
    return [str(i) for i in emu.store.logs(provider).ids()]  # type: ignore[arg-type]


def child_ids(
    emu: Emulator, provider: str, integration_id: str, job_id: str | None = None
) -> list[str]:
    """Ids of one integration's (or job's) logs, newest first, as the emulator lists them."""
    if provider == "sendcloud":
        return [str(i) for i in emu.store.sendcloud_logs_for(int(integration_id)).ids()]
    return [str(i) for i in emu.store.elasticpath_logs_for(integration_id, job_id).ids()]


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


# --- the command line --------------------------------------------------------------------


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


ERROR_LINE = re.compile(r"^integration-logs: error: \S.*$")


def one_error_line(stderr: str) -> str:
    """The failure's reason: exactly one line, and no traceback."""
    assert "Traceback" not in stderr, stderr
    errors = [x for x in stderr.splitlines() if x.startswith("integration-logs")]
    assert len(errors) == 1, stderr
    assert ERROR_LINE.match(errors[0]), errors[0]
    return errors[0]
