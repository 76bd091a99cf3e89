"""Helpers of the reliability suite: harvest-until-complete, exactly-the-store, resources.

Clients (``tests._support.clients``) run with pacing off and millisecond backoffs so that
hundreds of injected faults cost well under a second; the emulator's fault policy is seeded,
so every run draws the same sequence of faults (which request gets which one still depends on
task scheduling).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from integration_logs_async import FanOutError, IntegrationLogsError
from integration_logs_async.emulator import Emulator, Provider
from integration_logs_async.harvest import HarvestOptions, HarvestResult, Scope, run_harvest

from .._support.clients import Client

__all__ = [
    "Outcome",
    "assert_exactly_the_store",
    "default_scope",
    "harvest_until_complete",
    "innermost",
    "leftover_temporary_files",
    "open_fds",
]


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


# --- resources ------------------------------------------------------------------------------


def open_fds() -> int:
    """Number of file descriptors this process holds (sockets and files)."""
    return len(os.listdir("/proc/self/fd"))


def leftover_temporary_files(directory: Path) -> list[str]:
    """Temporary files (of atomic state saves) left in ``directory``."""
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]
