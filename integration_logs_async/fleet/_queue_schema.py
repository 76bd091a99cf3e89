"""The queue's schema: procrastinate's tables and functions, created on first use and brought
up to the installed procrastinate release on every open.

procrastinate ships its schema whole (``schema.sql``) and as migrations
(``sql/migrations/XX.YY.ZZ_NN_name.sql``), but keeps no record of which a database has. The
queue keeps one, in the table :data:`MIGRATIONS_TABLE`:

- A new database gets the whole schema, and every migration the installed release ships is
  recorded as applied.
- A database whose schema predates the record (made by an earlier release of this package,
  which required procrastinate 3.2.2 or later: every migration up to :data:`FLOOR` is in it)
  gets each later migration replayed in a savepoint; one whose objects are there already
  (a duplicate) was applied, and is recorded as such.
- Then every migration not recorded is applied, in order, "pre" and "post" alike: the
  installed release may need all of them. Workers of an older release may then fail on the
  queue (procrastinate keeps only the last release's "pre" state compatible): upgrade every
  worker together.

:func:`bring_up_to_date` runs inside the caller's transaction, under its advisory lock: two
workers starting together never migrate twice, and a failed migration leaves nothing half done.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import psycopg
from procrastinate.schema import SchemaManager

MIGRATIONS_TABLE = "integration_logs_queue_migrations"
FLOOR = "03.02.00_50_post_batch_defer_jobs"
"""The newest migration of procrastinate 3.2.2, the oldest release this package required."""

CREATE_MIGRATIONS = f"""
CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (
    name text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
# a migration replayed on a database that has its objects: "already exists" (type, function,
# table, schema), or an enum value added before (also duplicate_object)
_ALREADY_THERE = frozenset({"42710", "42723", "42P07", "42P06"})


@functools.cache
def shipped_migrations() -> Mapping[str, str]:
    """The installed procrastinate's migrations, by name (the file's stem), in order (read
    once a process)."""
    folder = resources.files("procrastinate.sql.migrations")
    found = {
        entry.name.removesuffix(".sql"): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    }
    return MappingProxyType(
        {name: found[name].read_text(encoding="utf-8") for name in sorted(found)}
    )


def plan_migrations(shipped: list[str], recorded: set[str], tracked: bool) -> list[str]:
    """The migrations to apply, in order: those of ``shipped`` not ``recorded``; on a
    database without a record yet (``tracked`` False), only those after :data:`FLOOR`."""
    return [name for name in sorted(shipped) if name not in recorded and (tracked or name > FLOOR)]


@dataclass(frozen=True, kw_only=True, slots=True)
class SchemaChange:
    """What :func:`bring_up_to_date` did: ``created`` the whole schema, or ``applied`` these
    migrations; ``found`` those replayed on a database without a record that it had."""

    created: bool = False
    applied: tuple[str, ...] = ()
    found: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """What changed, a line each, for the operator (nothing when nothing changed)."""
        if self.created:
            return ["created procrastinate's schema (the queue's tables and functions)"]
        return [f"applied procrastinate's migration {name}" for name in self.applied]


async def _one(conn: psycopg.AsyncConnection[Any], sql: str) -> Any:
    cursor = await conn.execute(sql)
    row = await cursor.fetchone()
    return row[0] if row else None


async def _record(conn: psycopg.AsyncConnection[Any], names: list[str]) -> None:
    if names:
        await conn.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (name) SELECT unnest(%s::text[]) "
            "ON CONFLICT (name) DO NOTHING",
            (names,),
        )


async def bring_up_to_date(conn: psycopg.AsyncConnection[Any]) -> SchemaChange:
    """Create procrastinate's schema, or apply the migrations the database lacks (see the
    module). Runs in the caller's transaction, which holds the schema's advisory lock;
    raises the driver's error when a migration fails (the transaction then rolls back)."""
    shipped = shipped_migrations()
    has_queue = await _one(conn, "SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
    tracked = await _one(conn, f"SELECT to_regclass('{MIGRATIONS_TABLE}') IS NOT NULL")
    await conn.execute(CREATE_MIGRATIONS)
    if not has_queue:
        await conn.execute(SchemaManager.get_schema())
        await _record(conn, list(shipped))
        return SchemaChange(created=True)
    cursor = await conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")
    recorded = {str(row[0]) for row in await cursor.fetchall()}
    if not tracked:  # the schema this package's earlier releases made holds these
        await _record(conn, [name for name in shipped if name <= FLOOR])
    applied: list[str] = []
    found: list[str] = []
    for name in plan_migrations(list(shipped), recorded, bool(tracked)):
        try:
            async with conn.transaction():  # a savepoint: a duplicate undoes this one only
                await conn.execute(shipped[name])
        except psycopg.Error as exc:
            if tracked or exc.sqlstate not in _ALREADY_THERE:
                raise  # a recorded database has no such objects: a real failure
            found.append(name)
        else:
            applied.append(name)
    await _record(conn, applied + found)
    return SchemaChange(applied=tuple(applied), found=tuple(found))


__all__ = [
    "CREATE_MIGRATIONS",
    "FLOOR",
    "MIGRATIONS_TABLE",
    "SchemaChange",
    "bring_up_to_date",
    "plan_migrations",
    "shipped_migrations",
]
