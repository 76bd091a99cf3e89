"""A fleet run: every store harvested in one asyncio process, one store's failure never
stopping the others.

:func:`run_store` harvests one store (its own client, closed after the run) and turns
whatever happened into a :class:`StoreOutcome` with one line saying what to do; it records
the run in the status table and the metrics. :func:`run_fleet` runs the stores at most
``concurrency`` at a time. Cancelling either (Ctrl-C, SIGTERM) stops every store at once:
each keeps its committed batches, and a rerun continues from them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from yarl import URL

from .._constants import FLEET_START_SPREAD
from ..config import ClientSettings
from ..harvest import HarvestResult, run_harvest
from ..harvest._progress import HarvestCounters
from ..harvest._sink_job import run_sink_harvest
from ..providers import BaseClient
from ..sinks import SinkError, parse_sink_url
from ._credentials import client_for_store
from ._failures import Outcome, describe_failure, incomplete_message, scrub, secret_values
from ._metrics import FleetMetrics
from ._status import StatusRecorder, StoreRun, record_run
from ._stores import StoreConfig
from ._unit import harvest_options

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class StoreOutcome:
    """What one store's run did. ``error`` is one line (what happened, what to do; never a
    secret), None when the run completed. Counts are this run's."""

    store: str
    provider: str
    outcome: Outcome
    records: int
    requests: int
    retries: int
    rate_limited: int
    elapsed: float
    error: str | None
    newest_created_at: datetime | None = None
    """The newest ``created_at`` the sink holds for the store's streams (for the lag)."""


@dataclass
class FleetResult:
    """The outcomes of a fleet run, in the stores' order."""

    outcomes: list[StoreOutcome]

    @property
    def ok(self) -> bool:
        """Whether every store completed."""
        return all(o.outcome == "completed" for o in self.outcomes)


def check_fleet_sink(to: str) -> None:
    """``ValueError`` unless ``to`` is a PostgreSQL sink URL (a fleet's status table and
    concurrent writers need one)."""
    kind = parse_sink_url(to).kind  # ValueError saying which forms are accepted
    if kind != "postgresql":
        raise ValueError(
            f"a fleet writes to PostgreSQL (--to postgresql://...), not {kind}: DuckDB files "
            "and Parquet directories take one writer at a time, and a fleet harvests many "
            "stores at once; harvest a single store into it with integration-logs harvest"
        )


def _sink_secrets(to: str) -> list[str]:
    try:
        password = URL(parse_sink_url(to).dsn).password
    except ValueError:
        return []
    return [password] if password else []


async def run_store(
    store: StoreConfig,
    to: str,
    *,
    env: Mapping[str, str] | None = None,
    metrics: FleetMetrics | None = None,
    status: bool = True,
    since: datetime | None = None,
    settings: ClientSettings | None = None,
) -> StoreOutcome:
    """Harvest ``store`` into ``to`` once and say how it went.

    Never raises for the store's own failure (refused credentials, server down, another run
    holding the store, a sink error): the outcome says what happened, in one line with what
    to do. Cancellation propagates (the committed batches stay). ``status``: record the run
    in the status table of a PostgreSQL sink (a failure to do so is logged, the outcome
    stands); ``metrics``: count it there.
    """
    return await _run_store(
        store, to, env=env, metrics=metrics, status=status, since=since, settings=settings
    )


async def _run_store(
    store: StoreConfig,
    to: str,
    *,
    env: Mapping[str, str] | None,
    metrics: FleetMetrics | None,
    status: bool,
    since: datetime | None,
    settings: ClientSettings | None,
    recorder: StatusRecorder | None = None,
) -> StoreOutcome:
    """:func:`run_store`; ``recorder``: record the run over its shared connection, not one
    of the run's own."""
    environment = os.environ if env is None else env
    started_at, start = datetime.now(UTC), time.monotonic()
    client: BaseClient | None = None
    result: HarvestResult | None = None
    counters = HarvestCounters()
    try:
        options = harvest_options(store, to, since=since)
        client = client_for_store(store, environment, settings=settings)
        async with client:
            if options.to is None:
                result = await run_harvest(client, options, progress=False)
            else:  # counted as it goes: a failed run's committed records are known too
                result = await run_sink_harvest(client, options, progress=False, counters=counters)
    except Exception as exc:  # the store's own failure: reported, never raised
        outcome, failure = describe_failure(exc, store)
        error: str | None = failure
        logger.debug("store %r: %s", store.name, type(exc).__name__, exc_info=True)
    else:
        outcome, error = "completed", None
        if result.failures:
            outcome, error = "incomplete", incomplete_message(result.failures)
        elif not result.complete:
            outcome, error = "incomplete", "the run stopped early; rerun to continue"
    if error is not None:
        error = scrub(error, [*secret_values(store, environment), *_sink_secrets(to)])
    stats = client.stats if client is not None else None
    done = StoreOutcome(
        store=store.name,
        provider=store.provider,
        outcome=outcome,
        records=result.records if result is not None else counters.records,
        requests=stats.requests if stats is not None else 0,
        retries=stats.retries if stats is not None else 0,
        rate_limited=stats.rate_limited if stats is not None else 0,
        elapsed=time.monotonic() - start,
        error=error,
        newest_created_at=result.newest_created_at if result is not None else None,
    )
    if status and outcome != "locked":  # a locked store's status is its running harvest's
        await _record(done, to, started_at, client, recorder)
    if metrics is not None:
        metrics.observe(done)
    if error is not None:
        logger.info("store %r: %s: %s", store.name, outcome, error)
    return done


async def _record(
    done: StoreOutcome,
    to: str,
    started_at: datetime,
    client: BaseClient | None,
    recorder: StatusRecorder | None,
) -> None:
    """Upsert the store's status row (PostgreSQL sinks only); a failure is logged."""
    try:
        target = parse_sink_url(to)
    except ValueError:
        return
    if target.kind != "postgresql":
        return
    provider = client.spec.checkpoint_name if client is not None else done.provider
    try:
        run = StoreRun(
            store=done.store,
            provider=provider,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            outcome=done.outcome,
            error=done.error,
            records=done.records,
            newest_created_at=done.newest_created_at,
        )
        await (recorder.record(run) if recorder is not None else record_run(target, run))
    except SinkError as exc:
        logger.warning(
            "store %r: its %s run could not be recorded in the status table: %s",
            done.store,
            done.outcome,
            exc,
        )


async def run_fleet(
    stores: Iterable[StoreConfig],
    to: str,
    *,
    concurrency: int = 16,
    env: Mapping[str, str] | None = None,
    metrics: FleetMetrics | None = None,
    on_outcome: Callable[[StoreOutcome], None] | None = None,
    since: datetime | None = None,
    settings: ClientSettings | None = None,
) -> FleetResult:
    """Harvest every store into the PostgreSQL sink ``to``, ``concurrency`` at a time, each
    with its own client; one store's failure never stops the others.

    The first ``concurrency`` stores start spread evenly over a second
    (``FLEET_START_SPREAD``): started together, paced clients stay in step and their servers
    see bursts. ``on_outcome`` is called as each store finishes. ``ValueError`` before any
    work for a sink that is not PostgreSQL or a ``concurrency`` below 1. Cancelled, every
    store stops at once, keeping its committed batches.
    """
    check_fleet_sink(to)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, not {concurrency!r}")
    listed = list(stores)
    slots = asyncio.Semaphore(concurrency)
    first_wave = min(concurrency, len(listed))

    async def one(position: int, store: StoreConfig) -> StoreOutcome:
        if position < first_wave:  # the others start as slots free: spread out already
            await asyncio.sleep(FLEET_START_SPREAD * position / first_wave)
        async with slots:
            done = await _run_store(
                store,
                to,
                env=env,
                metrics=metrics,
                status=True,
                since=since,
                settings=settings,
                recorder=recorder,
            )
        if on_outcome is not None:
            on_outcome(done)
        return done

    # The stores' status rows go over one connection (``StatusRecorder``).
    recorder = StatusRecorder(to)
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(one(position, store), name=f"fleet:{store.name}")
                for position, store in enumerate(listed)
            ]
    finally:
        await recorder.aclose()
    return FleetResult(outcomes=[task.result() for task in tasks])


__all__ = ["FleetResult", "Outcome", "StoreOutcome", "check_fleet_sink", "run_fleet", "run_store"]
