"""The DuckDB sink's SQL, schema checks, migration steps and error mapping (pure).

Everything here is text and data: :mod:`._duckdb` runs it. Table and column names are
quoted; the table name itself was validated by :func:`~._url.parse_sink_url`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Literal

from ._errors import (
    SinkError,
    SinkFullError,
    SinkLockedError,
    SinkReadOnlyError,
    SinkSchemaError,
    SinkUnavailableError,
)
from ._schema import (
    INTEGRATION_COLUMNS,
    KEY,
    LOG_COLUMNS,
    SCHEMA_VERSION,
    STATE_COLUMNS,
    STATE_KEY,
    Column,
    ColumnType,
    TableNames,
    missing_columns,
)

_DUCKDB_TYPES: dict[ColumnType, str] = {
    "text": "VARCHAR",
    "timestamptz": "TIMESTAMPTZ",
    "boolean": "BOOLEAN",
    "integer": "INTEGER",
    "json": "JSON",
}
SAME_TYPE: dict[ColumnType, set[str]] = {
    "text": {"varchar", "text", "string"},
    "timestamptz": {"timestamp with time zone", "timestamptz"},
    "boolean": {"boolean", "bool"},
    "integer": {"integer", "int", "int4", "int32", "bigint", "int8", "int64"},
    "json": {"json"},
}
"""DuckDB's type names (as ``information_schema.columns`` shows them) accepted per type."""

META_COLUMNS: tuple[Column, ...] = (
    Column("key", "text", nullable=False),
    Column("value", "text"),
)
Conflict = Literal["fail", "skip", "update"]
BATCH_VIEW = "integration_logs_batch"
"""The name an Arrow batch is registered under while it is inserted."""

MIGRATIONS: dict[int, tuple[str, ...]] = {
    # from version: statements that bring the tables to version + 1 ({logs}, {integrations},
    # {state}, {meta} are the quoted table names). Version 0 is the layout before the
    # normalized ``attempt`` column (and before the integrations table): step 0 adds them.
    # Tables still missing after the steps are created; the columns are checked afterwards,
    # and everything runs in one transaction, so a failed step changes nothing.
    0: ('ALTER TABLE {logs} ADD COLUMN IF NOT EXISTS "attempt" INTEGER',),
}


def quote(name: str) -> str:
    """``name`` as a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    """``text`` as a DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def attach(path: str, alias: str, row_group_rows: int | None) -> str:
    """``ATTACH`` the file at ``path`` as ``alias``, with row groups of ``row_group_rows``
    rows (None: DuckDB's default)."""
    options = "" if row_group_rows is None else f" (ROW_GROUP_SIZE {row_group_rows})"
    return f"ATTACH {literal(path)} AS {quote(alias)}{options}"


def table_names(names: TableNames) -> dict[str, str]:
    """The four table names, quoted, by role (``logs``, ``integrations``, ``state``, ``meta``)."""
    return {
        "logs": quote(names.logs),
        "integrations": quote(names.integrations),
        "state": quote(names.state),
        "meta": quote(names.meta),
    }


def tables(names: TableNames) -> dict[str, tuple[tuple[Column, ...], tuple[str, ...]]]:
    """Each table's columns and primary key, by its (unquoted) name."""
    return {
        names.logs: (LOG_COLUMNS, KEY),
        names.integrations: (INTEGRATION_COLUMNS, KEY),
        names.state: (STATE_COLUMNS, STATE_KEY),
        names.meta: (META_COLUMNS, ("key",)),
    }


def create_table(
    name: str,
    columns: tuple[Column, ...],
    key: tuple[str, ...],
    zstd: Collection[str] = (),
) -> str:
    """``CREATE TABLE IF NOT EXISTS`` with the primary key; the columns named in ``zstd`` are
    stored with DuckDB's ZSTD compression (see :func:`takes_zstd`)."""
    parts = [
        f"{quote(c.name)} {_DUCKDB_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}"
        + (" USING COMPRESSION zstd" if c.name in zstd else "")
        for c in columns
    ]
    parts.append(f"PRIMARY KEY ({', '.join(quote(k) for k in key)})")
    return f"CREATE TABLE IF NOT EXISTS {quote(name)} ({', '.join(parts)})"


ZSTD_COLUMNS = ("raw",)
"""The log table's columns stored with ZSTD where the file allows it: whole JSON documents,
which DuckDB's default (dictionary + FSST) compressed slowly and little (benchmarks/README.md,
"Sinks"); the short columns keep their dictionaries, which filters use."""


def takes_zstd(storage_version: str) -> bool:
    """Whether a file of ``storage_version`` (``duckdb_databases().tags``, e.g. ``v2.0.0+``,
    ``v1.0.0 - v1.1.3``) stores strings with ZSTD: from storage version 1.2.0. An older file
    would keep such a column uncompressed, and older releases do not report the version."""
    found = re.match(r"v(\d+)\.(\d+)\.", storage_version)
    return found is not None and (int(found[1]), int(found[2])) >= (1, 2)


def migration_steps(version: int, names: TableNames) -> list[str]:
    """The statements that migrate tables of schema ``version`` to :data:`SCHEMA_VERSION`."""
    quoted = table_names(names)
    return [
        statement.format(**quoted)
        for step in range(version, SCHEMA_VERSION)
        for statement in MIGRATIONS.get(step, ())
    ]


def insert_rows(table: str, columns: tuple[Column, ...], conflict: Conflict) -> str:
    """Insert the registered batch. A key already there: the statement fails (``fail``,
    the fast path: no conflict handling), is skipped (``skip``) or updated (``update``).
    Columns are named, so a table migrated by ``ADD COLUMN`` takes them too."""
    names = ", ".join(quote(c.name) for c in columns)
    if conflict == "update":
        key = ", ".join(quote(k) for k in KEY)
        sets = ", ".join(f"{quote(c.name)} = excluded.{quote(c.name)}" for c in columns[3:])
        clause = f" ON CONFLICT ({key}) DO UPDATE SET {sets}"
    else:
        clause = " ON CONFLICT DO NOTHING" if conflict == "skip" else ""
    return f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {BATCH_VIEW}{clause}"


def update_state(names: TableNames) -> str:
    """Replace the stored state (parameters: state text, provider, store, harvest); the
    statement returns the rows it changed, 0 when the harvest has no state yet. A plain
    update costs DuckDB well under half of :func:`upsert_state` (benchmarks/README.md)."""
    return (
        f"UPDATE {quote(names.state)} SET state = CAST(? AS JSON), updated_at = now() "
        "WHERE provider = ? AND store = ? AND harvest = ?"
    )


def upsert_state(names: TableNames) -> str:
    """Store one state (parameters: provider, store, harvest, state text)."""
    return (
        f"INSERT INTO {quote(names.state)} (provider, store, harvest, state, updated_at) "
        "VALUES (?, ?, ?, CAST(? AS JSON), now()) ON CONFLICT (provider, store, harvest) "
        "DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at"
    )


def schema_problems(
    names: TableNames,
    found: dict[str, dict[str, str]],
    keys: Mapping[str, Sequence[str]],
) -> list[str]:
    """What the existing tables lack: ``found`` maps table names to their columns' types,
    ``keys`` table names to their primary key columns."""
    problems = []
    for table, (columns, key) in tables(names).items():
        if table not in found:
            problems.append(f"table {table} is missing")
            continue
        problems.extend(f"{table}: {p}" for p in missing_columns(columns, found[table], SAME_TYPE))
        if tuple(keys.get(table, ())) != key:
            problems.append(f"{table}: primary key is not ({', '.join(key)})")
    return problems


def first_line(exc: BaseException) -> str:
    """The first line of ``exc``'s message (DuckDB adds the query and a caret below)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def map_error(exc: BaseException, where: str, doing: str) -> SinkError:
    """A DuckDB or OS error as a typed sink error: what happened (``doing`` ``where``, e.g.
    "opening duckdb:///x.duckdb") and what to do."""
    detail = first_line(exc)
    low = detail.lower()
    if "could not set lock" in low:
        return SinkLockedError(
            f"{where} is open in another process ({detail}); DuckDB allows one writer per "
            "file, so one harvest writes it at a time: wait for that one to finish, or "
            "write to another file"
        )
    if any(s in low for s in ("no space left", "file too large", "disk is full", "disk full")):
        return SinkFullError(
            f"{doing} {where}: the disk is full ({detail}); nothing of this batch was "
            "committed: free some space and rerun (the harvest resumes from its state)"
        )
    if any(s in low for s in ("permission denied", "read-only", "read only", "not permitted")):
        return SinkReadOnlyError(
            f"{doing} {where}: cannot write ({detail}); the file and its directory must be "
            "writable (DuckDB writes a .wal file beside the database)"
        )
    if "not a valid duckdb database file" in low:
        return SinkUnavailableError(
            f"{where} is not a DuckDB database file (or is damaged): write to another path, "
            "or move that file away if it is not needed"
        )
    if "version number" in low or "newer" in low:
        return SinkSchemaError(
            f"{where} was written by another DuckDB version ({detail}): use a duckdb "
            "release that reads it, or write to another file"
        )
    if "no such file or directory" in low:
        return SinkUnavailableError(f"{doing} {where}: {detail}; check the path")
    return SinkError(f"{doing} {where} failed: {detail}")


__all__ = [
    "BATCH_VIEW",
    "META_COLUMNS",
    "MIGRATIONS",
    "SAME_TYPE",
    "ZSTD_COLUMNS",
    "Conflict",
    "attach",
    "create_table",
    "first_line",
    "insert_rows",
    "literal",
    "map_error",
    "migration_steps",
    "quote",
    "schema_problems",
    "table_names",
    "tables",
    "takes_zstd",
    "update_state",
    "upsert_state",
]
