"""The PostgreSQL sink's SQL text: tables, staging, inserts, upserts, lock keys (pure).

Types: text, timestamptz, boolean, integer, and ``jsonb`` for the raw JSON (so it can be
queried with ``->>``; jsonb keeps the JSON value, not its bytes: whitespace and key order are
normalized). Rows are copied into a temporary staging table (``ON COMMIT DELETE ROWS``) and
moved with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, so a resumed run's duplicates
are dropped and counted in one statement.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from ._schema import (
    INTEGRATION_COLUMNS,
    KEY,
    LOG_COLUMNS,
    STATE_COLUMNS,
    STATE_KEY,
    Column,
    ColumnType,
    TableNames,
)

PG_TYPES: dict[ColumnType, str] = {
    "text": "text",
    "timestamptz": "timestamptz",
    "boolean": "boolean",
    "integer": "integer",
    "json": "jsonb",
}
"""The type each portable column type is created with."""

SAME_TYPE: dict[ColumnType, set[str]] = {
    "text": {"text", "character varying"},
    "timestamptz": {"timestamp with time zone"},
    "boolean": {"boolean"},
    "integer": {"integer", "bigint"},
    "json": {"jsonb", "json"},
}
"""The ``information_schema.columns.data_type`` names an existing table may have instead."""

EXACT_TYPE: dict[ColumnType, str] = {
    "text": "text",
    "timestamptz": "timestamp with time zone",
    "boolean": "boolean",
    "integer": "integer",
    "json": "jsonb",
}
"""The catalog's names of :data:`PG_TYPES` (``format_type``)."""


def copies_directly(found: Mapping[str, str]) -> bool:
    """Whether a log table with ``found`` (column name → catalog type name) takes a binary
    COPY of the rows as they are: every column of the type this package creates it with
    (a ``json`` or ``bigint`` column, which :data:`SAME_TYPE` accepts, needs the values in
    another wire format: such a table is written through the staging table)."""
    return all(found.get(c.name) == EXACT_TYPE[c.type] for c in LOG_COLUMNS)


STAGING = "integration_logs_staging"
"""The temporary staging table (one per connection, in ``pg_temp``)."""

LOG_NAMES = tuple(column.name for column in LOG_COLUMNS)
INTEGRATION_NAMES = tuple(column.name for column in INTEGRATION_COLUMNS)


def ident(name: str) -> str:
    """``name`` as a quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def _columns(columns: tuple[Column, ...]) -> str:
    return ", ".join(
        f"{ident(c.name)} {PG_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in columns
    )


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(ident(name) for name in names)


def create_logs(names: TableNames) -> str:
    """The log table and its analysis index (failures and ranges by store and time)."""
    return (
        f"CREATE TABLE IF NOT EXISTS {ident(names.logs)} ({_columns(LOG_COLUMNS)}, "
        f"PRIMARY KEY ({_names(KEY)}));\n"
        f"CREATE INDEX IF NOT EXISTS {ident(names.logs + '_created_at_idx')} "
        f"ON {ident(names.logs)} (provider, store, created_at);"
    )


def create_others(names: TableNames) -> str:
    """The integrations, state and meta tables."""
    return (
        f"CREATE TABLE IF NOT EXISTS {ident(names.integrations)} "
        f"({_columns(INTEGRATION_COLUMNS)}, PRIMARY KEY ({_names(KEY)}));\n"
        f"CREATE TABLE IF NOT EXISTS {ident(names.state)} "
        f"({_columns(STATE_COLUMNS)}, PRIMARY KEY ({_names(STATE_KEY)}));\n"
        f"CREATE TABLE IF NOT EXISTS {ident(names.meta)} "
        f"(key text PRIMARY KEY, value text NOT NULL);"
    )


def create_staging() -> str:
    """The session's staging table: the log columns, no key, emptied at each commit."""
    columns = ", ".join(f"{ident(c.name)} {PG_TYPES[c.type]}" for c in LOG_COLUMNS)
    return f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} ({columns}) ON COMMIT DELETE ROWS"


def columns_query() -> str:
    """``(table_name, column_name, data_type)`` of the tables named in ``$1`` (a text array)
    in the current schema: ``information_schema.columns``' names for the types, read from
    the catalog directly (the view took ~7 ms of the server per check, a fleet's stores
    opening at once queued ~1 s of them; this query well under 1 ms)."""
    return (
        "SELECT c.relname::text, a.attname::text, pg_catalog.format_type(a.atttypid, NULL) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
        "WHERE c.relnamespace = pg_catalog.to_regnamespace(pg_catalog.current_schema()) "
        "AND c.relname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') "
        "AND a.attnum > 0 AND NOT a.attisdropped"
    )


def read_version(names: TableNames) -> str:
    """The schema version stamped in the meta table (one text value or no row)."""
    return f"SELECT value FROM {ident(names.meta)} WHERE key = 'schema_version'"


def stamp_version(names: TableNames) -> str:
    """Set the schema version (``$1``, text)."""
    return (
        f"INSERT INTO {ident(names.meta)} (key, value) VALUES ('schema_version', $1) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
    )


def move_staged(names: TableNames) -> str:
    """Move the staged rows into the log table, dropping keys it already holds."""
    cols = _names(LOG_NAMES)
    return (
        f"INSERT INTO {ident(names.logs)} ({cols}) SELECT {cols} FROM {STAGING} "
        f"ON CONFLICT ({_names(KEY)}) DO NOTHING"
    )


def upsert_state(names: TableNames) -> str:
    """Insert or replace one state: ``$1..$4`` = provider, store, harvest, state."""
    return (
        f"INSERT INTO {ident(names.state)} (provider, store, harvest, state, updated_at) "
        "VALUES ($1, $2, $3, $4, now()) "
        f"ON CONFLICT ({_names(STATE_KEY)}) DO UPDATE "
        "SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at"
    )


def read_state(names: TableNames) -> str:
    """One state: ``$1..$3`` = provider, store, harvest."""
    return (
        f"SELECT state FROM {ident(names.state)} "
        "WHERE provider = $1 AND store = $2 AND harvest = $3"
    )


def upsert_integrations(names: TableNames) -> str:
    """Insert or update one integration (``$1..$7`` in INTEGRATION_COLUMNS order)."""
    updates = ", ".join(f"{ident(n)} = EXCLUDED.{ident(n)}" for n in INTEGRATION_NAMES[3:])
    values = ", ".join(f"${i}" for i in range(1, len(INTEGRATION_NAMES) + 1))
    return (
        f"INSERT INTO {ident(names.integrations)} ({_names(INTEGRATION_NAMES)}) "
        f"VALUES ({values}) ON CONFLICT ({_names(KEY)}) DO UPDATE SET {updates}"
    )


def select_ids(names: TableNames) -> str:
    """The ids of one store: ``$1``, ``$2`` = provider, store."""
    return f"SELECT id FROM {ident(names.logs)} WHERE provider = $1 AND store = $2"


def lock_key(*parts: str) -> int:
    """A stable signed 64-bit advisory lock key for ``parts`` (blake2b; same in every
    process and release)."""
    digest = hashlib.blake2b(
        "\x00".join(("integration-logs-async", *parts)).encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_query(key: int) -> str:
    """SQL that shows who holds the advisory lock ``key`` in the current database (for the
    locked message; advisory locks are per database, ``pg_locks`` shows the cluster's)."""
    unsigned = key & 0xFFFF_FFFF_FFFF_FFFF
    return (
        "SELECT a.pid, a.application_name, a.client_addr, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()) "
        f"AND l.locktype = 'advisory' AND l.classid = {unsigned >> 32} "
        f"AND l.objid = {unsigned & 0xFFFF_FFFF} AND l.objsubid = 1"
    )


def inserted(status: str) -> int:
    """The row count of an ``INSERT 0 n`` command status."""
    return int(status.rsplit(" ", 1)[-1])


__all__ = [
    "EXACT_TYPE",
    "INTEGRATION_NAMES",
    "LOG_NAMES",
    "PG_TYPES",
    "SAME_TYPE",
    "STAGING",
    "columns_query",
    "copies_directly",
    "create_logs",
    "create_others",
    "create_staging",
    "ident",
    "inserted",
    "lock_key",
    "lock_query",
    "move_staged",
    "read_state",
    "read_version",
    "select_ids",
    "stamp_version",
    "upsert_integrations",
    "upsert_state",
]
