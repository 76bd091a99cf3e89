"""Read back what a harvest wrote to a real sink (DuckDB file, PostgreSQL database, Parquet
directory), with each sink's own driver, independently of the sink classes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from integration_logs_async.sinks import parse_sink_url

__all__ = ["Stored", "StoredLog", "read_store"]


@dataclass(frozen=True)
class StoredLog:
    """The columns a test checks of one stored log."""

    id: str
    integration_id: str | None
    created_at: datetime | None
    succeeded: bool | None
    raw: str


@dataclass(frozen=True)
class Stored:
    """A store's logs, and its integrations' names by id."""

    logs: list[StoredLog]
    integrations: dict[str, str | None]


_LOGS = "SELECT id, integration_id, created_at, succeeded, CAST(raw AS VARCHAR) FROM {t} "
_INTEGRATIONS = "SELECT id, name FROM {t}_integrations "


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes | bytearray) else str(raw)


async def read_store(url: str, provider: str, store: str) -> Stored:
    """Every log and integration of ``provider``'s ``store`` in the sink at ``url``."""
    target = parse_sink_url(url)
    table = target.table
    if target.kind == "postgresql":
        import asyncpg  # type: ignore[import-untyped]

        con = await asyncpg.connect(target.dsn)
        try:
            where = "WHERE provider = $1 AND store = $2"
            logs = await con.fetch(
                _LOGS.replace("VARCHAR", "text").format(t=table) + where, provider, store
            )
            names = await con.fetch(_INTEGRATIONS.format(t=table) + where, provider, store)
        finally:
            await con.close()
        rows, pairs = [tuple(r) for r in logs], [tuple(r) for r in names]
    elif target.kind == "duckdb":
        rows, pairs = await asyncio.to_thread(_duckdb, target.dsn, table, provider, store)
    else:
        rows, pairs = await asyncio.to_thread(_parquet, target.dsn, table, provider, store)
    return Stored(
        logs=[StoredLog(r[0], r[1], r[2], r[3], _text(r[4])) for r in rows],
        integrations={p[0]: p[1] for p in pairs},
    )


def _duckdb(path: str, table: str, provider: str, store: str) -> tuple[list[Any], list[Any]]:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        where = "WHERE provider = ? AND store = ?"
        query = _LOGS.replace("created_at", _EPOCH_US).format(t=table) + where
        logs = con.execute(query, [provider, store]).fetchall()
        names = con.execute(_INTEGRATIONS.format(t=table) + where, [provider, store]).fetchall()
    finally:
        con.close()
    return _with_times(logs), names


def _parquet(root: str, table: str, provider: str, store: str) -> tuple[list[Any], list[Any]]:
    """As a user reads the sink's directory: ``logs/`` and ``integrations/``, Hive-partitioned
    (the table name is not used by this sink)."""
    import duckdb

    con = duckdb.connect()
    try:
        logs = con.execute(
            f"SELECT id, integration_id, {_EPOCH_US}, succeeded, CAST(raw AS VARCHAR) FROM "
            f"read_parquet('{root}/logs/**/*.parquet', hive_partitioning = true, union_by_name = "
            "true) WHERE provider = ? AND store = ?",
            [provider, store],
        ).fetchall()
        names = con.execute(
            f"SELECT id, name FROM read_parquet('{root}/integrations/**/*.parquet', "
            "hive_partitioning = true, union_by_name = true) WHERE provider = ? AND store = ?",
            [provider, store],
        ).fetchall()
    finally:
        con.close()
    return _with_times(logs), names


# DuckDB returns TIMESTAMPTZ values through pytz before 1.2, which is not a dependency: the
# readers take microseconds since the epoch and build the aware datetime themselves.
_EPOCH_US = "epoch_us(created_at)"


def _with_times(rows: list[Any]) -> list[Any]:
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        (r[0], r[1], None if r[2] is None else epoch + timedelta(microseconds=r[2]), *r[3:])
        for r in rows
    ]
