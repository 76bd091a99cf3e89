"""The DuckDB sink: a local database file, the embedded default for analysis.

``duckdb:///path/logs.duckdb``: four tables (:mod:`._schema`), created on first use and
migrated when an older version of this package made them. Each :meth:`DuckDBSink.write` is
one transaction: the batch goes in as an Arrow table (one scan, ``ON CONFLICT DO NOTHING``
drops keys already there) and the harvest's state is upserted beside it.

DuckDB's API blocks, and a connection must not be used from two threads at once: every call
runs in the sink's own worker thread (one per sink), so the event loop stays free.

A batch is one row group: at commit, DuckDB moves a batch that fills a row group into the
table whole, and copies a smaller one in again, row by row. Its default row group holds
122,880 rows, far more than a batch (8,192 records by default), so every batch was copied
twice. The file is attached with row groups of a batch's size, and with DuckDB's optimistic
writes off (they would compress a full row group during the insert, work the checkpoint does
anyway), where the DuckDB release has both (1.5.6 and later); older ones write as before.
The file stays an ordinary DuckDB file: others open it with their own row group size.

The raw JSON is stored with ZSTD (``USING COMPRESSION zstd``, set when the table is created,
where the file's storage version has it: files DuckDB 2 creates): its checkpoint took a
quarter of the time, and the file a fifth of the space, of DuckDB's default compression.

The writer lock: DuckDB lets one process at a time open a file for writing, so a second
harvest into the same file, of this store or any other, fails at once with
:class:`~._errors.SinkLockedError`; within one process (where DuckDB would share the file)
the sink refuses a second open of it just the same. Readers (``duckdb -readonly``) must wait
for the harvest to end, or read a copy.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import duckdb

from .._constants import DUCKDB_SAVE_EVERY_RECORDS
from ._arrow import LOG_SCHEMA_JSON, integration_table, log_table, with_storable_raw
from ._duckdb_sql import (
    BATCH_VIEW,
    ZSTD_COLUMNS,
    Conflict,
    attach,
    create_table,
    first_line,
    insert_rows,
    literal,
    map_error,
    migration_steps,
    quote,
    schema_problems,
    tables,
    takes_zstd,
    update_state,
    upsert_state,
)
from ._errors import (
    SinkDependencyError,
    SinkError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkSchemaError,
    SinkUnavailableError,
)
from ._postgres_clean import storable_rows
from ._rows import IntegrationRow, LogRow
from ._schema import INTEGRATION_COLUMNS, LOG_COLUMNS, SCHEMA_VERSION, TableNames
from ._sink import StoreKey
from ._url import SinkURL
from ._worker import Worker

_IDS_BATCH = 50_000
_CHECKPOINT_EVERY = "256MB"
_MEMORY_LIMIT = "256MB"
_WRITE_THREADS = 1
_ROW_GROUP_ROWS = DUCKDB_SAVE_EVERY_RECORDS  # a batch (see the module)
_ALIAS = "sink"  # the attached file's name in the connection (its default database)
_SIZE = re.compile(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", re.IGNORECASE)
_BROKEN = {
    # its index (ART) fails on an insert after a checkpoint when the key's shared prefix is
    # long, as (provider, store, id) keys are: "Failed to commit: Invalid node type for
    # ReplaceChild: 7"; fixed in 1.1.1
    "1.1.0": "its primary-key index fails after a checkpoint (fixed in 1.1.1)",
}

_open_files: set[str] = set()  # files open in this process (DuckDB would share them)
_open_files_lock = threading.Lock()


class _Cancelled(Exception):
    """The awaiting task was cancelled before the commit: the worker rolled back."""


class DuckDBSink:
    """Writes a harvest into a DuckDB file (``duckdb:///path.duckdb``); see the module."""

    unique = True
    batch_records = DUCKDB_SAVE_EVERY_RECORDS

    def __init__(self, url: SinkURL) -> None:
        self._url = url
        self._names = TableNames(url.table)
        self._path = Path(url.path or "")
        self._worker: Worker | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._held: str | None = None
        self._key: StoreKey | None = None

    @property
    def target(self) -> SinkURL:
        """The file written to."""
        return self._url

    def __repr__(self) -> str:
        return f"DuckDBSink({self._url.shown!r})"

    async def open(self, key: StoreKey) -> bytes | None:
        """Open (or create) the file, create or migrate the tables, return ``key``'s state."""
        if self._worker is not None:
            raise RuntimeError(f"{self!r} was opened already (open a sink once)")
        self._worker = Worker("duckdb-sink")
        self._key = key
        try:
            return await self._worker.run(self._open_sync, key)
        except BaseException:
            await self.close()
            raise

    async def write(self, rows: Sequence[LogRow], state: bytes) -> int:
        """Insert ``rows`` (keys already there are skipped) and store ``state``, in one
        transaction; returns the number of rows inserted. A batch refused for a lone
        surrogate (DuckDB's JSON and Arrow's text reject them) is written again with
        U+FFFD in its place, so one odd log does not stop every rerun."""
        cancel = threading.Event()
        return await self._running().run(
            self._write_sync, _first_of_each_key(rows), state, cancel, cancel=cancel
        )

    async def write_integrations(self, rows: Sequence[IntegrationRow]) -> None:
        """Insert or update integrations (the last of a key in ``rows`` wins)."""
        table = integration_table(_last_of_each_key(rows))
        await self._running().run(self._integrations_sync, table)

    async def ids(self) -> AsyncIterator[list[str]]:
        """The ids stored for the opened key's provider and store, in batches."""
        cursor = await self._running().run(self._ids_cursor)
        try:
            while batch := await self._running().run(cursor.fetchmany, _IDS_BATCH):
                yield [row[0] for row in batch]
        finally:
            if self._worker is not None:
                self._worker.submit(cursor.close)

    async def close(self) -> None:
        """Roll back what is uncommitted, close the file (releasing its lock); idempotent."""
        if self._worker is not None:
            await self._worker.close(self._close_sync)

    def _running(self) -> Worker:
        if self._worker is None or not self._worker.running:
            raise RuntimeError(f"{self!r} is not open")
        return self._worker

    # -- the worker thread -------------------------------------------------------------------

    def _where(self) -> str:
        return self._url.shown

    def _open_sync(self, key: StoreKey) -> bytes | None:
        if duckdb.__version__ in _BROKEN:
            raise SinkDependencyError(
                f"duckdb {duckdb.__version__} cannot write {self._where()}: "
                f"{_BROKEN[duckdb.__version__]}; pip install 'duckdb>=1.1.1'"
            )
        path = self._path
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise SinkUnavailableError(
                f"cannot open {self._where()}: the directory {parent} does not exist; create "
                "it or choose another path"
            )
        if (path.exists() and not os.access(path, os.W_OK)) or not os.access(parent, os.W_OK):
            raise SinkReadOnlyError(
                f"cannot write {self._where()}: the file or its directory {parent} is "
                "read-only; make both writable (DuckDB writes a .wal file beside it) or choose "
                "another path"
            )
        held = os.path.realpath(path)
        with _open_files_lock:
            if held in _open_files:
                raise SinkLockedError(
                    f"{self._where()} is already open for a harvest in this process; one "
                    "harvest writes a DuckDB file at a time: write to another file"
                )
            _open_files.add(held)
        self._held = held
        try:
            self._con = _connect(path)
        except duckdb.Error as exc:
            where = f"{self._where()} (harvesting store {key.store!r})"
            raise map_error(exc, where, "opening") from None
        try:
            # checkpoints rewrite the key index: every 16 MB of log (the default) would take
            # a third of the harvest's time; the log is replayed at the next open if killed
            self._con.execute(f"SET checkpoint_threshold = '{_CHECKPOINT_EVERY}'")
            # DuckDB's buffer pool grows to 80% of RAM by default, holding the whole table:
            # bounded, the harvest's memory stays flat as the file grows (?memory_limit=).
            limit = self._url.option("memory_limit", _MEMORY_LIMIT)
            if not _SIZE.fullmatch(limit):
                raise ValueError(
                    f"memory_limit={limit!r} in {self._url.shown} is not a size, e.g. 512MB or 2GB"
                )
            self._con.execute(f"SET memory_limit = '{limit}'")
            # One thread: the sink only appends, one ordered batch at a time, which DuckDB
            # does on one thread; a second only adds scheduling, and the final checkpoint
            # took as long with two (benchmarks/README.md, "Sinks")
            threads = self._url.option("threads", str(_WRITE_THREADS))
            if not threads.isdigit() or int(threads) < 1:
                raise ValueError(
                    f"threads={threads!r} in {self._url.shown} is not a count of threads, e.g. 2"
                )
            self._con.execute(f"SET threads = {int(threads)}")
            self._ensure_tables()
            row = self._con.execute(
                f"SELECT state FROM {quote(self._names.state)} "
                "WHERE provider = ? AND store = ? AND harvest = ?",
                [key.provider, key.store, key.harvest],
            ).fetchone()
        except duckdb.Error as exc:
            raise map_error(exc, self._where(), "preparing the tables of") from None
        return None if row is None else str(row[0]).encode()

    def _ensure_tables(self) -> None:
        """Create, or check and migrate, the tables, in one transaction."""
        con = self._con
        assert con is not None
        names = self._names
        zstd = ZSTD_COLUMNS if self._takes_zstd() else ()
        con.begin()
        try:
            found = self._columns()
            version = self._version(found)
            if version > SCHEMA_VERSION:
                raise SinkSchemaError(
                    f"the tables {names.logs}* in {self._where()} have schema version "
                    f"{version}, written by a newer integration-logs-async (this one knows "
                    f"{SCHEMA_VERSION}): upgrade the package, or use another ?table=NAME"
                )
            if found:
                for statement in migration_steps(version, names):
                    con.execute(statement)
            for table, (columns, key) in tables(names).items():
                con.execute(create_table(table, columns, key, zstd if table == names.logs else ()))
            problems = schema_problems(names, self._columns(), self._keys())
            if problems:
                raise SinkSchemaError(
                    f"{self._where()} has a table {names.logs}* of another shape "
                    f"({'; '.join(problems)}): choose another name with ?table=NAME, or "
                    "another file"
                )
            if version != SCHEMA_VERSION or names.meta not in found:
                con.execute(
                    f"INSERT OR REPLACE INTO {quote(names.meta)} VALUES ('schema_version', ?)",
                    [str(SCHEMA_VERSION)],
                )
            con.commit()
        except BaseException:
            _rollback(con)
            raise

    def _takes_zstd(self) -> bool:
        """Whether the file stores strings with ZSTD (:func:`~._duckdb_sql.takes_zstd`)."""
        assert self._con is not None
        try:
            row = self._con.execute(
                "SELECT tags FROM duckdb_databases() WHERE database_name = ?", [_ALIAS]
            ).fetchone()
        except duckdb.Error:  # a release without tags: no storage version to go by
            return False
        tags = row[0] if row else None
        return isinstance(tags, dict) and takes_zstd(str(tags.get("storage_version", "")))

    def _columns(self) -> dict[str, dict[str, str]]:
        assert self._con is not None
        names = list(tables(self._names))
        found: dict[str, dict[str, str]] = {}
        for table, column, kind in self._con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = current_schema() "
            f"AND table_name IN ({', '.join('?' * len(names))})",
            names,
        ).fetchall():
            found.setdefault(table, {})[column] = kind.lower()
        return found

    def _keys(self) -> dict[str, Sequence[str]]:
        assert self._con is not None
        rows = self._con.execute(
            "SELECT table_name, constraint_column_names FROM duckdb_constraints() "
            "WHERE database_name = current_database() AND schema_name = current_schema() "
            "AND constraint_type = 'PRIMARY KEY'"
        ).fetchall()
        return {table: list(columns) for table, columns in rows}

    def _version(self, found: dict[str, dict[str, str]]) -> int:
        """The tables' schema version: none yet → the current one; tables without a
        version row → 0 (the layout before versions)."""
        assert self._con is not None
        if not found:
            return SCHEMA_VERSION
        if self._names.meta not in found:
            return 0
        row = self._con.execute(
            f"SELECT value FROM {quote(self._names.meta)} WHERE key = 'schema_version'"
        ).fetchone()
        if row is None:
            return 0
        try:
            return int(row[0])
        except (TypeError, ValueError):
            raise SinkSchemaError(
                f"{self._names.meta} in {self._where()} holds schema_version {row[0]!r}, not "
                "a number: that table was not written by integration-logs-async; choose "
                "another name with ?table=NAME"
            ) from None

    def _write_sync(self, rows: Sequence[LogRow], state: bytes, cancel: threading.Event) -> int:
        # raw goes in as Arrow's JSON type, which DuckDB takes without parsing it again (a
        # third of the insert's time): escapes its JSON functions would refuse are replaced
        # first, as they would have been after a refused parse
        try:
            table = with_storable_raw(log_table(rows, LOG_SCHEMA_JSON))
            return self._write_table(table, state, cancel)
        except (ValueError, duckdb.ConversionException) as exc:
            if isinstance(exc, duckdb.ConversionException) and "json" not in str(exc).lower():
                raise map_error(exc, self._where(), "writing to") from None
            fixed = storable_rows(rows)
            if fixed is None:
                if isinstance(exc, duckdb.Error):
                    raise map_error(exc, self._where(), "writing to") from None
                raise
            return self._write_table(log_table(fixed, LOG_SCHEMA_JSON), state, cancel)

    def _write_table(self, table: Any, state: bytes, cancel: threading.Event) -> int:
        con, key = self._con, self._key
        assert con is not None and key is not None
        try:
            state_text = state.decode()
        except UnicodeDecodeError as exc:
            raise ValueError(f"the harvest state is not UTF-8 JSON: {exc}") from None
        con.begin()
        try:
            try:  # the fast path: DuckDB's conflict handling costs a third more
                inserted = self._insert(table, LOG_COLUMNS, "fail")
            except duckdb.ConstraintException:  # some keys are there (a resumed batch)
                con.rollback()
                con.begin()
                inserted = self._insert(table, LOG_COLUMNS, "skip")
            changed = con.execute(
                update_state(self._names), [state_text, key.provider, key.store, key.harvest]
            ).fetchone()
            if not changed or not changed[0]:  # the harvest's first state
                con.execute(
                    upsert_state(self._names), [key.provider, key.store, key.harvest, state_text]
                )
            if cancel.is_set():
                raise _Cancelled
            con.commit()
        except BaseException as exc:
            _rollback(con)
            if isinstance(exc, duckdb.Error) and not isinstance(exc, duckdb.ConversionException):
                raise map_error(exc, self._where(), "writing to") from None
            raise
        return inserted

    def _integrations_sync(self, table: Any) -> None:
        con = self._con
        assert con is not None
        con.begin()
        try:
            self._insert(table, INTEGRATION_COLUMNS, "update")
            con.commit()
        except BaseException as exc:
            _rollback(con)
            if isinstance(exc, duckdb.Error):
                raise map_error(exc, self._where(), "writing integrations to") from None
            raise

    def _insert(self, table: Any, columns: Any, conflict: Conflict) -> int:
        con = self._con
        assert con is not None
        if not table.num_rows:
            return 0
        target = self._names.logs if columns is LOG_COLUMNS else self._names.integrations
        con.register(BATCH_VIEW, table)
        try:
            row = con.execute(insert_rows(target, columns, conflict)).fetchone()
        finally:
            with suppress(duckdb.Error):  # refused in an aborted transaction: replaced later
                con.unregister(BATCH_VIEW)
        return int(row[0]) if row else 0

    def _ids_cursor(self) -> duckdb.DuckDBPyConnection:
        assert self._con is not None and self._key is not None
        cursor = self._con.cursor()  # a new connection: its default database is not set
        cursor.execute(f"USE {quote(_ALIAS)}")
        cursor.execute(
            f"SELECT id FROM {quote(self._names.logs)} WHERE provider = ? AND store = ?",
            [self._key.provider, self._key.store],
        )
        return cursor

    def _close_sync(self) -> None:
        con, self._con = self._con, None
        try:
            if con is not None:
                _rollback(con)
                try:
                    con.close()
                except duckdb.Error as exc:
                    raise SinkError(f"closing {self._where()} failed: {first_line(exc)}") from None
        finally:
            held, self._held = self._held, None
            if held is not None:
                with _open_files_lock:
                    _open_files.discard(held)


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB of its own with the file at ``path`` attached as its default database, in
    row groups of :data:`_ROW_GROUP_ROWS` where the release can (see the module); spills go
    to ``path.tmp``, as when DuckDB opens the file itself."""
    con = duckdb.connect()
    try:
        con.execute(f"SET temp_directory = {literal(str(path) + '.tmp')}")
        rows = _ROW_GROUP_ROWS if _optimistic_writes_off(con) else None
        con.execute(attach(str(path), _ALIAS, rows))
        con.execute(f"USE {quote(_ALIAS)}")
    except BaseException:
        con.close()
        raise
    return con


def _optimistic_writes_off(con: duckdb.DuckDBPyConnection) -> bool:
    """Turn DuckDB's optimistic writes off; False where the release has no such setting
    (before 1.5.6: there, small row groups would have every batch compressed as it is
    inserted, twice the time of the copy they save)."""
    try:
        con.execute("SET enable_optimistic_write = false")
    except duckdb.CatalogException:
        return False
    return True


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if any (none open: DuckDB says so; ignored)."""
    with suppress(duckdb.Error):
        con.rollback()


def _first_of_each_key(rows: Sequence[LogRow]) -> Sequence[LogRow]:
    """``rows`` without a key seen earlier in them (DuckDB 1.1 refuses one INSERT with a
    key twice, even with ON CONFLICT DO NOTHING)."""
    if len({row[2] for row in rows}) == len(rows):
        return rows  # ids differ, so keys differ: the usual case, one set and no copy
    first: dict[tuple[str, str, str], LogRow] = {}
    for row in rows:
        first.setdefault((row[0], row[1], row[2]), row)
    return list(first.values())


def _last_of_each_key(rows: Sequence[IntegrationRow]) -> Sequence[IntegrationRow]:
    """``rows`` with one row per key, the last (an upsert may not touch a key twice)."""
    return list({(row[0], row[1], row[2]): row for row in rows}.values())


__all__ = ["DuckDBSink"]
