"""Helpers of the reliability suite: clients for an emulator, harvest-until-complete, checks.

Clients run with pacing off and millisecond backoffs so that hundreds of injected faults cost
well under a second; the emulator's fault policy is seeded, so every run draws the same
sequence of faults (which request gets which one still depends on task scheduling).
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from integration_logs_async import (
    ElasticPathClient,
    FanOutError,
    IntegrationLogsError,
    SendcloudClient,
)
from integration_logs_async.emulator import Emulator, EmulatorConfig, Provider
from integration_logs_async.harvest import HarvestOptions, HarvestResult, Scope, run_harvest

FAST: dict[str, Any] = {
    "rate_limit": 0,
    "backoff_initial": 0.001,
    "backoff_max": 0.004,
    "default_429_pause": 0.001,
    "request_deadline": 30.0,
}
"""No pacing, millisecond backoffs: retries are nearly free."""

Client = SendcloudClient | ElasticPathClient


def sendcloud(emu: Emulator, *, oauth: bool = False, **settings: Any) -> SendcloudClient:
    """A Sendcloud client for ``emu`` with FAST settings (``settings`` override them)."""
    return emu.sendcloud_client(oauth=oauth, **{**FAST, **settings})


def elasticpath(emu: Emulator, **settings: Any) -> ElasticPathClient:
    """An Elastic Path client for ``emu`` with FAST settings (``settings`` override them)."""
    return emu.elasticpath_client(**{**FAST, **settings})


def client_for(emu: Emulator, provider: Provider, **settings: Any) -> Client:
    """A client of ``provider`` for ``emu``."""
    if provider == "sendcloud":
        return sendcloud(emu, **settings)
    return elasticpath(emu, **settings)


def default_scope(provider: Provider) -> Scope:
    """Fan-out over jobs for Elastic Path, over integrations for Sendcloud."""
    return "jobs" if provider == "elasticpath" else "integrations"


# --- harvesting until complete ------------------------------------------------------------


@dataclass
class Outcome:
    """What it took to harvest a store completely under faults."""

    result: HarvestResult
    runs: int
    errors: list[IntegrationLogsError] = field(default_factory=list)
    elapsed: float = 0.0

    def line(self, label: str, client: Client, records: int) -> str:
        """One line of numbers for the test log (``pytest -s`` shows them)."""
        kinds = Counter(type(innermost(e)).__name__ for e in self.errors)
        stats = client.stats
        return (
            f"[chaos] {label}: {records:,} records in {self.elapsed:.2f} s, runs {self.runs} "
            f"(typed errors then resumed: {dict(kinds) or 0}), requests {stats.requests:,}, "
            f"retries {stats.retries:,}, 429s {stats.rate_limited:,}, "
            f"token requests {stats.token_requests}"
        )


def innermost(exc: BaseException) -> BaseException:
    """The child error of a one-child :class:`FanOutError`, else ``exc``."""
    if isinstance(exc, FanOutError) and len(exc.failures) == 1:
        return next(iter(exc.failures.values()))
    return exc


async def harvest_until_complete(
    client: Client, options: HarvestOptions, *, max_runs: int = 25
) -> Outcome:
    """Run the harvest; after a typed error, rerun it (resuming from its state) until done.

    Anything but an :class:`IntegrationLogsError` fails the test at once: under faults the
    library may give up, but only with a typed error, and never with a short result.
    """
    errors: list[IntegrationLogsError] = []
    started = time.monotonic()
    for run in range(1, max_runs + 1):
        try:
            result = await run_harvest(client, options, progress=False)
        except IntegrationLogsError as exc:
            failures = exc.failures.values() if isinstance(exc, FanOutError) else ()
            assert all(isinstance(f, IntegrationLogsError) for f in failures), exc
            errors.append(exc)
            continue
        assert result.complete, result.summary()
        return Outcome(result, run, errors, time.monotonic() - started)
    raise AssertionError(f"not complete after {max_runs} runs: {errors[-3:]}")


class _Id(msgspec.Struct):
    id: int | str


_id_decoder = msgspec.json.Decoder(_Id)


def assert_exactly_the_store(out: str | Path, emu: Emulator, provider: Provider) -> int:
    """The output holds every record of the store exactly once, byte for byte."""
    lines = Path(out).read_bytes().splitlines()
    expected = list(emu.store.logs(provider))
    ids = [str(_id_decoder.decode(line).id) for line in lines]
    duplicated = [i for i, n in Counter(ids).items() if n > 1]
    assert not duplicated, f"{len(duplicated)} ids written more than once: {duplicated[:5]}"
    want_ids = {str(i) for i in emu.store.logs(provider).ids()}
    missing = want_ids - set(ids)
    assert not missing, f"{len(missing)} records missing, e.g. {sorted(missing)[:5]}"
    assert set(ids) == want_ids
    assert len(lines) == len(expected)
    assert sorted(lines) == sorted(expected), "records differ from the store's bytes"
    return len(lines)


# --- an emulator on its own thread and event loop -------------------------------------------


class ThreadedEmulator:
    """An :class:`Emulator` served from a background thread with its own event loop.

    The test's event loop then holds only the client's tasks, so leaked tasks are easy to
    spot. Stopped by :meth:`close` (also on context exit).
    """

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._emu: Emulator | None = None
        self._error: BaseException | None = None

    def _serve(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            try:
                async with Emulator(self.config) as emu:
                    self._emu = emu
                    self._ready.set()
                    await self._stop.wait()
            except BaseException as exc:  # surfaced by __enter__
                self._error = exc
                self._ready.set()

        asyncio.run(main())

    def __enter__(self) -> Emulator:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None or self._emu is None:
            raise RuntimeError("the emulator did not start") from self._error
        return self._emu

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the server and join its thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)


# --- resources ------------------------------------------------------------------------------


def open_fds() -> int:
    """Number of file descriptors this process holds (sockets and files)."""
    return len(os.listdir("/proc/self/fd"))


def other_tasks() -> set[asyncio.Task[Any]]:
    """Tasks of this event loop still running besides the current one."""
    current = asyncio.current_task()
    return {t for t in asyncio.all_tasks() if t is not current and not t.done()}


async def settle(within: float = 2.0) -> set[asyncio.Task[Any]]:
    """Let the loop run until no other task is left (at most ``within`` s); what is left."""
    deadline = time.monotonic() + within
    left = other_tasks()
    while left and time.monotonic() < deadline:
        await asyncio.sleep(0.005)
        left = other_tasks()
    return left


def leftover_temporary_files(directory: Path) -> list[str]:
    """Temporary files (of atomic state saves) left in ``directory``."""
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]
