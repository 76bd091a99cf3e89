"""The fleet's periodic schedule: ``--every`` parsed, and its table in PostgreSQL.

``fleet enqueue STORES --every 5m`` writes one row per store into
``integration_logs_fleet_schedule`` (store name, its definition as job arguments, i.e.
environment-variable references and never secrets, the period and the next due time).
Every worker ticks: in one transaction it takes the due rows with ``FOR UPDATE SKIP LOCKED``
(so two workers never take the same row), defers each store's job and moves its next due
time on by whole periods. A worker that dies between the defer and the commit leaves the
row due, and the next tick defers again: the store's queueing lock keeps that to at most one
waiting job. ``--every 0`` removes the file's stores from the schedule.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

SCHEDULE_TABLE = "integration_logs_fleet_schedule"
"""The schedule's table, next to procrastinate's tables in the queue database."""

MIN_EVERY = 1.0
"""The shortest period accepted, in seconds."""

TICK_BATCH = 100
"""Due stores taken by one tick (the rest are due for the next)."""

CREATE_SCHEDULE = (
    f"CREATE TABLE IF NOT EXISTS {SCHEDULE_TABLE} ("
    "store text PRIMARY KEY, "
    "definition jsonb NOT NULL, "
    "every_seconds double precision NOT NULL CHECK (every_seconds > 0), "
    "next_run_at timestamptz NOT NULL, "
    "updated_at timestamptz NOT NULL DEFAULT now())"
)
"""The schedule's table (idempotent)."""

_UPSERT = (
    f"INSERT INTO {SCHEDULE_TABLE} AS s (store, definition, every_seconds, next_run_at) "
    "VALUES (%s, %s, %s, now() + %s * interval '1 second') "
    "ON CONFLICT (store) DO UPDATE SET definition = excluded.definition, "
    "every_seconds = excluded.every_seconds, next_run_at = excluded.next_run_at, "
    "updated_at = now()"
)
_DELETE = f"DELETE FROM {SCHEDULE_TABLE} WHERE store = ANY(%s) RETURNING store"
_DUE = (
    f"SELECT store, definition FROM {SCHEDULE_TABLE} WHERE next_run_at <= now() "
    "ORDER BY next_run_at, store LIMIT %s FOR UPDATE SKIP LOCKED"
)
# The first multiple of the period after now: a worker down for an hour defers once, not
# once per missed period.
_ADVANCE = (
    f"UPDATE {SCHEDULE_TABLE} SET next_run_at = next_run_at + every_seconds * "
    "(floor(extract(epoch FROM now() - next_run_at) / every_seconds) + 1) "
    "* interval '1 second' WHERE store = ANY(%s)"
)
_LIST = f"SELECT store, every_seconds, next_run_at FROM {SCHEDULE_TABLE} ORDER BY store"

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", re.IGNORECASE)
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

logger = logging.getLogger(__name__)


def parse_every(text: str) -> float:
    """``--every`` as seconds: ``30s``, ``5m``, ``1h``, ``1d`` or plain seconds; ``0`` (any
    unit) means "stop the schedule". ``ValueError`` saying what is accepted otherwise."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(
            f"--every {text!r} is not a period: write e.g. 30s, 5m or 1h (0 stops the schedule)"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds != 0 and (seconds < MIN_EVERY or not math.isfinite(seconds)):
        raise ValueError(
            f"--every {text!r} is shorter than {MIN_EVERY:g} s: give a longer period, "
            "or 0 to stop the schedule"
        )
    return seconds


def format_every(seconds: float) -> str:
    """A period as ``--every`` would take it (``300`` -> ``5m``)."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, kw_only=True, slots=True)
class ScheduledStore:
    """One row of the schedule: a store, its period and when it is next due."""

    store: str
    every_seconds: float
    next_run_at: Any  # datetime (timezone-aware)


@dataclass(frozen=True, kw_only=True, slots=True)
class Tick:
    """What one tick did: the stores it deferred and those it could not."""

    deferred: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    """(store, why) for due stores whose job could not be queued: tried again next period."""


async def save_schedule(
    conn: psycopg.AsyncConnection[Any],
    stores: Sequence[tuple[str, Mapping[str, Any]]],
    every_seconds: float,
) -> None:
    """Schedule each (name, definition) every ``every_seconds``, first due one period from
    now (the caller queues them now); a store already scheduled gets the new definition and
    period."""
    async with conn.transaction():
        for name, definition in stores:
            await conn.execute(
                _UPSERT, (name, Jsonb(dict(definition)), every_seconds, every_seconds)
            )


async def remove_schedule(conn: psycopg.AsyncConnection[Any], names: Sequence[str]) -> list[str]:
    """Remove these stores from the schedule; returns those that were in it."""
    async with conn.transaction():
        cursor = await conn.execute(_DELETE, (list(names),))
        return sorted(str(row[0]) for row in await cursor.fetchall())


async def list_schedule(conn: psycopg.AsyncConnection[Any]) -> list[ScheduledStore]:
    """Every scheduled store, by name."""
    cursor = await conn.execute(_LIST)
    return [
        ScheduledStore(store=str(row[0]), every_seconds=float(row[1]), next_run_at=row[2])
        for row in await cursor.fetchall()
    ]


Defer = Callable[[str, Mapping[str, Any]], Awaitable[None]]
"""Queues one store's job from its name and definition (already waiting counts as done)."""


async def tick(conn: psycopg.AsyncConnection[Any], defer: Defer) -> Tick:
    """Defer every due store once and move its due time on, in one transaction that holds
    the due rows (other workers skip them). A store whose defer fails (e.g. a definition
    this version cannot read) is reported and tried again next period, not every tick."""
    deferred: list[str] = []
    failed: list[tuple[str, str]] = []
    async with conn.transaction():
        cursor = await conn.execute(_DUE, (TICK_BATCH,))
        for name, definition in await cursor.fetchall():
            try:
                await defer(str(name), definition)
            except Exception as exc:  # one store's problem must not stop the others' ticks
                failed.append((str(name), str(exc) or type(exc).__name__))
            else:
                deferred.append(str(name))
        handled = deferred + [name for name, _ in failed]
        if handled:
            await conn.execute(_ADVANCE, (handled,))
    return Tick(deferred=tuple(deferred), failed=tuple(failed))


__all__ = [
    "CREATE_SCHEDULE",
    "MIN_EVERY",
    "SCHEDULE_TABLE",
    "Defer",
    "ScheduledStore",
    "Tick",
    "format_every",
    "list_schedule",
    "parse_every",
    "remove_schedule",
    "save_schedule",
    "tick",
]
