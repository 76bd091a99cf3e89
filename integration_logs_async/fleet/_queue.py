"""The fleet's job queue on procrastinate: one job per store, and ``enqueue``.

The queue lives in a PostgreSQL database (``--dsn``; often the sink's). :func:`open_queue`
builds a procrastinate :class:`~procrastinate.App` for that database (never a module-level
global: each DSN gets its own), applies procrastinate's schema and the schedule's table on
first use (and procrastinate's migrations after an upgrade: :mod:`._queue_schema`) under
an advisory lock, and registers the task :data:`TASK_NAME`. A worker builds
the same app with its job function, so it knows the task by that name.

A job's only argument is ``{"store": StoreConfig.to_json()}``: environment-variable
references, never a secret nor the sink's password (the worker's ``--to`` says where rows
go). Every store's jobs carry ``lock`` and ``queueing_lock`` :func:`store_lock`: at most one
runs and one waits per store; deferring while one waits is "already waiting".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import procrastinate
import psycopg
from procrastinate import exceptions as pe
from procrastinate.job_context import JobContext
from procrastinate.retry import RetryDecision, RetryStrategy
from procrastinate.tasks import Task
from yarl import URL

from .._constants import FLEET_LOCKED_RETRIES, FLEET_LOCKED_RETRY_SECONDS
from ..sinks import SinkAuthError, SinkError, SinkUnavailableError, SinkURL, parse_sink_url
from ._queue_schema import SchemaChange, bring_up_to_date
from ._schedule import CREATE_SCHEDULE, remove_schedule, save_schedule
from ._stores import StoreConfig

TASK_NAME = "integration_logs_async.fleet.harvest_store"
"""The procrastinate task that harvests one store (its job's argument: ``store``)."""

_SCHEMA_LOCK = 0x696C_6171_7565_7565  # "ilaqueue": serializes first-use schema creation
_CONNECT_TIMEOUT = 10  # seconds
_POOL_MAX = 8  # connections of one app: listener, heartbeat, fetch, finish, reaper, schedule

JobFunction = Callable[[JobContext, StoreConfig], Awaitable[dict[str, Any]]]
"""What a worker does with one store's job (the job's context and its store)."""


def store_lock(name: str) -> str:
    """The ``lock`` and ``queueing_lock`` of a store's jobs."""
    return f"integration-logs:{name}"


def queue_target(dsn: str) -> SinkURL:
    """``dsn`` parsed (``ValueError`` unless it is a ``postgresql://`` URL); ``.dsn`` goes to
    the driver, ``.shown`` (no password) into messages."""
    target = parse_sink_url(dsn)
    if target.kind != "postgresql":
        raise ValueError(
            f"--dsn {target.shown} is not a PostgreSQL URL: the fleet's queue lives in "
            "PostgreSQL (--dsn postgresql://user@host/db)"
        )
    return target


def queue_error_for(exc: BaseException, target: SinkURL) -> SinkError:
    """A typed error for the queue database failing (``exc`` from psycopg or procrastinate):
    what happened at which URL (never its password) and what to do."""
    cause = exc.__cause__ if isinstance(exc, pe.ConnectorException) and exc.__cause__ else exc
    detail = " ".join(str(cause).split()) or type(cause).__name__
    password = URL(target.dsn).password
    if password:
        detail = detail.replace(password, "***")
    detail = detail.replace(target.dsn, target.shown)
    state = getattr(cause, "sqlstate", None)
    if state in ("28P01", "28000") or "password authentication failed" in detail:
        return SinkAuthError(
            f"the queue database {target.shown} refused the credentials ({detail}): check "
            "the user name and password in --dsn (or PGPASSWORD / ~/.pgpass)"
        )
    if isinstance(cause, psycopg.OperationalError | OSError | TimeoutError):
        return SinkUnavailableError(
            f"cannot reach the queue database {target.shown} ({detail}): check that it runs "
            "and is reachable from here, then run the command again"
        )
    return SinkError(f"the queue database {target.shown} failed ({detail})")


class StoreJobLocked(Exception):
    """A store's job found the store's writer lock held: another run is harvesting it, or
    the session of a dead machine still holds it (until the server notices). The job is
    tried again later (``FLEET_LOCKED_RETRY_SECONDS``), so the store is not left behind."""


class _RetryWhenStopped(RetryStrategy):
    """Retry a job when it was cancelled (its worker stopping: another worker takes it at
    once and continues from the store's committed checkpoint) or found its store locked
    (every ``FLEET_LOCKED_RETRY_SECONDS``, up to ``FLEET_LOCKED_RETRIES`` times). A failed
    store is not retried: its job is marked failed, with the reason."""

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):
            return RetryDecision(retry_at=None)
        if isinstance(exception, StoreJobLocked) and job.attempts < FLEET_LOCKED_RETRIES:
            later = round(FLEET_LOCKED_RETRY_SECONDS * 1000)
            return RetryDecision(retry_in={"milliseconds": later})
        return None


@dataclass(frozen=True)
class Queue:
    """An open queue: the procrastinate app, its store task, where it is (shown) and what
    opening it changed in procrastinate's schema."""

    app: procrastinate.App
    task: Task[Any, Any, Any]
    target: SinkURL
    schema: SchemaChange = field(default_factory=SchemaChange)

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection of the app's pool (for the schedule's table)."""
        connector = self.app.connector
        assert isinstance(connector, procrastinate.PsycopgConnector)
        async with connector.pool.connection() as conn:
            yield conn

    async def defer(self, definition: Mapping[str, Any]) -> int | None:
        """Queue one job for the store ``definition`` (``StoreConfig.to_json()``); its id,
        or None when a job of that store is already waiting."""
        lock = store_lock(str(definition["name"]))
        deferrer = self.task.configure(lock=lock, queueing_lock=lock)
        try:
            return await deferrer.defer_async(store=dict(definition))
        except pe.AlreadyEnqueued:
            return None


def build_app(
    dsn: str, job: JobFunction | None = None
) -> tuple[procrastinate.App, Task[Any, Any, Any]]:
    """A procrastinate app for the queue at ``dsn`` (a driver DSN, see :func:`queue_target`)
    and its store task. ``job`` is what a worker does with a store's job; without it (to
    enqueue only) running a job raises."""
    connector = procrastinate.PsycopgConnector(
        conninfo=dsn,
        min_size=1,
        max_size=_POOL_MAX,
        kwargs={"connect_timeout": _CONNECT_TIMEOUT, "application_name": "integration-logs fleet"},
    )
    app = procrastinate.App(connector=connector)

    async def harvest_store(context: JobContext, store: dict[str, Any]) -> dict[str, Any]:
        if job is None:
            raise RuntimeError("this queue app enqueues only; run jobs with a fleet worker")
        source = f"job {context.job.id} of the fleet queue"
        return await job(context, StoreConfig.from_json(store, source=source))

    task = app.task(name=TASK_NAME, pass_context=True, retry=_RetryWhenStopped())(harvest_store)
    return app, task


async def _ensure_schema(target: SinkURL) -> SchemaChange:
    """Connect once (a clear error fast, rather than a pool waiting 30 s), create
    procrastinate's schema or bring it up to the installed release (:mod:`._queue_schema`)
    and create the schedule's table if missing, under an advisory lock so that workers
    starting together do not race."""
    try:
        conn = await psycopg.AsyncConnection.connect(
            target.dsn, connect_timeout=_CONNECT_TIMEOUT, autocommit=True
        )
    except (psycopg.Error, OSError) as exc:
        raise queue_error_for(exc, target) from None
    try:
        async with conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            change = await bring_up_to_date(conn)
            await conn.execute(CREATE_SCHEDULE)
    except psycopg.Error as exc:
        raise queue_error_for(exc, target) from None
    return change


@contextlib.asynccontextmanager
async def open_queue(dsn: str, job: JobFunction | None = None) -> AsyncIterator[Queue]:
    """The queue at ``dsn`` (a ``postgresql://`` URL), open: schema ensured, pool open.
    ``job``: what a worker does with a store's job (see :func:`build_app`)."""
    target = queue_target(dsn)
    schema = await _ensure_schema(target)
    app, task = build_app(target.dsn, job)
    try:
        await app.open_async()
    except (pe.ConnectorException, psycopg.Error, OSError) as exc:
        raise queue_error_for(exc, target) from None
    try:
        yield Queue(app, task, target, schema)
    finally:
        await app.close_async()


EnqueueStatus = Literal["queued", "already waiting", "schedule stopped", "not scheduled"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Enqueued:
    """What ``enqueue`` did for one store."""

    store: str
    status: EnqueueStatus
    job_id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class EnqueueResult:
    """What ``enqueue`` did, store by store in the file's order; ``every``: the period the
    stores were scheduled with (None: schedules left alone; 0: schedules removed);
    ``schema``: what opening the queue changed in procrastinate's schema."""

    stores: tuple[Enqueued, ...]
    every: float | None = None
    schema: SchemaChange = field(default_factory=SchemaChange)

    def count(self, status: EnqueueStatus) -> int:
        """How many stores got ``status``."""
        return sum(1 for s in self.stores if s.status == status)


async def enqueue(
    stores: Sequence[StoreConfig], dsn: str, *, every: float | None = None
) -> EnqueueResult:
    """Queue one job per store in the queue at ``dsn``: "queued", or "already waiting" when
    a job of that store waits already (one runs and one waits at most per store).

    ``every`` (seconds): also schedule the stores every that often (workers queue them when
    due); ``0``: queue nothing and remove the stores from the schedule; None: leave the
    schedule alone. Raises :class:`~integration_logs_async.sinks.SinkError` subclasses when
    the database fails, ``ValueError`` for a bad ``dsn`` or ``every``.
    """
    if every is not None and (every < 0 or every != every):
        raise ValueError(f"every must be a number of seconds >= 0 (0 stops), not {every!r}")
    async with open_queue(dsn) as queue:
        try:
            if every == 0:
                async with queue.connection() as conn:
                    removed = set(await remove_schedule(conn, [s.name for s in stores]))
                return EnqueueResult(
                    stores=tuple(
                        Enqueued(
                            store=s.name,
                            status="schedule stopped" if s.name in removed else "not scheduled",
                        )
                        for s in stores
                    ),
                    every=0.0,
                    schema=queue.schema,
                )
            done: list[Enqueued] = []
            for store in stores:
                job_id = await queue.defer(store.to_json())
                status: EnqueueStatus = "already waiting" if job_id is None else "queued"
                done.append(Enqueued(store=store.name, status=status, job_id=job_id))
            if every is not None:
                async with queue.connection() as conn:
                    await save_schedule(conn, [(s.name, s.to_json()) for s in stores], every)
            return EnqueueResult(stores=tuple(done), every=every, schema=queue.schema)
        except (pe.ConnectorException, psycopg.Error) as exc:
            raise queue_error_for(exc, queue.target) from None


__all__ = [
    "TASK_NAME",
    "EnqueueResult",
    "EnqueueStatus",
    "Enqueued",
    "JobFunction",
    "Queue",
    "build_app",
    "enqueue",
    "open_queue",
    "queue_error_for",
    "queue_target",
    "store_lock",
]
