"""The PostgreSQL sink (asyncpg): rows and state in one transaction, one writer per store.

``open`` connects, creates or migrates the tables under a transaction-level advisory lock
(two first runs at once do not race), then takes the store's session-level advisory lock for
the whole run. ``write`` COPYs a batch straight into the table (or, when some of its keys
are there already, into a temporary staging table, moved with ``INSERT ... ON CONFLICT DO
NOTHING``) and upserts the state, all in one transaction. The raw
JSON goes in as binary ``jsonb`` (a version byte and the server's bytes: no decoding in
Python); it is stored as a JSON value, so whitespace and key order are normalized.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs or py.typed

from .._constants import HARVEST_SAVE_EVERY_RECORDS
from . import _postgres_sql as sql
from ._errors import SinkError, SinkLockedError, SinkSchemaError
from ._postgres_clean import storable_rows
from ._postgres_errors import sink_error_for
from ._rows import IntegrationRow, LogRow
from ._schema import (
    INTEGRATION_COLUMNS,
    LOG_COLUMNS,
    SCHEMA_VERSION,
    STATE_COLUMNS,
    Column,
    TableNames,
    missing_columns,
)
from ._sink import StoreKey
from ._url import SinkURL

CONNECT_TIMEOUT = 10.0
"""Seconds to connect (and authenticate) before the server counts as unreachable."""
CLOSE_TIMEOUT = 5.0
"""Seconds for a graceful close before the connection is cut."""
IDS_BATCH = 10_000
KEEPALIVE = (
    "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3"
)
"""The server probes a silent harvest's connection: if its machine dies, the store's writer
lock is released within about a minute, not after the OS default of two hours (a statement,
not startup parameters, so connection poolers pass it)."""

_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)
_UNSTORABLE = (asyncpg.DataError, UnicodeEncodeError)  # maybe a NUL or a lone surrogate
Connection = Any  # asyncpg.Connection (its stubs are partial)
MigrationStep = Callable[[Connection, TableNames], Awaitable[None]]


async def _v0_to_v1(conn: Connection, names: TableNames) -> None:
    """Version 0: a log table of the right shape without the other tables (no meta)."""
    await conn.execute(sql.create_logs(names))
    await conn.execute(sql.create_others(names))


MIGRATIONS: Mapping[int, MigrationStep] = {0: _v0_to_v1}
"""Step ``n`` brings the tables from version ``n`` to ``n + 1``."""


async def _migrate(
    conn: Connection,
    names: TableNames,
    from_version: int,
    *,
    steps: Mapping[int, MigrationStep] = MIGRATIONS,
    to_version: int = SCHEMA_VERSION,
) -> None:
    """Run the steps from ``from_version`` up to ``to_version`` and stamp it (inside the
    caller's transaction: all steps or none)."""
    for version in range(from_version, to_version):
        step = steps.get(version)
        if step is None:
            raise SinkSchemaError(
                f"table {names.logs} has schema version {version} and this release has no "
                f"migration from it: upgrade to a release that has, or pick another ?table= name"
            )
        await step(conn, names)
    await conn.execute(sql.stamp_version(names), str(to_version))


def _jsonb_encode(value: bytes) -> bytes:
    return b"\x01" + value


def _jsonb_decode(data: bytes) -> bytes:
    return data[1:]


_READ_ONLY = "SELECT pg_catalog.current_setting('transaction_read_only')"


class PostgresSink:
    """A :class:`~._sink.Sink` writing to a PostgreSQL database (``postgresql://``)."""

    unique = True
    batch_records = HARVEST_SAVE_EVERY_RECORDS

    def __init__(self, url: SinkURL) -> None:
        self._url = url
        self._names = TableNames(url.table)
        self._conn: Connection | None = None
        self._key: StoreKey | None = None
        self._staging = False  # the session's staging table exists (``_insert``)
        self._direct = False  # the log table takes a COPY of the rows as they are (``_insert``)

    def __repr__(self) -> str:
        return f"PostgresSink({self._url.shown!r}, table={self._url.table!r})"

    @property
    def target(self) -> SinkURL:
        """The URL written to (shown without its password)."""
        return self._url

    def _error(self, exc: BaseException, *, connecting: bool = False) -> SinkError:
        return sink_error_for(exc, self._url, self._url.table, connecting=connecting)

    def _opened(self) -> tuple[Connection, StoreKey]:
        if self._conn is None or self._key is None:
            raise RuntimeError(f"{self!r} is not open: call open() first")
        return self._conn, self._key

    async def open(self, key: StoreKey) -> bytes | None:
        """Connect, create or migrate the tables, take ``key.store``'s writer lock, and
        return ``key``'s committed state (None: never harvested)."""
        if self._conn is not None:
            raise RuntimeError(f"{self!r} is already open")
        try:
            conn = await asyncpg.connect(
                self._url.dsn,
                timeout=CONNECT_TIMEOUT,
                server_settings={"application_name": "integration-logs harvest"},
            )
        except _ERRORS as exc:
            raise self._error(exc, connecting=True) from None
        self._conn, self._key, self._staging = conn, key, False
        try:
            await conn.execute(KEEPALIVE)
            await conn.set_type_codec(
                "jsonb",
                schema="pg_catalog",
                encoder=_jsonb_encode,
                decoder=_jsonb_decode,
                format="binary",
            )
            await self._prepare_tables(conn)
            # Refused here, before anything is read from the API (the staging table that
            # would fail in a read-only session is made only at the first batch).
            if await conn.fetchval(_READ_ONLY) == "on":
                raise asyncpg.exceptions.ReadOnlySQLTransactionError(
                    "the session is read-only (transaction_read_only is on)"
                )
            await self._lock(conn, key)
            state: bytes | None = await conn.fetchval(
                sql.read_state(self._names), key.provider, key.store, key.harvest
            )
        except BaseException as exc:
            await self.close()
            if isinstance(exc, _ERRORS):
                raise self._error(exc) from exc
            raise
        return state

    async def _prepare_tables(self, conn: Connection) -> None:
        """Create, check or migrate the four tables (serialized across processes; when all
        four are there at this version, as on every run but the first, nothing waits: a
        fleet's stores opening at once were queued behind each other's check)."""
        names = self._names
        found, version = await self._schema(conn)  # committed DDL only: all or nothing
        if len(found) == 4 and version == SCHEMA_VERSION:
            self._direct = sql.copies_directly(found[names.logs])
            return
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", sql.lock_key("ddl", names.logs))
            found, version = await self._schema(conn)
            if version == -1:  # nothing there yet
                await conn.execute(sql.create_logs(names))
                await conn.execute(sql.create_others(names))
                await conn.execute(sql.stamp_version(names), str(SCHEMA_VERSION))
            elif version < SCHEMA_VERSION:
                await _migrate(conn, names, version)
            elif len(found) < 4:  # a table was dropped by hand: recreate it
                await conn.execute(sql.create_logs(names))
                await conn.execute(sql.create_others(names))
            found, _ = await self._schema(conn)
            self._direct = sql.copies_directly(found.get(names.logs, {}))

    async def _schema(self, conn: Connection) -> tuple[dict[str, dict[str, str]], int]:
        """The four tables' columns as found, and their schema version (-1: no tables; 0:
        before versions); :class:`SinkSchemaError` for another shape or a newer version."""
        names = self._names
        rows = await conn.fetch(
            sql.columns_query(), [names.logs, names.integrations, names.state, names.meta]
        )
        found: dict[str, dict[str, str]] = {}
        for table, column, data_type in rows:
            found.setdefault(table, {})[column] = data_type
        self._check_shapes(found)
        if names.meta in found:
            value = await conn.fetchval(sql.read_version(names))
            version = int(value) if value is not None and value.isdigit() else 0
        else:
            version = 0 if names.logs in found else -1
        if version > SCHEMA_VERSION:
            raise SinkSchemaError(
                f"table {names.logs} at {self._url.shown} was written by a newer release "
                f"(schema version {version}; this release knows {SCHEMA_VERSION}): "
                "upgrade integration-logs-async"
            )
        return found, version

    def _check_shapes(self, found: dict[str, dict[str, str]]) -> None:
        names = self._names
        expected: dict[str, tuple[Column, ...]] = {
            names.logs: LOG_COLUMNS,
            names.integrations: INTEGRATION_COLUMNS,
            names.state: STATE_COLUMNS,
            names.meta: (Column("key", "text"), Column("value", "text")),
        }
        for table, columns in expected.items():
            if table not in found:
                continue
            problems = missing_columns(columns, found[table], sql.SAME_TYPE)
            if problems:
                raise SinkSchemaError(
                    f"table {table} at {self._url.shown} exists with another schema "
                    f"({'; '.join(problems)}): pick another table name with ?table=NAME "
                    "in the URL, or rename that table"
                )

    async def _lock(self, conn: Connection, key: StoreKey) -> None:
        lock = sql.lock_key("store", self._names.logs, key.provider, key.store)
        if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", lock):
            raise SinkLockedError(
                f"another harvest of store {key.store!r} ({key.provider}) is writing to table "
                f"{self._names.logs} at {self._url.shown} right now: wait for it to finish or "
                f"stop it (find it with: {sql.lock_query(lock)})"
            )

    async def write(self, rows: Sequence[LogRow], state: bytes) -> int:
        """Commit ``rows`` and ``state`` together; returns how many rows were new. A batch
        refused for a NUL or an unpaired surrogate (which PostgreSQL cannot store) is
        written again with those characters as U+FFFD (see :mod:`._postgres_clean`)."""
        conn, key = self._opened()
        try:
            try:
                return await self._write(conn, key, rows, state)
            except _UNSTORABLE:
                cleaned = storable_rows(rows)
                if cleaned is None:
                    raise
            return await self._write(conn, key, cleaned, state)
        except (*_ERRORS, *_UNSTORABLE) as exc:
            raise self._error(exc) from exc

    async def _write(
        self, conn: Connection, key: StoreKey, rows: Sequence[LogRow], state: bytes
    ) -> int:
        async with conn.transaction():
            count = await self._insert(conn, rows) if rows else 0
            await conn.execute(
                sql.upsert_state(self._names), key.provider, key.store, key.harvest, state
            )
        return count

    async def _insert(self, conn: Connection, rows: Sequence[LogRow]) -> int:
        """Insert ``rows``, skipping keys the table holds; returns how many were new.

        The usual batch holds only new keys: one COPY straight into the table, in a
        savepoint. A key already there (the batch a killed run had committed, read again)
        fails that COPY; the savepoint is rolled back and the batch goes through the staging
        table, whose ``INSERT ... ON CONFLICT DO NOTHING`` skips those keys. A table made by
        hand with other compatible types (e.g. ``json``) always takes the staging path, which
        converts. The staging path writes every row twice (benchmarks/README.md, "Sinks").
        """
        if self._direct:
            with contextlib.suppress(asyncpg.UniqueViolationError):
                async with conn.transaction():  # a savepoint in the batch's transaction
                    await conn.copy_records_to_table(
                        self._names.logs, records=rows, columns=sql.LOG_NAMES
                    )
                return len(rows)
        if not self._staging:
            # Created when first needed, not at open: ~5 ms of catalog writes on the server,
            # which a fleet's stores opening together queued up in front of their first requests.
            await conn.execute(sql.create_staging())
            self._staging = True
        await conn.copy_records_to_table(sql.STAGING, records=rows, columns=sql.LOG_NAMES)
        return sql.inserted(await conn.execute(sql.move_staged(self._names)))

    async def write_integrations(self, rows: Sequence[IntegrationRow]) -> None:
        """Insert or update the store's integrations (one transaction)."""
        conn, _ = self._opened()
        if not rows:
            return
        query = sql.upsert_integrations(self._names)
        try:
            try:
                async with conn.transaction():
                    await conn.executemany(query, rows)
            except _UNSTORABLE:
                cleaned = storable_rows(rows)
                if cleaned is None:
                    raise
                async with conn.transaction():
                    await conn.executemany(query, cleaned)
        except (*_ERRORS, *_UNSTORABLE) as exc:
            raise self._error(exc) from exc

    async def ids(self) -> AsyncIterator[list[str]]:
        """The ids written for the opened store, in batches (read with a cursor)."""
        conn, key = self._opened()
        try:
            async with conn.transaction(readonly=True):
                batch: list[str] = []
                query = sql.select_ids(self._names)
                async for record in conn.cursor(query, key.provider, key.store, prefetch=IDS_BATCH):
                    batch.append(record[0])
                    if len(batch) >= IDS_BATCH:
                        yield batch
                        batch = []
                if batch:
                    yield batch
        except _ERRORS as exc:
            raise self._error(exc) from exc

    async def close(self) -> None:
        """Close the connection (the server rolls back what is uncommitted and frees the
        store's lock); idempotent, safe after a failure and when cancelled."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.close(timeout=CLOSE_TIMEOUT)
        except BaseException:
            conn.terminate()
            with contextlib.suppress(*_ERRORS):
                raise


__all__ = ["MIGRATIONS", "MigrationStep", "PostgresSink"]
