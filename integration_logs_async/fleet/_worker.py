"""A fleet worker: procrastinate's worker running store jobs, a stalled-job reaper and the
schedule's ticks.

:func:`run_worker` runs until cancelled (Ctrl-C, SIGTERM: the caller cancels it). Each job
harvests one store with :func:`~._run.run_store` into ``to``; a job whose store another run
holds ("locked") is tried again later (:class:`~._queue.StoreJobLocked`: the holder may be a
dead machine's session), a failed store marks its job failed with the reason. Stopping,
the worker lets running stores go on for ``grace`` seconds, then cancels them: each keeps its
committed batches and its job is queued again for another worker.

Every ``heartbeat`` seconds the worker beats, ticks the schedule, and reaps. A job whose
worker is gone (no heartbeat for ``FLEET_DEAD_AFTER_BEATS`` beats, and no session holds the
job's lock: :mod:`._liveness`) is queued again at once; a job whose worker is silent but
whose session lives (frozen, busy, cut off) only after ``stall`` seconds. A retried job
resumes from the store's committed checkpoint; should a frozen worker wake up, the sink's
per-store advisory lock keeps the two runs from writing the same store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import procrastinate
import psycopg
from procrastinate import exceptions as pe
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

from .._constants import FLEET_DEAD_AFTER_BEATS
from ..sinks import SinkUnavailableError
from ._liveness import JobLocks, held_jobs
from ._metrics import FleetMetrics
from ._queue import (
    TASK_NAME,
    JobFunction,
    Queue,
    StoreJobLocked,
    open_queue,
    queue_error_for,
    queue_target,
)
from ._run import check_fleet_sink, run_store
from ._schedule import tick
from ._stores import StoreConfig

logger = logging.getLogger(__name__)

Report = Callable[[str], None]
"""Receives one line per event worth telling the operator (a store started or finished)."""


class StoreJobFailed(Exception):
    """A store's harvest failed; the message says why and what to do (the job is marked
    failed with it)."""


def check_timing(heartbeat: float, stall: float) -> None:
    """``ValueError`` unless ``heartbeat`` > 0 and ``stall`` >= 3 x ``heartbeat`` (a worker
    is declared dead only after missing several beats)."""
    for name, value in (("heartbeat", heartbeat), ("stall", stall)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a number of seconds > 0, not {value!r}")
    if stall < 3 * heartbeat:
        raise ValueError(
            f"stall ({stall:g} s) must be at least 3 x the heartbeat ({heartbeat:g} s): "
            "a live worker that misses a beat or two would have its stores run twice; "
            f"use --stall {3 * heartbeat:g} or more"
        )


Cause = Literal["gone", "silent"]
"""Why the reaper queued a job again (see :class:`Reaped`)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Reaped:
    """A job the reaper handled: ``retried`` (queued again) or ``superseded`` (a job of the
    same store was already waiting: that one does the work, this one is aborted). ``cause``:
    ``"gone"`` (its worker missed heartbeats and no session holds the job's lock: the
    process is gone) or ``"silent"`` (its worker was silent for the whole stall)."""

    job_id: int
    store: str
    action: Literal["retried", "superseded"]
    cause: Cause


def _store_name(task_kwargs: Mapping[str, Any]) -> str:
    definition = task_kwargs.get("store")
    return str(definition.get("name", "?")) if isinstance(definition, dict) else "?"


async def _dead_jobs(
    manager: JobManager, stall: float, missed: float | None
) -> list[tuple[Job, Cause]]:
    """The store jobs to queue again, each with its cause (see :class:`Reaped`)."""
    if missed is None or missed >= stall:
        found = await manager.get_stalled_jobs(task_name=TASK_NAME, seconds_since_heartbeat=stall)
        return [(job, "silent") for job in found]
    suspects = list(
        await manager.get_stalled_jobs(task_name=TASK_NAME, seconds_since_heartbeat=missed)
    )
    if not suspects:
        return []
    held = await held_jobs(manager.connector, [job.id for job in suspects if job.id is not None])
    silent: set[int | None] = set()
    if held:  # alive sessions: queued again only once silent for the whole stall
        stalled = await manager.get_stalled_jobs(task_name=TASK_NAME, seconds_since_heartbeat=stall)
        silent = {job.id for job in stalled}
    return [
        (job, "gone" if job.id not in held else "silent")
        for job in suspects
        if job.id not in held or job.id in silent
    ]


async def reap_stalled(
    app: procrastinate.App, stall: float, *, missed: float | None = None
) -> list[Reaped]:
    """Queue again the store jobs of workers silent for ``stall`` seconds, and, when
    ``missed`` is given, at once those of workers silent for ``missed`` seconds whose job
    locks no session holds (:mod:`._liveness`: the process is gone). Safe with many
    reapers: a job another reaper handled first is skipped."""
    manager = app.job_manager
    done: list[Reaped] = []
    for job, cause in await _dead_jobs(manager, stall, missed):
        assert job.id is not None
        store = _store_name(job.task_kwargs)
        try:
            await manager.retry_job(job)
            done.append(Reaped(job_id=job.id, store=store, action="retried", cause=cause))
        except pe.UniqueViolation:  # the store's queueing lock: a job of it waits already
            with contextlib.suppress(pe.ConnectorException):  # another reaper was first
                await manager.finish_job(job, status=Status.ABORTED, delete_job=False)
                done.append(Reaped(job_id=job.id, store=store, action="superseded", cause=cause))
        except pe.ConnectorException:  # no longer "doing": another reaper was first
            continue
    return done


async def _every(interval: float, what: str, step: Callable[[], Any]) -> None:
    """Run ``step`` every ``interval`` seconds; its failures (e.g. the database restarting)
    are logged and the next round tries again."""
    while True:
        try:
            await step()
        except Exception as exc:  # e.g. the database restarting: the next round tries again
            logger.warning("fleet worker: %s failed, trying again: %s", what, exc)
        await asyncio.sleep(interval)


def _job_function(
    to: str, env: Mapping[str, str] | None, metrics: FleetMetrics, report: Report, locks: JobLocks
) -> JobFunction:
    async def harvest(context: JobContext, store: StoreConfig) -> dict[str, Any]:
        job_id = context.job.id
        assert job_id is not None
        report(f"store {store.name!r}: started (job {job_id})")
        async with locks.holding(job_id):
            outcome = await run_store(store, to, env=env, metrics=metrics)
        line = f"store {store.name!r}: {outcome.outcome}, {outcome.records} records"
        report(line + (f": {outcome.error}" if outcome.error else ""))
        if outcome.outcome == "failed":
            raise StoreJobFailed(f"store {store.name!r}: {outcome.error}")
        if outcome.outcome == "locked":  # tried again later (``StoreJobLocked``)
            raise StoreJobLocked(f"store {store.name!r}: {outcome.error}")
        return {"store": store.name, "outcome": outcome.outcome, "records": outcome.records}

    return harvest


def _log_report(line: str) -> None:
    logger.info("%s", line)


async def run_worker(
    dsn: str,
    *,
    to: str | None = None,
    concurrency: int = 8,
    metrics: FleetMetrics | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    heartbeat: float = 1.0,
    stall: float = 10.0,
    grace: float = 0.0,
    env: Mapping[str, str] | None = None,
    report: Report | None = None,
    on_ready: Callable[[Queue], None] | None = None,
) -> None:
    """Run a fleet worker on the queue at ``dsn`` until cancelled, harvesting into ``to``
    (default: ``dsn``; a PostgreSQL sink URL).

    ``concurrency``: stores harvested at once; ``metrics_port``: serve ``metrics`` (a new
    :class:`FleetMetrics` when None) on it, at ``metrics_host``; ``heartbeat``/``stall``:
    seconds between beats, and of silence after which a worker's jobs are queued again
    (``stall`` >= 3 x ``heartbeat``; a worker whose process is gone, sooner: after
    ``FLEET_DEAD_AFTER_BEATS`` beats); ``grace``: seconds a stopping worker lets its stores
    run on before cancelling them; ``env``: where the stores' credential references are
    resolved (default ``os.environ``); ``report``: one line per store started or finished
    (default: logged); ``on_ready``: called with the open queue once the worker starts.
    ``ValueError`` for bad settings, :class:`~integration_logs_async.sinks.SinkError`
    subclasses when the queue database cannot be used (also when the worker stops by
    itself because of it).
    """
    check_timing(heartbeat, stall)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, not {concurrency!r}")
    if not (math.isfinite(grace) and grace >= 0):
        raise ValueError(f"grace must be a number of seconds >= 0, not {grace!r}")
    sink = to or dsn
    check_fleet_sink(sink)
    tell = report or _log_report
    metrics = metrics or FleetMetrics()
    locks = JobLocks(queue_target(dsn).dsn)
    job = _job_function(sink, env, metrics, tell, locks)
    async with contextlib.AsyncExitStack() as stack:
        if metrics_port is not None:
            server = await metrics.serve(metrics_port, metrics_host)
            stack.push_async_callback(server.close)
            tell(f"metrics: http://{metrics_host}:{server.port}/metrics")
        queue = await stack.enter_async_context(open_queue(dsn, job))
        for line in queue.schema.lines():
            tell(f"queue {queue.target.shown}: {line}")
        try:
            await stack.enter_async_context(locks)
        except (psycopg.Error, OSError) as exc:
            raise queue_error_for(exc, queue.target) from None
        missed = FLEET_DEAD_AFTER_BEATS * heartbeat

        async def reap() -> None:
            for reaped in await reap_stalled(queue.app, stall, missed=missed):
                why = {
                    "gone": f"its worker is gone (no heartbeat for {missed:g} s, session ended)",
                    "silent": f"its worker was silent for {stall:g} s",
                }[reaped.cause]
                tell(f"store {reaped.store!r}: job {reaped.job_id} {reaped.action}: {why}")

        async def schedule() -> None:
            async def defer(name: str, definition: Mapping[str, Any]) -> None:
                StoreConfig.from_json(definition, source=f"the schedule of store {name!r}")
                await queue.defer(definition)

            async with queue.connection() as conn:
                done = await tick(conn, defer)
            for name in done.deferred:
                tell(f"store {name!r}: due, queued")
            for name, why in done.failed:
                tell(f"store {name!r}: due, but could not be queued: {why}")

        side = [
            asyncio.create_task(_every(heartbeat, "reaping stalled jobs", reap)),
            asyncio.create_task(_every(heartbeat, "the schedule's tick", schedule)),
            asyncio.create_task(_every(heartbeat, "the job locks' session", locks.keep)),
        ]
        if on_ready is not None:
            on_ready(queue)
        try:
            await queue.app.run_worker_async(
                concurrency=concurrency,
                name=f"integration-logs@{socket.gethostname()}:{os.getpid()}",
                install_signal_handlers=False,  # the caller cancels: Ctrl-C and SIGTERM
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stall,
                shutdown_graceful_timeout=grace,
                fetch_job_polling_interval=heartbeat,  # a reaped or unblocked job has no NOTIFY
                listen_notify=True,
            )
        except (pe.ConnectorException, psycopg.Error) as exc:
            raise queue_error_for(exc, queue.target) from None
        finally:
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
        # Never asked to stop (only cancelled), it stopped by itself: a part of it failed.
        raise SinkUnavailableError(
            f"the fleet worker stopped: talking to the queue database {queue.target.shown} "
            "failed (the log above says how); committed batches are kept and its stores' jobs "
            "are queued again by the other workers: start it again"
        )


__all__ = ["Reaped", "Report", "StoreJobFailed", "check_timing", "reap_stalled", "run_worker"]
