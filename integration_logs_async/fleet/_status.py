"""The fleet's status table: one row per store, its last run and how far behind it is.

Table ``<table>_fleet`` (``<table>`` from the sink URL's ``?table=``, default
``integration_logs_fleet``) in the sink's PostgreSQL database, created on first use. Each
store run upserts its row in a short transaction of its own, after the harvest: the status
is a report, not part of exactly once (the rows and their checkpoint are committed by the
sink). ``running`` is read from the store's writer lock, so a killed run never looks like a
running one.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed

from ..sinks import SinkURL, TableNames, parse_sink_url
from ..sinks._postgres import CLOSE_TIMEOUT, CONNECT_TIMEOUT
from ..sinks._postgres_errors import sink_error_for
from ..sinks._postgres_sql import ident, lock_key

_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
_COLUMNS = (
    "store text PRIMARY KEY, provider text NOT NULL, last_started_at timestamptz, "
    "last_finished_at timestamptz, last_outcome text, last_error text, "
    "last_records bigint NOT NULL DEFAULT 0, total_records bigint NOT NULL DEFAULT 0, "
    "newest_created_at timestamptz, last_success_at timestamptz, runs bigint NOT NULL DEFAULT 0"
)


@dataclass(frozen=True, kw_only=True)
class StoreStatus:
    """One store's row of the status table (``provider`` as the log table names it, e.g.
    ``sendcloud/v3``)."""

    store: str
    provider: str
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_outcome: str | None
    last_error: str | None
    last_records: int
    total_records: int
    newest_created_at: datetime | None
    last_success_at: datetime | None
    runs: int
    running: bool = False
    """Whether a harvest of the store holds its writer lock right now."""

    def lag(self, now: datetime | None = None) -> float | None:
        """Seconds from the newest harvested ``created_at`` to ``now`` (None: unknown)."""
        if self.newest_created_at is None:
            return None
        return ((now or datetime.now(UTC)) - self.newest_created_at).total_seconds()


@dataclass(frozen=True, kw_only=True)
class StoreRun:
    """One finished run of a store, as its status row records it."""

    store: str
    provider: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    error: str | None
    records: int
    newest_created_at: datetime | None

    def values(self) -> tuple[object, ...]:
        """The upsert's parameters, in its order."""
        return (
            self.store,
            self.provider,
            self.started_at,
            self.finished_at,
            self.outcome,
            self.error,
            self.records,
            self.newest_created_at,
        )


def status_table(url: SinkURL) -> str:
    """The status table of the sink ``url``: ``<table>_fleet``."""
    return f"{url.table}_fleet"


async def _connect(url: SinkURL) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(
            url.dsn,
            timeout=CONNECT_TIMEOUT,
            server_settings={"application_name": "integration-logs fleet"},
        )
    except _ERRORS as exc:
        raise sink_error_for(exc, url, status_table(url), connecting=True) from None


async def _close(conn: asyncpg.Connection) -> None:
    try:
        await conn.close(timeout=CLOSE_TIMEOUT)
    except BaseException:
        conn.terminate()
        with contextlib.suppress(*_ERRORS):  # cut off: nothing uncommitted is kept anyway
            raise


async def _ensure_table(conn: asyncpg.Connection, table: str) -> None:
    """Create the status table when it is missing (serialized: two first runs at once)."""
    if await conn.fetchval("SELECT to_regclass($1)", ident(table)) is not None:
        return
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key("ddl", table))
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {ident(table)} ({_COLUMNS})")


def _upsert(table: str) -> str:
    t = ident(table)
    return (
        f"INSERT INTO {t} AS t (store, provider, last_started_at, last_finished_at, "
        "last_outcome, last_error, last_records, total_records, newest_created_at, "
        "last_success_at, runs) VALUES ($1::text, $2::text, $3::timestamptz, "
        "$4::timestamptz, $5::text, $6::text, $7::bigint, $7::bigint, $8::timestamptz, "
        "CASE WHEN $5::text = 'completed' THEN $4::timestamptz END, 1) "
        "ON CONFLICT (store) DO UPDATE SET provider = EXCLUDED.provider, "
        "last_started_at = EXCLUDED.last_started_at, "
        "last_finished_at = EXCLUDED.last_finished_at, last_outcome = EXCLUDED.last_outcome, "
        "last_error = EXCLUDED.last_error, last_records = EXCLUDED.last_records, "
        "total_records = t.total_records + EXCLUDED.last_records, "
        "newest_created_at = GREATEST(t.newest_created_at, EXCLUDED.newest_created_at), "
        "last_success_at = COALESCE(EXCLUDED.last_success_at, t.last_success_at), "
        "runs = t.runs + 1"
    )


class StatusRecorder:
    """Records the runs of many stores over one connection, opened at the first record.

    A fleet's stores finish close together, and one connection each (open, upsert, close)
    was ~100 connections in a second on the database's core, slowing every store still
    running there. Records are written one after another, each in its own transaction. A
    record that fails on the kept connection (the server restarted, or dropped it) is
    written once more over a new one.
    """

    def __init__(self, to: str | SinkURL) -> None:
        self._url = parse_sink_url(to) if isinstance(to, str) else to
        self._table = status_table(self._url)
        self._conn: asyncpg.Connection | None = None
        self._turn = asyncio.Lock()

    async def record(self, run: StoreRun) -> None:
        """Upsert the store's row after ``run`` (the table created on first use). Raises
        :class:`~integration_logs_async.sinks.SinkError` subclasses."""
        async with self._turn:
            while True:
                kept = self._conn is not None
                conn = self._conn or await self._connect()
                try:
                    await conn.execute(_upsert(self._table), *run.values())
                    return
                except BaseException as exc:
                    self._conn = None
                    await _close(conn)
                    if kept and isinstance(exc, Exception):
                        continue  # on a new connection, once: ``kept`` is False then
                    if isinstance(exc, _ERRORS):
                        raise sink_error_for(exc, self._url, self._table) from exc
                    raise

    async def _connect(self) -> asyncpg.Connection:
        conn = await _connect(self._url)
        try:
            await _ensure_table(conn, self._table)
        except BaseException as exc:
            await _close(conn)
            if isinstance(exc, _ERRORS):
                raise sink_error_for(exc, self._url, self._table) from exc
            raise
        self._conn = conn
        return conn

    async def aclose(self) -> None:
        """Close the connection (idempotent)."""
        async with self._turn:
            conn, self._conn = self._conn, None
            if conn is not None:
                await _close(conn)


async def record_run(to: str | SinkURL, run: StoreRun) -> None:
    """Upsert the store's row after ``run`` over a connection of its own (its own
    transaction; the table created on first use). Raises
    :class:`~integration_logs_async.sinks.SinkError` subclasses."""
    recorder = StatusRecorder(to)
    try:
        await recorder.record(run)
    finally:
        await recorder.aclose()


async def read_status(to: str | SinkURL) -> list[StoreStatus]:
    """Every store's row of the status table of the sink ``to``, by store name (empty when
    no fleet has run there). Raises :class:`~integration_logs_async.sinks.SinkError`
    subclasses."""
    url = parse_sink_url(to) if isinstance(to, str) else to
    table = status_table(url)
    logs = TableNames(url.table).logs
    conn = await _connect(url)
    try:
        if await conn.fetchval("SELECT to_regclass($1)", ident(table)) is None:
            return []
        rows = await conn.fetch(
            "SELECT store, provider, last_started_at, last_finished_at, last_outcome, "
            "last_error, last_records, total_records, newest_created_at, last_success_at, "
            f"runs FROM {ident(table)} ORDER BY store"
        )
        held = await conn.fetch(
            "SELECT classid::bigint, objid::bigint FROM pg_locks "
            "WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
        )
    except _ERRORS as exc:
        raise sink_error_for(exc, url, table) from exc
    finally:
        await _close(conn)
    locks = {(int(c) << 32) | int(o) for c, o in held}
    return [
        StoreStatus(
            **dict(row.items()),
            running=(lock_key("store", logs, row["provider"], row["store"]) & (2**64 - 1)) in locks,
        )
        for row in rows
    ]


__all__ = ["StoreRun", "StoreStatus", "read_status", "record_run", "status_table"]
